// @ts-check
// The operations console served at /admin/ (docs/protocol.md §7). Plain ES modules with no
// build step, kept beside the server that embeds them (src/server/admin_ui/, compiled in by
// cmake/embed_files.cmake) rather than in clients/web: the server binary must serve them
// without Node.js or npm, and they use only the admin API.
//
// Sign-in keeps the admin credential in sessionStorage (this tab, until sign-out or close)
// and every page sends it as `Authorization: Bearer`; a 401 anywhere returns to sign-in.
// Pages are hash routes (#/overview, #/operations?businessId=...), each a module whose
// mount(main, params) draws it and returns what stops it.
import * as api from "./api.js";
import * as audit from "./audit.js";
import * as businesses from "./businesses.js";
import * as conflicts from "./conflicts.js";
import { clear } from "./dom.js";
import * as operations from "./operations.js";
import * as overview from "./overview.js";

/** @type {Record<string, { mount: (main: HTMLElement, params: URLSearchParams) => () => void }>} */
const kPages = { overview, businesses, operations, conflicts, audit };

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

const signInView = byId("sign-in-view");
const signInForm = /** @type {HTMLFormElement} */ (byId("sign-in"));
const credentialInput = /** @type {HTMLInputElement} */ (byId("credential"));
const signInMessage = byId("sign-in-message");
const nav = byId("nav");
const signOutButton = byId("sign-out");
const main = byId("page");

/** @type {() => void} */
let stopPage = () => {};

/** The page of the location's hash: its name and its query. */
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name = "", query = ""] = hash.split("?", 2);
  return { name: kPages[name] ? name : "overview", params: new URLSearchParams(query) };
}

/**
 * @param {string} [message] shown above the form, e.g. why the tab was signed out
 * @param {"error" | "ok"} [kind]
 */
function showSignIn(message, kind = "error") {
  stopPage();
  stopPage = () => {};
  clear(main);
  main.hidden = true;
  nav.hidden = true;
  signOutButton.hidden = true;
  signInView.hidden = false;
  signInMessage.hidden = !message;
  signInMessage.className = `notice ${kind}`;
  signInMessage.textContent = message ?? "";
  credentialInput.value = "";
  credentialInput.focus();
}

function showPage() {
  if (!api.storedCredential()) return showSignIn();
  stopPage();
  const { name, params } = route();
  signInView.hidden = true;
  nav.hidden = false;
  signOutButton.hidden = false;
  main.hidden = false;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(main);
  main.dataset.page = name;
  document.title = `${name[0]?.toUpperCase()}${name.slice(1)} · avsync console`;
  stopPage = kPages[name].mount(main, params);
}

signInForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const credential = credentialInput.value.trim();
  if (!credential) return;
  signInMessage.hidden = true;
  try {
    // Any admin route tells a good credential from a bad one; this one is the cheapest.
    await api.call("GET", "/admin/businesses?limit=1", undefined, credential);
  } catch (error) {
    const e = /** @type {api.ApiError} */ (error);
    if (e.status === 401) return showSignIn("The server refused that credential.");
    signInMessage.hidden = false;
    signInMessage.className = "notice error";
    signInMessage.textContent = `${e.code}: ${e.message}`;
    return;
  }
  api.rememberCredential(credential);
  credentialInput.value = ""; // kept in sessionStorage only, not in the page's form
  if (location.hash) showPage();
  else location.hash = "#/overview"; // shown by the hashchange listener
});

signOutButton.addEventListener("click", () => {
  api.forgetCredential();
  showSignIn("Signed out.", "ok");
});

api.events.addEventListener("unauthorized", () => {
  api.forgetCredential();
  showSignIn("The server no longer accepts the credential: sign in again.");
});

window.addEventListener("hashchange", () => {
  if (api.storedCredential()) showPage();
});

showPage();
