//! Recording reads: history, current license, attempts, events — atomically — and the fleet.

use std::time::Duration;

use runway_store::{
    AttemptError, CustomerDraft, EventKind, FailureKind, FleetInstance, FleetRow, InstanceId,
    LastAttempt, NewAttempt, NewEvent, ReadingSource, StoreError, Trigger,
};
use serde_json::json;

use crate::harness::{
    Harness, assert_not_found, at, attempt, customer, facts, instance, reading, tenant,
};

/// A `license_changed` event at `when`.
pub(crate) fn event(when: &str) -> NewEvent {
    NewEvent {
        at: at(when),
        kind: EventKind::LicenseChanged,
        before: Some(json!({"expiry": "2026-07-01"})),
        after: Some(json!({"expiry": "2027-07-01"})),
        message: "expiry moved from 2026-07-01 to 2027-07-01".into(),
    }
}

fn timeout() -> AttemptError {
    AttemptError {
        kind: FailureKind::Timeout,
        message: "the PBX did not answer within 30 s".into(),
    }
}

async fn a_reading_is_recorded_with_its_attempt_and_events(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    let first = reading(
        "2026-06-01T00:00:02Z",
        facts("KEY-1", "2026-07-01T00:00:00Z"),
    );
    let id1 = store
        .record_reading(
            t,
            pbx.id,
            &first,
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    let second = reading(
        "2026-06-01T06:00:02Z",
        facts("KEY-1", "2027-07-01T00:00:00Z"),
    );
    let refresh = NewAttempt {
        trigger: Trigger::Refresh,
        ..attempt("2026-06-01T06:00:00Z")
    };
    let changed = event("2026-06-01T06:00:02Z");
    let performed = NewEvent {
        kind: EventKind::RefreshPerformed,
        before: None,
        after: None,
        message: "refresh performed".into(),
        ..event("2026-06-01T06:00:02Z")
    };
    let id2 = store
        .record_reading(
            t,
            pbx.id,
            &second,
            Some(&refresh),
            &[changed.clone(), performed.clone()],
        )
        .await
        .unwrap();
    assert_ne!(id1, id2);

    let readings = store.readings(t, pbx.id, 10).await.unwrap();
    assert_eq!(
        readings.iter().map(|r| r.id).collect::<Vec<_>>(),
        [id2, id1],
        "newest first"
    );
    assert_eq!(readings[0].facts, second.facts);
    assert_eq!(readings[0].source, ReadingSource::Xapi);
    assert_eq!(readings[0].raw_body, second.raw_body);
    assert_eq!(readings[0].read_at, second.read_at);
    assert_eq!(
        store.readings(t, pbx.id, 1).await.unwrap().len(),
        1,
        "limit"
    );

    let license = store.license(t, pbx.id).await.unwrap();
    let good = license.good.clone().unwrap();
    assert_eq!(
        (good.reading_id, good.facts, good.read_at),
        (id2, second.facts, second.read_at)
    );
    assert_eq!(
        license.last_attempt,
        Some(LastAttempt {
            at: at("2026-06-01T06:00:00Z"),
            error: None
        })
    );
    assert_eq!(license.stale_because(), None);

    let attempts = store.attempts(t, pbx.id, 10).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (
            attempts[0].trigger,
            attempts[0].duration,
            attempts[0].succeeded()
        ),
        (Trigger::Refresh, Duration::from_millis(1500), true)
    );
    assert_eq!(attempts[1].trigger, Trigger::Schedule);

    let events = store.events(t, pbx.id, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&EventKind::LicenseChanged) && kinds.contains(&EventKind::RefreshPerformed)
    );
    let logged = events
        .iter()
        .find(|e| e.kind == EventKind::LicenseChanged)
        .unwrap();
    assert_eq!(
        (&logged.before, &logged.after, &logged.message, logged.at),
        (
            &changed.before,
            &changed.after,
            &changed.message,
            changed.at
        )
    );
}

