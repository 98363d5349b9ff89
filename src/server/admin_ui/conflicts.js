// @ts-check
// The conflict center: failed operations nobody resolved yet (GET /admin/conflicts). One,
// selected, shows what the device sent beside the server's current row, the fields that
// differ marked; "Apply client" writes the device's fields as a new server write, "Keep
// server" leaves the row (POST /admin/conflicts/{businessId}/{operationId}/resolve).
import * as api from "./api.js";
import { append, clear, errorNotice, formValues, h, table, valueText } from "./dom.js";
import { operationColumns } from "./operations.js";
import { pagedList } from "./paged.js";

/**
 * The fields to compare: the payload's, then the server row's others ("deleted" last).
 * @param {Record<string, unknown>} payload
 * @param {Record<string, unknown> | null} row
 */
export function diffFields(payload, row) {
  const fields = Object.keys(payload);
  for (const name of Object.keys(row ?? {})) if (!fields.includes(name)) fields.push(name);
  return fields.map((name) => ({
    name,
    client: Object.hasOwn(payload, name) ? payload[name] : undefined,
    server: row && Object.hasOwn(row, name) ? row[name] : undefined,
    // Only what the device sent can differ: the other fields it leaves as they are.
    differs: Object.hasOwn(payload, name) && (!row || !sameValue(payload[name], row[name])),
  }));
}

/**
 * Equal as the protocol compares them (§3.4): 150.5 and "150.50" are the same money.
 * @param {unknown} a
 * @param {unknown} b
 */
function sameValue(a, b) {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  const x = Number(a);
  const y = Number(b);
  if ((typeof a === "number" || typeof b === "number") && Number.isFinite(x) && Number.isFinite(y)) return x === y;
  return valueText(a) === valueText(b);
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export function mount(main, params) {
  const filter = h(
    "form",
    { class: "card filters", "data-testid": "conflicts-form" },
    h("label", {}, "Business id", h("input", { name: "businessId", value: params.get("businessId") ?? "", "data-testid": "conflicts-business", spellcheck: "false" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
  );
  const notice = h("div", { "data-testid": "conflicts-notice" });
  const list = h("div", { "data-testid": "conflicts" });
  const detail = h("div", { class: "detail", "data-testid": "conflict-detail", hidden: true });
  append(main, [h("h1", {}, "Conflicts"), h("p", { class: "muted" }, "Failed operations not resolved yet, newest first."), filter, notice, list, detail]);

  let businessId = params.get("businessId") ?? "";
  const paged = pagedList(
    list,
    async (cursor) => {
      const answer = await api.get("/admin/conflicts", { businessId, cursor });
      return { rows: answer.conflicts, nextCursor: answer.nextCursor ?? null };
    },
    (rows) =>
      table(
        [
          ...operationColumns(),
          {
            title: "",
            cell: (c) => {
              const button = h("button", { type: "button", class: "secondary", "data-testid": "conflict-open" }, "Compare");
              button.addEventListener("click", () => open(c));
              return button;
            },
          },
        ],
        /** @type {any[]} */ (rows),
        { testid: "conflicts-table", empty: "No conflict waits for a decision.", rowProps: (c) => ({ "data-operation-id": c.operationId }) },
      ),
    "conflicts",
  );

  /** @param {any} conflict */
  const open = (conflict) => {
    clear(detail);
    detail.hidden = false;
    const payload = conflict.payload && typeof conflict.payload === "object" ? conflict.payload : {};
    const row = conflict.serverRow && typeof conflict.serverRow === "object" ? conflict.serverRow : null;
    const fields = diffFields(payload, row);
    const by = h("input", { name: "by", value: "admin", maxlength: 200, required: true, "data-testid": "resolve-by" });
    const form = h("form", { class: "resolve" }, h("label", {}, "Decided by", by));
    const decide = (/** @type {"apply_client" | "keep_server"} */ resolution) => async () => {
      for (const b of form.querySelectorAll("button")) b.disabled = true;
      try {
        const done = await api.post(
          `/admin/conflicts/${encodeURIComponent(conflict.businessId)}/${encodeURIComponent(conflict.operationId)}/resolve`,
          { resolution, by: formValues(form).by || "admin" },
        );
        detail.hidden = true;
        clear(notice);
        notice.appendChild(
          h(
            "p",
            { class: "notice ok", role: "status", "data-testid": "resolve-result" },
            `${conflict.entity} ${conflict.entityId}: ${done.resolution === "apply_client" ? "the client's fields were written" : "the server's row was kept"}`,
            done.version ? ` (version ${done.version})` : "",
            `, by ${done.by} at ${done.at}.`,
          ),
        );
        await paged.reload();
      } catch (error) {
        for (const b of form.querySelectorAll("button")) b.disabled = false;
        form.appendChild(errorNotice(error));
      }
    };
    const apply = h("button", { type: "button", "data-testid": "apply-client" }, "Apply client");
    apply.addEventListener("click", decide("apply_client"));
    const keep = h("button", { type: "button", class: "secondary", "data-testid": "keep-server" }, "Keep server");
    keep.addEventListener("click", decide("keep_server"));
    append(form, [apply, keep]);
    form.addEventListener("submit", (event) => event.preventDefault());
    const close = h("button", { type: "button", class: "link", "data-testid": "conflict-close" }, "Close");
    close.addEventListener("click", () => {
      detail.hidden = true;
      clear(detail);
    });

    append(detail, [
      h("div", { class: "detail-head" }, h("h2", {}, `${conflict.entity} ${conflict.entityId}`), close),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Business"), h("dd", {}, conflict.businessId),
        h("dt", {}, "Operation"), h("dd", { "data-testid": "detail-operation" }, conflict.operationId),
        h("dt", {}, "Action"), h("dd", {}, conflict.action),
        h("dt", {}, "Refused"), h("dd", {}, conflict.errorCode ?? "", conflict.message ? `: ${conflict.message}` : ""),
        h("dt", {}, "Client time"), h("dd", {}, valueText(conflict.clientTimestamp ?? null)),
        h("dt", {}, "Processed"), h("dd", {}, conflict.processedAt),
      ),
      row === null ? h("p", { class: "notice" }, "The row does not exist on the server.") : null,
      row && row.deleted === true ? h("p", { class: "notice" }, "The row is deleted on the server.") : null,
      table(
        [
          { title: "Field", cell: (f) => f.name, className: "field" },
          { title: "Client sent", cell: (f) => (f.client === undefined ? h("span", { class: "muted" }, "—") : valueText(f.client)), className: "client" },
          { title: "Server has", cell: (f) => (f.server === undefined ? h("span", { class: "muted" }, "—") : valueText(f.server)), className: "server" },
        ],
        fields,
        { testid: "conflict-diff", empty: "The operation carried no fields.", rowProps: (f) => ({ class: f.differs ? "differs" : undefined, "data-field": f.name }) },
      ),
      form,
    ]);
    detail.scrollIntoView({ block: "nearest" });
  };

  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    businessId = formValues(filter).businessId ?? "";
    detail.hidden = true;
    void paged.reload();
  });
  void paged.reload();
  return () => {};
}
