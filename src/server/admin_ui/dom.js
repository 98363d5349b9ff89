// @ts-check
// Building the page. Every value that came from the server (and so perhaps from a device)
// becomes a text node: nothing here parses HTML, so a customer named
// `<img src=x onerror=alert(1)>` shows as those characters (docs/security.md).

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | boolean | number | EventListener | undefined>} Props
 */

/**
 * An element with `props` (attributes, or `on<event>` listeners) and children; strings and
 * numbers become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/**
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** @param {Node} node */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/**
 * A value of a row or payload as text: strings as they are, null as "null", anything else
 * as JSON.
 * @param {unknown} value
 */
export function valueText(value) {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value);
}

/**
 * A table of `rows`, one column per entry of `columns`.
 * @template T
 * @param {{ title: string, cell: (row: T) => Child | Child[], className?: string }[]} columns
 * @param {T[]} rows
 * @param {{ testid?: string, empty?: string, rowProps?: (row: T) => Props }} [options]
 */
export function table(columns, rows, options = {}) {
  if (rows.length === 0) return h("p", { class: "muted empty", "data-testid": options.testid ? `${options.testid}-empty` : undefined }, options.empty ?? "Nothing to show.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "data-testid": options.testid },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.title)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", options.rowProps ? options.rowProps(row) : {}, columns.map((c) => h("td", { class: c.className }, c.cell(row)))),
        ),
      ),
    ),
  );
}

/**
 * A failure as the page shows it: the protocol's error code and its message.
 * @param {unknown} error
 */
export function errorNotice(error) {
  const e = /** @type {{ code?: string, message?: string }} */ (error);
  return h("p", { class: "notice error", role: "alert", "data-testid": "error" }, e.code ? `${e.code}: ` : "", e.message ?? String(error));
}

/**
 * A fraction 0..1 as a percentage with one decimal.
 * @param {number | null | undefined} rate
 */
export function percent(rate) {
  return typeof rate === "number" ? `${(rate * 100).toFixed(1)} %` : "–";
}

/**
 * The fields of a form as a plain object of trimmed strings.
 * @param {HTMLFormElement} form
 * @returns {Record<string, string>}
 */
export function formValues(form) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of new FormData(form)) out[name] = String(value).trim();
  return out;
}
