// @ts-check
// Operations: the operation log searched with every filter of GET /admin/operations,
// newest first, page by page.
import * as api from "./api.js";
import { append, formValues, h, table, valueText } from "./dom.js";
import { pagedList } from "./paged.js";

export const kEntities = ["customers", "sales", "sale_items", "abonos", "distribuciones"];
export const kErrorCodes = ["VALIDATION_ERROR", "NOT_FOUND", "CONFLICT", "INTERNAL"];

/**
 * A time typed in the form (datetime-local, the browser's zone) as RFC 3339 UTC; "" stays "".
 * @param {string} local
 */
export function toUtc(local) {
  if (!local) return "";
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? local : t.toISOString();
}

/**
 * @param {string} label
 * @param {string} name
 * @param {string[]} options
 * @param {string} value
 */
function select(label, name, options, value) {
  return h(
    "label",
    {},
    label,
    h("select", { name, "data-testid": `filter-${name}` }, h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o, selected: o === value }, o))),
  );
}

/**
 * @param {string} label
 * @param {string} name
 * @param {string} value
 * @param {string} [type]
 */
function input(label, name, value, type = "text") {
  return h("label", {}, label, h("input", { name, type, value, "data-testid": `filter-${name}`, spellcheck: "false" }));
}

/**
 * The columns of an operation, shared with the conflict list.
 * @returns {{ title: string, cell: (op: any) => any, className?: string }[]}
 */
export function operationColumns() {
  return [
    { title: "Processed", cell: (op) => op.processedAt, className: "time" },
    { title: "Business", cell: (op) => op.businessId },
    { title: "Entity", cell: (op) => op.entity },
    { title: "Action", cell: (op) => op.action },
    { title: "Entity id", cell: (op) => op.entityId, className: "id" },
    { title: "Status", cell: (op) => h("span", { class: `status ${op.status === "failed" ? "failed" : "applied"}` }, op.status) },
    { title: "Error", cell: (op) => (op.errorCode ? [op.errorCode, op.message ? h("div", { class: "muted small" }, op.message) : null] : "") },
    { title: "Payload", cell: (op) => h("code", { class: "payload" }, valueText(op.payload ?? null)) },
  ];
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params  initial filters, e.g. from a business's link
 */
export function mount(main, params) {
  const value = (/** @type {string} */ name) => params.get(name) ?? "";
  const form = h(
    "form",
    { class: "card filters", "data-testid": "operations-form" },
    input("Business id", "businessId", value("businessId")),
    select("Status", "status", ["applied", "failed"], value("status")),
    select("Entity", "entity", kEntities, value("entity")),
    select("Error code", "errorCode", kErrorCodes, value("errorCode")),
    input("From", "from", "", "datetime-local"),
    input("To", "to", "", "datetime-local"),
    input("Operation id", "operationId", value("operationId")),
    h("label", {}, "Per page", h("input", { name: "limit", type: "number", min: 1, max: 500, value: "100", "data-testid": "filter-limit" })),
    h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "operations-search" }, "Search")),
  );
  const results = h("div", { "data-testid": "operations" });
  append(main, [h("h1", {}, "Operations"), form, results]);

  /** @type {Record<string, string>} */
  let filters = {};
  const paged = pagedList(
    results,
    async (cursor) => {
      const answer = await api.get("/admin/operations", { ...filters, cursor });
      return { rows: answer.operations, nextCursor: answer.nextCursor ?? null };
    },
    (rows) =>
      table(
        [...operationColumns().slice(0, 1), { title: "Operation id", cell: (op) => op.operationId, className: "id" }, ...operationColumns().slice(1), {
          title: "Resolution",
          cell: (op) => (op.resolution ? `${op.resolution.resolution} by ${op.resolution.by}` : ""),
        }],
        /** @type {any[]} */ (rows),
        { testid: "operations-table", empty: "No operation matches." },
      ),
    "operations",
  );
  const search = () => {
    const v = formValues(form);
    filters = { ...v, from: toUtc(v.from ?? ""), to: toUtc(v.to ?? "") };
    void paged.reload();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  search();
  return () => {};
}
