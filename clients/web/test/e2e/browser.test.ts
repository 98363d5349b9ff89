// The web client in real headless Chromium against a real avsync-server, the page on its own
// origin (the server allows it with --cors-origin) calling the package's public API. What
// docs/client.md promises of the C++ SDK, the web client keeps: writes survive being offline
// and a reload; tabs share one queue and push it once; a batch whose answer was lost is sent
// again and applied once; an operation the server rejects does not hold back the rest; in
// live mode another device's write reaches every tab as it commits, through one long-poll.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Page } from "playwright-core";

import {
  AvsyncServer,
  Browser,
  StaticServer,
  cliDevice,
  launchBrowser,
  reload,
  sleep,
  sqlite,
  startProxy,
  startServer,
  startStatic,
} from "./harness.js";

let site: StaticServer;
let browser: Browser;

before(async () => {
  site = await startStatic();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

/** A server of its own for each test, so its counts are the test's alone. */
async function server(): Promise<AvsyncServer> {
  return startServer({ corsOrigins: [site.origin] });
}

interface PageRow {
  entity: string;
  id: string;
  fields: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  syncState: string;
}

// ---- Calls into the page: window.client is the page's AvsyncClient ---------------------------

type Options = { server: string; token: string; dbName: string; batchSize?: number };

function createClient(page: Page, options: Options) {
  return page.evaluate(async (o) => {
    const w = window as any;
    w.client = await w.avsync.createClient({ ...o, backgroundSync: false });
    return w.client.status();
  }, options);
}

/** sync(): its report, or the code of the error it rejected with. */
function sync(page: Page): Promise<{ report?: { pushed: number; rejected: number; pulled: number; pending: number }; error?: string }> {
  return page.evaluate(async () => {
    try {
      return { report: await (window as any).client.sync() };
    } catch (e) {
      return { error: (e as { code: string }).code };
    }
  });
}

function status(page: Page) {
  return page.evaluate(() => (window as any).client.status() as { state: string; pending: number; failed: number });
}

function list(page: Page, entity: string): Promise<PageRow[]> {
  return page.evaluate((e) => (window as any).client.list(e, { limit: 100000 }), entity);
}

function queue(page: Page): Promise<{ operationId: string; entityId: string; action: string; status: string; lastError: { code: string } | null }[]> {
  return page.evaluate(() => (window as any).client.queue());
}

/** Inserts `count` customers named `prefix-i`; their ids. */
function insertCustomers(page: Page, prefix: string, count: number): Promise<string[]> {
  return page.evaluate(
    async ([p, n]) => {
      const ids: string[] = [];
      for (let i = 0; i < (n as number); ++i) ids.push((await (window as any).client.insert("customers", { name: `${p}-${i}` })).id);
      return ids;
    },
    [prefix, count] as const,
  );
}

// ---- What the server holds -----------------------------------------------------------------

const entityTables = ["customers", "sales", "sale_items", "abonos", "distribuciones"];

/**
 * The server's operation log and rows. Every applied change takes the tenant's next version,
 * so the highest version equals the operations applied: a batch applied twice would raise it.
 */
function serverState(s: AvsyncServer) {
  const [log] = sqlite(
    s.dbPath,
    "SELECT count(*) AS n, count(DISTINCT operation_id) AS distinctIds, coalesce(sum(status = 'processed'), 0) AS processed FROM sync_operations",
  );
  const versions = entityTables.map((t) => `SELECT max(version) AS v FROM ${t}`).join(" UNION ALL ");
  const [top] = sqlite(s.dbPath, `SELECT coalesce(max(v), 0) AS v FROM (${versions})`);
  const [customers] = sqlite(s.dbPath, "SELECT count(*) AS n, count(DISTINCT id) AS distinctIds FROM customers WHERE deleted = 0");
  return {
    operations: Number(log!.n),
    distinctOperations: Number(log!.distinctIds),
    processed: Number(log!.processed),
    maxVersion: Number(top!.v),
    customers: Number(customers!.n),
    distinctCustomers: Number(customers!.distinctIds),
  };
}

function countsOf(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

// ---- The tests -------------------------------------------------------------------------------

test("writes made offline survive a reload, sync when the server is back, and match a C++ device's replica", async () => {
  const s = await server();
  const page = await browser.openPage(site.origin);
  try {
    await createClient(page, { server: s.url, token: s.token, dbName: "offline" });
    await s.stop();

    // Every entity, and an update and a delete of rows written offline too.
    const written = await page.evaluate(async () => {
      const c = (window as any).client;
      const ana = await c.insert("customers", { name: "Ana", phone: "555-0101", credit_limit: "1500.5" });
      const luis = await c.insert("customers", { name: "Luis", email: "luis@example.com", notes: "pays on Fridays" });
      const gone = await c.insert("customers", { name: "Temporary" });
      await c.update("customers", luis.id, { address: "Calle 5", credit_limit: "20" });
      await c.remove("customers", gone.id);
      const sale = await c.insert("sales", { customer_id: ana.id, total: "30.00", payment_type: "credit", sold_at: "2026-05-01T10:00:00Z" });
      await c.insert("sale_items", { sale_id: sale.id, product_name: "Rice", quantity: "2.5", unit_price: "8" });
      await c.insert("sale_items", { sale_id: sale.id, product_name: "Beans", quantity: "1", unit_price: "10", product_id: "B-1" });
      await c.insert("abonos", { customer_id: ana.id, sale_id: sale.id, amount: "12.25", method: "transfer" });
      await c.insert("distribuciones", { product_name: "Rice", quantity: "40", seller: "Marta", route: "north" });
      return { gone: gone.id };
    });

    assert.equal((await sync(page)).error, "NETWORK");
    const offline = await status(page);
    assert.equal(offline.state, "offline");
    assert.equal(offline.pending, 10);
    const before: Record<string, PageRow[]> = {};
    for (const e of entityTables) {
      before[e] = await list(page, e);
      for (const row of before[e]!) assert.equal(row.syncState, "pending", `${e} ${row.id}`);
    }
    assert.deepEqual(
      entityTables.map((e) => before[e]!.length),
      [2, 1, 2, 1, 1],
    );
    const queued = await queue(page);

    // A reload: the queue and the rows are read back from IndexedDB as they were.
    await reload(page);
    const reopened = await createClient(page, { server: s.url, token: s.token, dbName: "offline" });
    assert.equal(reopened.pending, 10);
    assert.deepEqual(await queue(page), queued);
    for (const e of entityTables) assert.deepEqual(await list(page, e), before[e], e);

    await s.start();
    const { report, error } = await sync(page);
    assert.equal(error, undefined);
    assert.equal(report!.pushed, 10);
    const back = await status(page);
    assert.equal(back.state, "idle");
    assert.equal(back.pending, 0);
    assert.equal(back.failed, 0);

    // A C++ device of the tenant sees exactly the page's rows, field by field.
    const device = cliDevice(s.url, s.createToken("cli"));
    device.run("sync");
    for (const e of entityTables) {
      const mine = await list(page, e);
      const theirs = device.list(e.replace("_", "-"));
      assert.equal(mine.length, theirs.length, e);
      const byId = new Map(theirs.map((r) => [r.id as string, r]));
      for (const row of mine) {
        assert.equal(row.syncState, "synced");
        const other = byId.get(row.id);
        assert.ok(other, `${e} ${row.id} is missing on the C++ device`);
        assert.ok(row.id !== written.gone);
        const fields = Object.keys(row.fields);
        assert.ok(fields.length > 0);
        for (const f of fields) assert.equal(row.fields[f], other[f], `${e}.${f} of ${row.id}`);
        assert.equal(row.createdAt, other.created_at, `${e}.created_at of ${row.id}`);
        assert.equal(row.updatedAt, other.updated_at, `${e}.updated_at of ${row.id}`);
      }
    }
  } finally {
    await page.close();
    await s.stop();
  }
});

test("two tabs syncing at once push each operation exactly once", async () => {
  const s = await server();
  const proxy = await startProxy(s.port);
  const a = await browser.openPage(site.origin);
  const b = await browser.openPage(site.origin);
  try {
    const options = { server: proxy.url, token: s.token, dbName: "tabs", batchSize: 7 };
    await createClient(a, options);
    await createClient(b, options);
    const ids: string[] = [];
    let writes = 0;
    for (let round = 0; round < 4; ++round) {
      const [inA, inB] = await Promise.all([insertCustomers(a, `a${round}`, 12), insertCustomers(b, `b${round}`, 12)]);
      ids.push(...inA!, ...inB!);
      writes += 24;
      if (round > 0) {
        // Each tab edits a row the other tab wrote in the round before.
        await a.evaluate((id) => (window as any).client.update("customers", id, { notes: "edited in a" }), ids[ids.length - 30]!);
        await b.evaluate((id) => (window as any).client.update("customers", id, { notes: "edited in b" }), ids[ids.length - 40]!);
        writes += 2;
      }
      const results = await Promise.all([sync(a), sync(b), sync(a), sync(b)]);
      for (const r of results) assert.equal(r.error, undefined);
      // Between them the syncs pushed every operation of the round, and none twice.
      assert.equal(results.reduce((n, r) => n + r.report!.pushed, 0), round > 0 ? 26 : 24);
    }
    for (const page of [a, b]) {
      await sync(page);
      const st = await status(page);
      assert.equal(st.pending, 0);
      assert.equal(st.state, "idle");
      const rows = await list(page, "customers");
      assert.equal(rows.length, ids.length);
      assert.ok(rows.every((r) => r.syncState === "synced"));
    }

    const sent = countsOf(proxy.sentOperationIds);
    assert.equal(sent.size, writes, "operations sent");
    assert.deepEqual([...sent.values()].filter((n) => n !== 1), [], "an operation was sent more than once");
    const state = serverState(s);
    assert.equal(state.operations, writes);
    assert.equal(state.distinctOperations, writes);
    assert.equal(state.processed, writes);
    assert.equal(state.maxVersion, writes, "one change per operation: none applied twice");
    assert.equal(state.customers, ids.length);
    assert.equal(state.distinctCustomers, ids.length);
  } finally {
    await a.close();
    await b.close();
    await proxy.close();
    await s.stop();
  }
});

test("a batch whose answer was lost when the server was killed is sent again and applied once", async () => {
  const s = await server();
  const proxy = await startProxy(s.port);
  const page = await browser.openPage(site.origin);
  try {
    await createClient(page, { server: proxy.url, token: s.token, dbName: "killed", batchSize: 100 });
    const ids = await insertCustomers(page, "k", 250);

    // The first batch reaches the server and is committed; the server is killed (kill -9)
    // as its answer comes back, and the page never gets that answer.
    const lost = proxy.loseNextBatchAnswer(() => s.kill());
    const first = await sync(page);
    assert.equal((await lost).operations, 100);
    assert.equal(first.error, "NETWORK");
    assert.equal((await status(page)).state, "offline");
    assert.equal((await status(page)).pending, 250, "nothing is acknowledged without an answer");
    assert.equal(serverState(s).processed, 100, "the lost batch was applied");

    await s.start();
    const second = await sync(page);
    assert.equal(second.error, undefined);
    assert.equal(second.report!.pushed, 250);
    const st = await status(page);
    assert.equal(st.state, "idle");
    assert.equal(st.pending, 0);
    assert.deepEqual(await queue(page), []);

    const sent = countsOf(proxy.sentOperationIds);
    const firstBatch = ids.slice(0, 100);
    const firstBatchOps = proxy.sentOperationIds.slice(0, 100);
    assert.equal(sent.size, 250);
    for (const id of firstBatchOps) assert.ok(sent.get(id)! >= 2, "the lost batch was sent again");
    const state = serverState(s);
    assert.equal(state.operations, 250);
    assert.equal(state.processed, 250);
    assert.equal(state.maxVersion, 250, "the batch sent again was not applied again");
    assert.equal(state.customers, 250);
    assert.equal(state.distinctCustomers, 250);
    const rows = await list(page, "customers");
    assert.equal(rows.length, 250);
    assert.ok(firstBatch.every((id) => rows.some((r) => r.id === id && r.syncState === "synced")));
  } finally {
    await page.close();
    await proxy.close();
    await s.stop();
  }
});

test("an operation the server rejects waits in the failed list without holding back the writes after it", async () => {
  const s = await server();
  const page = await browser.openPage(site.origin);
  try {
    const device = cliDevice(s.url, s.createToken("cli"));
    const doomed = (JSON.parse(device.run("customers", "add", "--name", "Doomed")) as { id: string }).id;
    device.run("sync");
    await createClient(page, { server: s.url, token: s.token, dbName: "poison" });
    assert.equal((await sync(page)).report!.pulled, 1);

    // Another device deletes the row; this page, not knowing, updates it, then writes more.
    device.run("customers", "delete", doomed);
    device.run("sync");
    await page.evaluate((id) => (window as any).client.update("customers", id, { notes: "too late" }), doomed);
    const after = await insertCustomers(page, "after", 3);

    const { report, error } = await sync(page);
    assert.equal(error, undefined);
    assert.equal(report!.rejected, 1);
    assert.equal(report!.pushed, 3);
    let st = await status(page);
    assert.equal(st.pending, 0);
    assert.equal(st.failed, 1);
    let failed = await queue(page);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.entityId, doomed);
    assert.equal(failed[0]!.status, "failed");
    assert.equal(failed[0]!.lastError?.code, "NOT_FOUND");
    device.run("sync");
    const onDevice = device.list("customers").map((r) => r.id);
    assert.deepEqual(onDevice.sort(), [...after].sort(), "the writes after the rejected one reached the server");

    // retry() queues it again; the server still refuses it.
    await page.evaluate((id) => (window as any).client.retry(id), failed[0]!.operationId);
    assert.equal((await queue(page))[0]!.status, "pending");
    assert.equal((await status(page)).pending, 1);
    assert.equal((await sync(page)).report!.rejected, 1);
    failed = await queue(page);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.lastError?.code, "NOT_FOUND");

    // discard() drops it and restores the server's state of the row: deleted.
    await page.evaluate((id) => (window as any).client.discard(id), failed[0]!.operationId);
    assert.deepEqual(await queue(page), []);
    st = await status(page);
    assert.equal(st.failed, 0);
    assert.equal(st.pending, 0);
    assert.equal(await page.evaluate((id) => (window as any).client.get("customers", id), doomed), null);
    assert.deepEqual((await list(page, "customers")).map((r) => r.id).sort(), [...after].sort());
    assert.equal((await sync(page)).error, undefined);
    assert.equal((await status(page)).state, "idle");
  } finally {
    await page.close();
    await s.stop();
  }
});

/** The long-polls the server holds now (GET /healthz). */
async function waiters(s: AvsyncServer): Promise<number> {
  const reply = await fetch(`${s.url}/healthz`);
  return ((await reply.json()) as { waiters: number }).waiters;
}

test("live mode: another device's write reaches both tabs within moments, through one tab's long-poll", async () => {
  const s = await server();
  const pages = [await browser.openPage(site.origin), await browser.openPage(site.origin)];
  try {
    for (const page of pages) {
      await page.evaluate(async (o) => {
        const w = window as any;
        w.client = await w.avsync.createClient({ ...o, backgroundSync: false, syncIntervalMs: 3600000 });
        w.heard = [];
        w.client.subscribe((e: { rows: { id: string }[] }) => w.heard.push(...e.rows.map((r) => r.id)));
        w.client.start();
      }, { server: s.url, token: s.token, dbName: "live" });
    }
    // One tab holds the live lock and keeps the poll open; the other hears its pages.
    const deadline = Date.now() + 5000;
    while ((await waiters(s)) === 0) {
      assert.ok(Date.now() < deadline, "no long-poll was opened");
      await sleep(20);
    }
    // Another device of the tenant pushes a customer (over HTTP: the CLI's start-up would
    // cost more than the whole delivery).
    const id = crypto.randomUUID();
    const push = await fetch(`${s.url}/sync/batch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${s.createToken("other")}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        operations: [
          { operationId: crypto.randomUUID(), entity: "customers", action: "insert", entityId: id, payload: { name: "Live" }, clientTimestamp: new Date().toISOString() },
        ],
      }),
    });
    assert.equal(push.status, 200);
    const sent = Date.now();
    for (const page of pages)
      await page.waitForFunction((i) => (window as any).heard.includes(i), id, { timeout: 5000 });
    assert.ok(Date.now() - sent < 5000);
    for (const page of pages) {
      const row = await page.evaluate((i) => (window as any).client.get("customers", i), id);
      assert.equal(row.fields.name, "Live");
      assert.equal(row.syncState, "synced");
    }
    await sleep(100);
    assert.equal(await waiters(s), 1, "one poll for the two tabs, open again");
  } finally {
    for (const page of pages) await page.evaluate(() => (window as any).client.close()).catch(() => {});
    for (const page of pages) await page.close();
    await s.stop();
  }
});
