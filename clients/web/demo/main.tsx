// The web demo (`avsync-server serve --demo` serves it at /demo/): customers, sales and
// payments written to the local replica, synced with the server the page came from, each
// row showing whether the server has it yet. It uses only the package's public API.
import { FormEvent, ReactNode, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";

import { AvsyncError, createClient, findEntity } from "../src/index.js";
import type { AvsyncClient, InsertFields, QueuedOperation, SyncState, TypedRow } from "../src/index.js";
import { AvsyncProvider, useRows, useSyncEngine, useSyncStatus } from "../src/react.js";
import { dbName } from "./db-name.js";

const tokenKey = "avsync-demo:token";
// Per tab, like the toggle's label says; it survives a reload of the tab.
const pausedKey = "avsync-demo:paused";

type Customer = TypedRow<"customers">;

/** Storage may be disabled (a private window's settings): the demo then forgets on reload. */
function stored(storage: () => Storage, key: string, value?: string | null): string | null {
  try {
    if (value === null) storage().removeItem(key);
    else if (value !== undefined) storage().setItem(key, value);
    return storage().getItem(key);
  } catch {
    return value ?? null;
  }
}

/** `#token=...` in the address, kept for reloads and taken out of the address bar and history. */
function initialToken(): string | null {
  const match = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1));
  if (match?.[1]) {
    let token = match[1];
    try {
      token = decodeURIComponent(token);
    } catch {
      // not percent-encoded after all: take it as it is
    }
    stored(() => localStorage, tokenKey, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return stored(() => localStorage, tokenKey);
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof AvsyncError) return { code: error.code, message: error.message };
  return { code: "ERROR", message: error instanceof Error ? error.message : String(error) };
}

/** The choices of a field, as the server's registry lists them. */
function choicesOf(entity: string, field: string): readonly string[] {
  return findEntity(entity)?.fields.find((f) => f.name === field)?.choices ?? [];
}

function ErrorText(props: { error: { code: string; message: string } | null; testId: string }) {
  if (!props.error) return null;
  return (
    <p className="error" role="alert" data-testid={props.testId}>
      <code>{props.error.code}</code> {props.error.message}
    </p>
  );
}

// ---- Getting a token ---------------------------------------------------------------------

function TokenForm(props: { onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) props.onToken(value.trim());
  };
  return (
    <main>
      <h1>avsync web demo</h1>
      <p>This page needs a device token for the server it came from.</p>
      <ul>
        <li>
          <code>make run</code> prints a link with one in it: <code>http://127.0.0.1:8080/demo/#token=…</code>
        </li>
        <li>
          Or make one: <code>avsync-server admin create-business --name Demo</code>, then{" "}
          <code>avsync-server admin create-token --business &lt;id&gt; --user &lt;name&gt;</code>.
        </li>
      </ul>
      <form onSubmit={submit} data-testid="token-form">
        <label htmlFor="token">Device token</label>
        <input id="token" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" spellCheck={false} />
        <button type="submit">Use this token</button>
      </form>
    </main>
  );
}

// ---- The sync status ---------------------------------------------------------------------

