// @ts-check
// Audit: every decision taken in the conflict center, newest first (GET /admin/audit).
import * as api from "./api.js";
import { append, formValues, h, table, valueText } from "./dom.js";
import { pagedList } from "./paged.js";

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export function mount(main, params) {
  let businessId = params.get("businessId") ?? "";
  const filter = h(
    "form",
    { class: "card filters", "data-testid": "audit-form" },
    h("label", {}, "Business id", h("input", { name: "businessId", value: businessId, spellcheck: "false" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
  );
  const list = h("div", { "data-testid": "audit" });
  append(main, [h("h1", {}, "Audit"), filter, list]);
  const paged = pagedList(
    list,
    async (cursor) => {
      const answer = await api.get("/admin/audit", { businessId, cursor });
      return { rows: answer.audit, nextCursor: answer.nextCursor ?? null };
    },
    (rows) =>
      table(
        [
          { title: "At", cell: (a) => a.at, className: "time" },
          { title: "By", cell: (a) => a.by },
          { title: "Address", cell: (a) => a.address },
          { title: "Action", cell: (a) => a.action },
          { title: "Business", cell: (a) => a.businessId },
          { title: "Operation", cell: (a) => a.operationId, className: "id" },
          { title: "Resolution", cell: (a) => a.resolution },
          { title: "Version", cell: (a) => valueText(a.version ?? null) },
        ],
        /** @type {any[]} */ (rows),
        { testid: "audit-table", empty: "No decision recorded yet." },
      ),
    "audit",
  );
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    businessId = formValues(filter).businessId ?? "";
    void paged.reload();
  });
  void paged.reload();
  return () => {};
}