async fn a_failed_read_keeps_the_last_good_license_and_says_why(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    let good = reading(
        "2026-06-01T00:00:02Z",
        facts("KEY-1", "2026-07-01T00:00:00Z"),
    );
    let id = store
        .record_reading(
            t,
            pbx.id,
            &good,
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[],
        )
        .await
        .unwrap();

    let failing = NewEvent {
        kind: EventKind::ReadFailing,
        before: None,
        after: None,
        message: "reads are failing: timeout".into(),
        ..event("2026-06-01T06:00:30Z")
    };
    let failures = store
        .record_failure(
            t,
            pbx.id,
            &attempt("2026-06-01T06:00:00Z"),
            &timeout(),
            &[failing],
        )
        .await
        .unwrap();
    assert_eq!(failures, 1);
    let rejected = AttemptError {
        kind: FailureKind::LoginRejected,
        message: "x".repeat(5000),
    };
    let failures = store
        .record_failure(t, pbx.id, &attempt("2026-06-01T12:00:00Z"), &rejected, &[])
        .await
        .unwrap();
    assert_eq!(failures, 2);
    assert_eq!(
        store
            .instance(t, pbx.id)
            .await
            .unwrap()
            .schedule
            .consecutive_failures,
        2
    );

    let license = store.license(t, pbx.id).await.unwrap();
    let kept = license.good.clone().unwrap();
    assert_eq!(
        (kept.reading_id, kept.facts),
        (id, good.facts.clone()),
        "last good data kept"
    );
    let stale = license.stale_because().unwrap();
    assert_eq!(stale.kind, FailureKind::LoginRejected);
    assert!(
        stale.message.chars().count() <= 2001,
        "long PBX errors are cut"
    );
    assert_eq!(license.last_attempt.unwrap().at, at("2026-06-01T12:00:00Z"));

    let attempts = store.attempts(t, pbx.id, 10).await.unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[1].error, Some(timeout()));
    assert_eq!(
        store.readings(t, pbx.id, 10).await.unwrap().len(),
        1,
        "no reading for a failure"
    );
    assert_eq!(
        store.events(t, pbx.id, 10).await.unwrap()[0].kind,
        EventKind::ReadFailing
    );

    store
        .record_reading(
            t,
            pbx.id,
            &reading(
                "2026-06-01T18:00:02Z",
                facts("KEY-1", "2026-07-01T00:00:00Z"),
            ),
            Some(&attempt("2026-06-01T18:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .instance(t, pbx.id)
            .await
            .unwrap()
            .schedule
            .consecutive_failures,
        0
    );
    assert_eq!(
        store.license(t, pbx.id).await.unwrap().stale_because(),
        None
    );
}

/// A failure kind written by a newer version of Runway (or by hand) is no reason to fail
/// reading the fleet: it reads back as `Unknown`, with its message.
async fn an_unknown_stored_failure_kind_reads_back_as_unknown(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    store
        .record_failure(t, pbx.id, &attempt("2026-06-01T00:00:00Z"), &timeout(), &[])
        .await
        .unwrap();
    let raw = h.raw().await;
    raw.execute("UPDATE poll_attempts SET error_kind = 'certificate_pinned'")
        .await;
    raw.execute("UPDATE current_licenses SET last_error_kind = 'certificate_pinned'")
        .await;
    raw.close().await;

    let unknown = AttemptError {
        kind: FailureKind::Unknown,
        message: timeout().message,
    };
    let license = store.license(t, pbx.id).await.unwrap();
    assert_eq!(license.stale_because(), Some(&unknown));
    assert_eq!(
        store.attempts(t, pbx.id, 10).await.unwrap()[0].error,
        Some(unknown.clone())
    );
    let fleet = store.fleet(t).await.unwrap();
    assert_eq!(fleet[0].license.stale_because(), Some(&unknown));
}

async fn a_reading_is_all_or_nothing(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    store
        .record_failure(t, pbx.id, &attempt("2026-06-01T00:00:00Z"), &timeout(), &[])
        .await
        .unwrap();
    let license_before = store.license(t, pbx.id).await.unwrap();

    // The second event is dated before 1970, which the schema refuses (CHECK at >= 0): the
    // failure happens after the reading, the current license and the attempt were written.
    let bad = NewEvent {
        at: at("1969-12-31T23:59:59Z"),
        ..event("2026-06-01T06:00:00Z")
    };
    let result = store
        .record_reading(
            t,
            pbx.id,
            &reading(
                "2026-06-01T06:00:02Z",
                facts("KEY-1", "2027-01-01T00:00:00Z"),
            ),
            Some(&attempt("2026-06-01T06:00:00Z")),
            &[event("2026-06-01T06:00:02Z"), bad],
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid { .. })),
        "{result:?}"
    );

    assert!(store.readings(t, pbx.id, 10).await.unwrap().is_empty());
    assert!(store.events(t, pbx.id, 10).await.unwrap().is_empty());
    assert_eq!(store.attempts(t, pbx.id, 10).await.unwrap().len(), 1);
    assert_eq!(store.license(t, pbx.id).await.unwrap(), license_before);
    assert_eq!(
        store
            .instance(t, pbx.id)
            .await
            .unwrap()
            .schedule
            .consecutive_failures,
        1
    );
    let raw = h.raw().await;
    assert_eq!(raw.count("license_readings").await, 0);
    assert_eq!(raw.count("instance_events").await, 0);
    raw.close().await;

    // The same for a failure.
    let result = store
        .record_failure(
            t,
            pbx.id,
            &attempt("2026-06-01T07:00:00Z"),
            &timeout(),
            &[NewEvent {
                at: at("1969-01-01T00:00:00Z"),
                ..event("2026-06-01T07:00:00Z")
            }],
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid { .. })),
        "{result:?}"
    );
    assert_eq!(store.attempts(t, pbx.id, 10).await.unwrap().len(), 1);
    assert_eq!(store.license(t, pbx.id).await.unwrap(), license_before);
    assert_eq!(
        store
            .instance(t, pbx.id)
            .await
            .unwrap()
            .schedule
            .consecutive_failures,
        1
    );
}