function StatusPanel(props: { paused: boolean; switching: boolean; onToggle: () => void }) {
  const client = useSyncEngine();
  const status = useSyncStatus();
  const syncNow = () => client.sync().catch(() => {}); // a failure shows in the status
  return (
    <section className="panel status" aria-labelledby="status-title">
      <h2 id="status-title">Sync</h2>
      <p className="state">
        <span className={`dot dot-${props.paused ? "paused" : status.state}`} aria-hidden="true" />
        <strong data-testid="status-state">{status.state}</strong>
        {props.paused && <span data-testid="paused-note"> (paused in this tab)</span>}
      </p>
      <dl>
        <dt>Pending</dt>
        <dd data-testid="pending-count">{status.pending}</dd>
        <dt>Failed</dt>
        <dd data-testid="failed-count">{status.failed}</dd>
        <dt>Last sync</dt>
        <dd data-testid="last-sync">
          {status.lastSyncAt ? <time dateTime={status.lastSyncAt}>{new Date(status.lastSyncAt).toLocaleString()}</time> : "never"}
        </dd>
        {status.retryInMs !== null && (
          <>
            <dt>Next try</dt>
            <dd>in {Math.ceil(status.retryInMs / 1000)} s</dd>
          </>
        )}
      </dl>
      <ErrorText error={status.lastError} testId="last-error" />
      <div className="buttons">
        <button type="button" onClick={syncNow} disabled={props.paused} data-testid="sync-now">
          Sync now
        </button>
        <button type="button" onClick={props.onToggle} disabled={props.switching} className={props.paused ? "paused" : undefined} data-testid="offline-toggle">
          {props.paused ? "Go online" : "Go offline"}
        </button>
      </div>
      <p className="hint">
        “Go offline” pauses sync in this tab, as if the network were gone: writes wait in the queue on this device until you
        go online again. The browser's connection itself stays up.
      </p>
    </section>
  );
}

// ---- Writing -----------------------------------------------------------------------------

/** A form whose submit writes through `write`; the API's error is shown under it. */
function EntityForm(props: { title: string; name: string; write: (data: FormData) => Promise<unknown>; children: ReactNode }) {
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    try {
      await props.write(new FormData(form));
      setError(null);
      form.reset();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel" onSubmit={submit} data-testid={`${props.name}-form`} aria-labelledby={`${props.name}-title`}>
      <h2 id={`${props.name}-title`}>{props.title}</h2>
      {props.children}
      <button type="submit" disabled={busy} data-testid={`${props.name}-submit`}>
        Add
      </button>
      <ErrorText error={error} testId={`${props.name}-error`} />
    </form>
  );
}

/** A labelled control; `id` ties the label to it. */
function Field(props: { id: string; label: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
    </div>
  );
}

function CustomerSelect(props: { id: string; customers: Customer[]; none: string }) {
  return (
    <select id={props.id} name={props.id} defaultValue="">
      <option value="">{props.none}</option>
      {props.customers.map((c) => (
        <option key={c.id} value={c.id}>
          {c.fields.name}
        </option>
      ))}
    </select>
  );
}

// Inputs are uncontrolled: their values are read from the form at submit, and a reset clears them.
function text(data: FormData, name: string): string {
  const v = data.get(name);
  return typeof v === "string" ? v : "";
}

