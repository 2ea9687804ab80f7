//! An instance's history and the outcome of a read, arranged for display (page and API alike).

use jiff::Timestamp;
use runway_core::{LicenseStatus, ReadingChanges, Zone};
use runway_engine::ReadOutcome;
use runway_store::{Attempt, Event, LicenseState, Reading};
use serde::Serialize;
use utoipa::ToSchema;

use crate::view::local_time;

/// One reading, with what it changed relative to the one before.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadingView {
    /// Its id.
    pub id: i64,
    /// When the PBX answered, in the tenant's zone.
    pub read_at: String,
    /// `xapi`, `legacy` or `manual`.
    pub source: String,
    /// The expiry date it showed.
    pub expiry_date: Option<String>,
    /// The edition it showed.
    pub edition: String,
    /// The license key it showed.
    pub license_key: Option<String>,
    /// What changed, in the words of the event log: "expiry 2026-06-13 → 2027-06-25".
    pub changes: Vec<String>,
}

/// Readings newest first, each compared with the one before it.
pub fn readings_view(readings: &[Reading], zone: &Zone) -> Vec<ReadingView> {
    readings
        .iter()
        .enumerate()
        .map(|(i, reading)| {
            let previous = readings.get(i + 1).map(|r| &r.facts);
            let changes = ReadingChanges::between(previous, &reading.facts);
            let mut lines: Vec<String> = changes
                .fields
                .iter()
                .map(|change| change.describe(zone))
                .collect();
            if let Some(crossing) = changes.capacity {
                lines.push(crossing.describe(reading.facts.seat_usage().as_ref()));
            }
            ReadingView {
                id: reading.id.0,
                read_at: local_time(reading.read_at, zone),
                source: reading.source.to_string(),
                expiry_date: reading.facts.expiry.map(|e| zone.date_of(e).to_string()),
                edition: reading.facts.edition.to_string(),
                license_key: reading.facts.license_key.clone(),
                changes: lines,
            }
        })
        .collect()
}

/// One event of the instance's log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// Its id.
    pub id: i64,
    /// When, in the tenant's zone.
    pub at: String,
    /// Its kind, e.g. `license_changed`.
    pub kind: String,
    /// The sentence for the log.
    pub message: String,
    /// The value before (JSON text).
    pub before: Option<String>,
    /// The value after (JSON text).
    pub after: Option<String>,
}

/// Events for display.
pub fn events_view(events: &[Event], zone: &Zone) -> Vec<EventView> {
    events
        .iter()
        .map(|e| EventView {
            id: e.id.0,
            at: local_time(e.at, zone),
            kind: e.kind.to_string(),
            message: e.message.clone(),
            before: e.before.as_ref().map(ToString::to_string),
            after: e.after.as_ref().map(ToString::to_string),
        })
        .collect()
}

/// One poll attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    /// Its id.
    pub id: i64,
    /// When it started, in the tenant's zone.
    pub started_at: String,
    /// `schedule`, `read_now` or `refresh`.
    pub trigger: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Whether it read the license.
    pub succeeded: bool,
    /// The error kind, when it failed.
    pub error_kind: Option<String>,
    /// The error, when it failed.
    pub error_message: Option<String>,
}

/// Attempts for display.
pub fn attempts_view(attempts: &[Attempt], zone: &Zone) -> Vec<AttemptView> {
    attempts
        .iter()
        .map(|a| AttemptView {
            id: a.id.0,
            started_at: local_time(a.started_at, zone),
            trigger: a.trigger.to_string(),
            duration_ms: u64::try_from(a.duration.as_millis()).unwrap_or(u64::MAX),
            succeeded: a.succeeded(),
            error_kind: a.error.as_ref().map(|e| e.kind.to_string()),
            error_message: a.error.as_ref().map(|e| e.message.clone()),
        })
        .collect()
}

/// A license as it stood before or after a read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LicenseSummary {
    /// The expiry instant (RFC 3339).
    pub expiry: Option<String>,
    /// The expiry date in the tenant's zone.
    pub expiry_date: Option<String>,
    /// Days left as shown.
    pub days_left_text: Option<String>,
    /// The band.
    pub band: String,
    /// When it was read, in the tenant's zone.
    pub read_at: Option<String>,
}

impl LicenseSummary {
    fn of(state: &LicenseState, now: Timestamp, zone: &Zone) -> LicenseSummary {
        let facts = state.good.as_ref().map(|g| &g.facts);
        let status = LicenseStatus::evaluate(facts, now, zone);
        LicenseSummary {
            expiry: facts.and_then(|f| f.expiry).map(|e| e.to_string()),
            expiry_date: status.expiry_date.map(|d| d.to_string()),
            days_left_text: status.days_left.map(|d| d.to_string()),
            band: status.band.as_str().to_owned(),
            read_at: state.good.as_ref().map(|g| local_time(g.read_at, zone)),
        }
    }

    /// The expiry date as shown, "none" when there is none.
    pub fn date_text(&self) -> String {
        self.expiry_date.clone().unwrap_or_else(|| "none".into())
    }
}

/// What a refresh or read-now did: the expiry before → after, or the error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadOutcomeView {
    /// The instance read.
    pub instance_id: i64,
    /// `read_now` or `refresh`.
    pub trigger: String,
    /// Whether the PBX was read.
    pub succeeded: bool,
    /// The license before.
    pub before: LicenseSummary,
    /// The license after (unchanged when the read failed).
    pub after: LicenseSummary,
    /// Why the read failed.
    pub error: Option<String>,
    /// The error's stable kind.
    pub error_kind: Option<String>,
    /// Remarks from the read (e.g. the PBX refused the refresh but was read).
    pub notes: Vec<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

impl ReadOutcomeView {
    /// The view of an engine outcome.
    pub fn of(outcome: &ReadOutcome, now: Timestamp, zone: &Zone) -> ReadOutcomeView {
        ReadOutcomeView {
            instance_id: outcome.instance.0,
            trigger: outcome.trigger.to_string(),
            succeeded: outcome.error.is_none(),
            before: LicenseSummary::of(&outcome.before, now, zone),
            after: LicenseSummary::of(&outcome.after, now, zone),
            error: outcome.error.as_ref().map(|e| e.message.clone()),
            error_kind: outcome.error.as_ref().map(|e| e.kind.to_string()),
            notes: outcome.notes.clone(),
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// "Refresh license" or "Read now".
    pub fn action(&self) -> &'static str {
        if self.trigger == "refresh" {
            "Refresh license"
        } else {
            "Read now"
        }
    }
}
