// One sync cycle: push the queue in batches, then pull the feed page by page
// (docs/protocol.md §10). Shared by the page's engine and the Service Worker.
import { AvsyncError, ErrorCode, isProtocolCode, nextStepFor } from "./errors.js";
import { findEntity } from "./schema.js";
import { LocalStore, Outcome, PulledChange, RowKey, StoredRow } from "./store.js";
import { formatTimestamp } from "./scalars.js";
import { Transport } from "./transport.js";
import { Value } from "./validate.js";

export interface CycleOptions {
  /** Operations per batch (1 to 500); default 100. */
  batchSize: number;
  /** Changes per page (1 to 10,000); default 5,000. */
  pullPageSize: number;
  /** Times an operation the server failed transiently (INTERNAL) is sent again; default 8. */
  maxRetries: number;
  /** A retry's delay for its attempt number (1, 2, ...), in milliseconds. */
  retryDelay: (attempt: number) => number;
  now: () => number;
  /** Called with the rows each step changed, as soon as it committed. */
  onRows: (rows: RowKey[]) => void;
}

/** What one cycle did. */
export interface SyncReport {
  pushed: number;
  rejected: number;
  pulled: number;
  pending: number;
}

function badResponse(message: string): AvsyncError {
  return new AvsyncError("BAD_RESPONSE", `unexpected server response: ${message}`);
}

interface BatchResult {
  error?: { code: ErrorCode; message: string };
}

function decodeResults(body: unknown, ids: string[]): BatchResult[] {
  const results = (body as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results)) throw badResponse("no results array");
  if (results.length !== ids.length) throw badResponse(`${results.length} results for ${ids.length} operations`);
  return results.map((r: unknown, i) => {
    const result = r as { operationId?: unknown; success?: unknown; error?: unknown; message?: unknown } | null;
    if (typeof result !== "object" || result === null || result.operationId !== ids[i]) throw badResponse("results out of order");
    if (typeof result.success !== "boolean") throw badResponse("result without success");
    if (result.success) return {};
    // An error code from a newer server is kept retryable (INTERNAL) rather than lost.
    const code: ErrorCode = isProtocolCode(result.error) ? result.error : "INTERNAL";
    const message = typeof result.message === "string" ? result.message : typeof result.error === "string" ? result.error : "operation failed";
    return { error: { code, message } };
  });
}

function decodeChange(c: unknown): PulledChange {
  const change = c as { entity?: unknown; entityId?: unknown; action?: unknown; data?: unknown } | null;
  if (typeof change !== "object" || change === null) throw badResponse("a change is not an object");
  const { entity: name, entityId: id, action } = change;
  if (typeof name !== "string" || typeof id !== "string" || typeof action !== "string")
    throw badResponse("a change without entity, entityId or action");
  const entity = findEntity(name);
  if (!entity) throw badResponse(`unknown entity ${name}`);
  if (action === "delete") return { entity, id, row: null };
  if (action !== "upsert") throw badResponse(`unknown action ${action}`);
  const data = change.data as Record<string, unknown> | null;
  if (typeof data !== "object" || data === null) throw badResponse("an upsert without data");
  const d: Record<string, Value> = {};
  for (const f of entity.fields) {
    const v = data[f.name];
    if (v === undefined || v === null) d[f.name] = null;
    else if (typeof v === "string") d[f.name] = v;
    else if (typeof v === "number") d[f.name] = String(v);
    else throw badResponse(`${entity.name}.${f.name} is not text`);
  }
  const created = data["created_at"];
  const updated = data["updated_at"];
  if (typeof created !== "string" || typeof updated !== "string") throw badResponse("a row without created_at or updated_at");
  const row: StoredRow = { d, c: created, u: updated };
  return { entity, id, row };
}

interface Page {
  changes: PulledChange[];
  cursor: string;
  hasMore: boolean;
}

function decodePage(body: unknown): Page {
  const page = body as { changes?: unknown; cursor?: unknown; hasMore?: unknown } | null;
  if (typeof page !== "object" || page === null) throw badResponse("changes page is not an object");
  if (!Array.isArray(page.changes) || typeof page.cursor !== "string" || typeof page.hasMore !== "boolean")
    throw badResponse("changes page without changes, cursor or hasMore");
  return { changes: page.changes.map(decodeChange), cursor: page.cursor, hasMore: page.hasMore };
}

async function push(store: LocalStore, transport: Transport, o: CycleOptions, report: SyncReport): Promise<void> {
  let batchSize = Math.max(1, Math.min(500, o.batchSize));
  for (;;) {
    const due = await store.dueOperations(batchSize, o.now());
    if (due.length === 0) return;
    const ids = due.map((op) => op.operationId);
    let body: unknown;
    try {
      body = (await transport.request("POST", "/sync/batch", JSON.stringify({ operations: due.map((op) => op.body) }))).body;
    } catch (e) {
      if (!(e instanceof AvsyncError) || nextStepFor(e.code) !== "split") throw e;
      if (due.length > 1) {
        batchSize = Math.floor(due.length / 2); // sent again at once with half the operations
        continue;
      }
      // One operation alone is too large: it can never be sent.
      o.onRows(await store.recordOutcomes([{ seq: due[0]!.seq!, kind: "rejected", error: { code: e.code, message: e.message } }]));
      ++report.rejected;
      continue;
    }
    const results = decodeResults(body, ids);
    const outcomes: Outcome[] = [];
    // After an operation failed transiently, the failures that follow it in the batch may
    // be its consequences (an update of the row whose insert failed answers NOT_FOUND), so
    // they are retried too rather than rejected.
    let transientSeen = false;
    const now = o.now();
    due.forEach((op, i) => {
      const error = results[i]!.error;
      if (!error) {
        outcomes.push({ seq: op.seq!, kind: "acknowledged" });
        ++report.pushed;
        return;
      }
      const retry = transientSeen || nextStepFor(error.code) === "backOff";
      if (retry && op.attempts + 1 <= o.maxRetries) {
        transientSeen = true;
        outcomes.push({ seq: op.seq!, kind: "retryLater", at: now + o.retryDelay(op.attempts + 1), error });
      } else {
        outcomes.push({ seq: op.seq!, kind: "rejected", error });
        ++report.rejected;
      }
    });
    o.onRows(await store.recordOutcomes(outcomes));
    // The first operation waiting for a retry now heads the queue; the rest wait behind it.
    if (transientSeen) return;
  }
}

