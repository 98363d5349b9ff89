// Errors carry the protocol's codes (docs/protocol.md §1 and §3) plus the client's own,
// the same names the C++ SDK uses (docs/client.md).

/** Every code an avsync call can fail with. */
export type ErrorCode =
  // The protocol's (docs/protocol.md §1, §3).
  | "BAD_REQUEST"
  | "UNAUTHENTICATED"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  | "VALIDATION_ERROR"
  | "BATCH_TOO_LARGE"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "INTERNAL"
  | "NOT_IMPLEMENTED"
  | "UNAVAILABLE"
  // The client's: what happened on this side of the wire.
  | "NETWORK" // the server could not be reached
  | "TIMEOUT" // it did not answer in time
  | "SERVER_ERROR" // another 5xx
  | "BAD_RESPONSE" // an answer that is not the protocol
  | "LOCAL_STORAGE" // IndexedDB failed (quota, a blocked upgrade, a closed database)
  | "NOT_CONFIGURED" // no server or token
  | "CANCELLED"; // stop() ended a request in flight

/** An avsync failure: `code` says what kind, `message` says what exactly. */
export class AvsyncError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status of a whole-request failure, when there was one. */
  readonly status?: number;
  /** `Retry-After` of a 429 or 503, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, extra: { status?: number; retryAfterMs?: number } = {}) {
    super(message);
    this.name = "AvsyncError";
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
  }
}

export function validationError(message: string): AvsyncError {
  return new AvsyncError("VALIDATION_ERROR", message);
}

const protocolCodes = new Set<string>([
  "BAD_REQUEST",
  "UNAUTHENTICATED",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "CONFLICT",
  "VALIDATION_ERROR",
  "BATCH_TOO_LARGE",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "RATE_LIMITED",
  "INTERNAL",
  "NOT_IMPLEMENTED",
  "UNAVAILABLE",
]);

/** A code the server may send; anything else it sends is not the protocol. */
export function isProtocolCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && protocolCodes.has(code);
}

/** What a failure calls for, decided in one place (docs/protocol.md §10). */
export type NextStep = "reject" | "split" | "waitForToken" | "stop" | "backOff";

export function nextStepFor(code: ErrorCode): NextStep {
  switch (code) {
    case "VALIDATION_ERROR":
    case "NOT_FOUND":
    case "CONFLICT":
      return "reject";
    case "BATCH_TOO_LARGE":
    case "PAYLOAD_TOO_LARGE":
      return "split";
    case "UNAUTHENTICATED":
    case "NOT_CONFIGURED":
      return "waitForToken";
    case "INTERNAL":
    case "RATE_LIMITED":
    case "UNAVAILABLE":
    case "NETWORK":
    case "TIMEOUT":
    case "SERVER_ERROR":
    case "CANCELLED":
      return "backOff";
    default:
      return "stop";
  }
}
