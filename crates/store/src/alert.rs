//! Alerts: reminder series and "not read" alerts as stored, with their lifecycle
//! (open → acknowledged → resolved) and timeline.
//!
//! The rules are `runway-core`'s ([`runway_core::ReminderPolicy`]); the store applies their
//! decisions in the transaction that records a license or a failed read, and on a periodic
//! tick, so that local midnight fires the next milestone without waiting for a poll. Each
//! reminder stage of an (instance, expiry date) fires at most once: a database constraint, not
//! only a check in code.

use jiff::Timestamp;
use jiff::civil::Date;
use runway_core::{Severity, Stage};
use serde::{Deserialize, Serialize};

use crate::ids::{AlertId, InstanceId};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A license's reminder series: one per (instance, expiry date), escalating through the
    /// tenant's milestones to the lapse alert.
    LicenseExpiry,
    /// The reminder series on a license's maintenance date (updates stop when it passes),
    /// when the tenant turns it on: the license's milestones, at most WARNING.
    MaintenanceExpiry,
    /// An instance whose last successful read is older than the tenant allows.
    NotRead,
    /// An instance using 90% or more of its licensed seats, when the tenant turns it on.
    Capacity,
}

impl AlertKind {
    /// Every kind, in the order the pages list them.
    pub const ALL: [AlertKind; 4] = [
        AlertKind::LicenseExpiry,
        AlertKind::MaintenanceExpiry,
        AlertKind::NotRead,
        AlertKind::Capacity,
    ];

    /// Whether its alerts are a reminder series keyed to a date.
    pub fn is_reminder(self) -> bool {
        matches!(
            self,
            AlertKind::LicenseExpiry | AlertKind::MaintenanceExpiry
        )
    }

    /// Its name in words, for pages and messages.
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::LicenseExpiry => "license expiry",
            AlertKind::MaintenanceExpiry => "maintenance expiry",
            AlertKind::NotRead => "not read",
            AlertKind::Capacity => "capacity",
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised and not yet seen to.
    Open,
    /// Someone said they are on it.
    Acknowledged,
    /// Over: renewed, superseded, or read again.
    Resolved,
}

/// Why an alert resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertResolution {
    /// The license was renewed beyond the reminder window.
    Renewed,
    /// The expiry date moved but stayed inside the window; a new series took over.
    Superseded,
    /// The instance was read successfully again.
    ReadAgain,
    /// Seats freed up: usage fell below 90% of the license.
    Headroom,
    /// The tenant turned the alert's kind off.
    TurnedOff,
}

stored_names!(AlertKind, "alert kind", {
    LicenseExpiry => "license_expiry",
    MaintenanceExpiry => "maintenance_expiry",
    NotRead => "not_read",
    Capacity => "capacity",
});
stored_names!(AlertState, "alert state", {
    Open => "open",
    Acknowledged => "acknowledged",
    Resolved => "resolved",
});
stored_names!(AlertResolution, "alert resolution", {
    Renewed => "renewed",
    Superseded => "superseded",
    ReadAgain => "read_again",
    Headroom => "headroom",
    TurnedOff => "turned_off",
});

/// The stored spelling of a reminder stage: `milestone:10`, `lapse` (and `not_read` for the
/// other kind).
pub fn stage_text(stage: Stage) -> String {
    match stage {
        Stage::Milestone(days) => format!("milestone:{days}"),
        Stage::Lapse => "lapse".to_owned(),
    }
}

/// A reminder stage from its stored spelling.
pub fn parse_stage(text: &str) -> Option<Stage> {
    match text {
        "lapse" => Some(Stage::Lapse),
        other => other
            .strip_prefix("milestone:")
            .and_then(|days| days.parse().ok())
            .map(Stage::Milestone),
    }
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its id.
    pub id: AlertId,
    /// The instance it is about.
    pub instance_id: InstanceId,
    /// What it is about.
    pub kind: AlertKind,
    /// The date of a reminder series (in the tenant's zone): the license's expiry, or its
    /// maintenance date for a maintenance series.
    pub expiry_date: Option<Date>,
    /// Its severity now (the last stage that fired).
    pub severity: Severity,
    /// The last reminder stage that fired (`None` for "not read").
    pub stage: Option<Stage>,
    /// Days left when that stage fired (reminders).
    pub days_left: Option<i32>,
    /// Where it is in its life.
    pub state: AlertState,
    /// Why it resolved.
    pub resolution: Option<AlertResolution>,
    /// What the resolution said, e.g. "renewed: new expiry 2027-12-01".
    pub resolution_note: Option<String>,
    /// When it was raised.
    pub opened_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When someone acknowledged it, and who.
    pub acknowledged: Option<(Timestamp, String)>,
    /// When it resolved.
    pub resolved_at: Option<Timestamp>,
    /// For "not read": since when the instance has not been read.
    pub not_read_since: Option<Timestamp>,
}

/// One step of an alert's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEvent {
    /// When.
    pub at: Timestamp,
    /// `fired`, `acknowledged` or `resolved`.
    pub what: String,
    /// The alert's severity then.
    pub severity: Severity,
    /// The stage that fired (`milestone:3`, `lapse`, `not_read`).
    pub stage: String,
    /// What else was said (who acknowledged, the resolution).
    pub note: String,
}

/// Which alerts to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only alerts in this state; `None`: open and acknowledged ones.
    pub state: Option<AlertState>,
    /// Only alerts at least this severe.
    pub min_severity: Option<Severity>,
    /// Only this kind.
    pub kind: Option<AlertKind>,
    /// Only this instance's.
    pub instance: Option<InstanceId>,
    /// Only this customer's instances'.
    pub customer: Option<crate::ids::CustomerId>,
}

/// An instance's unresolved alerts, as the License Status row shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertBadge {
    /// The instance.
    pub instance_id: InstanceId,
    /// How many of its alerts are open or acknowledged.
    pub unresolved: u32,
    /// The most severe of them.
    pub severity: Severity,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertsChanged {
    /// Reminder stages and "not read" alerts that fired.
    pub fired: u64,
    /// Stages skipped by catch-up.
    pub skipped: u64,
    /// Alerts resolved.
    pub resolved: u64,
}

impl AlertsChanged {
    /// Adds another evaluation's changes.
    pub fn add(&mut self, other: AlertsChanged) {
        self.fired += other.fired;
        self.skipped += other.skipped;
        self.resolved += other.resolved;
    }
}
