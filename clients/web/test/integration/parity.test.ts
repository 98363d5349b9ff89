// One source of rules: every edge value of every field, judged by the client's generated
// validator and by a real avsync-server. Both accept it with the same canonical value, or
// both refuse it with the same message.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { entities, EntitySpec, FieldSpec } from "../../src/schema.js";
import { validateOperation } from "../../src/validate.js";
import { AvsyncServer, startServer } from "../e2e/harness.js";

let server: AvsyncServer;
before(async () => {
  server = await startServer({ args: ["--op-rate-limit", "0"] });
});
after(async () => {
  await server?.stop();
});

const CLIENT_TIME = "2026-11-25T10:00:00+02:00";

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(server.url + path, init);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as Record<string, unknown>;
}

function edgeValues(f: FieldSpec, existing: Record<string, string>): unknown[] {
  const values: unknown[] = [null, true, [], {}];
  switch (f.type) {
    case "text": {
      const max = f.maxLength ?? 10;
      values.push("", "a", "ñandú", "x".repeat(max), "x".repeat(max + 1), "😀".repeat(max), "😀".repeat(max + 1), "a\u0000b", 5, " padded ");
      break;
    }
    case "money":
    case "quantity":
      values.push(
        "150.5", 150.5, "150.500", "1.5e2", "1.5E+2", "15e-1", "0", 0, "-0", "-1", -0.5, ".5", "5.", "0.001", "0.0001", "0.0010",
        "999999999999.99", "999999999999.999", "1000000000000", 1e12, 1e-7, "1e4", "abc", "", " 1", "1,5", "0x10", "Infinity", "NaN", "+2", "--1",
      );
      break;
    case "timestamp":
      values.push(
        "2026-11-25T08:00:00Z", "2026-11-25T10:00:00+02:00", "2026-11-25T03:00-0500", "2026-11-25T08:00:00.123456Z",
        "2026-11-25 08:00:00,5+00", "2026-11-25t08:00:00z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-25T08:00:00",
        "2026-11-25", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2026-11-25T24:00:00Z", "2026-11-25T08:00:00+05:",
        "2026-11-25T08:00:00.Z", 1764057600000,
      );
      break;
    case "reference": {
      const id = existing[f.references ?? ""]!;
      values.push(id, id.toUpperCase(), "not-a-uuid", id.slice(0, 35), 7);
      break;
    }
    case "choice":
      values.push(...(f.choices ?? []), (f.choices ?? [""])[0]!.toUpperCase(), "other-choice", "", 1);
      break;
  }
  return values;
}

// A valid value of a required field, so a case changes one field only.
function validValue(f: FieldSpec, existing: Record<string, string>): unknown {
  switch (f.type) {
    case "text":
      return "Arroz";
    case "money":
    case "quantity":
      return "2";
    case "timestamp":
      return "2026-11-25T08:00:00Z";
    case "reference":
      return existing[f.references ?? ""];
    case "choice":
      return f.choices![0];
  }
}

interface Case {
  entity: EntitySpec;
  field: string;
  value: unknown;
  entityId: string;
  payload: Record<string, unknown>;
}

test("the client's validator and the server's agree on every edge value of every field", async () => {
  // One live row of each entity, for the foreign keys.
  const existing: Record<string, string> = {};
  const setup = [];
  for (const entity of entities) {
    const id = crypto.randomUUID();
    existing[entity.name] = id;
    const payload: Record<string, unknown> = {};
    for (const f of entity.fields) if (f.required) payload[f.name] = validValue(f, existing);
    setup.push({ operationId: crypto.randomUUID(), entity: entity.name, action: "insert", entityId: id, payload, clientTimestamp: CLIENT_TIME });
  }
  const made = (await call("POST", "/sync/batch", { operations: setup })).results as { success: boolean }[];
  assert.ok(made.every((r) => r.success), JSON.stringify(made));

  const cases: Case[] = [];
  for (const entity of entities) {
    for (const f of entity.fields) {
      for (const value of edgeValues(f, existing)) {
        const payload: Record<string, unknown> = {};
        for (const g of entity.fields) if (g.required && g.name !== f.name) payload[g.name] = validValue(g, existing);
        payload[f.name] = value;
        cases.push({ entity, field: f.name, value, entityId: crypto.randomUUID(), payload });
      }
    }
  }
  const results: { success: boolean; error?: string; message?: string }[] = [];
  for (let i = 0; i < cases.length; i += 400) {
    const operations = cases.slice(i, i + 400).map((c) => ({
      operationId: crypto.randomUUID(),
      entity: c.entity.name,
      action: "insert",
      entityId: c.entityId,
      payload: c.payload,
      clientTimestamp: CLIENT_TIME,
    }));
    results.push(...((await call("POST", "/sync/batch", { operations })).results as typeof results));
  }
  const stored = new Map<string, Record<string, unknown>>();
  for (let since = ""; ; ) {
    const page = await call("GET", `/sync/changes?limit=10000${since ? "&since=" + since : ""}`);
    for (const c of page.changes as { entityId: string; data: Record<string, unknown> }[]) stored.set(c.entityId, c.data);
    since = page.cursor as string;
    if (!page.hasMore) break;
  }

  const disagreements: string[] = [];
  cases.forEach((c, i) => {
    const server = results[i]!;
    let local: { ok: true; value: unknown } | { ok: false; message: string };
    try {
      const op = validateOperation({ entity: c.entity.name, action: "insert", entityId: c.entityId, payload: c.payload, clientTimestamp: CLIENT_TIME });
      local = { ok: true, value: op.assignments.get(c.field) };
    } catch (e) {
      local = { ok: false, message: (e as Error).message };
    }
    const what = `${c.entity.name}.${c.field} = ${JSON.stringify(c.value)}`;
    if (server.success !== local.ok) {
      disagreements.push(`${what}: server ${server.success ? "accepts" : `refuses (${server.message})`}, client ${local.ok ? "accepts" : `refuses (${local.message})`}`);
    } else if (local.ok) {
      const value = stored.get(c.entityId)?.[c.field];
      if (value !== local.value) disagreements.push(`${what}: server stores ${JSON.stringify(value)}, client ${JSON.stringify(local.value)}`);
    } else if (server.message !== local.message) {
      disagreements.push(`${what}: server says "${server.message}", client "${local.message}"`);
    }
  });
  assert.ok(cases.length > 300, `${cases.length} cases`);
  assert.deepEqual(disagreements, []);
});
