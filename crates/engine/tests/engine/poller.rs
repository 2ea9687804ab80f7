//! The scheduler reading a fleet: fresh healthy PBXs, stale faulty ones with their reasons,
//! backoff, and a cycle that does not wait for the slowest PBX.

use runway_core::FailureKind;
use std::time::{Duration, Instant};

use runway_sim::{Fault, FaultKind, GarbageStyle};
use runway_store::{EventKind, Trigger};
use runway_testkit::Backend;

use crate::harness::{Fleet, TIMEOUT, on_both_backends, pbx};

fn fleet_toml() -> String {
    let mut toml = String::new();
    for (n, expiry) in ["+12d", "+40d", "-3d", "+200d", "+2d", "+90d"]
        .iter()
        .enumerate()
    {
        toml.push_str(&pbx(&format!("healthy-{n}"), expiry, ""));
    }
    for id in ["hangs", "rejects", "garbles", "errors"] {
        toml.push_str(&pbx(id, "+30d", ""));
    }
    toml
}

/// Seconds, as the store keeps instants.
fn second(t: Option<jiff::Timestamp>) -> Option<i64> {
    t.map(jiff::Timestamp::as_second)
}

/// Four PBXs go bad, and every license moves on upstream (twice the calls).
fn break_four_and_move_every_license_on(fleet: &Fleet) {
    let faults = [
        ("hangs", FaultKind::Hang {}),
        ("rejects", FaultKind::RejectLogin {}),
        (
            "garbles",
            FaultKind::Garbage {
                style: GarbageStyle::NotJson,
            },
        ),
        (
            "errors",
            FaultKind::Status {
                status: 503,
                retry_after: None,
            },
        ),
    ];
    for (id, kind) in faults {
        let pbx = fleet.sim.pbx(id).unwrap();
        pbx.revoke_tokens();
        pbx.set_faults(vec![Fault::new(kind)]);
    }
    for id in fleet.ids.keys() {
        fleet
            .sim
            .pbx(id)
            .unwrap()
            .update_license(&runway_sim::LicenseChange {
                max_sim_calls: Some(32),
                ..runway_sim::LicenseChange::default()
            });
    }
}

async fn a_faulty_fleet_keeps_healthy_pbxs_fresh_and_faulty_ones_stale_with_their_reason(
    backend: Backend,
) {
    let Some(fleet) = Fleet::start(backend, &fleet_toml()).await else {
        return;
    };
    let engine = fleet.engine("node-a", 64);

    let first = engine.run_due().await;
    assert_eq!(
        (first.succeeded, first.failed, first.not_recorded),
        (10, 0, 0)
    );

    break_four_and_move_every_license_on(&fleet);
    fleet.clock.advance(Duration::from_hours(7));
    let started = Instant::now();
    let second_pass = engine.run_due().await;
    let took = started.elapsed();
    assert_eq!((second_pass.succeeded, second_pass.failed), (6, 4));
    // The hanging PBX costs its timeout, not more, and the others do not wait behind it.
    assert!(took < TIMEOUT * 3, "the pass took {took:?}");
    assert!(
        second_pass.slowest[0].1 >= TIMEOUT,
        "{:?}",
        second_pass.slowest
    );

    for n in 0..6 {
        let id = format!("healthy-{n}");
        let state = fleet.license(&id).await;
        assert_eq!(state.stale_because(), None, "{id}");
        let good = state.good.unwrap();
        assert_eq!(good.read_at, fleet.clock_now(), "{id} is fresh");
        assert_eq!(good.facts.max_sim_calls, Some(32), "{id}");
        assert_eq!(
            second(good.facts.expiry),
            second(fleet.sim_expiry(&id)),
            "{id}"
        );
    }
    for (id, kind) in [
        ("hangs", FailureKind::Timeout),
        ("rejects", FailureKind::LoginRejected),
        ("garbles", FailureKind::UnexpectedAnswer),
        ("errors", FailureKind::ServerError),
    ] {
        let state = fleet.license(id).await;
        let error = state
            .stale_because()
            .unwrap_or_else(|| panic!("{id} is stale"));
        assert_eq!(error.kind, kind, "{id}: {}", error.message);
        assert!(
            !error.message.contains("secret-"),
            "{id}: {}",
            error.message
        );
        let good = state.good.unwrap();
        assert_eq!(
            good.facts.max_sim_calls,
            Some(16),
            "{id} keeps its last good data"
        );
        assert!(good.read_at < fleet.clock_now(), "{id}");
        let events = fleet
            .store()
            .events(fleet.tenant, fleet.id(id), 10)
            .await
            .unwrap();
        assert_eq!(events[0].kind, EventKind::ReadFailing, "{id}");
    }
    let changed = fleet
        .store()
        .events(fleet.tenant, fleet.id("healthy-0"), 10)
        .await
        .unwrap();
    assert_eq!(changed[0].kind, EventKind::LicenseChanged);
    // The fair-use user cap follows the call tier.
    assert_eq!(
        changed[0].message,
        "License changed: simultaneous calls 16 → 32; licensed users 80 → 176"
    );
}

