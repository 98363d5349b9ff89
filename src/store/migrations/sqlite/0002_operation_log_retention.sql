-- Store::prune_operations deletes the operation log by age, in chunks: each chunk finds
-- its rows through this index instead of scanning the whole log.
CREATE INDEX sync_operations_processed_at ON sync_operations (processed_at);
