-- The operation log and the domain tables become rowid tables (issue 15). As WITHOUT ROWID
-- tables keyed by (business_id, random uuid) each insert wrote its whole row at a random
-- place in a wide B-tree, and every secondary index entry carried that key; a commit of a
-- thousand operations dirtied (and wrote to the WAL) about as many table pages. A rowid
-- table appends its rows; the key is kept by the PRIMARY KEY's own narrow unique index, so
-- every ON CONFLICT target, lookup and column name stays as it was. Copied in feed order
-- (processing order for the log), so a tenant's feed reads its rows in file order.
-- Indexes are recreated with the names and columns of 0001 and 0004, after the copy.

ALTER TABLE sync_operations RENAME TO sync_operations_0004;
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
);
INSERT INTO sync_operations SELECT * FROM sync_operations_0004 ORDER BY processed_at;
DROP TABLE sync_operations_0004;
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

ALTER TABLE customers RENAME TO customers_0004;
CREATE TABLE customers (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  name TEXT, phone TEXT, email TEXT, address TEXT, notes TEXT, credit_limit TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
);
INSERT INTO customers SELECT * FROM customers_0004 ORDER BY business_id, version;
DROP TABLE customers_0004;
CREATE INDEX customers_feed ON customers (business_id, version);

ALTER TABLE sales RENAME TO sales_0004;
CREATE TABLE sales (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  customer_id TEXT, total TEXT, payment_type TEXT, status TEXT, sold_at TEXT, notes TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
);
INSERT INTO sales SELECT * FROM sales_0004 ORDER BY business_id, version;
DROP TABLE sales_0004;
CREATE INDEX sales_feed ON sales (business_id, version);
CREATE INDEX sales_customer ON sales (business_id, customer_id);

ALTER TABLE sale_items RENAME TO sale_items_0004;
CREATE TABLE sale_items (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  sale_id TEXT, product_name TEXT, product_id TEXT, quantity TEXT, unit_price TEXT, subtotal TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
);
INSERT INTO sale_items SELECT * FROM sale_items_0004 ORDER BY business_id, version;
DROP TABLE sale_items_0004;
CREATE INDEX sale_items_feed ON sale_items (business_id, version);
CREATE INDEX sale_items_sale ON sale_items (business_id, sale_id);

ALTER TABLE abonos RENAME TO abonos_0004;
CREATE TABLE abonos (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  customer_id TEXT, sale_id TEXT, amount TEXT, method TEXT, paid_at TEXT, notes TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
);
INSERT INTO abonos SELECT * FROM abonos_0004 ORDER BY business_id, version;
DROP TABLE abonos_0004;
CREATE INDEX abonos_feed ON abonos (business_id, version);
CREATE INDEX abonos_customer ON abonos (business_id, customer_id);
CREATE INDEX abonos_sale ON abonos (business_id, sale_id);

ALTER TABLE distribuciones RENAME TO distribuciones_0004;
CREATE TABLE distribuciones (
  business_id TEXT NOT NULL, id TEXT NOT NULL,
  product_name TEXT, product_id TEXT, quantity TEXT, seller TEXT, route TEXT, distributed_at TEXT,
  notes TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  sync_status TEXT NOT NULL DEFAULT 'synced', sync_attempts INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, last_write_ms INTEGER NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (business_id, id)
);
INSERT INTO distribuciones SELECT * FROM distribuciones_0004 ORDER BY business_id, version;
DROP TABLE distribuciones_0004;
CREATE INDEX distribuciones_feed ON distribuciones (business_id, version);
