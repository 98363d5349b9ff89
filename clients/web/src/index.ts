// @avsync/web: avsync's browser client (docs/web-client.md).
export { createClient } from "./client.js";
export type { AvsyncClient, ChangeEvent, ClientOptions, SyncStateName, SyncStatus, TypedRow } from "./client.js";
export { AvsyncError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type { Canonical, EntityInput, EntityName, InsertFields, RowFields, UpdateFields } from "./schema.js";
export { entities, findEntity, schemaVersion } from "./schema.js";
export type { ListQuery, QueuedOperation, Row, RowKey, SyncState } from "./store.js";
export type { SyncReport } from "./sync.js";
