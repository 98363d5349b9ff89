// The protocol's scalars (docs/protocol.md §1) and the validator (§3.5), as the server
// judges them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { findEntity } from "../../src/schema.js";
import { formatTimestamp, parseDecimal, formatDecimal, parseTimestamp, normalizeUuid, countCodePoints } from "../../src/scalars.js";
import { backoffDelay } from "../../src/sync.js";
import { validateOperation } from "../../src/validate.js";

const money = (t: string) => {
  const d = parseDecimal(t, 12, 2);
  return d.ok ? formatDecimal(d.value) : d.message;
};

test("decimals are exact, canonical at their scale, and never rounded", () => {
  assert.equal(money("150.5"), "150.50");
  assert.equal(money("150.500"), "150.50");
  assert.equal(money("1.5e2"), "150.00");
  assert.equal(money("1.5E+2"), "150.00");
  assert.equal(money("-0.1"), "-0.10");
  assert.equal(money("0"), "0.00");
  assert.equal(money(".5"), "0.50");
  assert.equal(money("5."), "5.00");
  assert.equal(money("999999999999.99"), "999999999999.99");
  assert.equal(money("1000000000000"), "has more than 12 integer digits");
  assert.equal(money("0.001"), "has more than 2 decimal places");
  assert.equal(money(String(0.1 + 0.2)), "has more than 2 decimal places");
  for (const bad of ["", ".", "abc", "1,5", "1e", "1e12345", "--1", "1.2.3", " 1", "0x10", "Infinity", "1".repeat(65)])
    assert.equal(money(bad), "must be a decimal number", bad);
});

