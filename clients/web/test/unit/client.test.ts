// createClient over fake-indexeddb and a fake server: the guarantees of docs/web-client.md.
import "fake-indexeddb/auto";

import assert from "node:assert/strict";
import { test } from "node:test";

import { AvsyncClient, AvsyncError, ChangeEvent, createClient } from "../../src/index.js";
import { FakeServer } from "./fake-server.js";

let dbCounter = 0;

async function setup(options: Partial<Parameters<typeof createClient>[0]> = {}) {
  const server = new FakeServer();
  const client = await createClient({
    server: "http://sync.test",
    token: server.token,
    dbName: `unit-${process.pid}-${++dbCounter}`,
    fetch: server.fetch,
    backgroundSync: false,
    ...options,
  });
  return { server, client };
}

const rejectsWith = async (p: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof AvsyncError && e.code === code && (!message || message.test(e.message)));

const customer = (c: AvsyncClient, name = "Ana", id?: string) => c.insert("customers", { name }, id);

test("a write changes the row and enqueues its operation together; reads say pending", async () => {
  const { client } = await setup();
  const row = await client.insert("customers", { name: "Ana", credit_limit: 10.5, phone: null });
  assert.equal(row.syncState, "pending");
  assert.equal(row.fields.credit_limit, "10.50");
  assert.match(row.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const queue = await client.queue();
  assert.equal(queue.length, 1);
  assert.equal(queue[0]!.action, "insert");
  assert.equal(queue[0]!.entityId, row.id);
  assert.match(queue[0]!.operationId, /^[0-9a-f-]{36}$/);
  assert.match(queue[0]!.clientTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(queue[0]!.payload, { name: "Ana", credit_limit: "10.50", phone: null });
  assert.equal(client.status().pending, 1);
  assert.deepEqual(await client.get("customers", row.id.toUpperCase()), row);
  await client.close();
});

test("a write the device can judge fails at once and changes nothing", async () => {
  const { client } = await setup();
  const ana = await customer(client);
  await rejectsWith(client.insert("customers", { name: "" }), "VALIDATION_ERROR", /customers\.name: must not be empty/);
  await rejectsWith(customer(client, "Bea", ana.id), "CONFLICT", /already exists/);
  await rejectsWith(client.update("customers", crypto.randomUUID(), { name: "x" }), "NOT_FOUND");
  await rejectsWith(client.remove("customers", crypto.randomUUID()), "NOT_FOUND");
  await rejectsWith(
    client.insert("sales", { total: 1, payment_type: "cash", customer_id: crypto.randomUUID() }),
    "VALIDATION_ERROR",
    /does not exist on this device/,
  );
  await client.insert("sales", { total: 1, payment_type: "cash", customer_id: ana.id });
  await rejectsWith(client.remove("customers", ana.id), "CONFLICT", /referenced by 1 sales/);
  await rejectsWith(client.update("customers", ana.id, {}), "VALIDATION_ERROR", /an update must change a field/);
  assert.equal((await client.queue()).length, 2, "only the two good writes are queued");
  assert.equal((await client.list("customers")).length, 1);
  await client.close();
});

test("sync pushes in batches, pulls, and leaves every row synced with the server's state", async () => {
  const { server, client } = await setup({ batchSize: 2 });
  const ids = [];
  for (let i = 0; i < 5; ++i) ids.push((await customer(client, `c${i}`)).id);
  await client.update("customers", ids[0]!, { notes: "pays on Fridays" });
  await client.remove("customers", ids[4]!);
  const report = await client.sync();
  assert.deepEqual(report, { pushed: 7, rejected: 0, pulled: 4, pending: 0 });
  assert.equal(server.requests.filter((r) => r.path === "/sync/batch").length, 4, "7 operations in batches of 2");
  const rows = await client.list("customers");
  assert.deepEqual(rows.map((r) => r.fields.name), ["c0", "c1", "c2", "c3"]);
  assert.ok(rows.every((r) => r.syncState === "synced"));
  assert.equal(rows[0]!.fields.notes, "pays on Fridays");
  assert.equal(rows[0]!.createdAt.startsWith("2026-11-25T08:00:00"), true, "the server's timestamps replace the device's");
  const status = client.status();
  assert.equal(status.state, "idle");
  assert.equal(status.pending, 0);
  assert.ok(status.lastSyncAt);
  await client.close();
});

test("a pulled change never overwrites a row with pending operations; the server's state is kept for it", async () => {
  const { server, client } = await setup({ backoff: { baseMs: 1, capMs: 1 } });
  const ana = await customer(client);
  await client.sync();
  await client.update("customers", ana.id, { name: "Ana (device)" });
  // Another device changed the row. Ours fails transiently, so it is still pending when
  // the pull brings the other device's version.
  server.put("customers", ana.id, { ...server.rows.get(`customers/${ana.id}`)!.data, name: "Ana (other)" });
  server.judge = () => ["INTERNAL", "try later"];
  const report = await client.sync();
  assert.equal(report.pulled, 1);
  let row = (await client.get("customers", ana.id))!;
  assert.equal(row.fields.name, "Ana (device)");
  assert.equal(row.syncState, "pending");
  // The server then refuses ours: the row becomes the state the pull recorded.
  await new Promise((r) => setTimeout(r, 5));
  server.judge = () => ["CONFLICT", "a later write won"];
  await client.sync();
  row = (await client.get("customers", ana.id))!;
  assert.equal(row.fields.name, "Ana (other)");
  assert.equal(row.syncState, "failed");
  await client.close();
});

test("the device pulls only after every operation it sent got an answer", async () => {
  const { server, client } = await setup();
  await customer(client);
  server.faults.push({ kind: "lostAnswer" });
  await rejectsWith(client.sync(), "NETWORK");
  assert.equal(server.requests.filter((r) => r.path.startsWith("/sync/changes")).length, 0);
  assert.equal(server.appliedLog.length, 1, "the server applied it, the answer was lost");
  await client.sync();
  assert.equal(server.appliedLog.length, 1, "the retry was answered from the log, applied once");
  assert.equal(client.status().pending, 0);
  await client.close();
});

test("a rejected operation goes to the failed list, its row back to the server's state, and never blocks the queue", async () => {
  const { server, client } = await setup();
  const ana = await customer(client);
  await client.sync();
  const poison = await client.update("customers", ana.id, { name: "Poison" });
  const bea = await customer(client, "Bea");
  server.judge = (op) => ((op["payload"] as { name?: string })?.name === "Poison" ? ["CONFLICT", "customers.name: a later write won"] : null);
  const report = await client.sync();
  assert.equal(report.rejected, 1);
  assert.equal(report.pushed, 1);
  assert.equal((await client.get("customers", ana.id))!.fields.name, "Ana", "back to the server's state");
  assert.equal((await client.get("customers", ana.id))!.syncState, "failed");
  assert.equal((await client.get("customers", bea.id))!.syncState, "synced");
  const queue = await client.queue();
  assert.equal(queue.length, 1);
  assert.equal(queue[0]!.status, "failed");
  assert.deepEqual(queue[0]!.lastError, { code: "CONFLICT", message: "customers.name: a later write won" });
  assert.equal(client.status().failed, 1);
  assert.ok(poison);

  // retry: pending again, its change visible again, and this time the server takes it.
  server.judge = () => null;
  await client.retry(queue[0]!.operationId);
  assert.equal((await client.get("customers", ana.id))!.fields.name, "Poison");
  assert.equal((await client.get("customers", ana.id))!.syncState, "pending");
  await client.sync();
  assert.equal((await client.get("customers", ana.id))!.syncState, "synced");
  assert.equal(server.rows.get(`customers/${ana.id}`)!.data!["name"], "Poison");

  // discard: the change is dropped and the row shows the server's state.
  await client.update("customers", ana.id, { name: "Nope" });
  server.judge = () => ["VALIDATION_ERROR", "no"];
  await client.sync();
  const [failed] = await client.queue();
  await client.discard(failed!.operationId);
  assert.equal((await client.get("customers", ana.id))!.fields.name, "Poison");
  assert.equal((await client.get("customers", ana.id))!.syncState, "synced");
  assert.equal((await client.queue()).length, 0);
  await rejectsWith(client.discard(failed!.operationId), "NOT_FOUND");
  await client.close();
});

test("INTERNAL keeps an operation queued for a later retry, and the ones after it wait behind it", async () => {
  const { server, client } = await setup({ backoff: { baseMs: 60000, capMs: 60000 } });
  const a = await customer(client, "A");
  await customer(client, "B");
  server.judge = (op) => ((op["payload"] as { name?: string })?.name === "A" ? ["INTERNAL", "try later"] : ["NOT_FOUND", "a consequence"]);
  await client.sync();
  const queue = await client.queue();
  assert.deepEqual(queue.map((q) => q.status), ["pending", "pending"], "a failure after an INTERNAL is retried, not rejected");
  assert.ok(queue[0]!.nextAttemptAt);
  assert.equal(queue[0]!.attempts, 1);
  server.judge = () => null;
  await client.sync();
  assert.equal((await client.queue()).length, 2, "not yet due: nothing is sent past it");
  assert.equal((await client.get("customers", a.id))!.syncState, "pending");
  await client.close();
});

test("a 413 halves the batch; one operation alone too large is rejected", async () => {
  const { server, client } = await setup({ batchSize: 8 });
  for (let i = 0; i < 8; ++i) await customer(client, `c${i}`);
  server.faults.push({ kind: "status", status: 413, code: "PAYLOAD_TOO_LARGE" }, { kind: "status", status: 413, code: "PAYLOAD_TOO_LARGE" });
  await client.sync();
  const sizes = server.requests.filter((r) => r.path === "/sync/batch").map((r) => (r.body as { operations: unknown[] }).operations.length);
  assert.deepEqual(sizes, [8, 4, 2, 2, 2, 2]);
  assert.equal(client.status().pending, 0);

  await customer(client, "huge");
  server.faults.push({ kind: "status", status: 413, code: "PAYLOAD_TOO_LARGE" });
  const report = await client.sync();
  assert.equal(report.rejected, 1);
  assert.equal((await client.queue())[0]!.lastError!.code, "PAYLOAD_TOO_LARGE");
  await client.close();
});

test("whole-request failures: offline, rate limited, unauthenticated and a bad answer each say what they are", async () => {
  const { server, client } = await setup();
  await customer(client);
  server.faults.push({ kind: "network" });
  await rejectsWith(client.sync(), "NETWORK");
  assert.equal(client.status().state, "offline");
  server.faults.push({ kind: "status", status: 429, code: "RATE_LIMITED", retryAfter: 7 });
  await assert.rejects(client.sync(), (e: AvsyncError) => e.code === "RATE_LIMITED" && e.retryAfterMs === 7000);
  assert.equal(client.status().state, "error");
  server.faults.push({ kind: "status", status: 503, code: "UNAVAILABLE" });
  await rejectsWith(client.sync(), "UNAVAILABLE");
  server.faults.push({ kind: "status", status: 500, code: "INTERNAL" });
  await rejectsWith(client.sync(), "SERVER_ERROR");
  server.token = "rotated";
  await rejectsWith(client.sync(), "UNAUTHENTICATED");
  assert.equal(client.status().lastError!.code, "UNAUTHENTICATED");
  await client.setToken("rotated");
  await client.sync();
  assert.equal(client.status().state, "idle");
  assert.equal(client.status().lastError, null);
  const bad = new FakeServer();
  const { client: other } = await setup({
    token: bad.token,
    fetch: async () => new Response('{"results": "nope"}', { status: 200, headers: { "Content-Type": "application/json" } }),
  });
  await customer(other);
  await rejectsWith(other.sync(), "BAD_RESPONSE", /no results array/);
  await client.close();
  await other.close();
});

test("a failed page leaves the cursor at the last page applied, with its rows", async () => {
  const { server, client } = await setup({ pullPageSize: 2 });
  for (let i = 0; i < 5; ++i) server.put("customers", crypto.randomUUID(), { name: `s${i}` });
  // The first page is applied; the second request fails.
  const real = server.fetch;
  let gets = 0;
  const flaky: typeof fetch = async (input, init) => {
    if (String(input).includes("/sync/changes") && ++gets === 2) throw new TypeError("fetch failed");
    return real(input, init);
  };
  const { client: c2 } = await setup({ pullPageSize: 2, fetch: flaky, token: server.token });
  await rejectsWith(c2.sync(), "NETWORK");
  assert.equal((await c2.list("customers")).length, 2);
  await c2.sync();
  assert.equal((await c2.list("customers")).length, 5);
  const sinces = server.requests.filter((r) => r.path.startsWith("/sync/changes")).map((r) => new URL("http://x" + r.path).searchParams.get("since"));
  // The request for the second page failed before reaching the server; the retry resumes
  // after the first page, the one applied.
  assert.deepEqual(sinces, [null, "v1.2", "v1.4"]);
  await client.close();
  await c2.close();
});

test("two clients of one database syncing at once push each operation once", async () => {
  const server = new FakeServer();
  const options = { server: "http://sync.test", token: server.token, dbName: `unit-shared-${process.pid}`, fetch: server.fetch, backgroundSync: false };
  const [a, b] = await Promise.all([createClient(options), createClient(options)]);
  for (let round = 0; round < 5; ++round) {
    await Promise.all([customer(a, `a${round}`), customer(b, `b${round}`), customer(a, `a${round}'`)]);
    await Promise.all([a.sync(), b.sync(), a.sync()]);
  }
  assert.equal(server.appliedLog.length, 15);
  const pushed = server.requests
    .filter((r) => r.path === "/sync/batch")
    .flatMap((r) => (r.body as { operations: { operationId: string }[] }).operations.map((o) => o.operationId));
  assert.equal(new Set(pushed).size, pushed.length, "no operation was sent twice");
  assert.equal((await a.list("customers")).length, 15);
  assert.equal((await b.list("customers")).length, 15);
  await a.close();
  await b.close();
});

test("subscribers hear the status and the rows that changed", async () => {
  const { client } = await setup();
  const events: ChangeEvent[] = [];
  const unsubscribe = client.subscribe((e) => events.push(e));
  const ana = await customer(client);
  await client.sync();
  unsubscribe();
  await customer(client, "unheard");
  assert.ok(events.some((e) => e.rows.some((r) => r.entity === "customers" && r.id === ana.id) && e.status.pending === 1));
  assert.deepEqual([...new Set(events.map((e) => e.status.state))].sort(), ["idle", "syncing"]);
  assert.equal(events.at(-1)!.status.pending, 0);
  await client.close();
});

test("the engine syncs after a write, backs off while offline, and stop() records no error", async () => {
  const { server, client } = await setup({ debounceMs: 10, syncIntervalMs: 60000, backoff: { baseMs: 20, capMs: 40 } });
  // Resolves at the first event after which `done` holds.
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const off = client.subscribe(() => {
        if (done()) {
          off();
          resolve();
        }
      });
    });
  const idleAfter = (applied: number) => until(() => server.appliedLog.length === applied && client.status().state === "idle");
  client.start();
  await until(() => client.status().state === "idle");
  const first = idleAfter(1);
  await customer(client);
  await first;

  server.faults.push({ kind: "network" }, { kind: "network" }, { kind: "network" });
  let sawOffline = false;
  const offHook = client.subscribe((e) => (sawOffline ||= e.status.state === "offline"));
  const recovered = idleAfter(2);
  await customer(client, "offline write");
  await recovered;
  offHook();
  assert.ok(sawOffline, "offline while the server could not be reached");
  assert.equal(client.status().pending, 0, "retried with backoff until the server answered");

  server.faults.push({ kind: "hang" });
  await customer(client, "in flight at stop");
  await new Promise((r) => setTimeout(r, 50));
  await client.stop();
  assert.equal(client.status().lastError, null, "a cancelled cycle is not an error");
  await client.close();
});

