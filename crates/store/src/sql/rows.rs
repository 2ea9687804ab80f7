//! Rows as the database returns them, and their conversion into the public types.
//!
//! Stored values are re-checked on the way out (a zone name must still parse, a JSON column
//! must still decode): a row that does not is reported as a `Backend` error naming the row,
//! rather than shown half-read.

use std::time::Duration;

use jiff::Timestamp;
use runway_core::{
    BaseUrl, FailureKind, LicenseFacts, Milestone, PollInterval, ReminderPolicy, RenewalTemplate,
    Retention, Secret, TlsOptions, Zone,
};

use crate::customer::Customer;
use crate::error::{Result, StoreError};
use crate::history::{
    Attempt, AttemptError, Event, FleetInstance, GoodLicense, LastAttempt, LicenseState, Reading,
};
use crate::ids::{AttemptId, CustomerId, EventId, InstanceId, ReadingId, TenantId, UserId};
use crate::instance::{Instance, Schedule};
use crate::tenant::{Tenant, TenantSettings};
use crate::user::User;

/// A stored instant (unix seconds).
pub(crate) fn instant(seconds: i64) -> Result<Timestamp> {
    Timestamp::from_second(seconds).map_err(|err| {
        StoreError::backend(format!("stored instant {seconds} is out of range: {err}"))
    })
}

/// An instant to store (unix seconds; sub-second precision is dropped).
pub(crate) fn seconds(at: Timestamp) -> i64 {
    at.as_second()
}

/// A duration to store, in whole units, saturating.
pub(crate) fn duration_secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// A duration to store in milliseconds, saturating.
pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A stored PBX address: empty for a manual instance without one.
fn base_url(text: &str, id: i64) -> Result<Option<BaseUrl>> {
    if text.is_empty() {
        return Ok(None);
    }
    BaseUrl::parse(text)
        .map(Some)
        .map_err(|err| corrupt("instance", id, err))
}

/// A PBX address to store, in its normal form; empty for none.
pub(crate) fn base_url_text(url: Option<&BaseUrl>) -> String {
    url.map(ToString::to_string).unwrap_or_default()
}

/// A stored failure kind: one this version does not know reads back as `Unknown`.
fn failure(kind: Option<String>, message: Option<String>) -> Option<AttemptError> {
    kind.map(|kind| AttemptError {
        kind: FailureKind::from_stored(&kind),
        message: message.unwrap_or_default(),
    })
}

pub(crate) fn corrupt(what: &str, id: i64, err: impl std::fmt::Display) -> StoreError {
    StoreError::backend(format!("stored {what} {id} is unreadable: {err}"))
}

/// Decodes stored license facts.
pub(crate) fn facts(json: &str, what: &str, id: i64) -> Result<LicenseFacts> {
    serde_json::from_str(json).map_err(|err| corrupt(what, id, err))
}

/// Encodes license facts for storage.
pub(crate) fn facts_json(facts: &LicenseFacts) -> Result<String> {
    serde_json::to_string(facts).map_err(StoreError::backend)
}

pub(crate) fn parse<T: std::str::FromStr<Err = String>>(
    text: &str,
    what: &str,
    id: i64,
) -> Result<T> {
    text.parse().map_err(|err: String| corrupt(what, id, err))
}

fn json_value(text: Option<String>, what: &str, id: i64) -> Result<Option<serde_json::Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|err| corrupt(what, id, err)))
        .transpose()
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TenantRow {
    id: i64,
    name: String,
    time_zone: String,
    reminder_milestones: String,
    lapse_alert: bool,
    renewal_template: String,
    created_at: i64,
    history_retention_days: i64,
    attempt_retention_days: i64,
    not_read_after_hours: i64,
    capacity_alerts: bool,
    maintenance_reminders: bool,
}

