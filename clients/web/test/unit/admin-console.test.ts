// The operations console's pure logic (src/server/admin_ui): which fields of a conflict
// differ, the admin API's query strings, and the chart's scale and gaps. What it does in a
// page is test/e2e/admin.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";

// @ts-ignore: plain JavaScript with JSDoc types, checked by tsconfig.admin.json
import { withQuery } from "../../../../src/server/admin_ui/api.js";
// @ts-ignore
import { niceCeiling, runs } from "../../../../src/server/admin_ui/chart.js";
// @ts-ignore
import { diffFields } from "../../../../src/server/admin_ui/conflicts.js";
// @ts-ignore
import { toUtc } from "../../../../src/server/admin_ui/operations.js";

type Field = { name: string; client: unknown; server: unknown; differs: boolean };
const diff = diffFields as (payload: Record<string, unknown>, row: Record<string, unknown> | null) => Field[];

test("only the fields the device sent can differ, and they are compared as the protocol compares values", () => {
  const fields = diff(
    { name: "Ana R.", credit_limit: 150.5, phone: "+57 300", notes: null },
    { name: "Ana Ruiz", credit_limit: "150.50", phone: "+57 300", notes: "pays Fridays", email: "ana@example.com" },
  );
  assert.deepEqual(
    fields.map((f) => [f.name, f.differs]),
    [["name", true], ["credit_limit", false], ["phone", false], ["notes", true], ["email", false]],
  );
  assert.equal(fields[4]?.client, undefined, "a field the device did not send has no client value");
  assert.equal(fields[4]?.server, "ana@example.com");
});

test("against a row the server does not have, every field the device sent differs", () => {
  assert.deepEqual(
    diff({ name: "Eva", phone: null }, null).map((f) => [f.name, f.differs, f.server]),
    [["name", true, undefined], ["phone", true, undefined]],
  );
  const deleted = diff({ name: "Eva" }, { name: "Eva", deleted: true });
  assert.deepEqual(deleted.map((f) => [f.name, f.differs]), [["name", false], ["deleted", false]]);
});

test("a query string carries every non-empty filter, encoded, and nothing else", () => {
  // A space is %20, never "+", which the server reads as a plus sign: "org norte" and
  // "org+norte" are two business ids.
  assert.equal(withQuery("/admin/operations", { businessId: "org/norte 7", status: "", entity: undefined, cursor: null, limit: 5 }),
    "/admin/operations?businessId=org%2Fnorte%207&limit=5");
  assert.equal(withQuery("/admin/operations", { businessId: "org+norte" }), "/admin/operations?businessId=org%2Bnorte");
  assert.equal(withQuery("/admin/audit", {}), "/admin/audit");
  assert.equal(withQuery("/admin/conflicts", { businessId: "<img src=x>&x=1" }), "/admin/conflicts?businessId=%3Cimg%20src%3Dx%3E%26x%3D1");
});

test("a time typed in the form is sent as UTC with its offset applied, an empty one not at all", () => {
  assert.equal(toUtc(""), "");
  assert.equal(toUtc("2026-11-25T08:00:00Z"), "2026-11-25T08:00:00.000Z");
  assert.equal(toUtc("2026-11-25T08:00:00-05:00"), "2026-11-25T13:00:00.000Z");
  assert.equal(toUtc("not a time"), "not a time", "left for the server to refuse with its message");
});

test("the chart's scale is a round number at or above the highest value, and a null breaks the line", () => {
  assert.deepEqual([0, 0.3, 1, 7, 12, 180, 2600].map(niceCeiling), [1, 0.5, 1, 10, 20, 200, 5000]);
  const points = [{ t: 1, v: 1 }, { t: 2, v: null }, { t: 3, v: 2 }, { t: 4, v: 3 }, { t: 5, v: Number.NaN }];
  assert.deepEqual(runs(points), [[{ t: 1, v: 1 }], [{ t: 3, v: 2 }, { t: 4, v: 3 }]]);
});