test("timestamps need an offset and come back as UTC with milliseconds", () => {
  const ts = (t: string) => {
    const p = parseTimestamp(t);
    return p.ok ? formatTimestamp(p.value) : null;
  };
  assert.equal(ts("2026-11-25T08:00:00Z"), "2026-11-25T08:00:00.000Z");
  assert.equal(ts("2026-11-25T10:00:00+02:00"), "2026-11-25T08:00:00.000Z");
  assert.equal(ts("2026-11-25T03:00-0500"), "2026-11-25T08:00:00.000Z");
  assert.equal(ts("2026-11-25T08:00:00.123456789Z"), "2026-11-25T08:00:00.123Z");
  assert.equal(ts("2026-11-25 08:00:00,5+00"), "2026-11-25T08:00:00.500Z");
  assert.equal(ts("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000Z");
  assert.equal(ts("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00.000Z");
  assert.equal(ts("9999-12-31T23:59:59.999Z"), "9999-12-31T23:59:59.999Z");
  for (const bad of [
    "2026-11-25T08:00:00", // no offset: ambiguous
    "2023-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-11-25T24:00:00Z",
    "2026-11-25T08:00:60Z",
    "2026-11-25T08:00:00+24:00",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00", // before year 1 in UTC
    "2026-11-25",
    "2026-11-25T08:00:00.Z",
    "2026-11-25T08:00:00.1234567890Z",
    "x2026-11-25T08:00:00Z",
  ])
    assert.equal(ts(bad), null, bad);
});

test("ids are UUIDs of any version in lower case; text counts code points", () => {
  assert.equal(normalizeUuid("6F1C9A52-3D4E-4B8A-A0C2-7E5D1F9B3A60"), "6f1c9a52-3d4e-4b8a-a0c2-7e5d1f9b3a60");
  assert.equal(normalizeUuid("6f1c9a52-3d4e-4b8a-a0c2-7e5d1f9b3a6"), null);
  assert.equal(normalizeUuid("6f1c9a52x3d4e-4b8a-a0c2-7e5d1f9b3a60"), null);
  assert.equal(countCodePoints("añ😀"), 3);
});

const op = (entity: string, action: string, payload: unknown, extra: Record<string, unknown> = {}) =>
  validateOperation({
    entity,
    action,
    entityId: "6F1C9A52-3D4E-4B8A-A0C2-7E5D1F9B3A60",
    payload,
    clientTimestamp: "2026-11-25T10:00:00+02:00",
    ...extra,
  } as Parameters<typeof validateOperation>[0]);

const rejects = (f: () => unknown, message: string) =>
  assert.throws(f, (e: { code?: string; message?: string }) => e.code === "VALIDATION_ERROR" && e.message === message);

test("an insert fills the server's defaults and normalises every value", () => {
  const sale = op("sales", "insert", { total: 20, payment_type: "cash", customer_id: null, businessId: "x", id: "y" });
  assert.equal(sale.entityId, "6f1c9a52-3d4e-4b8a-a0c2-7e5d1f9b3a60");
  assert.deepEqual(Object.fromEntries(sale.assignments), {
    total: "20.00",
    payment_type: "cash",
    customer_id: null,
    status: "completed",
    sold_at: "2026-11-25T08:00:00.000Z",
    notes: null,
  });
  assert.deepEqual(sale.sent, { total: "20.00", payment_type: "cash", customer_id: null }, "server-managed fields are dropped");
  const item = op("sale_items", "insert", {
    sale_id: "6F1C9A52-3D4E-4B8A-A0C2-7E5D1F9B3A60",
    product_name: "Arroz",
    quantity: "0.333",
    unit_price: "1.50",
  });
  assert.equal(item.assignments.get("subtotal"), "0.50", "0.4995 rounds half away from zero");
  assert.equal(item.assignments.get("sale_id"), "6f1c9a52-3d4e-4b8a-a0c2-7e5d1f9b3a60");
  assert.equal(op("payments", "insert", { customer_id: "6f1c9a52-3d4e-4b8a-a0c2-7e5d1f9b3a60", amount: 1 }).entity.name, "abonos");
});

test("the validator refuses what the server refuses, with the server's messages", () => {
  rejects(() => op("clientes", "insert", {}), "entity: unknown entity 'clientes'");
  rejects(() => op("customers", "upsert", {}), "action: must be 'insert', 'update' or 'delete'");
  rejects(() => op("customers", "insert", { name: "a" }, { entityId: "1" }), "entityId: must be a UUID");
  rejects(
    () => op("customers", "insert", { name: "a" }, { clientTimestamp: "2026-11-25T10:00:00" }),
    "clientTimestamp: must be an ISO-8601 timestamp with a UTC offset, e.g. 2026-11-25T08:00:00.000Z",
  );
  rejects(() => op("customers", "insert", []), "payload: must be an object");
  rejects(() => op("customers", "insert", {}), "customers.name: is required");
  rejects(() => op("customers", "insert", { name: "" }), "customers.name: must not be empty");
  rejects(() => op("customers", "insert", { name: "x".repeat(201) }), "customers.name: must be at most 200 characters");
  rejects(() => op("customers", "insert", { name: "a\u0000b" }), "customers.name: must not contain U+0000");
  rejects(() => op("customers", "insert", { name: 5 }), "customers.name: must be text");
  rejects(() => op("customers", "insert", { name: "a", nickname: "b" }), "customers.nickname: unknown field");
  rejects(() => op("customers", "insert", { name: null }), "customers.name: must not be null");
  rejects(() => op("customers", "insert", { name: "a", credit_limit: -1 }), "customers.credit_limit: must be a decimal >= 0");
  rejects(() => op("customers", "insert", { name: "a", credit_limit: "1.001" }), "customers.credit_limit: has more than 2 decimal places");
  rejects(() => op("sales", "insert", { total: 1, payment_type: "card" }), "sales.payment_type: must be one of 'cash' or 'credit'");
  rejects(() => op("sales", "insert", { total: 1, payment_type: "cash", customer_id: "x" }), "sales.customer_id: must be a UUID");
  rejects(
    () => op("sales", "insert", { total: 1, payment_type: "cash", sold_at: "yesterday" }),
    "sales.sold_at: must be an ISO-8601 timestamp with a UTC offset, e.g. 2026-11-25T08:00:00.000Z",
  );
  rejects(() => op("abonos", "insert", { customer_id: "6f1c9a52-3d4e-4b8a-a0c2-7e5d1f9b3a60", amount: 0 }), "abonos.amount: must be a decimal > 0");
  rejects(() => op("customers", "update", { id: "x" }), "payload: an update must change a field");
  assert.equal(op("customers", "delete", "anything").action, "delete", "a delete's payload is ignored");
});

test("the registry the client was generated from is the server's", () => {
  const names = ["customers", "sales", "sale_items", "abonos", "distribuciones"];
  for (const name of names) assert.ok(findEntity(name), name);
  assert.equal(findEntity("payments")?.name, "abonos");
});

test("backoff is full jitter within [1 ms, min(cap, base × 2^(n−1))]", () => {
  assert.equal(backoffDelay(1, 1000, 300000, () => 0), 1);
  assert.equal(backoffDelay(1, 1000, 300000, () => 0.999999), 1000);
  assert.equal(backoffDelay(3, 1000, 300000, () => 0.999999), 4000);
  assert.equal(backoffDelay(40, 1000, 300000, () => 0.999999), 300000);
  const seen = new Set<number>();
  for (let i = 0; i < 200; ++i) {
    const d = backoffDelay(5, 1000, 300000);
    assert.ok(d >= 1 && d <= 16000, String(d));
    seen.add(d);
  }
  assert.ok(seen.size > 100, "the delays are spread, not fixed");
});
