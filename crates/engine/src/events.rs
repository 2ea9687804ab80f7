//! What a license adds to an instance's event log, decided from the state before it.
//!
//! Pure: given the last known state and the license just read (or typed in), it lists the
//! events. The engine records them in the same transaction as the reading (or the failed
//! attempt). The words of a change are `runway-core`'s ([`FieldChange::describe`],
//! [`CapacityCrossing::describe`]), shared with the history view.

use jiff::Timestamp;
use runway_core::{
    CapacityCrossing, FieldChange, LicenseFacts, LicenseField, ReadingChanges, Zone,
};
use runway_store::{AttemptError, EventKind, LicenseState, NewEvent, Trigger};
use serde_json::{Map, Value, json};

/// Where a license being recorded came from, as far as the event log cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A read of the PBX that the trigger started.
    Read(Trigger),
    /// Facts typed in (or imported) for a manual instance.
    Manual,
}

/// The events of a license recorded at `at`: a read of the PBX, or facts typed in.
pub(crate) fn after_success(
    before: &LicenseState,
    after: &LicenseFacts,
    entry: Entry,
    at: Timestamp,
    zone: &Zone,
) -> Vec<NewEvent> {
    let mut events = Vec::new();
    let previous = before.good.as_ref().map(|good| &good.facts);
    let changes = ReadingChanges::between(previous, after);

    if changes.license_changed() {
        let mut was = Map::new();
        let mut now = Map::new();
        for change in &changes.fields {
            let key = change.field.key();
            was.insert(
                key.to_owned(),
                change.before.clone().map_or(Value::Null, Value::String),
            );
            now.insert(
                key.to_owned(),
                change.after.clone().map_or(Value::Null, Value::String),
            );
        }
        let message = changes.describe_fields(zone);
        events.push(NewEvent {
            at,
            kind: EventKind::LicenseChanged,
            before: Some(Value::Object(was)),
            after: Some(Value::Object(now)),
            message: format!("License changed: {message}"),
        });
    }
    if let Some(change) = changes.field(LicenseField::Edition) {
        events.push(NewEvent {
            at,
            kind: EventKind::EditionChanged,
            before: change.before.clone().map(Value::String),
            after: change.after.clone().map(Value::String),
            message: format!(
                "Edition changed from {} to {}",
                change.before.as_deref().unwrap_or("none"),
                change.after.as_deref().unwrap_or("none")
            ),
        });
    }
    if let Some(crossing) = changes.capacity {
        let usage = after.seat_usage();
        let kind = match crossing {
            CapacityCrossing::Up => EventKind::CapacityUp,
            CapacityCrossing::Down => EventKind::CapacityDown,
        };
        events.push(NewEvent {
            at,
            kind,
            before: None,
            after: usage.map(|u| json!({"used": u.used, "licensed": u.licensed.count})),
            message: crossing.describe(usage.as_ref()),
        });
    }
    if let (Entry::Read(_), Some(error)) = (entry, before.stale_because()) {
        events.push(NewEvent {
            at,
            kind: EventKind::ReadRecovered,
            before: Some(json!({"kind": error.kind})),
            after: None,
            message: "Reads succeed again".to_owned(),
        });
    }
    if entry == Entry::Read(Trigger::Refresh) {
        // The expiry before → after, in the words every change uses (even when unchanged).
        let expiry = FieldChange {
            field: LicenseField::Expiry,
            before: previous.and_then(|f| f.expiry).map(|t| t.to_string()),
            after: after.expiry.map(|t| t.to_string()),
        };
        let json = |value: &Option<String>| value.clone().map_or(Value::Null, Value::String);
        events.push(NewEvent {
            at,
            kind: EventKind::RefreshPerformed,
            before: Some(json!({"expiry": json(&expiry.before)})),
            after: Some(json!({"expiry": json(&expiry.after)})),
            message: format!("License refreshed from 3CX: {}", expiry.describe(zone)),
        });
    }
    events
}