async fn an_older_reading_recorded_late_does_not_replace_a_newer_current_license(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    let newer = reading("2026-06-01T12:00:00Z", facts("NEW", "2027-01-01T00:00:00Z"));
    let older = reading("2026-06-01T06:00:00Z", facts("OLD", "2026-07-01T00:00:00Z"));
    let newer_id = store
        .record_reading(
            t,
            pbx.id,
            &newer,
            Some(&attempt("2026-06-01T12:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    store
        .record_reading(
            t,
            pbx.id,
            &older,
            Some(&attempt("2026-06-01T06:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    let license = store.license(t, pbx.id).await.unwrap();
    assert_eq!(license.good.unwrap().reading_id, newer_id);
    assert_eq!(license.last_attempt.unwrap().at, at("2026-06-01T12:00:00Z"));
    assert_eq!(
        store.readings(t, pbx.id, 10).await.unwrap().len(),
        2,
        "both kept as history"
    );
}

async fn the_fleet_lists_every_instance_with_its_customer_and_license(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let a = customer(store, t, "Alpha").await;
    let b = customer(store, t, "Bravo").await;
    let now = at("2026-06-01T00:00:00Z");
    let read = instance(store, t, a, "read", now).await;
    let never = instance(store, t, b, "never", now).await;
    let failing = instance(store, t, b, "failing", now).await;
    store
        .record_reading(
            t,
            read.id,
            &reading("2026-06-01T00:00:02Z", facts("K1", "2026-07-01T00:00:00Z")),
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    store
        .record_failure(
            t,
            failing.id,
            &attempt("2026-06-01T00:00:00Z"),
            &timeout(),
            &[],
        )
        .await
        .unwrap();

    let fleet = store.fleet(t).await.unwrap();
    let rows: Vec<_> = fleet
        .iter()
        .map(|row| {
            (
                row.instance.id,
                row.instance.customer_name.as_str(),
                row.license
                    .good
                    .as_ref()
                    .and_then(|g| g.facts.license_key.clone()),
                row.license.stale_because().map(|e| e.kind),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (read.id, "Alpha", Some("K1".to_owned()), None),
            (failing.id, "Bravo", None, Some(FailureKind::Timeout)),
            (never.id, "Bravo", None, None),
        ]
    );
    assert_eq!(
        fleet[0].instance,
        FleetInstance::from(&store.instance(t, read.id).await.unwrap())
    );
}

/// The fleet may be answered from memory (SQLite); whatever is written between two calls
/// must show in the second.
async fn the_fleet_shows_every_write_made_since_it_was_last_listed(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let now = at("2026-06-01T00:00:00Z");
    let alpha = customer(store, t, "Alpha").await;
    let first = instance(store, t, alpha, "pbx-1", now).await;
    let names = |fleet: &[FleetRow]| -> Vec<(String, String)> {
        fleet
            .iter()
            .map(|r| (r.instance.customer_name.clone(), r.instance.name.clone()))
            .collect()
    };
    let key = |fleet: &[FleetRow]| {
        fleet[0]
            .license
            .good
            .as_ref()
            .and_then(|g| g.facts.license_key.clone())
    };
    let listed = store.fleet(t).await.unwrap();
    assert_eq!(key(&listed), None);
    assert_eq!(
        store.fleet(t).await.unwrap(),
        listed,
        "nothing written, same rows"
    );

    store
        .record_reading(
            t,
            first.id,
            &reading("2026-06-01T00:00:02Z", facts("K1", "2026-07-01T00:00:00Z")),
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    let listed = store.fleet(t).await.unwrap();
    assert_eq!(key(&listed).as_deref(), Some("K1"));

    store
        .record_failure(
            t,
            first.id,
            &attempt("2026-06-01T06:00:00Z"),
            &timeout(),
            &[],
        )
        .await
        .unwrap();
    let listed = store.fleet(t).await.unwrap();
    assert_eq!(
        listed[0].license.stale_because().map(|e| e.kind.as_str()),
        Some("timeout")
    );

    store
        .update_customer(t, alpha, &CustomerDraft::named("Alpha Dental"))
        .await
        .unwrap();
    let second = instance(store, t, alpha, "pbx-2", now).await;
    assert_eq!(
        names(&store.fleet(t).await.unwrap()),
        [
            ("Alpha Dental".to_owned(), "pbx-1".to_owned()),
            ("Alpha Dental".to_owned(), "pbx-2".to_owned())
        ]
    );
    store
        .set_instance_enabled(t, second.id, false, now)
        .await
        .unwrap();
    assert!(!store.fleet(t).await.unwrap()[1].instance.enabled);
    store.delete_instance(t, first.id).await.unwrap();
    assert_eq!(
        names(&store.fleet(t).await.unwrap()),
        [("Alpha Dental".to_owned(), "pbx-2".to_owned())]
    );
}

/// On PostgreSQL another node may write: its writes show in this node's next listing.
async fn the_fleet_shows_what_another_node_wrote(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let now = at("2026-06-01T00:00:00Z");
    let alpha = customer(store, t, "Alpha").await;
    let pbx = instance(store, t, alpha, "pbx-1", now).await;
    assert!(store.fleet(t).await.unwrap()[0].license.good.is_none());
    let other = h.second_node().await;
    other
        .record_reading(
            t,
            pbx.id,
            &reading("2026-06-01T00:00:02Z", facts("K9", "2026-07-01T00:00:00Z")),
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    let listed = store.fleet(t).await.unwrap();
    let good = listed[0].license.good.as_ref().unwrap();
    assert_eq!(good.facts.license_key.as_deref(), Some("K9"));
    other.delete_instance(t, pbx.id).await.unwrap();
    assert!(store.fleet(t).await.unwrap().is_empty());
}

async fn the_fleet_of_five_thousand_instances_comes_in_one_query(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Big MSP").await;
    let now = at("2026-06-01T00:00:00Z");
    let mut customers = Vec::new();
    for n in 0..50 {
        customers.push(customer(store, t, &format!("customer-{n:02}")).await);
    }
    let mut ids: Vec<InstanceId> = Vec::new();
    for n in 0..5000 {
        let pbx = instance(store, t, customers[n % 50], &format!("pbx-{n:04}"), now).await;
        if n % 2 == 0 {
            store
                .record_reading(
                    t,
                    pbx.id,
                    &reading("2026-06-01T00:00:02Z", facts("K", "2026-07-01T00:00:00Z")),
                    Some(&attempt("2026-06-01T00:00:00Z")),
                    &[],
                )
                .await
                .unwrap();
        }
        ids.push(pbx.id);
    }
    let started = std::time::Instant::now();
    let fleet = store.fleet(t).await.unwrap();
    let took = started.elapsed();
    eprintln!(
        "fleet of {} instances read in {took:?} ({:?})",
        fleet.len(),
        h.kind
    );
    assert_eq!(fleet.len(), 5000);
    assert_eq!(
        fleet
            .iter()
            .filter(|row| row.license.good.is_some())
            .count(),
        2500
    );
    ids.sort();
    let mut listed: Vec<_> = fleet.iter().map(|row| row.instance.id).collect();
    listed.sort();
    assert_eq!(listed, ids);
}

async fn history_of_an_unknown_instance_is_not_found(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let missing = InstanceId(4242);
    assert_not_found(store.readings(t, missing, 10).await);
    assert_not_found(store.events(t, missing, 10).await);
    assert_not_found(store.attempts(t, missing, 10).await);
    assert_not_found(store.license(t, missing).await);
    assert_not_found(
        store
            .record_reading(
                t,
                missing,
                &reading("2026-06-01T00:00:02Z", facts("K", "2026-07-01T00:00:00Z")),
                Some(&attempt("2026-06-01T00:00:00Z")),
                &[],
            )
            .await,
    );
    assert_not_found(
        store
            .record_failure(
                t,
                missing,
                &attempt("2026-06-01T00:00:00Z"),
                &timeout(),
                &[],
            )
            .await,
    );
}

conformance!(
    a_reading_is_recorded_with_its_attempt_and_events,
    a_failed_read_keeps_the_last_good_license_and_says_why,
    an_unknown_stored_failure_kind_reads_back_as_unknown,
    a_reading_is_all_or_nothing,
    an_older_reading_recorded_late_does_not_replace_a_newer_current_license,
    the_fleet_lists_every_instance_with_its_customer_and_license,
    the_fleet_shows_every_write_made_since_it_was_last_listed,
    the_fleet_shows_what_another_node_wrote,
    the_fleet_of_five_thousand_instances_comes_in_one_query,
    history_of_an_unknown_instance_is_not_found,
);
