-- avsync schema v1 for PostgreSQL. Never edit once released: add a file.
-- Every tenant table leads with business_id (keys and indexes), so the schema can be
-- distributed by tenant (Citus: create_distributed_table(..., 'business_id'), co-located).
-- Money and quantities are numeric (exact); times are timestamptz; ids are uuid.

CREATE TABLE businesses (
  id          uuid PRIMARY KEY,            -- the tenant; distribution column of its own table
  name        text NOT NULL,
  version     bigint NOT NULL DEFAULT 0,   -- the tenant's change counter; its row lock orders batches
  created_at  timestamptz NOT NULL
);

-- Looked up by token hash before the tenant is known: a reference table under Citus.
CREATE TABLE auth_tokens (
  token_hash    text PRIMARY KEY,
  business_id   uuid NOT NULL REFERENCES businesses (id),
  user_id       text NOT NULL,
  expires_at_ms bigint NOT NULL,
  revoked_at    timestamptz,
  created_at    timestamptz NOT NULL
);

CREATE TABLE sync_operations (
  business_id      uuid NOT NULL,
  operation_id     text NOT NULL,
  entity           text NOT NULL,
  action           text NOT NULL,
  entity_id        text NOT NULL,        -- as sent: a failed operation may carry any text
  payload          jsonb NOT NULL,
  status           text NOT NULL CHECK (status IN ('processed', 'failed')),
  error            text,
  message          text,
  client_timestamp text,                 -- as sent
  processed_at     timestamptz NOT NULL,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (business_id, operation_id)
);

CREATE TABLE customers (
  business_id uuid NOT NULL, id uuid NOT NULL,
  name text, phone text, email text, address text, notes text, credit_limit numeric(14, 2),
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  sync_status text NOT NULL DEFAULT 'synced', sync_attempts integer NOT NULL DEFAULT 0,
  deleted smallint NOT NULL DEFAULT 0, last_write_ms bigint NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (business_id, id)
);
CREATE INDEX customers_feed ON customers (business_id, version);

CREATE TABLE sales (
  business_id uuid NOT NULL, id uuid NOT NULL,
  customer_id uuid, total numeric(14, 2), payment_type text, status text, sold_at timestamptz, notes text,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  sync_status text NOT NULL DEFAULT 'synced', sync_attempts integer NOT NULL DEFAULT 0,
  deleted smallint NOT NULL DEFAULT 0, last_write_ms bigint NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (business_id, id)
);
CREATE INDEX sales_feed ON sales (business_id, version);
CREATE INDEX sales_customer ON sales (business_id, customer_id);

CREATE TABLE sale_items (
  business_id uuid NOT NULL, id uuid NOT NULL,
  sale_id uuid, product_name text, product_id text, quantity numeric(15, 3), unit_price numeric(14, 2),
  subtotal numeric(14, 2),
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  sync_status text NOT NULL DEFAULT 'synced', sync_attempts integer NOT NULL DEFAULT 0,
  deleted smallint NOT NULL DEFAULT 0, last_write_ms bigint NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (business_id, id)
);
CREATE INDEX sale_items_feed ON sale_items (business_id, version);
CREATE INDEX sale_items_sale ON sale_items (business_id, sale_id);

CREATE TABLE abonos (
  business_id uuid NOT NULL, id uuid NOT NULL,
  customer_id uuid, sale_id uuid, amount numeric(14, 2), method text, paid_at timestamptz, notes text,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  sync_status text NOT NULL DEFAULT 'synced', sync_attempts integer NOT NULL DEFAULT 0,
  deleted smallint NOT NULL DEFAULT 0, last_write_ms bigint NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (business_id, id)
);
CREATE INDEX abonos_feed ON abonos (business_id, version);
CREATE INDEX abonos_customer ON abonos (business_id, customer_id);
CREATE INDEX abonos_sale ON abonos (business_id, sale_id);

CREATE TABLE distribuciones (
  business_id uuid NOT NULL, id uuid NOT NULL,
  product_name text, product_id text, quantity numeric(15, 3), seller text, route text,
  distributed_at timestamptz, notes text,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  sync_status text NOT NULL DEFAULT 'synced', sync_attempts integer NOT NULL DEFAULT 0,
  deleted smallint NOT NULL DEFAULT 0, last_write_ms bigint NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (business_id, id)
);
CREATE INDEX distribuciones_feed ON distribuciones (business_id, version);