/// The events of a failed read: "read failing" when it is the first failure in a row.
pub(crate) fn after_failure(
    before: &LicenseState,
    error: &AttemptError,
    at: Timestamp,
) -> Vec<NewEvent> {
    let already_failing = before.stale_because().is_some();
    if already_failing {
        return Vec::new();
    }
    vec![NewEvent {
        at,
        kind: EventKind::ReadFailing,
        before: None,
        after: Some(json!({"kind": error.kind})),
        message: format!("Reads are failing: {}", error.message),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use runway_core::PbxLicense;
    use runway_store::{GoodLicense, LastAttempt, ReadingId, ReadingSource};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn facts(expiry: &str, code: &str, users: u32) -> LicenseFacts {
        LicenseFacts::from_pbx(PbxLicense {
            license_key: Some("KEY-1".into()),
            product_code: Some(code.into()),
            expiry: Some(at(expiry)),
            max_sim_calls: Some(8),
            users_used: Some(users),
            max_user_extensions: Some(20),
            ..PbxLicense::default()
        })
    }

    fn state(facts: Option<LicenseFacts>, error: Option<&str>) -> LicenseState {
        LicenseState {
            good: facts.map(|facts| GoodLicense {
                reading_id: ReadingId(1),
                facts,
                source: ReadingSource::Xapi,
                read_at: at("2026-06-01T00:00:00Z"),
            }),
            last_attempt: Some(LastAttempt {
                at: at("2026-06-01T00:00:00Z"),
                error: error.map(|kind| AttemptError {
                    kind: runway_core::FailureKind::from_stored(kind),
                    message: "timed out".into(),
                }),
            }),
        }
    }

    fn kinds(events: &[NewEvent]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    const NOW: &str = "2026-06-02T12:00:00Z";

    #[test]
    fn a_first_read_and_an_unchanged_read_log_nothing() {
        let now = at(NOW);
        let same = facts("2026-12-01T00:00:00Z", "3CXPSPROFENT", 5);
        assert!(
            after_success(
                &LicenseState::default(),
                &same,
                Entry::Read(Trigger::Schedule),
                now,
                &Zone::utc()
            )
            .is_empty()
        );
        let before = state(Some(same.clone()), None);
        assert!(
            after_success(
                &before,
                &same,
                Entry::Read(Trigger::Schedule),
                now,
                &Zone::utc()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_renewal_logs_the_expiry_before_and_after_in_the_tenants_dates() {
        let zone = Zone::parse("America/New_York").unwrap();
        let before = state(Some(facts("2026-12-01T03:00:00Z", "3CXPSPROFENT", 5)), None);
        let after = facts("2027-12-01T03:00:00Z", "3CXPSPROFENT", 5);
        let events = after_success(
            &before,
            &after,
            Entry::Read(Trigger::Schedule),
            at(NOW),
            &zone,
        );
        assert_eq!(kinds(&events), [EventKind::LicenseChanged]);
        // 03:00 UTC is the evening before in New York.
        assert_eq!(
            events[0].message,
            "License changed: expiry 2026-11-30 → 2027-11-30"
        );
        assert_eq!(
            events[0].before.as_ref().unwrap()["expiry"],
            "2026-12-01T03:00:00Z"
        );
        assert_eq!(
            events[0].after.as_ref().unwrap()["expiry"],
            "2027-12-01T03:00:00Z"
        );
    }

    #[test]
    fn an_edition_change_is_logged_on_its_own_too() {
        let before = state(Some(facts("2026-12-01T00:00:00Z", "3CXPSPROFENT", 5)), None);
        let after = facts("2026-12-01T00:00:00Z", "3CXPSENT", 5);
        let events = after_success(
            &before,
            &after,
            Entry::Read(Trigger::Schedule),
            at(NOW),
            &Zone::utc(),
        );
        assert_eq!(
            kinds(&events),
            [EventKind::LicenseChanged, EventKind::EditionChanged]
        );
        assert!(
            events[1].message.starts_with("Edition changed from "),
            "{}",
            events[1].message
        );
    }

    #[test]
    fn crossing_ninety_percent_of_seats_is_logged_both_ways() {
        let low = facts("2026-12-01T00:00:00Z", "3CXPSPROFENT", 10);
        let high = facts("2026-12-01T00:00:00Z", "3CXPSPROFENT", 19);
        let up = after_success(
            &state(Some(low.clone()), None),
            &high,
            Entry::Read(Trigger::Schedule),
            at(NOW),
            &Zone::utc(),
        );
        assert_eq!(kinds(&up), [EventKind::CapacityUp]);
        assert_eq!(
            up[0].message,
            "Seat usage reached 90% of the license (19 of 20 users, 95%)"
        );
        let down = after_success(
            &state(Some(high), None),
            &low,
            Entry::Read(Trigger::Schedule),
            at(NOW),
            &Zone::utc(),
        );
        assert_eq!(kinds(&down), [EventKind::CapacityDown]);
    }

    #[test]
    fn a_success_after_failures_logs_the_recovery_and_a_refresh_logs_itself() {
        let same = facts("2026-12-01T00:00:00Z", "3CXPSPROFENT", 5);
        let events = after_success(
            &state(Some(same.clone()), Some("timeout")),
            &same,
            Entry::Read(Trigger::Refresh),
            at(NOW),
            &Zone::utc(),
        );
        assert_eq!(
            kinds(&events),
            [EventKind::ReadRecovered, EventKind::RefreshPerformed]
        );
        assert_eq!(
            events[1].message,
            "License refreshed from 3CX: expiry 2026-12-01 → 2026-12-01"
        );
    }

    #[test]
    fn a_license_typed_in_logs_its_change_but_no_read_recovery() {
        let before = state(
            Some(facts("2026-12-01T00:00:00Z", "3CXPSPROFENT", 5)),
            Some("timeout"),
        );
        let after = facts("2027-12-01T00:00:00Z", "3CXPSPROFENT", 5);
        let events = after_success(&before, &after, Entry::Manual, at(NOW), &Zone::utc());
        assert_eq!(kinds(&events), [EventKind::LicenseChanged]);
        assert_eq!(
            events[0].message,
            "License changed: expiry 2026-12-01 → 2027-12-01"
        );
    }

    #[test]
    fn only_the_first_failure_in_a_row_logs_read_failing() {
        let error = AttemptError {
            kind: runway_core::FailureKind::Timeout,
            message: "timed out after 20 s".into(),
        };
        let healthy = state(Some(facts("2026-12-01T00:00:00Z", "X", 1)), None);
        let events = after_failure(&healthy, &error, at(NOW));
        assert_eq!(kinds(&events), [EventKind::ReadFailing]);
        assert_eq!(events[0].message, "Reads are failing: timed out after 20 s");
        assert!(after_failure(&LicenseState::default(), &error, at(NOW)).len() == 1);
        let failing = state(Some(facts("2026-12-01T00:00:00Z", "X", 1)), Some("timeout"));
        assert!(after_failure(&failing, &error, at(NOW)).is_empty());
    }
}
