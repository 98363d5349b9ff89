// createClient: the app's whole API (docs/web-client.md). Writes go to the local replica and
// the queue in one IndexedDB transaction; an engine syncs in the background.
import { AvsyncError, ErrorCode, nextStepFor } from "./errors.js";
import { Canonical, EntityInput, InsertFields, RowFields, UpdateFields, findEntity } from "./schema.js";
import { formatTimestamp, newUuid } from "./scalars.js";
import { ListQuery, LocalStore, QueuedOperation, Row, RowKey } from "./store.js";
import { SyncReport, backoffDelay, livePull, runCycle, withSyncLock } from "./sync.js";
import { Transport } from "./transport.js";
import { WireOperation, validateOperation } from "./validate.js";

export interface ClientOptions {
  /** The avsync server's URL, e.g. https://sync.example.com */
  server: string;
  /** A bearer token, or a function that returns a fresh one before each sync (a JWT of the app's auth). */
  token: string | (() => string | Promise<string>);
  /** The IndexedDB database: one per account on the device. Default "avsync". */
  dbName?: string;
  /** Operations per batch, 1 to 500; default 100. */
  batchSize?: number;
  /** Changes per page of the feed, 1 to 10,000; default 5,000. */
  pullPageSize?: number;
  /** Times an operation the server failed transiently is sent again before it fails; default 8. */
  maxRetries?: number;
  /** A sync at this interval while started; default 30,000 ms. */
  syncIntervalMs?: number;
  /** A sync this long after a local write; default 500 ms. */
  debounceMs?: number;
  /** Backoff after a failed sync: a random delay up to min(cap, base × 2^(failures−1)). */
  backoff?: { baseMs?: number; capMs?: number };
  /** Per request; default 30,000 ms. */
  timeoutMs?: number;
  /**
   * Live mode: while started, seconds one long-poll waits for the server's next change
   * (docs/protocol.md §4.1); default 25, at most 60, 0 turns live mode off.
   */
  liveWait?: number;
  /** While started, register a Background Sync when a write is queued and a Service Worker controls the page; default true. */
  backgroundSync?: boolean;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
}

/** idle: the last sync succeeded; syncing: one runs; offline: the server could not be reached; error: anything else. */
export type SyncStateName = "idle" | "syncing" | "error" | "offline";

export interface SyncStatus {
  state: SyncStateName;
  /** Local writes not yet acknowledged by the server. */
  pending: number;
  /** Writes the server rejected, waiting for retry() or discard(). */
  failed: number;
  /** When the last sync finished, ISO-8601 UTC. */
  lastSyncAt: string | null;
  lastError: { code: ErrorCode; message: string } | null;
  /** When started and backing off: the delay before the next attempt. */
  retryInMs: number | null;
}

/** What subscribers hear: the status, and the rows that changed (empty when only the status did). */
export interface ChangeEvent {
  status: SyncStatus;
  rows: RowKey[];
}

export type TypedRow<E extends EntityInput> = Row<RowFields<E>> & { entity: Canonical<E> };

export interface AvsyncClient {
  insert<E extends EntityInput>(entity: E, fields: InsertFields<E>, id?: string): Promise<TypedRow<E>>;
  update<E extends EntityInput>(entity: E, id: string, fields: UpdateFields<E>): Promise<TypedRow<E>>;
  remove(entity: EntityInput, id: string): Promise<void>;
  get<E extends EntityInput>(entity: E, id: string): Promise<TypedRow<E> | null>;
  list<E extends EntityInput>(entity: E, query?: ListQuery): Promise<TypedRow<E>[]>;
  queue(): Promise<QueuedOperation[]>;
  retry(operationId: string): Promise<void>;
  discard(operationId: string): Promise<void>;
  sync(): Promise<SyncReport>;
  start(): void;
  stop(): Promise<void>;
  status(): SyncStatus;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
  setToken(token: string | (() => string | Promise<string>)): Promise<void>;
  close(): Promise<void>;
}

const unreachable = (code: ErrorCode) => code === "NETWORK" || code === "TIMEOUT" || code === "CANCELLED";

