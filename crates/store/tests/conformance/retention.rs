//! Retention: unchanged reads add nothing, and housekeeping keeps each tenant's history to its
//! retention periods without ever touching a current license.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use runway_core::Retention;
use runway_store::{AttemptError, FailureKind, NewAttempt, NewAuditEntry, Store, TenantId};

use crate::harness::{Harness, at, attempt, customer, facts, instance, reading, tenant};

fn audit(at_: Timestamp, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: at_,
        actor: "admin@acme.example".into(),
        user_id: None,
        via: runway_store::AuditVia::Session,
        address: "192.0.2.7".into(),
        action: action.into(),
        target: "instance 1".into(),
        detail: String::new(),
    }
}

async fn set_retention(store: &dyn Store, t: TenantId, history: u32, attempts: u32) {
    let mut settings = store.tenant(t).await.unwrap().settings;
    settings.retention = Retention::new(history, attempts).unwrap();
    store.update_tenant(t, &settings).await.unwrap();
}

async fn an_unchanged_read_confirms_the_current_reading_instead_of_adding_one(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    let same = facts("KEY-1", "2026-07-01T00:00:00Z");
    let first = store
        .record_reading(
            t,
            pbx.id,
            &reading("2026-06-01T00:00:02Z", same.clone()),
            None,
            &[],
        )
        .await
        .unwrap();
    let mut again = reading("2026-06-01T06:00:02Z", same.clone());
    again.raw_body = None;
    let confirmed = store
        .record_reading(
            t,
            pbx.id,
            &again,
            Some(&attempt("2026-06-01T06:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(confirmed, first);
    let readings = store.readings(t, pbx.id, 10).await.unwrap();
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].read_at, at("2026-06-01T00:00:02Z"));
    assert_eq!(readings[0].last_read_at, at("2026-06-01T06:00:02Z"));
    assert!(readings[0].raw_body.is_some(), "the first body is kept");
    let state = store.license(t, pbx.id).await.unwrap();
    assert_eq!(state.good.unwrap().read_at, at("2026-06-01T06:00:02Z"));

    // A change adds a reading; going back to the old facts adds another (history is a story).
    let renewed = facts("KEY-1", "2027-07-01T00:00:00Z");
    let changed = store
        .record_reading(
            t,
            pbx.id,
            &reading("2026-06-02T00:00:02Z", renewed),
            None,
            &[],
        )
        .await
        .unwrap();
    assert_ne!(changed, first);
    store
        .record_reading(t, pbx.id, &reading("2026-06-03T00:00:02Z", same), None, &[])
        .await
        .unwrap();
    assert_eq!(store.readings(t, pbx.id, 10).await.unwrap().len(), 3);
}

async fn history_older_than_each_tenants_retention_is_pruned_and_the_current_license_is_kept(
    h: Harness,
) {
    let store = h.store();
    let short = tenant(store, "Short MSP").await;
    let long = tenant(store, "Long MSP").await;
    set_retention(store, short, 30, 1).await;
    let day0 = at("2026-01-01T00:00:00Z");
    let day = |n: i64| day0 + SignedDuration::from_hours(24 * n);
    let mut pbxs = Vec::new();
    for t in [short, long] {
        let c = customer(store, t, "Acme").await;
        let pbx = instance(store, t, c, "pbx", day0).await;
        // Day 0: the old license; day 1: a failed read; day 40: renewed; day 41: an audit entry.
        let old = facts("KEY-1", "2026-03-01T00:00:00Z");
        let mut first = reading("2026-01-01T00:00:02Z", old);
        first.read_at = day(0);
        store
            .record_reading(
                t,
                pbx.id,
                &first,
                Some(&attempt("2026-01-01T00:00:00Z")),
                &[crate::history::event("2026-01-01T00:00:02Z")],
            )
            .await
            .unwrap();
        let failed = NewAttempt {
            started_at: day(1),
            duration: Duration::from_secs(1),
            trigger: runway_store::Trigger::Schedule,
            clock_offset: None,
        };
        let error = AttemptError {
            kind: FailureKind::Timeout,
            message: "no answer".into(),
        };
        store
            .record_failure(t, pbx.id, &failed, &error, &[])
            .await
            .unwrap();
        store
            .record_audit(t, &audit(day(1), "signed_in"))
            .await
            .unwrap();
        pbxs.push(pbx.id);
    }

    // Day 20: nothing is 30 days old yet; the short tenant's attempts (1 day) go.
    let pruned = store.prune_history(day(20)).await.unwrap();
    assert_eq!(
        (
            pruned.attempts,
            pruned.readings,
            pruned.events,
            pruned.audit_entries
        ),
        (2, 0, 0, 0),
        "{pruned:?}"
    );
    assert!(store.attempts(short, pbxs[0], 10).await.unwrap().is_empty());
    assert_eq!(store.attempts(long, pbxs[1], 10).await.unwrap().len(), 2);

    // Day 60: the short tenant's event and audit entry go; its only reading is current and
    // stays, however old. The long tenant (400 days) keeps everything but old attempts.
    let pruned = store.prune_history(day(60)).await.unwrap();
    assert_eq!(
        (pruned.events, pruned.audit_entries, pruned.readings),
        (1, 1, 0)
    );
    assert_eq!(
        pruned.attempts, 2,
        "the long tenant's attempts are 30 days old"
    );
    assert!(store.events(short, pbxs[0], 10).await.unwrap().is_empty());
    assert!(store.audit_log(short, 10, None).await.unwrap().is_empty());
    assert_eq!(store.readings(short, pbxs[0], 10).await.unwrap().len(), 1);
    assert!(store.license(short, pbxs[0]).await.unwrap().good.is_some());
    assert_eq!(store.events(long, pbxs[1], 10).await.unwrap().len(), 1);
    assert_eq!(store.audit_log(long, 10, None).await.unwrap().len(), 1);

    // A renewal on day 61 makes the day-0 reading history; 30 days later it goes.
    let mut renewed = reading(
        "2026-03-03T00:00:02Z",
        facts("KEY-1", "2027-03-01T00:00:00Z"),
    );
    renewed.read_at = day(61);
    store
        .record_reading(short, pbxs[0], &renewed, None, &[])
        .await
        .unwrap();
    assert_eq!(store.prune_history(day(62)).await.unwrap().readings, 1);
    let left = store.readings(short, pbxs[0], 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].read_at, day(61));
}

