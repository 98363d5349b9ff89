-- The operations console (docs/protocol.md §7.2 to §7.5): searches of the operation log,
-- newest first, and the record of each conflict an operator resolved.
-- Every search walks one index in (processed_at, business_id, operation_id) order, the
-- listing's order, and stops after a page: a tenant's rows lead with business_id (and
-- entity or error code when filtered by them); searches across tenants lead with the
-- filtered column or the time. Failed rows are few, so their indexes are partial.
CREATE INDEX sync_operations_by_business ON sync_operations (business_id, processed_at, operation_id);
CREATE INDEX sync_operations_by_time ON sync_operations (processed_at, business_id, operation_id);
CREATE INDEX sync_operations_by_business_entity
  ON sync_operations (business_id, entity, processed_at, operation_id);
CREATE INDEX sync_operations_by_entity ON sync_operations (entity, processed_at, business_id, operation_id);
CREATE INDEX sync_operations_by_operation_id ON sync_operations (operation_id, processed_at, business_id);
CREATE INDEX sync_operations_failed_by_business
  ON sync_operations (business_id, processed_at, operation_id) WHERE status = 'failed';
CREATE INDEX sync_operations_failed_by_time
  ON sync_operations (processed_at, business_id, operation_id) WHERE status = 'failed';
CREATE INDEX sync_operations_failed_by_business_error
  ON sync_operations (business_id, error, processed_at, operation_id) WHERE status = 'failed';
CREATE INDEX sync_operations_failed_by_error
  ON sync_operations (error, processed_at, business_id, operation_id) WHERE status = 'failed';
-- sync_operations_by_time serves the pruning that this index served.
DROP INDEX sync_operations_processed_at;

-- One row per resolution. A resolution settles the operation as it was logged then: one
-- recorded at or after its log row's processed_at is current; a device that sends the
-- operation again afterwards (a failed one is evaluated again, docs/protocol.md §3.2) gets a
-- new log row, and, failing again, a new conflict to decide. Rows stay when the operation's
-- log row is pruned: they are the audit.
CREATE TABLE conflict_resolutions (
  business_id  TEXT NOT NULL,
  operation_id TEXT NOT NULL,
  resolution   TEXT NOT NULL CHECK (resolution IN ('apply_client', 'keep_server')),
  resolved_by  TEXT NOT NULL,
  resolved_at  TEXT NOT NULL,
  address      TEXT NOT NULL,
  version      INTEGER,              -- apply_client: the feed version of its write
  PRIMARY KEY (business_id, operation_id, resolved_at)
) WITHOUT ROWID;
CREATE INDEX conflict_resolutions_by_business
  ON conflict_resolutions (business_id, resolved_at, operation_id);
CREATE INDEX conflict_resolutions_by_time ON conflict_resolutions (resolved_at, business_id, operation_id);