async fn a_failing_instance_backs_off_exponentially_and_recovers(backend: Backend) {
    let Some(fleet) = Fleet::start(backend, &pbx("flaky", "+30d", "")).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    let handle = fleet.sim.pbx("flaky").unwrap();
    handle.set_faults(vec![Fault::new(FaultKind::Status {
        status: 503,
        retry_after: None,
    })]);

    let mut waits = Vec::new();
    for _ in 0..4 {
        let report = engine.run_due().await;
        assert_eq!(report.failed, 1);
        let schedule = fleet
            .store()
            .instance(fleet.tenant, fleet.id("flaky"))
            .await
            .unwrap()
            .schedule;
        let wait = schedule.next_poll_at.as_second() - fleet.clock_now().as_second();
        waits.push(wait);
        assert_eq!(
            engine.run_due().await.reads(),
            0,
            "not due again before its backoff"
        );
        fleet
            .clock
            .advance(Duration::from_secs(u64::try_from(wait).unwrap()));
    }
    assert_eq!(waits, [60, 120, 240, 480]);
    let events = fleet
        .store()
        .events(fleet.tenant, fleet.id("flaky"), 10)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::ReadFailing)
            .count(),
        1,
        "one 'read failing' for the whole run of failures"
    );

    handle.clear_faults();
    assert_eq!(engine.run_due().await.succeeded, 1);
    let state = fleet.license("flaky").await;
    assert_eq!(state.stale_because(), None);
    let events = fleet
        .store()
        .events(fleet.tenant, fleet.id("flaky"), 1)
        .await
        .unwrap();
    assert_eq!(events[0].kind, EventKind::ReadRecovered);
    let schedule = fleet
        .store()
        .instance(fleet.tenant, fleet.id("flaky"))
        .await
        .unwrap()
        .schedule;
    assert_eq!(schedule.consecutive_failures, 0);
    assert_eq!(
        schedule.next_poll_at.as_second() - fleet.clock_now().as_second(),
        6 * 3600,
        "back on its interval"
    );
    let attempts = fleet.attempts("flaky").await;
    assert_eq!(attempts.len(), 5);
    assert!(attempts.iter().all(|a| a.trigger == Trigger::Schedule));
}

async fn a_rejected_login_is_not_retried_soon(backend: Backend) {
    let extra = r#"faults = [{ kind = "reject_login" }]"#;
    let Some(fleet) = Fleet::start(backend, &pbx("locked", "+30d", extra)).await else {
        return;
    };
    let engine = fleet.engine("node-a", 4);
    assert_eq!(engine.run_due().await.failed, 1);
    fleet.clock.advance(Duration::from_mins(4));
    assert_eq!(
        engine.run_due().await.reads(),
        0,
        "a rejected login waits 5 minutes"
    );
    fleet.clock.advance(Duration::from_mins(1));
    assert_eq!(engine.run_due().await.failed, 1);
    let logins = fleet.sim.pbx("locked").unwrap().counters().total_requests();
    assert!(logins <= 2, "{logins} requests to a PBX that rejects us");
}

on_both_backends!(
    a_faulty_fleet_keeps_healthy_pbxs_fresh_and_faulty_ones_stale_with_their_reason,
    a_failing_instance_backs_off_exponentially_and_recovers,
    a_rejected_login_is_not_retried_soon,
);
