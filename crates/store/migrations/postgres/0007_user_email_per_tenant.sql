-- An email address is unique within a tenant, no longer across the installation, so that
-- creating a user never reveals that another MSP has an account with that address.
-- email_key becomes "<tenant id>:<lower-cased address>": its UNIQUE constraint (which SQLite
-- cannot drop without rebuilding the table, and which PostgreSQL keeps alike so both backends
-- store the same values) now holds per tenant. email_lookup holds the
-- lower-cased address that signing in looks up across tenants.
ALTER TABLE users ADD COLUMN email_lookup TEXT NOT NULL DEFAULT '';
UPDATE users SET email_lookup = email_key;
UPDATE users SET email_key = tenant_id || ':' || email_key;
CREATE INDEX users_email_lookup ON users (email_lookup);
