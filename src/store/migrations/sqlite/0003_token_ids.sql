-- A token's public id (the admin API lists and revokes tokens by it): the first 24 hex
-- digits of its SHA-256. It names the token and cannot be used as one. (Business ids were
-- TEXT from the start; PostgreSQL's 0003 makes them text there too.)
ALTER TABLE auth_tokens ADD COLUMN id TEXT;
UPDATE auth_tokens SET id = substr(token_hash, 1, 24);
CREATE UNIQUE INDEX auth_tokens_id ON auth_tokens (id);
CREATE INDEX auth_tokens_business ON auth_tokens (business_id);
