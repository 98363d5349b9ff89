// HTTP to an avsync server with fetch: one request, its failure turned into an
// AvsyncError whose code says what kind of failure it was (docs/protocol.md §1, §10).
import { AvsyncError, ErrorCode } from "./errors.js";

export interface Reply {
  status: number;
  body: unknown;
}

export interface TransportOptions {
  server: string;
  token: () => string | undefined;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get("Retry-After");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The error a non-2xx answer stands for: the status decides the kind, the body refines it. */
export function errorOfReply(status: number, body: unknown, retryAfter?: number): AvsyncError {
  let code: string | undefined;
  let message = "";
  if (typeof body === "object" && body !== null) {
    const error = (body as { error?: unknown }).error;
    if (typeof error === "object" && error !== null) {
      const c = (error as { code?: unknown }).code;
      const m = (error as { message?: unknown }).message;
      if (typeof c === "string") code = c;
      if (typeof m === "string") message = m;
    }
  }
  if (!message) message = `HTTP ${status}`;
  let kind: ErrorCode;
  if (status === 401) kind = "UNAUTHENTICATED";
  else if (status === 429) kind = "RATE_LIMITED";
  else if (status === 503) kind = "UNAVAILABLE";
  else if (status >= 500) kind = "SERVER_ERROR";
  else if (status === 413) kind = code === "BATCH_TOO_LARGE" ? "BATCH_TOO_LARGE" : "PAYLOAD_TOO_LARGE";
  else if (status === 404) kind = "NOT_FOUND";
  else if (status === 405) kind = "METHOD_NOT_ALLOWED";
  else if (status === 415) kind = "UNSUPPORTED_MEDIA_TYPE";
  else if (status >= 400) kind = "BAD_REQUEST";
  else kind = "BAD_RESPONSE";
  return new AvsyncError(kind, message, retryAfter === undefined ? { status } : { status, retryAfterMs: retryAfter });
}

/** One request's own limits: a longer timeout (a long-poll), and a signal that cancels it alone. */
export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class Transport {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly controllers = new Set<AbortController>();

  constructor(private readonly options: TransportOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new AvsyncError("VALIDATION_ERROR", `server: not a URL: ${options.server}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new AvsyncError("VALIDATION_ERROR", `server: must be an http:// or https:// URL: ${options.server}`);
    this.base = url.href.replace(/\/+$/, "");
    this.fetchFn = options.fetch ?? fetch.bind(globalThis);
  }

  /** Ends every request in flight with CANCELLED. */
  cancelAll(): void {
    for (const c of this.controllers) c.abort(new AvsyncError("CANCELLED", "cancelled"));
  }

  /**
   * Sends one request. Throws an AvsyncError: CANCELLED after cancelAll() or `signal`,
   * TIMEOUT after the timeout (`timeoutMs`, else the transport's), NETWORK, or the code of
   * a non-2xx answer (errorOfReply).
   */
  async request(method: "GET" | "POST", path: string, body?: string, own: RequestOptions = {}): Promise<Reply> {
    const token = this.options.token();
    if (!token) throw new AvsyncError("NOT_CONFIGURED", "no token: pass one to createClient or setToken");
    if (own.signal?.aborted) throw new AvsyncError("CANCELLED", "the request was cancelled");
    const controller = new AbortController();
    this.controllers.add(controller);
    const cancel = () => controller.abort();
    own.signal?.addEventListener("abort", cancel);
    let timedOut = false;
    const timeoutMs = own.timeoutMs ?? this.options.timeoutMs ?? 30000;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      let response: Response;
      try {
        const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        const init: RequestInit = { method, headers, signal: controller.signal, cache: "no-store", credentials: "omit" };
        if (body !== undefined) init.body = body;
        response = await this.fetchFn(this.base + path, init);
      } catch (e) {
        if (timedOut) throw new AvsyncError("TIMEOUT", `no answer from ${this.base} within ${timeoutMs} ms`);
        if (controller.signal.aborted) throw new AvsyncError("CANCELLED", "the request was cancelled");
        throw new AvsyncError("NETWORK", `cannot reach ${this.base}: ${e instanceof Error ? e.message : String(e)}`);
      }
      let text: string;
      try {
        text = await response.text();
      } catch (e) {
        if (timedOut) throw new AvsyncError("TIMEOUT", `the answer from ${this.base} did not arrive in time`);
        if (controller.signal.aborted) throw new AvsyncError("CANCELLED", "the request was cancelled");
        throw new AvsyncError("NETWORK", `the connection to ${this.base} broke: ${e instanceof Error ? e.message : String(e)}`);
      }
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        if (response.ok) throw new AvsyncError("BAD_RESPONSE", `unexpected server response: not JSON (HTTP ${response.status})`);
      }
      if (!response.ok) throw errorOfReply(response.status, parsed, retryAfterMs(response.headers));
      return { status: response.status, body: parsed };
    } finally {
      clearTimeout(timer);
      own.signal?.removeEventListener("abort", cancel);
      this.controllers.delete(controller);
    }
  }
}
