// One operation checked and normalised exactly as the server's validator does
// (docs/protocol.md §3.5): generated rules, the server's messages.
import { validationError } from "./errors.js";
import { EntitySpec, FieldSpec, findEntity, serverManagedFields } from "./schema.js";
import {
  countCodePoints,
  formatDecimal,
  formatTimestamp,
  isWellFormed,
  multiplyDecimals,
  normalizeUuid,
  parseDecimal,
  parseTimestamp,
} from "./scalars.js";

export type Action = "insert" | "update" | "delete";

/** A field's canonical text, or null. */
export type Value = string | null;

export interface ValidOperation {
  entity: EntitySpec;
  action: Action;
  entityId: string;
  clientTime: number;
  /** The fields the operation sets, canonical; an insert's include the defaults it fills. */
  assignments: Map<string, Value>;
  /** The fields as the payload carried them, canonical: what is sent to the server. */
  sent: Record<string, Value>;
}

function describeChoices(choices: readonly string[]): string {
  return choices.map((c, i) => (i === 0 ? "" : i + 1 === choices.length ? " or " : ", ") + `'${c}'`).join("");
}

function decimalKind(f: FieldSpec): [number, number] {
  return [f.integerDigits ?? 12, f.fractionDigits ?? (f.type === "money" ? 2 : 3)];
}

/** A non-null value's canonical text; throws VALIDATION_ERROR "entity.field: ...". */
export function normalizeValue(entity: EntitySpec, f: FieldSpec, v: unknown): string {
  const fail = (message: string) => validationError(`${entity.name}.${f.name}: ${message}`);
  switch (f.type) {
    case "text": {
      if (typeof v !== "string") throw fail("must be text");
      if (v.includes("\u0000")) throw fail("must not contain U+0000");
      if (!isWellFormed(v)) throw fail("must be valid Unicode text (a lone surrogate cannot be sent)");
      const n = countCodePoints(v);
      if (n < (f.minLength ?? 0)) throw fail("must not be empty");
      if (f.maxLength && n > f.maxLength) throw fail(`must be at most ${f.maxLength} characters`);
      return v;
    }
    case "money":
    case "quantity": {
      const expected = "must be a decimal" + (f.bound === "nonNegative" ? " >= 0" : f.bound === "positive" ? " > 0" : "");
      let text: string;
      if (typeof v === "number") {
        if (!Number.isFinite(v)) throw fail(expected);
        text = String(v);
      } else if (typeof v === "string") {
        text = v;
      } else {
        throw fail(expected);
      }
      const [integerDigits, fractionDigits] = decimalKind(f);
      const d = parseDecimal(text, integerDigits, fractionDigits);
      if (!d.ok) throw fail(d.message === "must be a decimal number" ? expected : d.message);
      const sign = d.value.units < 0n ? -1 : d.value.units > 0n ? 1 : 0;
      if ((f.bound === "nonNegative" && sign < 0) || (f.bound === "positive" && sign <= 0)) throw fail(expected);
      return formatDecimal(d.value);
    }
    case "timestamp": {
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw fail("must be an ISO-8601 timestamp");
        v = v.toISOString();
      }
      if (typeof v !== "string") throw fail("must be an ISO-8601 timestamp");
      const t = parseTimestamp(v);
      if (!t.ok) throw fail(t.message);
      return formatTimestamp(t.value);
    }
    case "reference": {
      const id = typeof v === "string" ? normalizeUuid(v) : null;
      if (!id) throw fail("must be a UUID");
      return id;
    }
    case "choice": {
      if (typeof v === "string" && f.choices?.includes(v)) return v;
      throw fail(`must be one of ${describeChoices(f.choices ?? [])}`);
    }
  }
  throw fail("unsupported field");
}

function fillDefaults(entity: EntitySpec, clientTime: string, out: Map<string, Value>): void {
  for (const f of entity.fields) {
    if (out.has(f.name)) continue;
    if (f.required) throw validationError(`${entity.name}.${f.name}: is required`);
    let value: Value = null;
    const def = f.default;
    if (def?.kind === "constant") value = def.value;
    else if (def?.kind === "clientTimestamp") value = clientTime;
    else if (def?.kind === "quantityTimesUnitPrice") {
      const q = out.get("quantity");
      const p = out.get("unit_price");
      const qf = entity.fields.find((x) => x.name === "quantity");
      const pf = entity.fields.find((x) => x.name === "unit_price");
      if (q && p && qf && pf) {
        const qd = parseDecimal(q, ...decimalKind(qf));
        const pd = parseDecimal(p, ...decimalKind(pf));
        const [integerDigits, scale] = decimalKind(f);
        const product = qd.ok && pd.ok ? multiplyDecimals(qd.value, pd.value, integerDigits, scale) : null;
        if (!product) throw validationError(`${entity.name}.${f.name}: has more than ${integerDigits} integer digits`);
        value = formatDecimal(product);
      }
    }
    out.set(f.name, value);
  }
}

/** The operation as the protocol sends it (docs/protocol.md §3). */
export interface WireOperation {
  operationId: string;
  entity: string;
  action: Action;
  entityId: string;
  payload: Record<string, unknown>;
  clientTimestamp: string;
}

/** Checks an operation as the server will; throws a VALIDATION_ERROR naming what is wrong. */
export function validateOperation(op: {
  entity: string;
  action: string;
  entityId: unknown;
  payload?: unknown;
  clientTimestamp: string;
}): ValidOperation {
  const entity = typeof op.entity === "string" ? findEntity(op.entity) : undefined;
  if (!entity) throw validationError(`entity: unknown entity '${String(op.entity)}'`);
  const action = op.action;
  if (action !== "insert" && action !== "update" && action !== "delete")
    throw validationError("action: must be 'insert', 'update' or 'delete'");
  const entityId = typeof op.entityId === "string" ? normalizeUuid(op.entityId) : null;
  if (!entityId) throw validationError("entityId: must be a UUID");
  const t = parseTimestamp(op.clientTimestamp);
  if (!t.ok) throw validationError(`clientTimestamp: ${t.message}`);
  const out: ValidOperation = { entity, action, entityId, clientTime: t.value, assignments: new Map(), sent: {} };
  if (action === "delete") return out; // the payload is ignored (docs/protocol.md §3)

  const payload = op.payload;
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    throw validationError("payload: must be an object");
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || serverManagedFields.has(name)) continue; // §3.5: ignored
    const f = entity.fields.find((x) => x.name === name);
    if (!f) throw validationError(`${entity.name}.${name}: unknown field`);
    let normalized: Value = null;
    if (value === null) {
      if (f.required) throw validationError(`${entity.name}.${name}: must not be null`);
    } else {
      normalized = normalizeValue(entity, f, value);
    }
    out.assignments.set(name, normalized);
    out.sent[name] = normalized;
  }
  if (action === "update") {
    if (out.assignments.size === 0) throw validationError("payload: an update must change a field");
    return out;
  }
  fillDefaults(entity, formatTimestamp(t.value), out.assignments);
  return out;
}
