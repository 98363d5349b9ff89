// Where the web client's time goes in headless Chromium: a CPU profile of the page (Chrome
// DevTools Protocol) while it (a) inserts WRITES customers one after the other and (b) runs
// an initial sync of ROWS customers. Prints the page's busy and idle time (idle: waiting on
// IndexedDB, which runs outside the page, or on the network) and the functions that took
// the most time of their own. Run by hand, after browser-bench:
//   node dist-test/bench/browser-profile.mjs          (env: WRITES 1000, ROWS 20000)
import { randomUUID } from "node:crypto";
import { Page } from "playwright-core";

import { launchBrowser, startServer, startStatic } from "../test/e2e/harness.js";

const WRITES = Number(process.env.WRITES ?? 1000);
const ROWS = Number(process.env.ROWS ?? 20000);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

async function profiled(page: Page, label: string, body: () => Promise<unknown>): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  const t = performance.now();
  await body();
  const wall = performance.now() - t;
  const { profile } = (await cdp.send("Profiler.stop")) as unknown as { profile: Profile };
  await cdp.detach();

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "(idle)" || f.functionName === "(program)") idle += f.functionName === "(idle)" ? dt : 0;
    const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  console.log(`\n${label}: wall ${Math.round(wall)} ms; sampled ${Math.round(total)} ms, of which idle ${Math.round(idle)} ms`);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  for (const [name, ms] of top) console.log(`  ${String(Math.round(ms)).padStart(7)} ms  ${name}`);
}

const site = await startStatic();
const server = await startServer({ corsOrigins: [site.origin], args: ["--rate-limit", "0", "--op-rate-limit", "0"] });
try {
  const now = new Date().toISOString();
  for (let i = 0; i < ROWS; i += 500) {
    const operations = [];
    for (let j = i; j < Math.min(ROWS, i + 500); ++j)
      operations.push({
        operationId: randomUUID(),
        entity: "customers",
        action: "insert",
        entityId: randomUUID(),
        payload: { name: `Customer ${j}`, phone: `555-${j}`, email: `c${j}@example.com`, address: `Calle ${j % 300}`, credit_limit: "100.50" },
        clientTimestamp: now,
      });
    const res = await fetch(`${server.url}/sync/batch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ operations }),
    });
    if (!res.ok) throw new Error(`seeding failed: HTTP ${res.status}`);
  }

  const browser = await launchBrowser();
  try {
    const page = await browser.openPage(site.origin);
    const args = { server: server.url, token: server.token, writes: WRITES };
    await page.evaluate(async (a) => {
      (window as any).w = await (window as any).avsync.createClient({ server: a.server, token: a.token, dbName: "writes", backgroundSync: false });
      for (let i = 0; i < 100; ++i) await (window as any).w.insert("customers", { name: `warm ${i}` });
    }, args);
    await profiled(page, `(a) ${WRITES} sequential inserts`, () =>
      page.evaluate(async (a) => {
        for (let i = 0; i < a.writes; ++i) await (window as any).w.insert("customers", { name: `Customer ${i}`, phone: `555-${i}`, credit_limit: "100.50" });
      }, args),
    );
    await profiled(page, `(b) initial sync of ${ROWS} rows`, () =>
      page.evaluate(async (a) => {
        const c = await (window as any).avsync.createClient({ server: a.server, token: a.token, dbName: "initial", backgroundSync: false });
        await c.sync();
      }, args),
    );
  } finally {
    await browser.close();
  }
} finally {
  await server.stop();
  await site.close();
}
