//! Reads a user asks for: "refresh license" and "read now" go through the scheduler's path.

use runway_core::{BaseUrl, FailureKind, LicenseFacts, PbxLicense, Secret};
use runway_engine::{EngineError, TestConnectionError};
use runway_store::{Credentials, EventKind, Login, NewInstance, ReadingSource, Trigger};
use runway_testkit::Backend;

use crate::harness::{Fleet, on_both_backends, pbx};

fn expiry_second(facts: Option<&LicenseFacts>) -> Option<i64> {
    facts.and_then(|f| f.expiry).map(jiff::Timestamp::as_second)
}

async fn refresh_applies_the_pending_renewal_and_returns_the_expiry_before_and_after(
    backend: Backend,
) {
    let renewal = r#"renewal = { expiry = "+377d" }"#;
    let Some(fleet) = Fleet::start(backend, &pbx("renewing", "+12d", renewal)).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let id = fleet.id("renewing");
    let old_expiry = fleet.sim_expiry("renewing");

    let read = engine
        .read_instance(fleet.tenant, id, Trigger::ReadNow)
        .await
        .unwrap();
    assert!(read.succeeded());
    assert_eq!(read.before.good, None, "first read");
    assert_eq!(
        expiry_second(read.after.good.as_ref().map(|g| &g.facts)),
        old_expiry.map(jiff::Timestamp::as_second),
        "a plain read does not ask 3CX for the renewal"
    );

    let refresh = engine
        .read_instance(fleet.tenant, id, Trigger::Refresh)
        .await
        .unwrap();
    assert!(refresh.succeeded(), "{:?}", refresh.error);
    let new_expiry = fleet.sim_expiry("renewing");
    assert_ne!(new_expiry, old_expiry, "the simulator applied the renewal");
    assert_eq!(
        expiry_second(refresh.before.good.as_ref().map(|g| &g.facts)),
        old_expiry.map(jiff::Timestamp::as_second)
    );
    assert_eq!(
        expiry_second(refresh.after.good.as_ref().map(|g| &g.facts)),
        new_expiry.map(jiff::Timestamp::as_second)
    );
    assert_eq!(
        fleet.license("renewing").await,
        refresh.after,
        "what was returned is stored"
    );

    let kinds: Vec<EventKind> = fleet
        .store()
        .events(fleet.tenant, id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&EventKind::RefreshPerformed), "{kinds:?}");
    assert!(kinds.contains(&EventKind::LicenseChanged), "{kinds:?}");
    let triggers: Vec<Trigger> = fleet
        .attempts("renewing")
        .await
        .iter()
        .map(|a| a.trigger)
        .collect();
    assert_eq!(triggers, [Trigger::Refresh, Trigger::ReadNow]);

    // The user's read schedules the next one like any read.
    let schedule = fleet
        .store()
        .instance(fleet.tenant, id)
        .await
        .unwrap()
        .schedule;
    assert_eq!(schedule.lease_owner, None);
    assert_eq!(
        schedule.next_poll_at.as_second() - fleet.clock_now().as_second(),
        6 * 3600
    );
}

async fn a_failed_refresh_says_why_and_keeps_the_license(backend: Backend) {
    let Some(fleet) = Fleet::start(backend, &pbx("flaky", "+12d", "")).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let id = fleet.id("flaky");
    engine
        .read_instance(fleet.tenant, id, Trigger::ReadNow)
        .await
        .unwrap();
    let pbx = fleet.sim.pbx("flaky").unwrap();
    pbx.set_faults(vec![runway_sim::Fault::new(
        runway_sim::FaultKind::Status {
            status: 500,
            retry_after: None,
        },
    )]);
    let refresh = engine
        .read_instance(fleet.tenant, id, Trigger::Refresh)
        .await
        .unwrap();
    let error = refresh.error.as_ref().expect("the refresh failed");
    assert_eq!(error.kind, FailureKind::ServerError);
    assert!(error.message.contains("500"), "{}", error.message);
    assert_eq!(refresh.after.good, refresh.before.good);
}

