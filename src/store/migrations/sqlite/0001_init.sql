-- avsync schema v1 for the embedded SQLite store. Never edit once released: add a file.
-- Every table is keyed by business_id first: tenants never share a key.
-- Decimals and timestamps are TEXT in canonical form (exact, and sortable for timestamps).

CREATE TABLE businesses (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL DEFAULT 0,  -- the tenant's change counter (feed cursor)
  created_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE auth_tokens (
  token_hash   TEXT PRIMARY KEY,           -- hex SHA-256; the token itself is never stored
  business_id  TEXT NOT NULL REFERENCES businesses (id),
  user_id      TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  revoked_at   TEXT,
  created_at   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sync_operations (
  business_id      TEXT NOT NULL,
  operation_id     TEXT NOT NULL,
  entity           TEXT NOT NULL,
  action           TEXT NOT NULL,
  entity_id        TEXT NOT NULL,
  payload          TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('processed', 'failed')),
  error            TEXT,
  message          TEXT,
  client_timestamp TEXT,
  processed_at     TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  PRIMARY KEY (business_id, operation_id)
) WITHOUT ROWID;

-- Domain tables: protocol columns, then the server's bookkeeping:
--   deleted        tombstone flag (a deleted id can never be inserted again)
--   last_write_ms  time of the last write, for last-write-wins
--   version        the tenant's change counter at the last change (feed order)
CREATE TABLE customers (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  name TEXT, phone TEXT, email TEXT, address TEXT, notes TEXT, credit_limit TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE INDEX customers_feed ON customers (business_id, version);

CREATE TABLE sales (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  customer_id TEXT, total TEXT, payment_type TEXT, status TEXT, sold_at TEXT, notes TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE INDEX sales_feed ON sales (business_id, version);
CREATE INDEX sales_customer ON sales (business_id, customer_id);

CREATE TABLE sale_items (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  sale_id TEXT, product_name TEXT, product_id TEXT, quantity TEXT, unit_price TEXT, subtotal TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE INDEX sale_items_feed ON sale_items (business_id, version);
CREATE INDEX sale_items_sale ON sale_items (business_id, sale_id);

CREATE TABLE abonos (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  customer_id TEXT, sale_id TEXT, amount TEXT, method TEXT, paid_at TEXT, notes TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE INDEX abonos_feed ON abonos (business_id, version);
CREATE INDEX abonos_customer ON abonos (business_id, customer_id);
CREATE INDEX abonos_sale ON abonos (business_id, sale_id);

CREATE TABLE distribuciones (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  product_name TEXT, product_id TEXT, quantity TEXT, seller TEXT, route TEXT, distributed_at TEXT,
  notes TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE INDEX distribuciones_feed ON distribuciones (business_id, version);
