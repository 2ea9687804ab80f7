-- Runway's schema on PostgreSQL. Instants are unix seconds (BIGINT); JSON is TEXT.
-- Every table carries tenant_id, and every reference to tenant data is a composite foreign key
-- on (tenant_id, id), so no row can point into another tenant.

-- Installation-wide values, e.g. the check value that tells a wrong secret key at start.
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE tenants (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT    NOT NULL,
    name_key            TEXT    NOT NULL,
    time_zone           TEXT    NOT NULL,
    reminder_milestones TEXT    NOT NULL,  -- JSON: [{"days_before":10,"severity":"INFO"},…]
    lapse_alert         BOOLEAN NOT NULL,
    renewal_template    TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    CONSTRAINT tenants_name_key UNIQUE (name_key)
);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     BIGINT  NOT NULL REFERENCES tenants (id),
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL,  -- lower-cased: unique across the installation
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'technician', 'viewer')),
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_key),
    CONSTRAINT users_tenant_id_id UNIQUE (tenant_id, id)
);

CREATE TABLE customers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  BIGINT  NOT NULL REFERENCES tenants (id),
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    notes      TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    CONSTRAINT customers_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT customers_name_key UNIQUE (tenant_id, name_key)
);

CREATE TABLE instances (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id            BIGINT  NOT NULL,
    customer_id          BIGINT  NOT NULL,
    name                 TEXT    NOT NULL,
    name_key             TEXT    NOT NULL,
    base_url             TEXT    NOT NULL,
    login_kind           TEXT    NOT NULL
        CHECK (login_kind IN ('api_client', 'user', 'legacy', 'manual')),
    login_identity       TEXT,    -- client id or user name, not secret
    secret_sealed        BYTEA,   -- password or client secret, XChaCha20-Poly1305
    totp_sealed          BYTEA,   -- TOTP seed, XChaCha20-Poly1305
    poll_interval_secs   BIGINT  NOT NULL DEFAULT 21600 CHECK (poll_interval_secs > 0),
    enabled              BOOLEAN NOT NULL DEFAULT TRUE,
    tls_ca_pem           TEXT,
    tls_accept_invalid   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    next_poll_at         BIGINT  NOT NULL,
    lease_owner          TEXT,
    lease_until          BIGINT ,
    consecutive_failures BIGINT  NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    CONSTRAINT instances_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT instances_name_key UNIQUE (tenant_id, customer_id, name_key),
    CONSTRAINT instances_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id)
);

-- The scheduler's question: which pollable instances are due?
CREATE INDEX instances_due ON instances (next_poll_at)
    WHERE enabled AND login_kind <> 'manual';

CREATE TABLE license_readings (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   BIGINT  NOT NULL,
    instance_id BIGINT  NOT NULL,
    read_at     BIGINT  NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('xapi', 'legacy', 'manual')),
    facts       TEXT    NOT NULL,  -- runway_core::LicenseFacts as JSON
    raw_body    TEXT,
    expiry      BIGINT ,           -- facts.expiry, for queries
    CONSTRAINT license_readings_instance_id UNIQUE (tenant_id, instance_id, id),
    CONSTRAINT license_readings_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX license_readings_history ON license_readings (tenant_id, instance_id, read_at);

CREATE TABLE current_licenses (
    instance_id        BIGINT  PRIMARY KEY,
    tenant_id          BIGINT  NOT NULL,
    -- the last good license
    reading_id         BIGINT ,
    facts              TEXT,
    source             TEXT CHECK (source IN ('xapi', 'legacy', 'manual')),
    expiry             BIGINT ,
    last_success_at    BIGINT ,
    -- the last attempt, good or bad
    last_attempt_at    BIGINT ,
    last_outcome       TEXT CHECK (last_outcome IN ('ok', 'error')),
    last_error_kind    TEXT,
    last_error_message TEXT,
    CONSTRAINT current_licenses_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT current_licenses_reading_fkey FOREIGN KEY (tenant_id, instance_id, reading_id)
        REFERENCES license_readings (tenant_id, instance_id, id)
);

CREATE INDEX current_licenses_tenant ON current_licenses (tenant_id);

CREATE TABLE poll_attempts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     BIGINT  NOT NULL,
    instance_id   BIGINT  NOT NULL,
    started_at    BIGINT  NOT NULL,
    duration_ms   BIGINT  NOT NULL CHECK (duration_ms >= 0),
    trigger_kind  TEXT    NOT NULL CHECK (trigger_kind IN ('schedule', 'read_now', 'refresh')),
    outcome       TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
    error_kind    TEXT,
    error_message TEXT,
    CHECK ((outcome = 'ok') = (error_kind IS NULL)),
    CONSTRAINT poll_attempts_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX poll_attempts_history ON poll_attempts (tenant_id, instance_id, started_at);

CREATE TABLE instance_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   BIGINT  NOT NULL,
    instance_id BIGINT  NOT NULL,
    at          BIGINT  NOT NULL CHECK (at >= 0),
    kind        TEXT    NOT NULL CHECK (kind IN ('license_changed', 'edition_changed',
        'capacity_up', 'capacity_down', 'read_failing', 'read_recovered', 'refresh_performed')),
    before_json TEXT,
    after_json  TEXT,
    message     TEXT    NOT NULL,
    CONSTRAINT instance_events_instance_fkey FOREIGN KEY (tenant_id, instance_id)
        REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX instance_events_history ON instance_events (tenant_id, instance_id, at);
