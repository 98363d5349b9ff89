// A stand-in for an avsync server in Node's tests: the protocol's batch and feed over an
// in-memory tenant, with faults on demand. It applies operations without the conflict rules
// (the real server's are tested against it in the integration tests); what it models is
// what the client depends on: idempotency by operationId, results in order, an exact
// compacted feed with cursors, whole-request failures, and long-polls (wait=, protocol
// §4.1): held until a change is put or the wait passes.

export interface FakeRow {
  entity: string;
  id: string;
  data: Record<string, unknown> | null;
  version: number;
}

export type Fault =
  | { kind: "status"; status: number; code: string; retryAfter?: number }
  | { kind: "network" }
  | { kind: "hang" } // never answers (until aborted)
  | { kind: "lostAnswer" }; // applies the batch, then fails like a dropped connection

export class FakeServer {
  rows = new Map<string, FakeRow>();
  applied = new Set<string>();
  /** Every operationId the server applied, in order, repeats of applied ones excluded. */
  appliedLog: string[] = [];
  requests: { method: string; path: string; body?: unknown }[] = [];
  version = 0;
  faults: Fault[] = [];
  /** Decides a per-operation failure: return [code, message] to fail it. */
  judge: (op: Record<string, unknown>) => [string, string] | null = () => null;
  token = "good-token";
  /** Long-polls held now. */
  waiting = 0;
  /** Long-polls the client cancelled while held. */
  cancelledPolls = 0;
  /** Answers wait= at once, as a server older than live mode does. */
  ignoreWait = false;
  private readonly held = new Set<{ wake: () => void; fail: (e: unknown) => void }>();
  private pollWatchers: (() => void)[] = [];
  private requestWatchers: { match: (path: string) => boolean; resolve: () => void }[] = [];

  /** Resolves once a long-poll is held (at once if one is). */
  pollHeld(): Promise<void> {
    if (this.waiting > 0) return Promise.resolve();
    return new Promise((resolve) => this.pollWatchers.push(resolve));
  }

  /** Resolves once a request whose path satisfies `match` has arrived (at once if one has). */
  requested(match: (path: string) => boolean): Promise<void> {
    if (this.requests.some((r) => match(r.path))) return Promise.resolve();
    return new Promise((resolve) => this.requestWatchers.push({ match, resolve }));
  }

  /** Every held long-poll fails like a dropped connection. */
  dropPolls(): void {
    for (const h of [...this.held]) h.fail(new TypeError("connection reset"));
  }

  private hold(seconds: number, signal: AbortSignal | null | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = {
        wake: () => finish(),
        fail: (e: unknown) => finish(e),
      };
      const abort = () => {
        ++this.cancelledPolls;
        finish(new DOMException("aborted", "AbortError"));
      };
      const timer = setTimeout(entry.wake, seconds * 1000);
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        this.held.delete(entry);
        signal?.removeEventListener("abort", abort);
        --this.waiting;
        if (error) reject(error);
        else resolve();
      };
      this.held.add(entry);
      signal?.addEventListener("abort", abort);
      ++this.waiting;
      for (const watcher of this.pollWatchers.splice(0)) watcher();
    });
  }

  put(entity: string, id: string, data: Record<string, unknown> | null): void {
    const now = new Date(Date.UTC(2026, 10, 25, 8, 0, 0, this.version)).toISOString();
    const prev = this.rows.get(`${entity}/${id}`);
    const row = data && { id, ...data, created_at: (prev?.data?.["created_at"] as string) ?? now, updated_at: now };
    this.rows.set(`${entity}/${id}`, { entity, id, data: row, version: ++this.version });
    for (const h of [...this.held]) h.wake();
  }

  fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const path = url.pathname + url.search;
    this.requests.push({ method: init?.method ?? "GET", path, body });
    this.requestWatchers = this.requestWatchers.filter((w) => (w.match(path) ? (w.resolve(), false) : true));
    const signal = init?.signal;
    const fault = this.faults.shift();
    if (fault?.kind === "network") throw new TypeError("fetch failed");
    if (fault?.kind === "hang")
      return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    if (fault?.kind === "status")
      return json(fault.status, { error: { code: fault.code, message: `fake ${fault.code}` } }, fault.retryAfter);
    const auth = (init?.headers as Record<string, string>)["Authorization"];
    if (auth !== `Bearer ${this.token}`) return json(401, { error: { code: "UNAUTHENTICATED", message: "unknown token" } });
    if (url.pathname === "/sync/batch") {
      const results = (body.operations as Record<string, unknown>[]).map((op) => {
        const operationId = op["operationId"] as string;
        if (this.applied.has(operationId)) return { operationId, success: true };
        const verdict = this.judge(op);
        if (verdict) return { operationId, success: false, error: verdict[0], message: verdict[1] };
        const key = `${op["entity"]}/${op["entityId"]}`;
        if (op["action"] === "delete") this.put(op["entity"] as string, op["entityId"] as string, null);
        else this.put(op["entity"] as string, op["entityId"] as string, { ...(this.rows.get(key)?.data ?? {}), ...(op["payload"] as object) });
        this.applied.add(operationId);
        this.appliedLog.push(operationId);
        return { operationId, success: true, serverTimestamp: "2026-11-25T08:00:00.000Z" };
      });
      if (fault?.kind === "lostAnswer") throw new TypeError("connection reset");
      return json(200, { results, serverTimestamp: "2026-11-25T08:00:00.000Z" });
    }
    if (url.pathname === "/sync/changes") {
      const since = Number((url.searchParams.get("since") ?? "v1.0").slice(3));
      const limit = Number(url.searchParams.get("limit") ?? 1000);
      const wait = Number(url.searchParams.get("wait") ?? 0);
      if (wait > 0 && !this.ignoreWait && this.version <= since) await this.hold(wait, signal);
      const all = [...this.rows.values()].filter((r) => r.version > since && (since > 0 || r.data)).sort((a, b) => a.version - b.version);
      const page = all.slice(0, limit);
      const cursor = `v1.${page.length ? page[page.length - 1]!.version : Math.max(since, this.version)}`;
      return json(200, {
        changes: page.map((r) => ({ entity: r.entity, entityId: r.id, action: r.data ? "upsert" : "delete", data: r.data })),
        cursor,
        hasMore: all.length > limit,
      });
    }
    return json(404, { error: { code: "NOT_FOUND", message: "no such route" } });
  };
}

function json(status: number, body: unknown, retryAfter?: number): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
  return new Response(JSON.stringify(body), { status, headers });
}
