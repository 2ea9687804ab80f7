//! What happened to an instance: license readings, poll attempts, the event log, and the
//! current license the dashboard shows.
//!
//! Every successful read is kept as a [`Reading`] (history, with the raw body). The
//! [`LicenseState`] of an instance keeps two things apart on purpose: the **last good** license
//! ([`GoodLicense`]) and the **last attempt** ([`LastAttempt`]). A failed read updates only the
//! second, so the dashboard shows "stale since …, because …" next to the last good data instead
//! of blanking the row.

use std::time::Duration;

use jiff::Timestamp;
use runway_core::{BaseUrl, FailureKind, LicenseFacts, LoginKind};
use serde::{Deserialize, Serialize};

use crate::ids::{AttemptId, CustomerId, EventId, InstanceId, ReadingId};
use crate::instance::Instance;

/// Where a reading came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingSource {
    /// 3CX v20 XAPI (API client or user login).
    Xapi,
    /// The v16/v18 legacy API.
    Legacy,
    /// Typed in or imported by an operator.
    Manual,
}

stored_names!(ReadingSource, "reading source", {
    Xapi => "xapi",
    Legacy => "legacy",
    Manual => "manual",
});

/// A successful read to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReading {
    /// When the PBX answered.
    pub read_at: Timestamp,
    /// Which API answered.
    pub source: ReadingSource,
    /// The facts derived from the answer.
    pub facts: LicenseFacts,
    /// The raw response body (JSON text), kept for diagnosis when the license changed; `None`
    /// for an unchanged reading and for manual entries.
    pub raw_body: Option<String>,
}

/// A reading in an instance's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// Its id.
    pub id: ReadingId,
    /// The instance read.
    pub instance_id: InstanceId,
    /// When the PBX first answered with these facts.
    pub read_at: Timestamp,
    /// The last read that found exactly these facts (a read that changes nothing confirms the
    /// current reading instead of adding one); `read_at` if none has since.
    pub last_read_at: Timestamp,
    /// Which API answered.
    pub source: ReadingSource,
    /// The facts.
    pub facts: LicenseFacts,
    /// The raw response body.
    pub raw_body: Option<String>,
}

/// What started a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The scheduler: the instance was due.
    Schedule,
    /// A user asked to read it now.
    ReadNow,
    /// A user asked the PBX to refresh its license from 3CX, then read it.
    Refresh,
}

stored_names!(Trigger, "trigger", {
    Schedule => "schedule",
    ReadNow => "read_now",
    Refresh => "refresh",
});

/// A poll attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    /// When it started.
    pub started_at: Timestamp,
    /// How long it took.
    pub duration: Duration,
    /// What started it.
    pub trigger: Trigger,
    /// The PBX's clock minus this host's, in seconds, when its answer said (see
    /// `runway_threecx::LicenseReading::clock_offset`).
    pub clock_offset: Option<i64>,
}

/// Why a poll failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    /// Its stable kind, such as `timeout` or `login_rejected` (a kind stored by a newer
    /// version of Runway reads back as [`FailureKind::Unknown`]).
    pub kind: FailureKind,
    /// A human-readable explanation (stored cut to 2,000 characters; never a secret).
    pub message: String,
}

/// A poll attempt in an instance's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its id.
    pub id: AttemptId,
    /// The instance polled.
    pub instance_id: InstanceId,
    /// When it started.
    pub started_at: Timestamp,
    /// How long it took.
    pub duration: Duration,
    /// What started it.
    pub trigger: Trigger,
    /// Why it failed; `None` when it succeeded.
    pub error: Option<AttemptError>,
}

impl Attempt {
    /// Whether the attempt read the license.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// What kind of thing happened to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The license changed (expiry, key…); before/after hold the old and new values.
    LicenseChanged,
    /// The edition changed.
    EditionChanged,
    /// Seat utilisation crossed the capacity threshold
    /// ([`runway_core::CAPACITY_THRESHOLD_PERCENT`]) upwards.
    CapacityUp,
    /// Seat utilisation fell back below the capacity threshold.
    CapacityDown,
    /// Reads started failing.
    ReadFailing,
    /// Reads succeed again.
    ReadRecovered,
    /// A license refresh was performed.
    RefreshPerformed,
}

stored_names!(EventKind, "event kind", {
    LicenseChanged => "license_changed",
    EditionChanged => "edition_changed",
    CapacityUp => "capacity_up",
    CapacityDown => "capacity_down",
    ReadFailing => "read_failing",
    ReadRecovered => "read_recovered",
    RefreshPerformed => "refresh_performed",
});

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The value before (facts, an expiry, an edition…), as JSON.
    pub before: Option<serde_json::Value>,
    /// The value after, as JSON.
    pub after: Option<serde_json::Value>,
    /// A sentence for the event log.
    pub message: String,
}

/// An entry of an instance's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// The instance it is about.
    pub instance_id: InstanceId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The value before.
    pub before: Option<serde_json::Value>,
    /// The value after.
    pub after: Option<serde_json::Value>,
    /// A sentence for the event log.
    pub message: String,
}

/// The last license successfully read (or typed in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodLicense {
    /// The reading it came from.
    pub reading_id: ReadingId,
    /// The facts.
    pub facts: LicenseFacts,
    /// Where they came from.
    pub source: ReadingSource,
    /// When they were read.
    pub read_at: Timestamp,
}

/// The most recent poll attempt, successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastAttempt {
    /// When it started.
    pub at: Timestamp,
    /// Why it failed; `None` when it succeeded.
    pub error: Option<AttemptError>,
}

/// What the dashboard knows about an instance's license.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseState {
    /// The last good license, kept through failed reads.
    pub good: Option<GoodLicense>,
    /// The most recent attempt.
    pub last_attempt: Option<LastAttempt>,
}

impl LicenseState {
    /// Why the shown data is stale: the last attempt's error, if it failed.
    pub fn stale_because(&self) -> Option<&AttemptError> {
        self.last_attempt.as_ref().and_then(|a| a.error.as_ref())
    }
}

/// One row of the License Status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRow {
    /// The instance, with its customer's name.
    pub instance: FleetInstance,
    /// Its license.
    pub license: LicenseState,
}

/// An instance as the License Status page shows it: what it is, not where it stands in the
/// poller's schedule. Leases and due times change all day without changing what the page
/// shows, so the fleet (and its cache) leaves them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetInstance {
    /// Its id.
    pub id: InstanceId,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// That customer's name.
    pub customer_name: String,
    /// Its name.
    pub name: String,
    /// The PBX's address.
    pub base_url: Option<BaseUrl>,
    /// How its license is read.
    pub login_kind: LoginKind,
    /// Whether it is read at all.
    pub enabled: bool,
}

impl From<&Instance> for FleetInstance {
    fn from(instance: &Instance) -> FleetInstance {
        FleetInstance {
            id: instance.id,
            customer_id: instance.customer_id,
            customer_name: instance.customer_name.clone(),
            name: instance.name.clone(),
            base_url: instance.base_url.clone(),
            login_kind: instance.login_kind,
            enabled: instance.enabled,
        }
    }
}