test("a database that synced with one server refuses another", async () => {
  const { client } = await setup({ dbName: "unit-pinned" });
  await client.sync();
  await client.close();
  await rejectsWith(
    createClient({ server: "http://other.test", token: "t", dbName: "unit-pinned", backgroundSync: false }),
    "VALIDATION_ERROR",
    /already syncs with http:\/\/sync.test/,
  );
  await rejectsWith(createClient({ server: "ftp://x", token: "t" }), "VALIDATION_ERROR", /http:\/\/ or https:\/\//);
});

// ---- Live mode ---------------------------------------------------------------------------

/** Resolves at the first event after which `done` holds (at once if it holds now). */
function until(client: AvsyncClient, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.subscribe(() => {
      if (done()) {
        off();
        resolve();
      }
    });
  });
}

const polls = (server: FakeServer) => server.requests.filter((r) => r.path.includes("wait=")).length;

test("live mode: another device's change reaches a started client and its subscribers with no periodic sync", async () => {
  const { server, client } = await setup({ syncIntervalMs: 1e9 });
  client.start();
  await server.pollHeld();
  const heard: ChangeEvent[] = [];
  client.subscribe((e) => heard.push(e));
  const id = crypto.randomUUID();
  server.put("customers", id, { name: "from another device" });
  await until(client, () => heard.some((e) => e.rows.some((r) => r.entity === "customers" && r.id === id)));
  assert.equal((await client.get("customers", id))!.fields.name, "from another device");
  assert.equal(server.requests.filter((r) => r.path.startsWith("/sync/changes") && !r.path.includes("wait=")).length, 1, "one cycle, at start");
  assert.match(server.requests.find((r) => r.path.includes("wait="))!.path, /wait=25/);
  await server.pollHeld(); // and the poll is open again at once
  await client.close();
});

