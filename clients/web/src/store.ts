// The device's data in IndexedDB: the replica, the operation queue and the server's state
// of rows with queued operations, kept under one invariant (docs/web-client.md):
// a visible row is the server's state of that row with its pending operations applied on
// top, in queue order. Every method is one IndexedDB transaction.
import { IDBPDatabase, IDBPTransaction, openDB, unwrap } from "idb";

import { AvsyncError, ErrorCode } from "./errors.js";
import { EntitySpec, findEntity } from "./schema.js";
import { formatTimestamp } from "./scalars.js";
import { ValidOperation, Value, WireOperation, normalizeValue, validateOperation } from "./validate.js";

/** Whether a row's local changes reached the server (docs/web-client.md). */
export type SyncState = "synced" | "pending" | "failed";

/** A row of the replica. */
export interface Row<F = Record<string, Value>> {
  entity: string;
  id: string;
  fields: F;
  createdAt: string;
  updatedAt: string;
  syncState: SyncState;
}

export interface RowKey {
  entity: string;
  id: string;
}

/** An operation of the queue, as `queue()` lists it. */
export interface QueuedOperation {
  operationId: string;
  entity: string;
  action: "insert" | "update" | "delete";
  entityId: string;
  payload: Record<string, unknown>;
  clientTimestamp: string;
  status: "pending" | "failed";
  attempts: number;
  /** When a retry of an operation the server failed transiently (INTERNAL) is due. */
  nextAttemptAt: string | null;
  lastError: { code: ErrorCode; message: string } | null;
}

export interface ListQuery {
  /** Equality on fields, `id`, `created_at` or `updated_at`; values compare canonically. */
  where?: Record<string, unknown>;
  limit?: number;
  offset?: number;
  /** Creation order: "oldest" first (the default) or "newest" first. */
  order?: "oldest" | "newest";
}

/** A change of the feed (docs/protocol.md §4), checked. */
export interface PulledChange {
  entity: EntitySpec;
  id: string;
  /** null for a delete */
  row: StoredRow | null;
}

/** What an outcome of a push does to one operation. */
export type Outcome =
  | { seq: number; kind: "acknowledged" }
  | { seq: number; kind: "retryLater"; at: number; error: { code: ErrorCode; message: string } }
  | { seq: number; kind: "rejected"; error: { code: ErrorCode; message: string } };

/** A row's fields and times, as stored. */
export interface StoredRow {
  d: Record<string, Value>;
  c: string;
  u: string;
}

interface RowRecord extends StoredRow {
  e: string;
  id: string;
  /** "entity.field=id" for every foreign key set: what the `refs` index counts. */
  r: string[];
}

interface ServerRowRecord {
  e: string;
  id: string;
  row: StoredRow;
}

type OpStatus = "pending" | "failed" | "acked";

export interface OpRecord {
  seq?: number;
  operationId: string;
  e: string;
  id: string;
  action: "insert" | "update" | "delete";
  body: WireOperation;
  status: OpStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: { code: ErrorCode; message: string } | null;
}

const DB_VERSION = 1;
const ALL = ["rows", "server_rows", "ops", "meta"] as const;
type StoreName = (typeof ALL)[number];
type Tx = IDBPTransaction<unknown, StoreName[], "readwrite">;

function refKeys(entity: EntitySpec, d: Record<string, Value>): string[] {
  const out: string[] = [];
  for (const f of entity.fields) {
    const v = d[f.name];
    if (f.type === "reference" && v) out.push(`${entity.name}.${f.name}=${v}`);
  }
  return out;
}

function toRecord(entity: EntitySpec, id: string, row: StoredRow): RowRecord {
  return { e: entity.name, id, d: row.d, c: row.c, u: row.u, r: refKeys(entity, row.d) };
}

