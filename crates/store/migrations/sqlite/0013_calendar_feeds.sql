-- A tenant's private iCalendar feed: at most one per tenant, found by the SHA-256 (hex) of the
-- secret in its URL; the secret itself is never stored. A new URL replaces the row's hash, so
-- the old URL stops working at once; revoking deletes the row.
CREATE TABLE calendar_feeds (
    tenant_id  INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT calendar_feeds_token_hash UNIQUE (token_hash),
    CONSTRAINT calendar_feeds_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES tenants (id) ON DELETE CASCADE
);
