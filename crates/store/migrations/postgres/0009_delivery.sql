-- Delivery: channels (where alerts go), routing rules, escalation policies, the durable outbox
-- and the external references a channel keeps per series (a PSA ticket id).

CREATE TABLE channels (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     BIGINT  NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL
        CHECK (kind IN ('webhook', 'slack', 'teams', 'pagerduty', 'email', 'alertmanager', 'log')),
    settings      TEXT    NOT NULL,  -- JSON, nothing secret
    secret_sealed BYTEA,             -- XChaCha20-Poly1305, bound to (tenant, channel)
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT  NOT NULL,
    CONSTRAINT channels_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT channels_name UNIQUE (tenant_id, name)
);

-- (kind or any, minimum severity, customer or any) -> channel. A tenant without rules sends
-- every alert to every channel.
CREATE TABLE routes (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    BIGINT  NOT NULL,
    kind         TEXT    CHECK (kind IN ('license_expiry', 'not_read')),
    min_severity TEXT    NOT NULL CHECK (min_severity IN ('INFO', 'WARNING', 'CRITICAL')),
    customer_id  BIGINT,
    channel_id   BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    CONSTRAINT routes_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT routes_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX routes_tenant ON routes (tenant_id);

-- Ordered levels (JSON: [{"after_minutes": 30, "channel_id": 7}, ...]) for alerts at least
-- this severe; acknowledging or resolving the alert cancels the levels not yet sent.
CREATE TABLE escalations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    BIGINT  NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    min_severity TEXT    NOT NULL CHECK (min_severity IN ('INFO', 'WARNING', 'CRITICAL')),
    levels       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    CONSTRAINT escalations_name UNIQUE (tenant_id, name)
);

-- The outbox: one row per (channel, notification), written in the transaction that decided
-- the alert. The idempotency key is stable across retries and nodes, and unique per channel,
-- so a re-run decision cannot queue a notification twice.
CREATE TABLE deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        BIGINT  NOT NULL,
    channel_id       BIGINT  NOT NULL,
    alert_id         BIGINT  NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    series_key       TEXT    NOT NULL,
    action           TEXT    NOT NULL CHECK (action IN ('trigger', 'resolve')),
    notice           TEXT    NOT NULL,  -- JSON snapshot of what to say
    escalation_level BIGINT,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    not_before       BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL,
    sent_at          BIGINT,
    CONSTRAINT deliveries_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT deliveries_once UNIQUE (tenant_id, channel_id, idempotency_key),
    CONSTRAINT deliveries_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT deliveries_alert_fkey FOREIGN KEY (tenant_id, alert_id)
        REFERENCES alerts (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX deliveries_due ON deliveries (not_before, id) WHERE state = 'pending';
CREATE INDEX deliveries_series ON deliveries (tenant_id, channel_id, series_key, id);
CREATE INDEX deliveries_alert ON deliveries (tenant_id, alert_id, id);

-- What a channel keeps per series (a ticket id), so later notifications can add to it.
CREATE TABLE channel_references (
    tenant_id  BIGINT  NOT NULL,
    channel_id BIGINT  NOT NULL,
    series_key TEXT    NOT NULL,
    reference  TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, series_key),
    CONSTRAINT channel_references_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);
