-- Alerts: reminder series (one per instance and expiry date) and "not read" alerts, with the
-- ledger that lets each reminder stage fire at most once, and each alert's timeline (which the
-- delivery worker sends from).

ALTER TABLE tenants ADD COLUMN not_read_after_hours BIGINT NOT NULL DEFAULT 24
    CHECK (not_read_after_hours BETWEEN 1 AND 8760);

-- Once per (instance, expiry date, stage): a stage fires or is skipped (catch-up) at most once,
-- whatever the number of nodes, ticks or retried transactions.
CREATE TABLE reminder_stages (
    tenant_id   BIGINT  NOT NULL,
    instance_id BIGINT  NOT NULL,
    expiry_date TEXT    NOT NULL,  -- YYYY-MM-DD in the tenant's zone
    stage       TEXT    NOT NULL,  -- 'milestone:10', 'lapse'
    outcome     TEXT    NOT NULL CHECK (outcome IN ('fired', 'skipped')),
    at          BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, instance_id, expiry_date, stage),
    CONSTRAINT reminder_stages_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT  NOT NULL,
    instance_id     BIGINT  NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('license_expiry', 'not_read')),
    -- What makes one alert: the expiry date (YYYY-MM-DD) of a reminder series, or when a
    -- "not read" spell began (unix seconds).
    series          TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    stage           TEXT    NOT NULL,  -- the last stage that fired: 'milestone:3', 'lapse', 'not_read'
    days_left       BIGINT,           -- when that stage fired (reminders)
    state           TEXT    NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    resolution      TEXT    CHECK (resolution IN ('renewed', 'superseded', 'read_again')),
    resolution_note TEXT,              -- e.g. "renewed: new expiry 2027-12-01"
    opened_at       BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    resolved_at     BIGINT,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CONSTRAINT alerts_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT alerts_series UNIQUE (tenant_id, instance_id, kind, series),
    CONSTRAINT alerts_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX alerts_state ON alerts (tenant_id, state, updated_at);

-- What happened to each alert, in order: fired (a stage), acknowledged, resolved, reopened.
CREATE TABLE alert_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT  NOT NULL,
    alert_id  BIGINT  NOT NULL,
    at        BIGINT  NOT NULL,
    what      TEXT    NOT NULL CHECK (what IN ('fired', 'acknowledged', 'resolved')),
    severity  TEXT    NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    stage     TEXT    NOT NULL,
    note      TEXT    NOT NULL DEFAULT '',
    CONSTRAINT alert_events_alert_fkey FOREIGN KEY (tenant_id, alert_id)
        REFERENCES alerts (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX alert_events_alert ON alert_events (tenant_id, alert_id, id);
