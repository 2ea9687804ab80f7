-- PSA ticket channels (ConnectWise PSA, Autotask, HaloPSA, Syncro), and channels that pause
-- themselves: a PSA that rejects Runway's credentials (401/403) pauses its channel, whose
-- outbox rows then wait (nothing is lost) until someone fixes the credentials, and the other
-- channels hear of it through an outbox row that belongs to no alert ('problem').
--
-- SQLite cannot alter a CHECK constraint, so `channels` is rebuilt, and with it every table
-- that references it (see 0011 for why the children are rebuilt first, referencing the new
-- table, and the old ones dropped before the old parent). Nothing is lost on the way.

CREATE TABLE channels_new (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL
        CHECK (kind IN ('webhook', 'slack', 'teams', 'pagerduty', 'email', 'alertmanager', 'log',
                        'connectwise', 'autotask', 'halopsa', 'syncro')),
    settings      TEXT    NOT NULL,  -- JSON, nothing secret
    secret_sealed BLOB,              -- XChaCha20-Poly1305, bound to (tenant, channel)
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    INTEGER NOT NULL,
    paused_at     INTEGER,           -- when the receiver rejected the credentials
    paused_reason TEXT,              -- what it said
    CHECK ((paused_at IS NULL) = (paused_reason IS NULL)),
    CONSTRAINT channels_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT channels_name UNIQUE (tenant_id, name)
);
INSERT INTO channels_new (id, tenant_id, name, kind, settings, secret_sealed, enabled, created_at)
    SELECT id, tenant_id, name, kind, settings, secret_sealed, enabled, created_at FROM channels;

CREATE TABLE routes_new (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    kind         TEXT
        CHECK (kind IN ('license_expiry', 'maintenance_expiry', 'not_read', 'capacity')),
    min_severity TEXT    NOT NULL CHECK (min_severity IN ('INFO', 'WARNING', 'CRITICAL')),
    customer_id  INTEGER,
    channel_id   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    CONSTRAINT routes_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels_new (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT routes_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO routes_new SELECT id, tenant_id, kind, min_severity, customer_id, channel_id,
    created_at FROM routes;

CREATE TABLE deliveries_new (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    alert_id         INTEGER,           -- NULL for a 'problem' (a channel's, not an alert's)
    idempotency_key  TEXT    NOT NULL,
    series_key       TEXT    NOT NULL,
    action           TEXT    NOT NULL CHECK (action IN ('trigger', 'resolve', 'problem')),
    notice           TEXT    NOT NULL,  -- JSON snapshot of what to say
    escalation_level INTEGER,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    not_before       INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    resent_at        INTEGER,
    CHECK ((alert_id IS NULL) = (action = 'problem')),
    CONSTRAINT deliveries_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT deliveries_once UNIQUE (tenant_id, channel_id, idempotency_key),
    CONSTRAINT deliveries_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels_new (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT deliveries_alert_fkey FOREIGN KEY (tenant_id, alert_id)
        REFERENCES alerts (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO deliveries_new SELECT id, tenant_id, channel_id, alert_id, idempotency_key,
    series_key, action, notice, escalation_level, state, attempts, not_before, lease_owner,
    lease_until, last_error, created_at, sent_at, resent_at FROM deliveries;

-- What a channel keeps per series: for a PSA, the ticket (its id, link, state and what Runway
-- last set on it) as JSON.
CREATE TABLE channel_references_new (
    tenant_id  INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    series_key TEXT    NOT NULL,
    reference  TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, series_key),
    CONSTRAINT channel_references_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels_new (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO channel_references_new SELECT tenant_id, channel_id, series_key, reference,
    updated_at FROM channel_references;

DROP TABLE channel_references;
DROP TABLE deliveries;
DROP TABLE routes;
DROP TABLE channels;
ALTER TABLE channels_new RENAME TO channels;
ALTER TABLE routes_new RENAME TO routes;
ALTER TABLE deliveries_new RENAME TO deliveries;
ALTER TABLE channel_references_new RENAME TO channel_references;

CREATE INDEX routes_tenant ON routes (tenant_id);
CREATE INDEX deliveries_due ON deliveries (not_before, id) WHERE state = 'pending';
CREATE INDEX deliveries_series ON deliveries (tenant_id, channel_id, series_key, id);
CREATE INDEX deliveries_alert ON deliveries (tenant_id, alert_id, id);