class Client implements AvsyncClient {
  private readonly transport: Transport;
  private readonly channel: BroadcastChannel | null;
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private current: SyncStatus;
  private tokenSource: string | (() => string | Promise<string>);
  private token: string | undefined;
  private started = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private scheduledAt = Infinity;
  /** No write, interval or visibility change starts a sync before this (offline, Retry-After). */
  private notBefore = 0;
  private failures = 0;
  private waitingForToken = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private cycleRunning = false;
  private readonly cleanup: (() => void)[] = [];
  // Live mode: the open long-poll, every poll not yet finished (stop() waits for them), and
  // the pause after early empty answers.
  private poll: AbortController | undefined;
  private readonly polls = new Set<Promise<void>>();
  private liveLeader = false;
  private liveLock: AbortController | undefined;
  private liveResumeAt = 0;
  private liveTimer: ReturnType<typeof setTimeout> | undefined;
  private earlyAnswers = 0;

  constructor(
    private readonly store: LocalStore,
    private readonly options: ClientOptions,
    private readonly dbName: string,
    initial: SyncStatus,
  ) {
    this.current = initial;
    this.tokenSource = options.token;
    this.token = typeof options.token === "string" ? options.token : undefined;
    const transportOptions: ConstructorParameters<typeof Transport>[0] = { server: options.server, token: () => this.token };
    if (options.fetch) transportOptions.fetch = options.fetch;
    if (options.timeoutMs !== undefined) transportOptions.timeoutMs = options.timeoutMs;
    this.transport = new Transport(transportOptions);
    this.channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(`avsync:${dbName}`);
    if (this.channel) {
      // Another tab wrote, pulled or pushed: our counts and rows may be stale.
      this.channel.onmessage = (event: MessageEvent) => {
        const rows = (event.data as { rows?: RowKey[] })?.rows ?? [];
        void this.refresh(rows, false);
      };
    }
  }

  // ---- Writes and reads ----------------------------------------------------------------

  private entityOf(name: string) {
    const entity = findEntity(name);
    if (!entity) throw new AvsyncError("VALIDATION_ERROR", `entity: unknown entity '${name}'`);
    return entity;
  }

  private async write(entity: string, action: "insert" | "update" | "delete", id: unknown, fields: unknown): Promise<Row | null> {
    this.checkOpen();
    const clientTimestamp = formatTimestamp(Date.now());
    const op = validateOperation({ entity, action, entityId: id, payload: fields, clientTimestamp });
    const wire: WireOperation = {
      operationId: newUuid(),
      entity: op.entity.name,
      action,
      entityId: op.entityId,
      payload: op.sent,
      clientTimestamp,
    };
    const row = await this.store.applyLocalWrite(op, wire);
    // One more operation waits; the counts are read again after each sync and each other
    // tab's change (counting the queue in every write would cost a scan of it).
    this.current = { ...this.current, pending: this.current.pending + 1 };
    this.announce([{ entity: op.entity.name, id: op.entityId }]);
    this.afterWrite();
    return row;
  }

  async insert<E extends EntityInput>(entity: E, fields: InsertFields<E>, id?: string): Promise<TypedRow<E>> {
    return (await this.write(entity, "insert", id ?? newUuid(), fields)) as TypedRow<E>;
  }

  async update<E extends EntityInput>(entity: E, id: string, fields: UpdateFields<E>): Promise<TypedRow<E>> {
    return (await this.write(entity, "update", id, fields)) as TypedRow<E>;
  }

  async remove(entity: EntityInput, id: string): Promise<void> {
    await this.write(entity, "delete", id, {});
  }

  async get<E extends EntityInput>(entity: E, id: string): Promise<TypedRow<E> | null> {
    this.checkOpen();
    const spec = this.entityOf(entity);
    const key = typeof id === "string" ? id.toLowerCase() : "";
    return (await this.store.readRow(spec, key)) as TypedRow<E> | null;
  }

  async list<E extends EntityInput>(entity: E, query: ListQuery = {}): Promise<TypedRow<E>[]> {
    this.checkOpen();
    return (await this.store.listRows(this.entityOf(entity), query)) as TypedRow<E>[];
  }

  async queue(): Promise<QueuedOperation[]> {
    this.checkOpen();
    return this.store.queuedOperations();
  }

  async retry(operationId: string): Promise<void> {
    this.checkOpen();
    const row = await this.store.retryFailed(operationId);
    await this.refresh([row], true);
    this.afterWrite();
  }

  async discard(operationId: string): Promise<void> {
    this.checkOpen();
    const row = await this.store.discardFailed(operationId);
    await this.refresh([row], true);
  }

  // ---- Sync ------------------------------------------------------------------------------