async fn another_tenants_instance_and_manual_instances_are_refused(backend: Backend) {
    let Some(fleet) = Fleet::start(backend, &pbx("mine", "+12d", "")).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let store = fleet.store();
    let other = store
        .create_tenant(&runway_store::TenantSettings::new("Other MSP"))
        .await
        .unwrap()
        .id;
    let refused = engine
        .read_instance(other, fleet.id("mine"), Trigger::Refresh)
        .await;
    assert!(
        matches!(
            refused,
            Err(EngineError::Store(
                runway_store::StoreError::NotFound { .. }
            ))
        ),
        "{refused:?}"
    );
    assert!(
        fleet.attempts("mine").await.is_empty(),
        "nothing was read or recorded"
    );

    let customer = store.customers(fleet.tenant).await.unwrap()[0].id;
    let manual = store
        .create_instance(
            fleet.tenant,
            &NewInstance::new(customer, "typed in", None, Login::Manual),
            fleet.clock_now(),
        )
        .await
        .unwrap();
    let refused = engine
        .read_instance(fleet.tenant, manual.id, Trigger::Refresh)
        .await;
    assert!(matches!(refused, Err(EngineError::Manual)), "{refused:?}");
    let after = store
        .instance(fleet.tenant, manual.id)
        .await
        .unwrap()
        .schedule;
    assert_eq!(
        after.lease_owner, None,
        "the lease taken to find out is released"
    );
}

async fn test_connection_reads_unsaved_settings_and_records_nothing(backend: Backend) {
    let Some(fleet) = Fleet::start(backend, &pbx("new", "+12d", "")).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let url = BaseUrl::parse(fleet.sim.base_url("new", runway_sim::Scheme::Http).unwrap()).unwrap();
    let good = Credentials::ApiClient {
        client_id: "runway".into(),
        client_secret: Secret::new("secret-new"),
    };
    let facts = engine
        .test_connection(&url, &good, &runway_store::TlsOptions::default())
        .await
        .unwrap();
    assert_eq!(
        facts.expiry.map(jiff::Timestamp::as_second),
        fleet.sim_expiry("new").map(jiff::Timestamp::as_second)
    );

    let wrong = Credentials::ApiClient {
        client_id: "runway".into(),
        client_secret: Secret::new("not-the-secret"),
    };
    runway_testkit::secrets::used("not-the-secret");
    let error = engine
        .test_connection(&url, &wrong, &runway_store::TlsOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, TestConnectionError::Read(ref e) if e.kind() == FailureKind::LoginRejected)
    );
    assert!(!error.to_string().contains("not-the-secret"), "{error}");
    assert!(fleet.attempts("new").await.is_empty());
}

fn typed_in(key: &str, expiry: &str) -> LicenseFacts {
    LicenseFacts::from_pbx(PbxLicense {
        license_key: Some(key.into()),
        product_code: Some("3CXPSPROFSPLA".into()),
        expiry: Some(expiry.parse().unwrap()),
        ..PbxLicense::default()
    })
}

