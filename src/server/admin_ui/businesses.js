// @ts-check
// Businesses: every tenant with its last day of traffic (GET /admin/businesses).
import * as api from "./api.js";
import { append, h, percent, table, valueText } from "./dom.js";
import { pagedList } from "./paged.js";

/** @param {HTMLElement} main */
export function mount(main) {
  const list = h("div", { "data-testid": "businesses" });
  append(main, [h("h1", {}, "Businesses"), h("p", { class: "muted" }, "Operations and failures over the last 24 hours."), list]);
  const paged = pagedList(
    list,
    async (cursor) => {
      const answer = await api.get("/admin/businesses", { limit: 100, cursor });
      return { rows: answer.businesses, nextCursor: answer.nextCursor ?? null };
    },
    (rows) =>
      table(
        [
          { title: "Id", cell: (b) => h("a", { href: `#/operations?businessId=${encodeURIComponent(b.id)}`, title: "Its operations" }, b.id) },
          { title: "Name", cell: (b) => b.name },
          { title: "Created", cell: (b) => b.createdAt, className: "time" },
          { title: "Last push", cell: (b) => valueText(b.lastPushAt ?? "never"), className: "time" },
          { title: "Operations (24 h)", cell: (b) => b.operations24h, className: "number" },
          { title: "Failed (24 h)", cell: (b) => b.failed24h, className: "number" },
          { title: "Failure rate", cell: (b) => percent(b.failureRate24h), className: "number" },
          { title: "Active tokens", cell: (b) => b.activeTokens, className: "number" },
        ],
        /** @type {any[]} */ (rows),
        { testid: "businesses-table", empty: "No businesses yet." },
      ),
    "businesses",
  );
  void paged.reload();
  return () => {};
}