  async setToken(token: string | (() => string | Promise<string>)): Promise<void> {
    this.tokenSource = token;
    this.token = typeof token === "string" ? token : undefined;
    if (typeof token === "string") await this.store.setMeta({ token });
    this.waitingForToken = false;
    if (this.started) this.schedule(0, true);
  }

  /** One cycle now (after any in flight); resolves with its report or rejects with its error. */
  sync(): Promise<SyncReport> {
    this.checkOpen();
    const run = this.inFlight.then(
      () => this.cycle(),
      () => this.cycle(),
    );
    this.inFlight = run.catch(() => {});
    return run;
  }

  private async cycle(): Promise<SyncReport> {
    if (this.closed) throw new AvsyncError("CANCELLED", "the client is closed");
    // The cycle pulls what the poll waits for; the poll reopens after it.
    this.abortPoll();
    this.cycleRunning = true;
    this.setStatus({ state: "syncing" });
    try {
      const report = await withSyncLock(this.dbName, async () => {
        if (typeof this.tokenSource === "function") {
          this.token = await this.tokenSource();
          await this.store.setMeta({ token: this.token });
        }
        const base = this.options.backoff?.baseMs ?? 1000;
        const cap = this.options.backoff?.capMs ?? 300000;
        return runCycle(this.store, this.transport, {
          batchSize: this.options.batchSize ?? 100,
          pullPageSize: this.options.pullPageSize ?? 5000,
          maxRetries: this.options.maxRetries ?? 8,
          retryDelay: (attempt) => backoffDelay(attempt, base, cap),
          now: () => Date.now(),
          onRows: (rows) => {
            if (rows.length) void this.refresh(rows, true);
          },
        });
      });
      this.failures = 0;
      this.notBefore = 0;
      const lastSyncAt = (await this.store.getMeta<string>("lastSyncAt")) ?? null;
      this.setStatus({ state: "idle", lastError: null, lastSyncAt, retryInMs: null });
      await this.refresh([], false);
      if (this.started) this.schedule(this.options.syncIntervalMs ?? 30000, false);
      return report;
    } catch (e) {
      const error = e instanceof AvsyncError ? e : new AvsyncError("LOCAL_STORAGE", e instanceof Error ? e.message : String(e));
      await this.failed(error);
      throw error;
    } finally {
      this.cycleRunning = false;
      this.openPoll();
    }
  }

  private async failed(error: AvsyncError): Promise<void> {
    if (error.code === "CANCELLED" && (!this.started || this.closed)) {
      // stop() ended the cycle: nothing failed, nothing is recorded.
      this.setStatus({ state: this.current.lastError ? "error" : "idle", retryInMs: null });
      return;
    }
    const lastError = { code: error.code, message: error.message };
    if (!this.closed) await this.store.setMeta({ lastError }).catch(() => {});
    const step = error.status === 404 ? "stop" : nextStepFor(error.code);
    if (step === "waitForToken" && typeof this.tokenSource === "string") {
      // Nothing will change until the app supplies a new token (setToken).
      this.waitingForToken = true;
      this.setStatus({ state: "error", lastError, retryInMs: null });
      return;
    }
    ++this.failures;
    const base = this.options.backoff?.baseMs ?? 1000;
    const cap = this.options.backoff?.capMs ?? 300000;
    // A bug or an incompatible server does not fix itself quickly: wait the longest.
    let delay = step === "stop" ? cap : backoffDelay(this.failures, base, cap);
    if (error.retryAfterMs !== undefined) delay = Math.max(delay, error.retryAfterMs);
    this.setStatus({ state: unreachable(error.code) ? "offline" : "error", lastError, retryInMs: this.started ? delay : null });
    if (unreachable(error.code) || error.retryAfterMs !== undefined) this.notBefore = Date.now() + delay;
    if (this.started) this.schedule(delay, true);
  }

  // ---- The engine ------------------------------------------------------------------------

  /** Runs a cycle after `delayMs`, unless one is already due sooner. */
  private schedule(delayMs: number, force: boolean): void {
    if (!this.started || this.closed) return;
    let at = Date.now() + delayMs;
    if (!force) {
      if (this.waitingForToken) return;
      at = Math.max(at, this.notBefore);
    }
    if (at >= this.scheduledAt && !force) return;
    clearTimeout(this.timer);
    this.scheduledAt = at;
    this.timer = setTimeout(() => {
      this.scheduledAt = Infinity;
      this.timer = undefined;
      if (this.cycleRunning) {
        this.schedule(this.options.debounceMs ?? 500, false);
        return;
      }
      this.sync().catch(() => {});
    }, Math.max(0, at - Date.now()));
  }