/// The columns of [`TenantRow`].
pub(crate) const TENANT_COLUMNS: &str = "id, name, time_zone, reminder_milestones, lapse_alert, \
     renewal_template, created_at, history_retention_days, attempt_retention_days, \
     not_read_after_hours, capacity_alerts, maintenance_reminders";

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(row: TenantRow) -> Result<Tenant> {
        let bad = |err: &dyn std::fmt::Display| corrupt("tenant", row.id, err);
        let zone = Zone::parse(&row.time_zone).map_err(|e| bad(&e))?;
        let milestones: Vec<Milestone> =
            serde_json::from_str(&row.reminder_milestones).map_err(|e| bad(&e))?;
        let reminders = ReminderPolicy::new(milestones, row.lapse_alert).map_err(|e| bad(&e))?;
        let renewal_template =
            RenewalTemplate::parse(&row.renewal_template).map_err(|e| bad(&e))?;
        let days = |d: i64| u32::try_from(d).unwrap_or(u32::MAX);
        let retention = Retention::new(
            days(row.history_retention_days),
            days(row.attempt_retention_days),
        )
        .map_err(|e| bad(&e))?;
        Ok(Tenant {
            id: TenantId(row.id),
            settings: TenantSettings {
                name: row.name,
                zone,
                reminders,
                renewal_template,
                retention,
                not_read_after_hours: days(row.not_read_after_hours),
                capacity_alerts: row.capacity_alerts,
                maintenance_reminders: row.maintenance_reminders,
            },
            created_at: instant(row.created_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    tenant_id: i64,
    email: String,
    display_name: String,
    role: String,
    password_hash: String,
    disabled: bool,
    created_at: i64,
}

/// The columns of [`UserRow`].
pub(crate) const USER_COLUMNS: &str =
    "id, tenant_id, email, display_name, role, password_hash, disabled, created_at";

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<User> {
        Ok(User {
            id: UserId(row.id),
            tenant_id: TenantId(row.tenant_id),
            role: parse(&row.role, "user", row.id)?,
            email: row.email,
            display_name: row.display_name,
            password_hash: Secret::new(row.password_hash),
            disabled: row.disabled,
            created_at: instant(row.created_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CustomerRow {
    id: i64,
    tenant_id: i64,
    name: String,
    notes: String,
    instance_count: i64,
    created_at: i64,
}

/// The columns of [`CustomerRow`], for `customers c`.
pub(crate) const CUSTOMER_COLUMNS: &str = "c.id, c.tenant_id, c.name, c.notes, \
     (SELECT COUNT(*) FROM instances i WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.id) \
     AS instance_count, c.created_at";

impl TryFrom<CustomerRow> for Customer {
    type Error = StoreError;
    fn try_from(row: CustomerRow) -> Result<Customer> {
        Ok(Customer {
            id: CustomerId(row.id),
            tenant_id: TenantId(row.tenant_id),
            name: row.name,
            notes: row.notes,
            instance_count: u32::try_from(row.instance_count).unwrap_or(u32::MAX),
            created_at: instant(row.created_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InstanceRow {
    id: i64,
    tenant_id: i64,
    customer_id: i64,
    customer_name: String,
    name: String,
    base_url: String,
    login_kind: String,
    login_identity: Option<String>,
    has_totp: bool,
    poll_interval_secs: i64,
    enabled: bool,
    tls_ca_pem: Option<String>,
    tls_accept_invalid: bool,
    created_at: i64,
    updated_at: i64,
    next_poll_at: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    consecutive_failures: i64,
}

/// The columns of [`InstanceRow`], for `instances i JOIN customers c`.
pub(crate) const INSTANCE_COLUMNS: &str = "i.id, i.tenant_id, i.customer_id, \
     c.name AS customer_name, i.name, i.base_url, i.login_kind, i.login_identity, \
     (i.totp_sealed IS NOT NULL) AS has_totp, i.poll_interval_secs, i.enabled, i.tls_ca_pem, \
     i.tls_accept_invalid, i.created_at, i.updated_at, i.next_poll_at, i.lease_owner, \
     i.lease_until, i.consecutive_failures";

/// `instances i` joined to its customer, for use after `FROM`.
pub(crate) const INSTANCE_FROM: &str =
    "instances i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id";

impl TryFrom<InstanceRow> for Instance {
    type Error = StoreError;
    fn try_from(row: InstanceRow) -> Result<Instance> {
        Ok(Instance {
            id: InstanceId(row.id),
            tenant_id: TenantId(row.tenant_id),
            customer_id: CustomerId(row.customer_id),
            customer_name: row.customer_name,
            login_kind: parse(&row.login_kind, "instance", row.id)?,
            name: row.name,
            base_url: base_url(&row.base_url, row.id)?,
            login_identity: row.login_identity,
            has_totp: row.has_totp,
            poll_interval: u64::try_from(row.poll_interval_secs)
                .ok()
                .and_then(|secs| PollInterval::new(Duration::from_secs(secs)).ok())
                .ok_or_else(|| corrupt("instance", row.id, "poll interval out of bounds"))?,
            enabled: row.enabled,
            tls: TlsOptions {
                custom_ca_pem: row.tls_ca_pem,
                accept_invalid_certs: row.tls_accept_invalid,
            },
            created_at: instant(row.created_at)?,
            updated_at: instant(row.updated_at)?,
            schedule: Schedule {
                next_poll_at: instant(row.next_poll_at)?,
                lease_owner: row.lease_owner,
                lease_until: row.lease_until.map(instant).transpose()?,
                consecutive_failures: u32::try_from(row.consecutive_failures).unwrap_or(u32::MAX),
            },
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LicenseRow {
    reading_id: Option<i64>,
    facts: Option<String>,
    source: Option<String>,
    last_success_at: Option<i64>,
    last_attempt_at: Option<i64>,
    last_error_kind: Option<String>,
    last_error_message: Option<String>,
}

/// The columns of [`LicenseRow`], for `current_licenses cl`.
pub(crate) const LICENSE_COLUMNS: &str = "cl.reading_id, cl.facts, cl.source, \
     cl.last_success_at, cl.last_attempt_at, cl.last_error_kind, cl.last_error_message";

impl LicenseRow {
    /// The license state; `instance` names the row in errors.
    pub(crate) fn into_state(self, instance: i64) -> Result<LicenseState> {
        let good = match (
            self.reading_id,
            self.facts,
            self.source,
            self.last_success_at,
        ) {
            (Some(reading_id), Some(json), Some(source), Some(read_at)) => Some(GoodLicense {
                reading_id: ReadingId(reading_id),
                facts: facts(&json, "current license of instance", instance)?,
                source: parse(&source, "current license of instance", instance)?,
                read_at: instant(read_at)?,
            }),
            _ => None,
        };
        let last_attempt = self
            .last_attempt_at
            .map(|at| -> Result<LastAttempt> {
                Ok(LastAttempt {
                    at: instant(at)?,
                    error: failure(self.last_error_kind, self.last_error_message),
                })
            })
            .transpose()?;
        Ok(LicenseState { good, last_attempt })
    }
}

/// An instance as the fleet shows it (no schedule), for `instances i JOIN customers c`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FleetInstanceRow {
    id: i64,
    customer_id: i64,
    customer_name: String,
    name: String,
    base_url: String,
    login_kind: String,
    enabled: bool,
}

/// The columns of [`FleetInstanceRow`].
pub(crate) const FLEET_INSTANCE_COLUMNS: &str = "i.id, i.customer_id, \
     c.name AS customer_name, i.name, i.base_url, i.login_kind, i.enabled";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FleetDbRow {
    #[sqlx(flatten)]
    instance: FleetInstanceRow,
    #[sqlx(flatten)]
    license: LicenseRow,
}

impl TryFrom<FleetDbRow> for crate::history::FleetRow {
    type Error = StoreError;
    fn try_from(row: FleetDbRow) -> Result<crate::history::FleetRow> {
        let i = row.instance;
        Ok(crate::history::FleetRow {
            license: row.license.into_state(i.id)?,
            instance: FleetInstance {
                id: InstanceId(i.id),
                customer_id: CustomerId(i.customer_id),
                customer_name: i.customer_name,
                login_kind: parse(&i.login_kind, "instance", i.id)?,
                base_url: base_url(&i.base_url, i.id)?,
                name: i.name,
                enabled: i.enabled,
            },
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReadingRow {
    id: i64,
    instance_id: i64,
    read_at: i64,
    last_read_at: i64,
    source: String,
    facts: String,
    raw_body: Option<String>,
}

/// The columns of [`ReadingRow`].
pub(crate) const READING_COLUMNS: &str = "id, instance_id, read_at, \
     COALESCE(last_read_at, read_at) AS last_read_at, source, facts, raw_body";

impl TryFrom<ReadingRow> for Reading {
    type Error = StoreError;
    fn try_from(row: ReadingRow) -> Result<Reading> {
        Ok(Reading {
            id: ReadingId(row.id),
            instance_id: InstanceId(row.instance_id),
            read_at: instant(row.read_at)?,
            last_read_at: instant(row.last_read_at)?,
            source: parse(&row.source, "reading", row.id)?,
            facts: facts(&row.facts, "reading", row.id)?,
            raw_body: row.raw_body,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AttemptRow {
    id: i64,
    instance_id: i64,
    started_at: i64,
    duration_ms: i64,
    trigger_kind: String,
    error_kind: Option<String>,
    error_message: Option<String>,
}

/// The columns of [`AttemptRow`].
pub(crate) const ATTEMPT_COLUMNS: &str =
    "id, instance_id, started_at, duration_ms, trigger_kind, error_kind, error_message";

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;
    fn try_from(row: AttemptRow) -> Result<Attempt> {
        Ok(Attempt {
            id: AttemptId(row.id),
            instance_id: InstanceId(row.instance_id),
            started_at: instant(row.started_at)?,
            duration: Duration::from_millis(u64::try_from(row.duration_ms).unwrap_or(0)),
            trigger: parse(&row.trigger_kind, "attempt", row.id)?,
            error: failure(row.error_kind, row.error_message),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    instance_id: i64,
    at: i64,
    kind: String,
    before_json: Option<String>,
    after_json: Option<String>,
    message: String,
}

/// The columns of [`EventRow`].
pub(crate) const EVENT_COLUMNS: &str =
    "id, instance_id, at, kind, before_json, after_json, message";

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Event> {
        Ok(Event {
            id: EventId(row.id),
            instance_id: InstanceId(row.instance_id),
            at: instant(row.at)?,
            kind: parse(&row.kind, "event", row.id)?,
            before: json_value(row.before_json, "event", row.id)?,
            after: json_value(row.after_json, "event", row.id)?,
            message: row.message,
        })
    }
}

/// An instance's login columns, for [`crate::Instances::credentials`].
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CredentialRow {
    pub(crate) login_kind: String,
    pub(crate) login_identity: Option<String>,
    pub(crate) secret_sealed: Option<Vec<u8>>,
    pub(crate) totp_sealed: Option<Vec<u8>>,
}