// The effect of one operation on a row, as the server applies it when it succeeds.
function applyTo(op: ValidOperation, row: StoredRow | null): StoredRow | null {
  const at = formatTimestamp(op.clientTime);
  if (op.action === "delete") return null;
  if (op.action === "insert") {
    row = { d: {}, c: at, u: at };
    for (const f of op.entity.fields) row.d[f.name] = null;
  } else {
    if (!row) return null;
    row = { d: { ...row.d }, c: row.c, u: at };
  }
  for (const [name, value] of op.assignments) row.d[name] = value;
  return row;
}

function storageError(e: unknown): AvsyncError {
  if (e instanceof AvsyncError) return e;
  const name = e instanceof Error || (typeof DOMException !== "undefined" && e instanceof DOMException) ? (e as Error).name : "";
  const message = e instanceof Error ? e.message : String(e);
  return new AvsyncError("LOCAL_STORAGE", `IndexedDB: ${name ? name + ": " : ""}${message}`);
}

export class LocalStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name: string): Promise<LocalStore> {
    try {
      const db = await openDB(name, DB_VERSION, {
        upgrade(db) {
          const rows = db.createObjectStore("rows", { keyPath: ["e", "id"] });
          rows.createIndex("byEntity", ["e", "c", "id"]);
          rows.createIndex("refs", "r", { multiEntry: true });
          db.createObjectStore("server_rows", { keyPath: ["e", "id"] });
          const ops = db.createObjectStore("ops", { keyPath: "seq", autoIncrement: true });
          ops.createIndex("operationId", "operationId", { unique: true });
          ops.createIndex("row", ["e", "id"]);
          ops.createIndex("status", ["status", "seq"]);
          db.createObjectStore("meta");
        },
        blocking() {
          // A newer version of the app wants to upgrade the database: let it.
          db.close();
        },
      });
      return new LocalStore(db);
    } catch (e) {
      throw storageError(e);
    }
  }

  close(): void {
    this.db.close();
  }

  private async run<T>(mode: "readonly" | "readwrite", durability: "strict" | "relaxed", body: (tx: Tx) => Promise<T>): Promise<T> {
    let tx: Tx;
    try {
      tx = this.db.transaction([...ALL], mode as "readwrite", { durability }) as unknown as Tx;
    } catch (e) {
      throw storageError(e);
    }
    try {
      const result = await body(tx);
      await tx.done;
      return result;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
      tx.done.catch(() => {});
      throw storageError(e);
    }
  }

  // ---- Settings ----------------------------------------------------------------------

  async getMeta<T>(key: string): Promise<T | undefined> {
    return this.run("readonly", "relaxed", async (tx) => (await tx.objectStore("meta").get(key)) as T | undefined);
  }

  async setMeta(values: Record<string, unknown>): Promise<void> {
    await this.run("readwrite", "strict", async (tx) => {
      const meta = unwrap(tx.objectStore("meta"));
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) meta.delete(key);
        else meta.put(value, key);
      }
    });
  }

  // ---- Local writes --------------------------------------------------------------------

  /**
   * Applies a validated local write to the replica and enqueues its operation, in one
   * durable transaction. Checks what the server would refuse for certain: an insert of an
   * id that exists (CONFLICT), an update or delete of a missing row (NOT_FOUND), a foreign
   * key to a row the device does not hold (VALIDATION_ERROR), a delete of a row that live
   * rows reference (CONFLICT).
   */
  async applyLocalWrite(op: ValidOperation, wire: WireOperation): Promise<Row | null> {
    const entity = op.entity;
    const key = [entity.name, op.entityId];
    return this.run("readwrite", "strict", async (tx) => {
      const rows = tx.objectStore("rows");
      const ops = tx.objectStore("ops");
      // Every read is asked for at once: IndexedDB answers them in order, and each one
      // awaited alone would cost a round trip to the browser's storage process.
      const references = [...op.assignments].flatMap(([name, value]) => {
        const f = entity.fields.find((x) => x.name === name);
        return f?.type === "reference" && f.references && value ? [{ name, target: f.references, value }] : [];
      });
      const referrers = op.action === "delete" ? entity.referencedBy : [];
      const [current, rowOps, found, referencing] = await Promise.all([
        rows.get(key) as Promise<RowRecord | undefined>,
        ops.index("row").getAll(key) as Promise<OpRecord[]>,
        Promise.all(references.map((r) => rows.count([r.target, r.value]))),
        Promise.all(referrers.map((ref) => rows.index("refs").count(`${ref.entity}.${ref.field}=${op.entityId}`))),
      ]);
      if (op.action === "insert") {
        if (current) throw new AvsyncError("CONFLICT", `${entity.name} ${op.entityId} already exists`);
      } else if (!current) {
        throw new AvsyncError("NOT_FOUND", `${entity.name} ${op.entityId} does not exist on this device`);
      }
      references.forEach((r, i) => {
        if (found[i] === 0)
          throw new AvsyncError("VALIDATION_ERROR", `${entity.name}.${r.name}: ${r.target} ${r.value} does not exist on this device`);
      });
      referrers.forEach((ref, i) => {
        const n = referencing[i]!;
        if (n > 0) throw new AvsyncError("CONFLICT", `${entity.name} ${op.entityId} is referenced by ${n} ${ref.entity}`);
      });
      // The row's first queued operation: until now its visible state was the server's, so
      // keep that apart before changing it (a rejection or discard goes back to it).
      if (current && rowOps.length === 0) {
        unwrap(tx.objectStore("server_rows")).put({ e: entity.name, id: op.entityId, row: { d: current.d, c: current.c, u: current.u } });
      }
      const next = applyTo(op, current ?? null);
      if (next) unwrap(rows).put(toRecord(entity, op.entityId, next));
      else unwrap(rows).delete(key);
      const record: OpRecord = {
        operationId: wire.operationId,
        e: entity.name,
        id: op.entityId,
        action: op.action,
        body: wire,
        status: "pending",
        attempts: 0,
        nextAttemptAt: 0,
        lastError: null,
      };
      unwrap(ops).add(record);
      if (!next) return null;
      // The operation just queued is pending, unless an earlier one of the row failed.
      return this.toRow(entity, op.entityId, next, stateOf([...rowOps, record]));
    });
  }

  // ---- Reads ---------------------------------------------------------------------------

  private toRow(entity: EntitySpec, id: string, row: StoredRow, syncState: SyncState): Row {
    return { entity: entity.name, id, fields: { ...row.d }, createdAt: row.c, updatedAt: row.u, syncState };
  }

  private async syncStateIn(tx: Tx, entity: string, id: string): Promise<SyncState> {
    const ops = (await tx.objectStore("ops").index("row").getAll([entity, id])) as OpRecord[];
    return stateOf(ops);
  }

  async readRow(entity: EntitySpec, id: string): Promise<Row | null> {
    return this.run("readonly", "relaxed", async (tx) => {
      const rec = (await tx.objectStore("rows").get([entity.name, id])) as RowRecord | undefined;
      if (!rec) return null;
      return this.toRow(entity, id, rec, await this.syncStateIn(tx, entity.name, id));
    });
  }

  /** Rows of an entity in the order they were created (then by id). */
  async listRows(entity: EntitySpec, query: ListQuery = {}): Promise<Row[]> {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    if (query.order !== undefined && query.order !== "oldest" && query.order !== "newest")
      throw new AvsyncError("VALIDATION_ERROR", 'list: order must be "oldest" or "newest"');
    if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0)
      throw new AvsyncError("VALIDATION_ERROR", "list: limit and offset must be integers of 0 or more");
    const where: [string, string | null][] = [];
    for (const [name, value] of Object.entries(query.where ?? {})) {
      if (value === undefined) continue;
      if (name === "id") {
        where.push([name, typeof value === "string" ? value.toLowerCase() : String(value)]);
        continue;
      }
      if (name === "created_at" || name === "updated_at") {
        where.push([name, value === null ? null : String(value)]);
        continue;
      }
      const f = entity.fields.find((x) => x.name === name);
      if (!f) throw new AvsyncError("VALIDATION_ERROR", `${entity.name}.${name}: unknown field`);
      where.push([name, value === null ? null : normalizeValue(entity, f, value)]);
    }
    const matches = (rec: RowRecord) =>
      where.every(([name, v]) => {
        if (name === "id") return rec.id === v;
        if (name === "created_at") return rec.c === v;
        if (name === "updated_at") return rec.u === v;
        return (rec.d[name] ?? null) === v;
      });
    return this.run("readonly", "relaxed", async (tx) => {
      const range = IDBKeyRange.bound([entity.name], [entity.name, []]);
      const found: RowRecord[] = [];
      let skipped = 0;
      if (limit > 0) {
        let cursor = await tx.objectStore("rows").index("byEntity").openCursor(range, query.order === "newest" ? "prev" : "next");
        while (cursor) {
          const rec = cursor.value as RowRecord;
          if (matches(rec)) {
            if (skipped < offset) ++skipped;
            else found.push(rec);
            if (found.length >= limit) break;
          }
          cursor = await cursor.continue();
        }
      }
      const ops = (await tx.objectStore("ops").index("row").getAll(range)) as OpRecord[];
      const byRow = new Map<string, OpRecord[]>();
      for (const op of ops) {
        const list = byRow.get(op.id);
        if (list) list.push(op);
        else byRow.set(op.id, [op]);
      }
      return found.map((rec) => this.toRow(entity, rec.id, rec, stateOf(byRow.get(rec.id) ?? [])));
    });
  }

  // ---- The queue -------------------------------------------------------------------------

  /** Pending operations in queue order, then failed ones. */
  async queuedOperations(limit = 1000): Promise<QueuedOperation[]> {
    return this.run("readonly", "relaxed", async (tx) => {
      const index = tx.objectStore("ops").index("status");
      const pending = (await index.getAll(IDBKeyRange.bound(["pending"], ["pending", []]), limit)) as OpRecord[];
      const failed =
        pending.length < limit
          ? ((await index.getAll(IDBKeyRange.bound(["failed"], ["failed", []]), limit - pending.length)) as OpRecord[])
          : [];
      return [...pending, ...failed].map((op) => ({
        operationId: op.operationId,
        entity: op.e,
        action: op.action,
        entityId: op.id,
        payload: op.body.payload,
        clientTimestamp: op.body.clientTimestamp,
        status: op.status === "failed" ? "failed" : "pending",
        attempts: op.attempts,
        nextAttemptAt: op.nextAttemptAt > 0 ? formatTimestamp(op.nextAttemptAt) : null,
        lastError: op.lastError,
      }));
    });
  }

  async counts(): Promise<Counts> {
    return this.run("readonly", "relaxed", countsIn);
  }

  private async findFailed(tx: Tx, operationId: string): Promise<OpRecord> {
    const op = (await tx.objectStore("ops").index("operationId").get(operationId)) as OpRecord | undefined;
    if (!op || op.status !== "failed") throw new AvsyncError("NOT_FOUND", `no failed operation ${operationId}`);
    return op;
  }

  /** A failed operation goes back to the end of the queue, with its original clientTimestamp. */
  async retryFailed(operationId: string): Promise<RowKey> {
    return this.run("readwrite", "strict", async (tx) => {
      const op = await this.findFailed(tx, operationId);
      const ops = tx.objectStore("ops");
      await ops.delete(op.seq!);
      const { seq: _seq, ...rest } = op;
      await ops.add({ ...rest, status: "pending", nextAttemptAt: 0 });
      await this.rebuildRow(tx, op.e, op.id);
      return { entity: op.e, id: op.id };
    });
  }

  /** A failed operation is dropped; its row goes back to the server's state plus what is still pending. */
  async discardFailed(operationId: string): Promise<RowKey> {
    return this.run("readwrite", "strict", async (tx) => {
      const op = await this.findFailed(tx, operationId);
      await tx.objectStore("ops").delete(op.seq!);
      await this.rebuildRow(tx, op.e, op.id);
      await this.forgetServerStateIfUntracked(tx, op.e, op.id);
      return { entity: op.e, id: op.id };
    });
  }

  /** The first pending operations in queue order, stopping at one that waits for its retry. */
  async dueOperations(limit: number, now: number): Promise<OpRecord[]> {
    return this.run("readonly", "relaxed", async (tx) => {
      const pending = (await tx
        .objectStore("ops")
        .index("status")
        .getAll(IDBKeyRange.bound(["pending"], ["pending", []]), limit)) as OpRecord[];
      const out: OpRecord[] = [];
      for (const op of pending) {
        if (op.nextAttemptAt > now) break;
        out.push(op);
      }
      return out;
    });
  }

  /** When the operation heading the queue may be sent again, if it waits for a retry. */
  async earliestRetry(): Promise<number | null> {
    return this.run("readonly", "relaxed", async (tx) => {
      const cursor = await tx.objectStore("ops").index("status").openCursor(IDBKeyRange.bound(["pending"], ["pending", []]));
      const at = cursor ? (cursor.value as OpRecord).nextAttemptAt : 0;
      return at > 0 ? at : null;
    });
  }

  /** Records the answers of one batch; returns the rows whose state changed. */
  async recordOutcomes(outcomes: Outcome[]): Promise<RowKey[]> {
    return this.run("readwrite", "relaxed", async (tx) => {
      const ops = tx.objectStore("ops");
      const changed: RowKey[] = [];
      for (const o of outcomes) {
        const op = (await ops.get(o.seq)) as OpRecord | undefined;
        if (!op || op.status !== "pending") continue;
        if (o.kind === "acknowledged") {
          await ops.put({ ...op, status: "acked" });
        } else if (o.kind === "retryLater") {
          await ops.put({ ...op, attempts: op.attempts + 1, nextAttemptAt: o.at, lastError: o.error });
        } else {
          await ops.put({ ...op, status: "failed", attempts: op.attempts + 1, lastError: o.error });
          // The rejected change had no effect on the server: the row goes back to what the
          // server holds, plus whatever else is still pending for it.
          await this.rebuildRow(tx, op.e, op.id);
        }
        changed.push({ entity: op.e, id: op.id });
      }
      return changed;
    });
  }

  /**
   * Where pulls stand: the cursor and the acknowledged operations the feed has not yet
   * brought back. A page fetched when the mark was M may be applied only while the mark is
   * still M: a sync in between moved the cursor, or acknowledged operations that a page
   * asked for before their batch must not be taken as reflected (applyPulledPage's
   * caughtUp rule).
   */
  async pullMark(): Promise<{ cursor: string | undefined; mark: string }> {
    return this.run("readonly", "relaxed", async (tx) => {
      const cursor = (await tx.objectStore("meta").get("cursor")) as string | undefined;
      const acked = await tx.objectStore("ops").index("status").getAllKeys(IDBKeyRange.bound(["acked"], ["acked", []]));
      return { cursor, mark: JSON.stringify([cursor ?? null, acked]) };
    });
  }

  /**
   * Applies one page of the feed and its cursor in one transaction. A row with pending
   * operations keeps its local state; the server's is recorded for it instead. When the
   * feed is caught up, acknowledged operations are dropped and their rows take the
   * server's state.
   */
  async applyPulledPage(changes: PulledChange[], cursor: string, caughtUp: boolean): Promise<RowKey[]> {
    return this.run("readwrite", "relaxed", async (tx) => {
      const ops = tx.objectStore("ops");
      // The page's writes go straight to IndexedDB, without a promise each: a page is
      // thousands of rows, and a failure aborts the transaction, which tx.done reports.
      const rows = unwrap(tx.objectStore("rows"));
      const serverRows = unwrap(tx.objectStore("server_rows"));
      // Rows with operations in the queue; usually few, so read once per page.
      const tracked = new Map<string, boolean>(); // "entity/id" -> has pending operations
      for (const op of (await ops.getAll()) as OpRecord[]) {
        const key = `${op.e}/${op.id}`;
        tracked.set(key, (tracked.get(key) ?? false) || op.status === "pending");
      }
      const changed: RowKey[] = [];
      for (const c of changes) {
        const pending = tracked.get(`${c.entity.name}/${c.id}`);
        if (pending !== undefined) {
          if (c.row) serverRows.put({ e: c.entity.name, id: c.id, row: c.row } satisfies ServerRowRecord);
          else serverRows.delete([c.entity.name, c.id]);
          if (pending) continue;
        }
        if (c.row) rows.put(toRecord(c.entity, c.id, c.row));
        else rows.delete([c.entity.name, c.id]);
        changed.push({ entity: c.entity.name, id: c.id });
      }
      unwrap(tx.objectStore("meta")).put(cursor, "cursor");
      if (caughtUp) {
        // Every acknowledged operation is now reflected in server_rows (the pull started
        // after the acknowledgements and the feed is exact), so their rows take the
        // server's state, including what the feed had no reason to resend.
        const acked = (await ops.index("status").getAll(IDBKeyRange.bound(["acked"], ["acked", []]))) as OpRecord[];
        const done = new Map<string, RowKey>();
        for (const op of acked) {
          await ops.delete(op.seq!);
          done.set(`${op.e}/${op.id}`, { entity: op.e, id: op.id });
        }
        for (const [key, row] of done) {
          if (tracked.get(key)) continue;
          await this.rebuildRow(tx, row.entity, row.id);
          await this.forgetServerStateIfUntracked(tx, row.entity, row.id);
          changed.push(row);
        }
      }
      return changed;
    });
  }

  // ---- The invariant -----------------------------------------------------------------------

  // The visible row becomes the server state with the row's pending operations applied in
  // queue order.
  private async rebuildRow(tx: Tx, entityName: string, id: string): Promise<void> {
    const entity = findEntity(entityName);
    if (!entity) return;
    const server = (await tx.objectStore("server_rows").get([entityName, id])) as ServerRowRecord | undefined;
    let row: StoredRow | null = server ? server.row : null;
    const ops = ((await tx.objectStore("ops").index("row").getAll([entityName, id])) as OpRecord[])
      .filter((op) => op.status === "pending")
      .sort((a, b) => a.seq! - b.seq!);
    for (const op of ops) {
      try {
        row = applyTo(validateOperation(op.body), row);
      } catch {
        // An operation the current rules refuse changes nothing locally; the server decides.
      }
    }
    if (row) await tx.objectStore("rows").put(toRecord(entity, id, row));
    else await tx.objectStore("rows").delete([entityName, id]);
  }

  private async forgetServerStateIfUntracked(tx: Tx, entity: string, id: string): Promise<void> {
    if ((await tx.objectStore("ops").index("row").count([entity, id])) === 0)
      await tx.objectStore("server_rows").delete([entity, id]);
  }

  /** Forgets everything: the replica, the queue, the cursor and the settings. */
  async clear(): Promise<void> {
    await this.run("readwrite", "strict", async (tx) => {
      await Promise.all(ALL.map((name) => tx.objectStore(name).clear()));
    });
  }
}

/** How many operations wait to be sent, and how many the server rejected. */
export interface Counts {
  pending: number;
  failed: number;
}

async function countsIn(tx: Tx): Promise<Counts> {
  const index = tx.objectStore("ops").index("status");
  const [pending, failed] = await Promise.all([
    index.count(IDBKeyRange.bound(["pending"], ["pending", []])),
    index.count(IDBKeyRange.bound(["failed"], ["failed", []])),
  ]);
  return { pending, failed };
}

function stateOf(ops: OpRecord[]): SyncState {
  let state: SyncState = "synced";
  for (const op of ops) {
    if (op.status === "failed") return "failed";
    if (op.status === "pending") state = "pending";
  }
  return state;
}