  private afterWrite(): void {
    if (!this.started) return;
    // The push goes first: the poll would only hold the connection until the debounce.
    this.abortPoll();
    this.schedule(this.options.debounceMs ?? 500, false);
    if (this.options.backgroundSync !== false) void registerBackgroundSync(this.dbName);
  }

  start(): void {
    this.checkOpen();
    if (this.started) return;
    this.started = true;
    const target = globalThis as unknown as Partial<Window>;
    if (typeof target.addEventListener === "function") {
      const online = () => {
        this.notBefore = 0;
        this.schedule(0, true);
      };
      const offline = () => {
        this.abortPoll();
        this.setStatus({ state: "offline" });
      };
      target.addEventListener("online", online);
      target.addEventListener("offline", offline);
      this.cleanup.push(() => target.removeEventListener?.("online", online));
      this.cleanup.push(() => target.removeEventListener?.("offline", offline));
    }
    const doc = (globalThis as { document?: Document }).document;
    if (doc) {
      const visible = () => {
        if (doc.visibilityState === "visible") this.schedule(0, false);
      };
      doc.addEventListener("visibilitychange", visible);
      this.cleanup.push(() => doc.removeEventListener("visibilitychange", visible));
    }
    this.claimLiveMode();
    this.schedule(0, true);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduledAt = Infinity;
    for (const f of this.cleanup.splice(0)) f();
    this.abortPoll();
    clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    this.liveLeader = false;
    this.liveLock?.abort();
    this.liveLock = undefined;
    this.transport.cancelAll();
    await Promise.all([this.inFlight, ...this.polls]);
    this.setStatus({ retryInMs: null });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
    this.channel?.close();
    this.store.close();
  }

  // ---- Live mode ---------------------------------------------------------------------------

  private liveWaitSeconds(): number {
    const wait = Math.floor(this.options.liveWait ?? 25);
    return Number.isFinite(wait) ? Math.max(0, Math.min(60, wait)) : 0;
  }

  /**
   * One tab per database keeps the long-poll open: the one holding the Web Lock
   * avsync-live:<dbName>, until it stops or closes; the others hear its pages on the
   * BroadcastChannel. Without Web Locks every client polls.
   */
  private claimLiveMode(): void {
    if (this.liveWaitSeconds() === 0) return;
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (!locks) {
      this.liveLeader = true;
      return;
    }
    const release = new AbortController();
    this.liveLock = release;
    locks
      .request(`avsync-live:${this.dbName}`, { signal: release.signal }, () => {
        if (release.signal.aborted) return;
        this.liveLeader = true;
        this.openPoll();
        return new Promise<void>((resolve) => release.signal.addEventListener("abort", () => resolve()));
      })
      .catch(() => {}); // stopped before the lock was granted
  }

