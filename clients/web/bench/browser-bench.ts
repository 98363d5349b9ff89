// The web client's throughput in headless Chromium against a real avsync-server, each figure
// beside what the browser itself can do with the same rows (raw IndexedDB), so the ratio says
// how much of the budget the client spends:
//   (a) durable local writes: client.insert of customers, one awaited after the other;
//       baseline: one put per strict-durability transaction, awaited one after the other
//       (what applyLocalWrite's transaction costs at least);
//   (b) initial sync of 50,000 rows: createClient + sync() in a fresh browser profile;
//       baselines in the same page: fetching and parsing the same feed pages, and putting
//       the same rows in one relaxed transaction per 5,000 (as applyPulledPage does).
// Run by hand, never by the tests:
//   node scripts/build.mjs --tests && node dist-test/bench/browser-bench.mjs
// Env: RUNS (5), WRITES (2000), ROWS (50000), and the harness's AVSYNC_SERVER and CHROMIUM.
import { randomUUID } from "node:crypto";
import { Page } from "playwright-core";

import { launchBrowser, startServer, startStatic } from "../test/e2e/harness.js";

const RUNS = Number(process.env.RUNS ?? 5);
const WRITES = Number(process.env.WRITES ?? 2000);
const WARMUP = 200;
const ROWS = Number(process.env.ROWS ?? 50000);
const WRITE_TARGET = 1000;
const SYNC_TARGET = 25000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function customer(i: number) {
  return {
    name: `Customer ${i}`,
    phone: `555-${String(i).padStart(6, "0")}`,
    email: `customer${i}@example.com`,
    address: `Calle ${i % 300}, Colonia Centro`,
    credit_limit: `${(i % 5000) + 0.5}`,
  };
}

// ---- (a) local writes ------------------------------------------------------------------------

interface WriteRun {
  clientMs: number;
  rawMs: number;
}

