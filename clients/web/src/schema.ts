// The entity registry as the server prints it (src/schema.generated.ts), with the types an
// app writes and reads derived from it: a field the server adds shows up here at the next
// `npm run schema`, and a field the app misspells is a type error.
import { schemaJson } from "./schema.generated.js";

type Schema = typeof schemaJson;
type EntityJson = Schema["entities"][number];

/** The wire name of every entity: customers, sales, sale_items, abonos, distribuciones. */
export type EntityName = EntityJson["name"];
/** Another name the wire accepts for an entity (`payments` for `abonos`). */
export type EntityAlias = EntityJson["aliases"][number];
/** What an app may name an entity by. */
export type EntityInput = EntityName | EntityAlias;

/** The entity an input name stands for. */
export type Canonical<E extends EntityInput> = E extends EntityName
  ? E
  : { [K in EntityName]: E extends Extract<EntityJson, { name: K }>["aliases"][number] ? K : never }[EntityName];

type FieldsOf<E extends EntityInput> = Extract<EntityJson, { name: Canonical<E> }>["fields"][number];
type Required<F> = F extends { required: true } ? true : false;

/** What a field accepts on a write: decimals as text or a number, timestamps as text or a Date. */
type WriteValue<F> = F extends { type: "choice"; choices: readonly (infer C)[] }
  ? C
  : F extends { type: "money" | "quantity" }
    ? string | number
    : F extends { type: "timestamp" }
      ? string | Date
      : string;

/** What a read returns for a field: canonical text (decimals at their scale, UTC timestamps). */
type ReadValue<F> = F extends { type: "choice"; choices: readonly (infer C)[] } ? C : string;

/** The fields of an insert: every required one, and any optional one (null for none). */
export type InsertFields<E extends EntityInput> = {
  [F in FieldsOf<E> as Required<F> extends true ? F["name"] : never]: WriteValue<F>;
} & {
  [F in FieldsOf<E> as Required<F> extends true ? never : F["name"]]?: WriteValue<F> | null;
};

/** The fields of an update: at least one, only those it changes. */
export type UpdateFields<E extends EntityInput> = {
  [F in FieldsOf<E> as F["name"]]?: Required<F> extends true ? WriteValue<F> : WriteValue<F> | null;
};

/** A row's fields as read from the replica. */
export type RowFields<E extends EntityInput> = {
  [F in FieldsOf<E> as F["name"]]: Required<F> extends true ? ReadValue<F> : ReadValue<F> | null;
};

// ---- At run time ---------------------------------------------------------------------

export type FieldType = "text" | "money" | "quantity" | "timestamp" | "reference" | "choice";

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
  readonly nullable: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly integerDigits?: number;
  readonly fractionDigits?: number;
  readonly bound?: "nonNegative" | "positive";
  readonly choices?: readonly string[];
  readonly references?: string;
  readonly default?:
    | { readonly kind: "constant"; readonly value: string }
    | { readonly kind: "clientTimestamp" }
    | { readonly kind: "quantityTimesUnitPrice" };
}

export interface EntitySpec {
  readonly name: EntityName;
  readonly aliases: readonly string[];
  readonly fields: readonly FieldSpec[];
  readonly referencedBy: readonly { readonly entity: string; readonly field: string }[];
}

/** The schema's JSON version this client was generated for and understands. */
export const schemaVersion: 1 = schemaJson.version;

/** Every entity, those referenced before those referencing them. */
export const entities: readonly EntitySpec[] = schemaJson.entities as unknown as readonly EntitySpec[];

/** Fields a payload may carry and the server ignores (docs/protocol.md §3.5). */
export const serverManagedFields: ReadonlySet<string> = new Set(schemaJson.serverManagedFields);

const byName = new Map<string, EntitySpec>();
for (const e of entities) {
  byName.set(e.name, e);
  for (const alias of e.aliases) byName.set(alias, e);
}

/** The entity a wire name or alias names, or undefined. */
export function findEntity(name: string): EntitySpec | undefined {
  return byName.get(name);
}

export function findField(entity: EntitySpec, name: string): FieldSpec | undefined {
  return entity.fields.find((f) => f.name === name);
}
