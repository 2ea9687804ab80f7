-- Web access: sign-in sessions and per-user API tokens. Only SHA-256 hashes of their secrets
-- are stored (hex); deleting a user deletes its sessions and tokens.

CREATE TABLE web_sessions (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    token_hash TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK (expires_at > created_at),
    CONSTRAINT web_sessions_token_hash UNIQUE (token_hash),
    CONSTRAINT web_sessions_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX web_sessions_user ON web_sessions (tenant_id, user_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    CONSTRAINT api_tokens_token_hash UNIQUE (token_hash),
    CONSTRAINT api_tokens_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);
