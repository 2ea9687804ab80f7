-- Two more alert kinds, off by default: "capacity" (an instance at or above 90% of its
-- licensed seats) and "maintenance_expiry" (the reminder series on the maintenance date).
-- The ledger's key gains the kind, so a license series and a maintenance series on the same
-- date claim their stages apart. A capacity alert resolves as "headroom" when seats free up.
--
-- SQLite cannot alter a CHECK constraint or a primary key, so the tables are rebuilt. Foreign
-- keys stay on inside this transaction, and dropping a table deletes its rows first (running
-- ON DELETE CASCADE), so the children of `alerts` are rebuilt referencing `alerts_new`, the
-- old children are dropped before the old `alerts`, and renaming `alerts_new` re-points them.

ALTER TABLE tenants ADD COLUMN capacity_alerts BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN maintenance_reminders BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE reminder_stages_new (
    tenant_id   INTEGER NOT NULL,
    instance_id INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('license_expiry', 'maintenance_expiry')),
    expiry_date TEXT    NOT NULL,  -- YYYY-MM-DD in the tenant's zone
    stage       TEXT    NOT NULL,  -- 'milestone:10', 'lapse'
    outcome     TEXT    NOT NULL CHECK (outcome IN ('fired', 'skipped')),
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, instance_id, kind, expiry_date, stage),
    CONSTRAINT reminder_stages_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO reminder_stages_new (tenant_id, instance_id, kind, expiry_date, stage, outcome, at)
    SELECT tenant_id, instance_id, 'license_expiry', expiry_date, stage, outcome, at
    FROM reminder_stages;
DROP TABLE reminder_stages;
ALTER TABLE reminder_stages_new RENAME TO reminder_stages;

CREATE TABLE alerts_new (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL,
    instance_id     INTEGER NOT NULL,
    kind            TEXT    NOT NULL
        CHECK (kind IN ('license_expiry', 'maintenance_expiry', 'not_read', 'capacity')),
    -- What makes one alert: the date (YYYY-MM-DD) of a reminder series, or when a "not read"
    -- spell or a capacity spell began (unix seconds).
    series          TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    stage           TEXT    NOT NULL,  -- the last stage that fired: 'milestone:3', 'lapse', 'not_read', 'capacity'
    days_left       INTEGER,           -- when that stage fired (reminders)
    state           TEXT    NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    resolution      TEXT
        CHECK (resolution IN ('renewed', 'superseded', 'read_again', 'headroom', 'turned_off')),
    resolution_note TEXT,              -- e.g. "renewed: new expiry 2027-12-01"
    opened_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    resolved_at     INTEGER,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CONSTRAINT alerts_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT alerts_series UNIQUE (tenant_id, instance_id, kind, series),
    CONSTRAINT alerts_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO alerts_new SELECT id, tenant_id, instance_id, kind, series, severity, stage,
    days_left, state, resolution, resolution_note, opened_at, updated_at, acknowledged_at,
    acknowledged_by, resolved_at FROM alerts;

CREATE TABLE alert_events_new (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    alert_id  INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    what      TEXT    NOT NULL CHECK (what IN ('fired', 'acknowledged', 'resolved')),
    severity  TEXT    NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    stage     TEXT    NOT NULL,
    note      TEXT    NOT NULL DEFAULT '',
    CONSTRAINT alert_events_alert_fkey FOREIGN KEY (tenant_id, alert_id)
        REFERENCES alerts_new (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO alert_events_new SELECT id, tenant_id, alert_id, at, what, severity, stage, note
    FROM alert_events;

CREATE TABLE deliveries_new (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    alert_id         INTEGER NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    series_key       TEXT    NOT NULL,
    action           TEXT    NOT NULL CHECK (action IN ('trigger', 'resolve')),
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
    CONSTRAINT deliveries_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT deliveries_once UNIQUE (tenant_id, channel_id, idempotency_key),
    CONSTRAINT deliveries_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES channels (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT deliveries_alert_fkey FOREIGN KEY (tenant_id, alert_id)
        REFERENCES alerts_new (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO deliveries_new SELECT id, tenant_id, channel_id, alert_id, idempotency_key,
    series_key, action, notice, escalation_level, state, attempts, not_before, lease_owner,
    lease_until, last_error, created_at, sent_at, resent_at FROM deliveries;

DROP TABLE deliveries;
DROP TABLE alert_events;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
ALTER TABLE alert_events_new RENAME TO alert_events;
ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX alerts_state ON alerts (tenant_id, state, updated_at);
CREATE INDEX alert_events_alert ON alert_events (tenant_id, alert_id, id);
CREATE INDEX deliveries_due ON deliveries (not_before, id) WHERE state = 'pending';
CREATE INDEX deliveries_series ON deliveries (tenant_id, channel_id, series_key, id);
CREATE INDEX deliveries_alert ON deliveries (tenant_id, alert_id, id);

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
        REFERENCES channels (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT routes_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO routes_new SELECT id, tenant_id, kind, min_severity, customer_id, channel_id,
    created_at FROM routes;
DROP TABLE routes;
ALTER TABLE routes_new RENAME TO routes;
CREATE INDEX routes_tenant ON routes (tenant_id);