function writeRun(page: Page, server: string, token: string, run: number): Promise<WriteRun> {
  return page.evaluate(
    async ({ server, token, run, writes, warmup }) => {
      const avsync = (window as any).avsync;
      const row = (i: number) => ({ name: `Customer ${i}`, phone: `555-${i}`, email: `c${i}@example.com`, credit_limit: "100.50" });
      const client = await avsync.createClient({ server, token, dbName: `writes-${run}`, backgroundSync: false });
      for (let i = 0; i < warmup; ++i) await client.insert("customers", row(i));
      let t = performance.now();
      for (let i = 0; i < writes; ++i) await client.insert("customers", row(warmup + i));
      const clientMs = performance.now() - t;
      await client.close();

      const db: IDBDatabase = await new Promise((resolve, reject) => {
        const open = indexedDB.open(`raw-writes-${run}`, 1);
        open.onupgradeneeded = () => open.result.createObjectStore("rows", { keyPath: "id" });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const put = (i: number) =>
        new Promise<void>((resolve, reject) => {
          const tx = db.transaction("rows", "readwrite", { durability: "strict" });
          tx.objectStore("rows").put({ id: crypto.randomUUID(), ...row(i) });
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
      for (let i = 0; i < warmup; ++i) await put(i);
      t = performance.now();
      for (let i = 0; i < writes; ++i) await put(warmup + i);
      const rawMs = performance.now() - t;
      db.close();
      return { clientMs, rawMs };
    },
    { server, token, run, writes: WRITES, warmup: WARMUP },
  );
}

// ---- (b) initial sync ------------------------------------------------------------------------

interface SyncRun {
  clientMs: number;
  pulled: number;
  /** The same pages fetched (to the last byte) and parsed by the page itself. */
  fetchMs: number;
  parseMs: number;
  /** The same rows put in one relaxed transaction per 5,000. */
  idbMs: number;
  /** The same, into a store with the client's two indexes of rows (byEntity, refs). */
  indexedMs: number;
  /** The client's own /sync/changes requests, from Resource Timing: the sum of their durations. */
  clientNetworkMs: number;
}

function syncRun(page: Page, server: string, token: string): Promise<SyncRun> {
  return page.evaluate(
    async ({ server, token }) => {
      const avsync = (window as any).avsync;
      performance.clearResourceTimings();
      performance.setResourceTimingBufferSize(10000);
      let t = performance.now();
      const client = await avsync.createClient({ server, token, dbName: "initial", backgroundSync: false });
      const report = await client.sync();
      const clientMs = performance.now() - t;
      await client.close();
      const feed = performance.getEntriesByType("resource").filter((e) => e.name.includes("/sync/changes")) as PerformanceResourceTiming[];
      // One feed request is in flight at a time, overlapping the writing of the page before.
      const clientNetworkMs = feed.reduce((sum, e) => sum + (e.responseEnd - e.startTime), 0);

      // The same feed, fetched and parsed page by page without the client.
      let fetchMs = 0;
      let parseMs = 0;
      const changes: { entity: string; entityId: string; data: Record<string, unknown> }[] = [];
      let cursor: string | undefined;
      for (;;) {
        t = performance.now();
        const res = await fetch(`${server}/sync/changes?limit=5000` + (cursor ? `&since=${encodeURIComponent(cursor)}` : ""), {
          headers: { Authorization: `Bearer ${token}` },
          cache: "no-store",
        });
        const text = await res.text();
        fetchMs += performance.now() - t;
        t = performance.now();
        const page = JSON.parse(text);
        parseMs += performance.now() - t;
        changes.push(...page.changes);
        cursor = page.cursor;
        if (!page.hasMore) break;
      }

      // The same rows, shaped as the client stores them, in one transaction per 5,000: into a
      // bare object store (the baseline), then into one with the client's two row indexes.
      const db: IDBDatabase = await new Promise((resolve, reject) => {
        const open = indexedDB.open("raw-initial", 1);
        open.onupgradeneeded = () => {
          open.result.createObjectStore("rows", { keyPath: ["e", "id"] });
          const indexed = open.result.createObjectStore("indexed", { keyPath: ["e", "id"] });
          indexed.createIndex("byEntity", ["e", "c", "id"]);
          indexed.createIndex("refs", "r", { multiEntry: true });
        };
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const putAll = async (storeName: string) => {
        const start = performance.now();
        for (let i = 0; i < changes.length; i += 5000) {
          await new Promise<void>((resolve, reject) => {
            const tx = db.transaction(storeName, "readwrite", { durability: "relaxed" });
            const store = tx.objectStore(storeName);
            for (const c of changes.slice(i, i + 5000)) {
              const { created_at, updated_at, ...d } = c.data as Record<string, string>;
              store.put({ e: c.entity, id: c.entityId, d, c: created_at, u: updated_at, r: [] });
            }
            tx.oncomplete = () => resolve();
            tx.onerror = () => reject(tx.error);
          });
        }
        return performance.now() - start;
      };
      const idbMs = await putAll("rows");
      const indexedMs = await putAll("indexed");
      db.close();
      return { clientMs, pulled: report.pulled, fetchMs, parseMs, idbMs, indexedMs, clientNetworkMs };
    },
    { server, token },
  );
}

// ---- Seeding the tenant ------------------------------------------------------------------------

async function seed(server: string, token: string, rows: number): Promise<number> {
  const t = performance.now();
  const now = new Date().toISOString();
  for (let i = 0; i < rows; i += 500) {
    const operations = [];
    for (let j = i; j < Math.min(rows, i + 500); ++j)
      operations.push({ operationId: randomUUID(), entity: "customers", action: "insert", entityId: randomUUID(), payload: customer(j), clientTimestamp: now });
    const res = await fetch(`${server}/sync/batch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ operations }),
    });
    const body = (await res.json()) as { results: { success: boolean; error?: string }[] };
    if (!res.ok || body.results.some((r) => !r.success)) throw new Error(`seeding failed: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
  return performance.now() - t;
}

// ---- The run -----------------------------------------------------------------------------------

const site = await startStatic();
// The bench measures the client, not the server's per-token limits.
const server = await startServer({ corsOrigins: [site.origin], args: ["--rate-limit", "0", "--op-rate-limit", "0"] });
try {
  console.log(`avsync web client bench: ${RUNS} runs; Chromium headless; avsync-server on SQLite\n`);

  const browser = await launchBrowser();
  const writes: WriteRun[] = [];
  try {
    const page = await browser.openPage(site.origin);
    for (let r = 0; r < RUNS; ++r) writes.push(await writeRun(page, server.url, server.token, r));
  } finally {
    await browser.close();
  }

  const seedMs = await seed(server.url, server.token, ROWS);
  console.log(`seeded ${fmt(ROWS)} customers in ${fmt(seedMs)} ms (POST /sync/batch, 500 per batch)\n`);

  const syncs: SyncRun[] = [];
  for (let r = 0; r < RUNS; ++r) {
    const fresh = await launchBrowser(); // a fresh profile: an empty IndexedDB
    try {
      const run = await syncRun(await fresh.openPage(site.origin), server.url, server.token);
      if (run.pulled !== ROWS) throw new Error(`the initial sync pulled ${run.pulled} rows, not ${ROWS}`);
      syncs.push(run);
    } finally {
      await fresh.close();
    }
  }

  const perSec = (count: number, ms: number) => (count * 1000) / ms;
  const wClient = writes.map((w) => perSec(WRITES, w.clientMs));
  const wRaw = writes.map((w) => perSec(WRITES, w.rawMs));
  const sClient = syncs.map((s) => perSec(ROWS, s.clientMs));
  const sRaw = syncs.map((s) => perSec(ROWS, s.idbMs));
  const runs = (xs: number[]) => xs.map(fmt).join(", ");
  const line = (what: string, value: string, target: string, all: string) =>
    console.log(`${what.padEnd(44)} ${value.padStart(14)} ${target.padStart(12)}   ${all}`);
  line("measure", "median", "target", "runs");
  line(`(a) client.insert, sequential (${fmt(WRITES)})`, `${fmt(median(wClient))}/s`, `>= ${fmt(WRITE_TARGET)}/s`, runs(wClient));
  line("    baseline: 1 put per strict transaction", `${fmt(median(wRaw))}/s`, "", runs(wRaw));
  line("    client / baseline", `${(median(wClient) / median(wRaw)).toFixed(2)}`, "", "");
  line(`(b) initial sync, createClient + sync()`, `${fmt(median(sClient))} rows/s`, `>= ${fmt(SYNC_TARGET)}/s`, runs(sClient));
  line("    baseline: raw puts, 5,000 per transaction", `${fmt(median(sRaw))} rows/s`, "", runs(sRaw));
  line("    client / baseline", `${(median(sClient) / median(sRaw)).toFixed(2)}`, "", "");
  console.log("\n(b) where the time goes, ms (medians):");
  const ms = (xs: number[]) => fmt(median(xs));
  console.log(`    client total ${ms(syncs.map((s) => s.clientMs))}; its feed requests in flight (overlapping its IndexedDB writes): ${ms(syncs.map((s) => s.clientNetworkMs))}`);
  console.log(
    `    same pages by hand: fetch to last byte ${ms(syncs.map((s) => s.fetchMs))}, JSON.parse ${ms(syncs.map((s) => s.parseMs))}; raw IndexedDB puts ${ms(syncs.map((s) => s.idbMs))}, with the client's 2 row indexes ${ms(syncs.map((s) => s.indexedMs))}`,
  );
  const ok = median(wClient) >= WRITE_TARGET && median(sClient) >= SYNC_TARGET;
  console.log(ok ? "\nboth targets met" : "\na target was missed");
} finally {
  await server.stop();
  await site.close();
}