  /** Opens the long-poll if live mode may run now: started, online, the last cycle succeeded, no cycle due within a second. */
  private openPoll(): void {
    const liveWait = this.liveWaitSeconds();
    if (liveWait === 0 || !this.started || this.closed || !this.liveLeader || this.poll || this.cycleRunning) return;
    if (this.current.state !== "idle" || this.failures > 0 || this.waitingForToken) return;
    if ((globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false) return;
    const now = Date.now();
    if (now < this.liveResumeAt) {
      clearTimeout(this.liveTimer);
      this.liveTimer = setTimeout(() => {
        this.liveTimer = undefined;
        this.openPoll();
      }, this.liveResumeAt - now);
      return;
    }
    // A poll never holds past the next cycle's due time; that cycle reopens it.
    const wait = Math.min(liveWait, Math.floor((this.scheduledAt - now) / 1000));
    if (wait < 1) return;
    const controller = new AbortController();
    this.poll = controller;
    const run = this.runPoll(controller, wait);
    this.polls.add(run);
    void run.finally(() => this.polls.delete(run));
  }

  private abortPoll(): void {
    this.poll?.abort();
    this.poll = undefined;
  }

  private async runPoll(controller: AbortController, wait: number): Promise<void> {
    let reopen = false;
    try {
      const result = await livePull(this.store, this.transport, this.dbName, {
        wait,
        pullPageSize: this.options.pullPageSize ?? 5000,
        timeoutMs: this.options.timeoutMs ?? 30000,
        signal: controller.signal,
      });
      if (result.rows.length) await this.refresh(result.rows, true);
      if (result.changes === 0 && result.elapsedMs < (wait * 1000) / 2) {
        // Nothing, at once: a server older than live mode (it ignores wait) or one shutting
        // down. Asking again at once would be a busy loop.
        const base = this.options.backoff?.baseMs ?? 1000;
        const cap = this.options.backoff?.capMs ?? 300000;
        this.liveResumeAt = Date.now() + backoffDelay(++this.earlyAnswers, base, cap);
      } else {
        this.earlyAnswers = 0;
      }
      reopen = !controller.signal.aborted;
    } catch (e) {
      // Cancelled: a local write, a cycle, going offline or stop() ended it; nothing failed.
      if (controller.signal.aborted || !this.started || this.closed) return;
      const error = e instanceof AvsyncError ? e : new AvsyncError("LOCAL_STORAGE", e instanceof Error ? e.message : String(e));
      // A failed poll counts as a failed cycle: its state, its backoff, the pause after a
      // refused token. The way back is a cycle, which reopens the poll when it succeeds.
      if (this.poll === controller) this.poll = undefined;
      await this.failed(error);
      return;
    } finally {
      if (this.poll === controller) this.poll = undefined;
    }
    if (reopen) this.openPoll();
  }

  private checkOpen(): void {
    if (this.closed) throw new AvsyncError("LOCAL_STORAGE", "the client is closed");
  }

  // ---- Status ----------------------------------------------------------------------------

  status(): SyncStatus {
    return this.current;
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setStatus(change: Partial<SyncStatus>, rows: RowKey[] = []): void {
    this.current = { ...this.current, ...change };
    this.emit(rows);
  }

  private emit(rows: RowKey[]): void {
    const event = { status: this.current, rows };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        // A listener's bug must not stop sync or the other listeners.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  /** Tells subscribers and the other tabs about rows this tab changed. */
  private announce(rows: RowKey[]): void {
    this.channel?.postMessage({ rows });
    this.emit(rows);
  }

  /** Re-reads the counts and tells subscribers (and, for our own changes, the other tabs). */
  private async refresh(rows: RowKey[], broadcast: boolean): Promise<void> {
    if (this.closed) return;
    if (broadcast && rows.length) this.channel?.postMessage({ rows });
    try {
      const counts = await this.store.counts();
      this.current = { ...this.current, ...counts };
    } catch {
      // the counts stay as they were; the next change reads them again
    }
    this.emit(rows);
  }
}

/** Asks the Service Worker controlling this page, if any, to sync when connectivity returns. */
async function registerBackgroundSync(dbName: string): Promise<void> {
  try {
    const sw = (globalThis as { navigator?: Navigator }).navigator?.serviceWorker;
    if (!sw?.controller) return;
    const registration = (await sw.ready) as ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } };
    await registration.sync?.register(`avsync:${dbName}`);
  } catch {
    // Background Sync is optional: the queue is flushed at the next load otherwise.
  }
}

/**
 * Opens (or creates) the device's database and returns a client. Nothing is sent until
 * `sync()` or `start()`.
 */
export async function createClient(options: ClientOptions): Promise<AvsyncClient> {
  if (!options || typeof options.server !== "string")
    throw new AvsyncError("VALIDATION_ERROR", "createClient: server is required (the avsync server's URL)");
  if (typeof options.token !== "string" && typeof options.token !== "function")
    throw new AvsyncError("VALIDATION_ERROR", "createClient: token is required (a string or a function returning one)");
  const dbName = options.dbName ?? "avsync";
  new Transport({ server: options.server, token: () => undefined }); // checks the URL before opening anything
  const store = await LocalStore.open(dbName);
  const stored = await store.getMeta<string>("server");
  if (stored && stored !== options.server && (await store.getMeta<string>("cursor"))) {
    store.close();
    throw new AvsyncError(
      "VALIDATION_ERROR",
      `createClient: ${dbName} already syncs with ${stored}; use another dbName for ${options.server}`,
    );
  }
  await store.setMeta({ server: options.server, ...(typeof options.token === "string" ? { token: options.token } : {}) });
  const counts = await store.counts();
  const lastError = (await store.getMeta<{ code: ErrorCode; message: string }>("lastError")) ?? null;
  const initial: SyncStatus = {
    state: lastError ? "error" : "idle",
    ...counts,
    lastSyncAt: (await store.getMeta<string>("lastSyncAt")) ?? null,
    lastError,
    retryInMs: null,
  };
  return new Client(store, options, dbName, initial);
}
