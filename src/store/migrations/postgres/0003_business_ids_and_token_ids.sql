-- Business ids are the app's own ids for its organizations (a JWT's business claim, e.g.
-- Better Auth's "org_8fJk2LmQ"): any string of 1 to 128 printable ASCII characters, not
-- only UUIDs. Compared byte by byte (COLLATE "C"), as SQLite does.
ALTER TABLE auth_tokens DROP CONSTRAINT auth_tokens_business_id_fkey;
ALTER TABLE businesses ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE businesses ADD CONSTRAINT businesses_id_printable CHECK (id ~ '^[ -~]{1,128}$');
ALTER TABLE auth_tokens ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_business_id_fkey
  FOREIGN KEY (business_id) REFERENCES businesses (id);
ALTER TABLE sync_operations ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE customers ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE sales ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE sale_items ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE abonos ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE distribuciones ALTER COLUMN business_id TYPE text COLLATE "C";

-- A token's public id (the admin API lists and revokes tokens by it): the first 24 hex
-- digits of its SHA-256. It names the token and cannot be used as one.
ALTER TABLE auth_tokens ADD COLUMN id text;
UPDATE auth_tokens SET id = substr(token_hash, 1, 24);
ALTER TABLE auth_tokens ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX auth_tokens_id ON auth_tokens (id);
CREATE INDEX auth_tokens_business ON auth_tokens (business_id);