/// An unchanged PBX polled every minute for a year: the database holds one reading, no events,
/// and at most the retention's worth of attempts — it does not grow with time. All 525,600
/// polls are recorded, so this runs on SQLite only (about two minutes in a debug build); the
/// pruning statements it relies on are the same on PostgreSQL and are tested there above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_year_of_one_minute_polls_of_an_unchanged_pbx_stays_bounded() {
    crate::harness::run(
        crate::harness::Kind::Sqlite,
        a_year_of_one_minute_polls_of_an_unchanged_pbx_stays_bounded,
    )
    .await;
}

async fn a_year_of_one_minute_polls_of_an_unchanged_pbx_stays_bounded(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    set_retention(store, t, 30, 1).await;
    let c = customer(store, t, "Acme").await;
    let start = at("2026-01-01T00:00:00Z");
    let pbx = instance(store, t, c, "pbx", start).await;
    let license = facts("KEY-1", "2027-06-01T00:00:00Z");
    let minutes_per_day = 24 * 60;
    let mut most_attempts = 0;
    for minute in 0..365 * minutes_per_day {
        let now = start + SignedDuration::from_mins(minute);
        let mut read = reading("2026-01-01T00:00:00Z", license.clone());
        read.read_at = now;
        if minute > 0 {
            read.raw_body = None;
        }
        let polled = NewAttempt {
            started_at: now,
            duration: Duration::from_millis(200),
            trigger: runway_store::Trigger::Schedule,
            clock_offset: None,
        };
        store
            .record_reading(t, pbx.id, &read, Some(&polled), &[])
            .await
            .unwrap();
        if (minute + 1) % minutes_per_day == 0 {
            store.prune_history(now).await.unwrap();
            let attempts = store.attempts(t, pbx.id, 10_000).await.unwrap().len();
            most_attempts = most_attempts.max(attempts);
        }
    }
    assert_eq!(store.readings(t, pbx.id, 10).await.unwrap().len(), 1);
    assert!(store.events(t, pbx.id, 10).await.unwrap().is_empty());
    assert!(
        most_attempts <= 2 * usize::try_from(minutes_per_day).unwrap(),
        "attempts kept: {most_attempts}"
    );
}

async fn the_audit_log_lists_a_tenants_entries_newest_first_and_pages(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let other = tenant(store, "Other MSP").await;
    for (n, action) in ["signed_in", "instance_changed", "token_created"]
        .iter()
        .enumerate()
    {
        let when =
            at("2026-06-01T00:00:00Z") + SignedDuration::from_mins(i64::try_from(n).unwrap());
        store.record_audit(t, &audit(when, action)).await.unwrap();
    }
    let mut long = audit(at("2026-06-02T00:00:00Z"), "instance_changed");
    long.detail = "x".repeat(10_000);
    store.record_audit(other, &long).await.unwrap();

    let all = store.audit_log(t, 10, None).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token_created", "instance_changed", "signed_in"]);
    assert_eq!(all[0].address, "192.0.2.7");
    assert_eq!(all[0].via, runway_store::AuditVia::Session);
    let page = store.audit_log(t, 2, Some(all[1].id)).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].action, "signed_in");

    let theirs = store.audit_log(other, 10, None).await.unwrap();
    assert_eq!(theirs.len(), 1, "one tenant never sees another's entries");
    assert!(
        theirs[0].detail.chars().count() <= 4001,
        "cut short, not refused"
    );
}

conformance!(
    an_unchanged_read_confirms_the_current_reading_instead_of_adding_one,
    history_older_than_each_tenants_retention_is_pruned_and_the_current_license_is_kept,
    the_audit_log_lists_a_tenants_entries_newest_first_and_pages,
);
