-- How long each tenant keeps its history (runway_core::Retention), readings that a later
-- identical read confirms instead of repeating, and the audit log.

ALTER TABLE tenants ADD COLUMN history_retention_days BIGINT NOT NULL DEFAULT 400
    CHECK (history_retention_days BETWEEN 30 AND 3650);
ALTER TABLE tenants ADD COLUMN attempt_retention_days BIGINT NOT NULL DEFAULT 30
    CHECK (attempt_retention_days BETWEEN 1 AND 3650);

-- The last read that found exactly these facts (NULL: only the first, at read_at).
ALTER TABLE license_readings ADD COLUMN last_read_at BIGINT;

-- Housekeeping deletes by age within a tenant.
CREATE INDEX poll_attempts_age ON poll_attempts (tenant_id, started_at);
CREATE INDEX instance_events_age ON instance_events (tenant_id, at);

-- Who did what, when, from where: sign-ins, changes, tokens, refreshes. Never secrets.
CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT  NOT NULL REFERENCES tenants (id),
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL,  -- the user's email at the time, or "api token <name>"
    user_id   BIGINT,           -- the acting user (NULL once deleted)
    via       TEXT    NOT NULL CHECK (via IN ('session', 'api_token', 'sign_in', 'command')),
    address   TEXT    NOT NULL,  -- the client address, "" from a command
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at, id);