test("live mode: a local write cancels the open poll, is pushed at once, and the poll reopens after", async () => {
  const { server, client } = await setup({ syncIntervalMs: 1e9, debounceMs: 10 });
  client.start();
  await server.pollHeld();
  const started = Date.now();
  await customer(client);
  assert.equal(server.cancelledPolls, 1);
  await until(client, () => server.appliedLog.length === 1 && client.status().state === "idle" && client.status().pending === 0);
  assert.ok(Date.now() - started < 5000, "pushed after the debounce, not after the wait");
  await server.pollHeld();
  await client.close();
});

test("live mode: stop() ends the open poll at once", async () => {
  const { server, client } = await setup({ syncIntervalMs: 1e9 });
  client.start();
  await server.pollHeld();
  const started = Date.now();
  await client.stop();
  assert.ok(Date.now() - started < 1000);
  assert.equal(server.waiting, 0);
  assert.equal(client.status().lastError, null, "a cancelled poll is not an error");
  await client.close();
});

test("live mode: a failing poll counts as a failed cycle and backs off, then resumes", async () => {
  const { server, client } = await setup({ syncIntervalMs: 1e9, backoff: { baseMs: 40, capMs: 80 } });
  client.start();
  await server.pollHeld();
  for (let i = 0; i < 1000; ++i) server.faults.push({ kind: "network" });
  const before = server.requests.length;
  server.dropPolls();
  await until(client, () => client.status().state === "offline");
  await new Promise((r) => setTimeout(r, 300));
  const attempts = server.requests.length - before;
  assert.ok(attempts >= 2 && attempts <= 20, `${attempts} requests in 300 ms: backoff, not a busy loop`);
  server.faults.length = 0;
  await until(client, () => client.status().state === "idle");
  await server.pollHeld();
  await client.close();
});

test("live mode: a server that answers wait= at once pauses live mode instead of looping", async () => {
  const { server, client } = await setup({ syncIntervalMs: 1e9, backoff: { baseMs: 1000, capMs: 60000 } });
  server.ignoreWait = true;
  client.start();
  await server.requested((path) => path.includes("wait="));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(polls(server) <= 4, `${polls(server)} polls in 300 ms`);
  assert.equal(client.status().state, "idle", "not an error: the server is only older");
  await client.close();
});

test("live mode: liveWait 0 opens no poll", async () => {
  const { server, client } = await setup({ syncIntervalMs: 1e9, debounceMs: 10, liveWait: 0 });
  client.start();
  await until(client, () => client.status().state === "idle" && server.requests.length > 0);
  await customer(client);
  await until(client, () => server.appliedLog.length === 1 && client.status().state === "idle" && client.status().pending === 0);
  assert.equal(polls(server), 0);
  await client.close();
});