async function pull(store: LocalStore, transport: Transport, o: CycleOptions, report: SyncReport): Promise<void> {
  const limit = Math.max(1, Math.min(10000, o.pullPageSize));
  const fetchPage = (cursor: string | undefined) =>
    transport
      .request("GET", `/sync/changes?limit=${limit}` + (cursor ? `&since=${encodeURIComponent(cursor)}` : ""))
      .then((reply) => decodePage(reply.body));
  // The next page is asked for as soon as this one's cursor is known, so the server builds
  // it while this page is written. Only the cursor of a page that was applied is stored.
  let next = fetchPage(await store.getMeta<string>("cursor"));
  for (;;) {
    const page = await next;
    if (page.hasMore) {
      next = fetchPage(page.cursor);
      next.catch(() => {}); // awaited on the next turn; a failure then is reported there
    }
    o.onRows(await store.applyPulledPage(page.changes, page.cursor, !page.hasMore));
    report.pulled += page.changes.length;
    if (!page.hasMore) return;
  }
}

/** Push, then pull; throws the AvsyncError that stopped it. */
export async function runCycle(store: LocalStore, transport: Transport, o: CycleOptions): Promise<SyncReport> {
  const report: SyncReport = { pushed: 0, rejected: 0, pulled: 0, pending: 0 };
  await push(store, transport, o, report);
  await pull(store, transport, o, report);
  await store.setMeta({ lastSyncAt: formatTimestamp(o.now()), lastError: undefined });
  report.pending = (await store.counts()).pending;
  return report;
}

export interface LiveOptions {
  /** Seconds the server may hold the request (1 to 60, protocol §4.1). */
  wait: number;
  /** Changes per page (1 to 10,000). */
  pullPageSize: number;
  /** The transport's timeout for an ordinary request; the poll allows the wait on top. */
  timeoutMs: number;
  /** Ends the poll with CANCELLED while it waits; once it has a page, the page is dropped. */
  signal: AbortSignal;
}

/** What one long-poll did. */
export interface LiveResult {
  /** The rows the page changed on the device (empty when dropped or empty). */
  rows: RowKey[];
  /** Changes in the page. */
  changes: number;
  /** False when the page was dropped: another sync moved the replica while it waited, or the poll was cancelled. */
  applied: boolean;
  /** Milliseconds the server took to answer. */
  elapsedMs: number;
}

/**
 * One live pull (docs/protocol.md §4.1): `GET /sync/changes?since=<stored cursor>&wait=S`,
 * whose page is applied as a cycle's pull applies its pages. The wait holds no lock, so no
 * other tab's or the Service Worker's sync waits behind it; the page is applied under the
 * sync lock, and only if the pull mark (LocalStore.pullMark) did not move meanwhile.
 * Throws the AvsyncError that stopped it (CANCELLED after `signal`).
 */
export async function livePull(store: LocalStore, transport: Transport, lockName: string, o: LiveOptions): Promise<LiveResult> {
  const limit = Math.max(1, Math.min(10000, o.pullPageSize));
  const wait = Math.max(1, Math.min(60, Math.floor(o.wait)));
  const before = await store.pullMark();
  const path = `/sync/changes?limit=${limit}&wait=${wait}` + (before.cursor ? `&since=${encodeURIComponent(before.cursor)}` : "");
  const started = Date.now();
  const reply = await transport.request("GET", path, undefined, { timeoutMs: wait * 1000 + o.timeoutMs, signal: o.signal });
  const elapsedMs = Date.now() - started;
  const page = decodePage(reply.body);
  const dropped: LiveResult = { rows: [], changes: page.changes.length, applied: false, elapsedMs };
  if (page.changes.length === 0 && page.cursor === before.cursor) return { ...dropped, applied: true };
  return withSyncLock(lockName, async () => {
    if (o.signal.aborted || (await store.pullMark()).mark !== before.mark) return dropped;
    const rows = await store.applyPulledPage(page.changes, page.cursor, !page.hasMore);
    return { rows, changes: page.changes.length, applied: true, elapsedMs };
  });
}

/** Full jitter: a random delay in [1 ms, min(cap, base × 2^(failures−1))]. */
export function backoffDelay(failures: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.max(1, Math.floor(random() * ceiling) + 1);
}

/**
 * Runs `body` while holding the sync lock of `name`: across tabs, windows and workers of the
 * origin with the Web Locks API, within this realm otherwise.
 */
const localLocks = new Map<string, Promise<unknown>>();
export async function withSyncLock<T>(name: string, body: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks) return locks.request(`avsync-sync:${name}`, { mode: "exclusive" }, body) as Promise<T>;
  const previous = localLocks.get(name) ?? Promise.resolve();
  const run = previous.then(body, body);
  const tail = run.catch(() => {});
  localLocks.set(name, tail);
  try {
    return await run;
  } finally {
    if (localLocks.get(name) === tail) localLocks.delete(name);
  }
}