function Forms(props: { customers: Customer[] }) {
  const client = useSyncEngine();
  return (
    <div className="forms">
      <EntityForm
        title="New customer"
        name="customer"
        write={(d) => client.insert("customers", { name: text(d, "customer-name"), phone: text(d, "customer-phone") || null })}
      >
        <Field id="customer-name" label="Name">
          <input id="customer-name" name="customer-name" autoComplete="off" />
        </Field>
        <Field id="customer-phone" label="Phone (optional)">
          <input id="customer-phone" name="customer-phone" type="tel" autoComplete="off" />
        </Field>
      </EntityForm>
      <EntityForm
        title="New sale"
        name="sale"
        write={(d) =>
          client.insert("sales", {
            customer_id: text(d, "sale-customer") || null,
            total: text(d, "sale-total"),
            payment_type: text(d, "sale-payment-type") as InsertFields<"sales">["payment_type"],
          })
        }
      >
        <Field id="sale-customer" label="Customer">
          <CustomerSelect id="sale-customer" customers={props.customers} none="No customer (walk-in)" />
        </Field>
        <Field id="sale-total" label="Total">
          <input id="sale-total" name="sale-total" inputMode="decimal" autoComplete="off" placeholder="150.50" />
        </Field>
        <Field id="sale-payment-type" label="Payment">
          <select id="sale-payment-type" name="sale-payment-type">
            {choicesOf("sales", "payment_type").map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </Field>
      </EntityForm>
      <EntityForm
        title="New payment (abono)"
        name="payment"
        write={(d) =>
          client.insert("abonos", {
            customer_id: text(d, "payment-customer"),
            amount: text(d, "payment-amount"),
            method: text(d, "payment-method") as NonNullable<InsertFields<"abonos">["method"]>,
          })
        }
      >
        <Field id="payment-customer" label="Customer">
          <CustomerSelect id="payment-customer" customers={props.customers} none="Choose a customer" />
        </Field>
        <Field id="payment-amount" label="Amount">
          <input id="payment-amount" name="payment-amount" inputMode="decimal" autoComplete="off" placeholder="20.00" />
        </Field>
        <Field id="payment-method" label="Method">
          <select id="payment-method" name="payment-method">
            {choicesOf("abonos", "method").map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </Field>
      </EntityForm>
    </div>
  );
}

// ---- Reading -----------------------------------------------------------------------------

function Badge(props: { state: SyncState }) {
  return (
    <span className={`badge badge-${props.state}`} data-testid="sync-badge">
      {props.state}
    </span>
  );
}

/** Newest first: the replica lists rows in id order. */
function newestFirst<R extends { createdAt: string }>(rows: R[]): R[] {
  return [...rows].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

function RowList<R extends { id: string; createdAt: string; syncState: SyncState }>(props: {
  title: string;
  name: string;
  rows: R[];
  error: Error | null;
  render: (row: R) => ReactNode;
}) {
  return (
    <section className="panel" aria-labelledby={`${props.name}-list-title`}>
      <h2 id={`${props.name}-list-title`}>{props.title}</h2>
      {props.error && <ErrorText error={describe(props.error)} testId={`${props.name}-list-error`} />}
      {props.rows.length === 0 ? (
        <p className="empty">None yet.</p>
      ) : (
        <ul className="rows" data-testid={`${props.name}-list`}>
          {newestFirst(props.rows).map((row) => (
            <li key={row.id} data-testid={`${props.name}-row`} data-id={row.id}>
              <span className="row-text">{props.render(row)}</span>
              <Badge state={row.syncState} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function FailedOperations() {
  const client = useSyncEngine();
  const { failed, pending } = useSyncStatus();
  const [ops, setOps] = useState<QueuedOperation[]>([]);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  useEffect(() => {
    let live = true;
    client.queue().then(
      (queue) => live && setOps(queue.filter((op) => op.status === "failed")),
      (e: unknown) => live && setError(describe(e)),
    );
    return () => {
      live = false;
    };
  }, [client, failed, pending]);
  const act = (f: () => Promise<void>) => () => {
    setError(null);
    f().catch((e: unknown) => setError(describe(e)));
  };
  if (ops.length === 0 && !error) return null;
  return (
    <section className="panel failed" aria-labelledby="failed-title">
      <h2 id="failed-title">Refused by the server</h2>
      <p className="hint">Retry sends an operation again; Discard drops it and puts the row back as the server has it.</p>
      <ErrorText error={error} testId="failed-ops-error" />
      <ul className="rows">
        {ops.map((op) => (
          <li key={op.operationId} data-testid="failed-op" data-operation-id={op.operationId}>
            <span className="row-text">
              {op.action} {op.entity} <code>{op.entityId.slice(0, 8)}</code>,{" "}
              <span data-testid="failed-op-attempts">
                {op.attempts} attempt{op.attempts === 1 ? "" : "s"}
              </span>
              {op.lastError && (
                <span className="error" data-testid="failed-op-error">
                  <code>{op.lastError.code}</code> {op.lastError.message}
                </span>
              )}
            </span>
            <span className="buttons">
              <button type="button" onClick={act(() => client.retry(op.operationId))} data-testid="failed-op-retry">
                Retry
              </button>
              <button type="button" onClick={act(() => client.discard(op.operationId))} data-testid="failed-op-discard">
                Discard
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Data() {
  const customers = useRows("customers");
  const sales = useRows("sales");
  const payments = useRows("abonos");
  const nameOf = (id: string | null) => (id ? (customers.rows.find((c) => c.id === id)?.fields.name ?? "unknown customer") : "walk-in");
  return (
    <>
      <Forms customers={customers.rows} />
      <FailedOperations />
      <div className="lists">
        <RowList title="Customers" name="customer" rows={customers.rows} error={customers.error} render={(c) => (
          <>
            <strong>{c.fields.name}</strong> {c.fields.phone}
          </>
        )} />
        <RowList title="Sales" name="sale" rows={sales.rows} error={sales.error} render={(s) => (
          <>
            <strong>{s.fields.total}</strong> {s.fields.payment_type}, {nameOf(s.fields.customer_id)}
          </>
        )} />
        <RowList title="Payments (abonos)" name="payment" rows={payments.rows} error={payments.error} render={(p) => (
          <>
            <strong>{p.fields.amount}</strong> {p.fields.method}, {nameOf(p.fields.customer_id)}
          </>
        )} />
      </div>
    </>
  );
}

// ---- The page ----------------------------------------------------------------------------

function openClient(token: string, paused: boolean): Promise<AvsyncClient> {
  // A paused tab must not have its Service Worker push the queue behind the toggle's back:
  // its client does not ask for Background Sync, and stop()/start() alone cannot change that.
  return createClient({ server: location.origin, token, dbName, backgroundSync: !paused }).then((client) => {
    if (!paused) client.start();
    return client;
  });
}

function Session(props: { token: string; onForget: () => void }) {
  const [paused, setPaused] = useState(() => stored(() => sessionStorage, pausedKey) === "1");
  const [client, setClient] = useState<AvsyncClient | null>(null);
  const [switching, setSwitching] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const [worker, setWorker] = useState<string | null>(null);

  // The client in use, for the unmount to close whichever one that is by then.
  const current = useRef<AvsyncClient | null>(null);
  useEffect(() => {
    let live = true;
    openClient(props.token, stored(() => sessionStorage, pausedKey) === "1").then(
      (c) => {
        if (!live) return void c.close();
        current.current = c;
        setClient(c);
      },
      (e: unknown) => live && setError(describe(e)),
    );
    return () => {
      live = false;
      void current.current?.close();
      current.current = null;
    };
  }, [props.token]);

  useEffect(() => {
    if (!("serviceWorker" in navigator)) return setWorker("This browser has no Service Workers: the queue is sent while the page is open.");
    navigator.serviceWorker.register("sw.js", { type: "module" }).then(
      () => setWorker(null),
      (e: unknown) => setWorker(`Background sync is off (${describe(e).message}): the queue is sent while the page is open.`),
    );
  }, []);

  // The new client takes over before the old one closes, so the page never reads a closed one.
  const toggle = async () => {
    if (!client) return;
    const next = !paused;
    setSwitching(true);
    try {
      const fresh = await openClient(props.token, next);
      stored(() => sessionStorage, pausedKey, next ? "1" : null);
      current.current = fresh;
      setPaused(next);
      setClient(fresh);
      await client.close();
    } catch (e) {
      setError(describe(e));
    } finally {
      setSwitching(false);
    }
  };

  return (
    <main>
      <header>
        <h1>avsync web demo</h1>
        <p className="hint">
          Writes land on this device first and reach <code>{location.origin}</code> when sync runs.
        </p>
      </header>
      <ErrorText error={error} testId="client-error" />
      {client && (
        <AvsyncProvider client={client}>
          <StatusPanel paused={paused} switching={switching} onToggle={toggle} />
          <Data />
        </AvsyncProvider>
      )}
      <footer>
        {worker && <p className="hint" data-testid="worker-note">{worker}</p>}
        <button type="button" className="link" onClick={props.onForget} data-testid="forget-token">
          Use another token
        </button>
      </footer>
    </main>
  );
}

function App() {
  const [token, setToken] = useState(initialToken);
  if (!token) {
    return (
      <TokenForm
        onToken={(t) => {
          stored(() => localStorage, tokenKey, t);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Session
      token={token}
      onForget={() => {
        stored(() => localStorage, tokenKey, null);
        setToken(null);
      }}
    />
  );
}

createRoot(document.getElementById("root")!).render(<App />);
