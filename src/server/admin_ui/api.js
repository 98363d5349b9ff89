// @ts-check
// The admin API as the console calls it (docs/protocol.md §7): the credential lives in this
// tab's sessionStorage only (nothing lasting, no cookie) and travels as
// `Authorization: Bearer`; every answer is JSON and every failure an ApiError carrying the
// protocol's error code. A 401 signs the tab out (app.js listens for "unauthorized").

const kCredentialKey = "avsync.adminCredential";

/** @returns {string | null} the credential this tab signed in with */
export function storedCredential() {
  return sessionStorage.getItem(kCredentialKey);
}

/** @param {string} credential */
export function rememberCredential(credential) {
  sessionStorage.setItem(kCredentialKey, credential);
}

export function forgetCredential() {
  sessionStorage.removeItem(kCredentialKey);
}

/** Told when the server refuses the credential: the console goes back to sign-in. */
export const events = new EventTarget();

/** A refused request: its HTTP status and the protocol's error code and message (§1). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * `path` with the query of every non-empty value of `params`, each percent-encoded. Not
 * URLSearchParams: it writes a space as "+", which the server reads as a plus sign (a
 * business id may hold either).
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} [params]
 */
export function withQuery(path, params = {}) {
  const parts = [];
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "")
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `${path}?${parts.join("&")}` : path;
}

/**
 * Calls the admin API. Resolves with the parsed JSON answer; rejects with an ApiError.
 * @param {string} method
 * @param {string} path  e.g. "/admin/businesses?limit=100"
 * @param {unknown} [body]  sent as JSON
 * @param {string | null} [credential]  defaults to the stored one
 * @returns {Promise<any>}
 */
export async function call(method, path, body, credential = storedCredential()) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (credential) headers.Authorization = `Bearer ${credential}`;
  /** @type {RequestInit} */
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "NETWORK", `the server did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await answer.text();
  /** @type {any} */
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (answer.ok) return json;
  const error = json && typeof json === "object" && json.error ? json.error : {};
  const code = typeof error.code === "string" ? error.code : `HTTP_${answer.status}`;
  const message = typeof error.message === "string" ? error.message : `${answer.status} ${answer.statusText}`;
  const failure = new ApiError(answer.status, code, message);
  if (answer.status === 401) events.dispatchEvent(new CustomEvent("unauthorized", { detail: failure }));
  throw failure;
}

/**
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} [params]
 */
export function get(path, params) {
  return call("GET", withQuery(path, params));
}

/**
 * @param {string} path
 * @param {unknown} body
 */
export function post(path, body) {
  return call("POST", path, body);
}