/// A license typed in takes the path a read takes: its change is logged with the values before
/// and after, so a renewal entered by hand is seen like one read off the PBX.
async fn a_manual_expiry_change_records_a_license_changed_event_with_before_and_after(
    backend: Backend,
) {
    let Some(fleet) = Fleet::start(backend, &pbx("polled", "+12d", "")).await else {
        return;
    };
    let store = fleet.store();
    let engine = fleet.engine("node-a", 4);
    let customer = store.customers(fleet.tenant).await.unwrap()[0].id;
    let manual = store
        .create_instance(
            fleet.tenant,
            &NewInstance::new(customer, "paper PBX", None, Login::Manual),
            fleet.clock_now(),
        )
        .await
        .unwrap();

    let first = engine
        .set_manual_license(
            fleet.tenant,
            manual.id,
            typed_in("PAPER-1", "2026-12-01T17:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(first.before.good, None);
    let good = first.after.good.unwrap();
    assert_eq!(
        (good.source, good.facts.license_key.as_deref()),
        (ReadingSource::Manual, Some("PAPER-1"))
    );
    assert!(
        store
            .events(fleet.tenant, manual.id, 10)
            .await
            .unwrap()
            .is_empty(),
        "a first license changes nothing"
    );

    let renewed = engine
        .set_manual_license(
            fleet.tenant,
            manual.id,
            typed_in("PAPER-1", "2027-12-01T17:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(
        renewed.after.good.and_then(|g| g.facts.expiry),
        Some("2027-12-01T17:00:00Z".parse().unwrap())
    );
    let events = store.events(fleet.tenant, manual.id, 10).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let changed = &events[0];
    assert_eq!(changed.kind, EventKind::LicenseChanged);
    assert_eq!(
        changed.before.as_ref().unwrap()["expiry"],
        "2026-12-01T17:00:00Z"
    );
    assert_eq!(
        changed.after.as_ref().unwrap()["expiry"],
        "2027-12-01T17:00:00Z"
    );
    // The fleet's zone is New York: the dates are that zone's.
    assert_eq!(
        changed.message,
        "License changed: expiry 2026-12-01 → 2027-12-01"
    );
    assert_eq!(
        store
            .readings(fleet.tenant, manual.id, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .attempts(fleet.tenant, manual.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .instance(fleet.tenant, manual.id)
            .await
            .unwrap()
            .schedule
            .lease_owner,
        None,
        "the lease taken to record it is released"
    );
}

async fn a_pbx_read_by_runway_takes_no_license_typed_in(backend: Backend) {
    let Some(fleet) = Fleet::start(backend, &pbx("polled", "+12d", "")).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let refused = engine
        .set_manual_license(
            fleet.tenant,
            fleet.id("polled"),
            typed_in("X", "2030-01-01T00:00:00Z"),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::NotManual)),
        "{refused:?}"
    );
    assert!(fleet.attempts("polled").await.is_empty());
    assert_eq!(fleet.license("polled").await.good, None, "nothing recorded");
}

/// The raw answer is kept when the license it gave changed, not for every unchanged read: a
/// PBX read every minute must not fill the disk with copies of the same body.
async fn a_raw_body_is_kept_only_when_the_license_changed(backend: Backend) {
    let renewal = r#"renewal = { expiry = "+377d" }"#;
    let Some(fleet) = Fleet::start(backend, &pbx("renewing", "+12d", renewal)).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let id = fleet.id("renewing");
    for trigger in [Trigger::ReadNow, Trigger::ReadNow, Trigger::Refresh] {
        engine
            .read_instance(fleet.tenant, id, trigger)
            .await
            .unwrap();
        fleet.clock.advance(std::time::Duration::from_mins(1));
    }
    let readings = fleet.store().readings(fleet.tenant, id, 10).await.unwrap();
    let kept: Vec<bool> = readings.iter().map(|r| r.raw_body.is_some()).collect();
    // Newest first: the renewal (changed), the first read (which the unchanged second read
    // confirmed rather than copied), each with its body.
    assert_eq!(kept, [true, true]);
    assert!(readings[1].last_read_at > readings[1].read_at);
}

/// Reads users ask for share the engine's one limit of reads in flight, not one per request:
/// with a limit of one, two bulk requests arriving together are read one after the other.
async fn bulk_requests_share_the_engines_one_limit_of_reads_in_flight(backend: Backend) {
    let slow = r#"latency = "300""#;
    let toml = pbx("first", "+40d", slow) + &pbx("second", "+50d", slow);
    let Some(fleet) = Fleet::start(backend, &toml).await else {
        return;
    };
    let engine = fleet.engine("node-a", 1);
    let (first, second) = ([fleet.id("first")], [fleet.id("second")]);
    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(
        engine.read_instances(fleet.tenant, &first, Trigger::ReadNow),
        engine.read_instances(fleet.tenant, &second, Trigger::ReadNow),
    );
    let elapsed = started.elapsed();
    let took = |results: &[(
        runway_store::InstanceId,
        Result<runway_engine::ReadOutcome, EngineError>,
    )]| { results[0].1.as_ref().unwrap().duration };
    let (first, second) = (took(&a), took(&b));
    assert!(
        elapsed >= first + second,
        "the reads overlapped: {elapsed:?} for {first:?} + {second:?}"
    );
}

async fn every_read_of_the_read_path_is_timed_into_the_poll_duration_histogram(backend: Backend) {
    let Some(fleet) = Fleet::start(backend, &pbx("timed", "+30d", "")).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let durations = engine.poll_durations().clone();
    assert_eq!(durations.count(), 0, "nothing read yet");
    let read = engine
        .read_instance(fleet.tenant, fleet.id("timed"), Trigger::ReadNow)
        .await
        .unwrap();
    assert!(read.succeeded(), "{:?}", read.error);
    assert_eq!(durations.count(), 1, "the read was counted");
    let refreshed = engine
        .read_instance(fleet.tenant, fleet.id("timed"), Trigger::Refresh)
        .await
        .unwrap();
    assert_eq!(durations.count(), 2, "every read is counted: {refreshed:?}");
}

on_both_backends!(
    every_read_of_the_read_path_is_timed_into_the_poll_duration_histogram,
    refresh_applies_the_pending_renewal_and_returns_the_expiry_before_and_after,
    a_failed_refresh_says_why_and_keeps_the_license,
    another_tenants_instance_and_manual_instances_are_refused,
    test_connection_reads_unsaved_settings_and_records_nothing,
    a_manual_expiry_change_records_a_license_changed_event_with_before_and_after,
    a_pbx_read_by_runway_takes_no_license_typed_in,
    a_raw_body_is_kept_only_when_the_license_changed,
    bulk_requests_share_the_engines_one_limit_of_reads_in_flight,
);
