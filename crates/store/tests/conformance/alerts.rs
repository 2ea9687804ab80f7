//! Alerts: the 10/3/1-day series, catch-up, lapse, renewal and supersession, "not read", and
//! each stage firing once however many ticks, reads and nodes evaluate it.

use jiff::Timestamp;
use jiff::civil::DateTime;
use runway_core::{Severity, Stage, Zone};
use runway_store::{
    AlertFilter, AlertKind, AlertResolution, AlertState, AttemptError, FailureKind, InstanceId,
    Store, TenantId, Trigger,
};

use crate::harness::{Harness, attempt, customer, facts, instance, reading};

const ZONE: &str = "America/New_York";
/// Midnight and a half on 20 March 2026 in New York (EDT, after the DST change of 8 March).
const EXPIRY: &str = "2026-03-20T04:30:00Z";

/// An instant at a New York wall-clock time.
fn local(text: &str) -> Timestamp {
    let wall: DateTime = text.parse().unwrap();
    Zone::parse(ZONE)
        .unwrap()
        .time_zone()
        .to_timestamp(wall)
        .unwrap()
}

async fn ny_tenant(store: &dyn Store) -> TenantId {
    ny_tenant_named(store, "Acme MSP").await
}

async fn ny_tenant_named(store: &dyn Store, name: &str) -> TenantId {
    let mut settings = runway_store::TenantSettings::new(name);
    settings.zone = Zone::parse(ZONE).unwrap();
    // Reminders are tested apart from "not read" (which its own test turns on).
    settings.not_read_after_hours = 8760;
    store.create_tenant(&settings).await.unwrap().id
}

/// A polled instance first read at `when` with the license expiring at `expiry`.
async fn read_at(store: &dyn Store, t: TenantId, pbx: InstanceId, when: Timestamp, expiry: &str) {
    read_facts(store, t, pbx, when, facts("KEY-1", expiry)).await;
}

/// Records a successful read at `when` with these facts.
async fn read_facts(
    store: &dyn Store,
    t: TenantId,
    pbx: InstanceId,
    when: Timestamp,
    facts: runway_core::LicenseFacts,
) {
    let mut read = reading("2026-01-01T00:00:00Z", facts);
    read.read_at = when;
    let mut polled = attempt("2026-01-01T00:00:00Z");
    polled.started_at = when;
    store
        .record_reading(t, pbx, &read, Some(&polled), &[])
        .await
        .unwrap();
}

async fn open_alerts(store: &dyn Store, t: TenantId) -> Vec<runway_store::Alert> {
    store.alerts(t, &AlertFilter::default(), 100).await.unwrap()
}

async fn resolved_alerts(
    store: &dyn Store,
    t: TenantId,
    kind: Option<AlertKind>,
) -> Vec<runway_store::Alert> {
    let filter = AlertFilter {
        state: Some(AlertState::Resolved),
        kind,
        ..AlertFilter::default()
    };
    store.alerts(t, &filter, 10).await.unwrap()
}

async fn setup(h: &Harness, first_read: &str) -> (TenantId, InstanceId) {
    let store = h.store();
    let t = ny_tenant(store).await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", local(first_read)).await.id;
    read_at(store, t, pbx, local(first_read), EXPIRY).await;
    (t, pbx)
}

async fn a_series_fires_ten_three_one_and_lapse_once_each_on_the_local_day(h: Harness) {
    let (t, pbx) = setup(&h, "2026-03-01T09:00").await;
    let store = h.store();
    assert!(
        open_alerts(store, t).await.is_empty(),
        "19 days out: nothing"
    );
    // Each milestone fires on its local day, however often it is evaluated that day.
    let steps = [
        ("2026-03-09T23:59", None),
        (
            "2026-03-10T00:01",
            Some((Severity::Info, Stage::Milestone(10))),
        ),
        ("2026-03-10T18:00", None),
        ("2026-03-16T23:59", None),
        (
            "2026-03-17T00:00",
            Some((Severity::Warning, Stage::Milestone(3))),
        ),
        (
            "2026-03-19T00:00",
            Some((Severity::Critical, Stage::Milestone(1))),
        ),
        ("2026-03-19T12:00", None),
        ("2026-03-20T23:59", None),
        ("2026-03-21T00:00", Some((Severity::Critical, Stage::Lapse))),
        ("2026-03-25T00:00", None),
    ];
    for (when, expected) in steps {
        let changed = store.evaluate_alerts(local(when)).await.unwrap();
        assert_eq!(changed.fired, u64::from(expected.is_some()), "at {when}");
        if let Some((severity, stage)) = expected {
            let alerts = open_alerts(store, t).await;
            assert_eq!(
                alerts.len(),
                1,
                "one alert per series, escalating: {alerts:?}"
            );
            assert_eq!(
                (alerts[0].severity, alerts[0].stage),
                (severity, Some(stage))
            );
            assert_eq!(alerts[0].expiry_date.unwrap().to_string(), "2026-03-20");
            assert_eq!(alerts[0].instance_id, pbx);
        }
    }
    let (alert, timeline) = store
        .alert(t, open_alerts(store, t).await[0].id)
        .await
        .unwrap();
    let fired: Vec<&str> = timeline.iter().map(|e| e.stage.as_str()).collect();
    assert_eq!(
        fired,
        ["milestone:10", "milestone:3", "milestone:1", "lapse"]
    );
    assert_eq!(alert.days_left, Some(-1));
    // Reads of the same license change nothing either.
    read_at(store, t, pbx, local("2026-03-25T10:00"), EXPIRY).await;
    let (_, again) = store.alert(t, alert.id).await.unwrap();
    assert_eq!(again.len(), 4);
}

async fn catch_up_fires_only_the_nearest_milestone_and_the_skipped_never_fire(h: Harness) {
    // First seen two days before: the 3-day WARNING fires, the 10-day INFO is skipped.
    let (t, _) = setup(&h, "2026-03-18T08:00").await;
    let store = h.store();
    let alerts = open_alerts(store, t).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].stage, Some(Stage::Milestone(3)));
    assert_eq!(alerts[0].severity, Severity::Warning);
    let later = store
        .evaluate_alerts(local("2026-03-18T20:00"))
        .await
        .unwrap();
    assert_eq!(
        (later.fired, later.skipped),
        (0, 0),
        "the skipped 10-day never fires"
    );
    let next = store
        .evaluate_alerts(local("2026-03-19T00:00"))
        .await
        .unwrap();
    assert_eq!(next.fired, 1, "the 1-day still fires on its day");
}

async fn a_renewal_resolves_the_series_and_a_failed_read_never_does(h: Harness) {
    let (t, pbx) = setup(&h, "2026-03-17T08:00").await;
    let store = h.store();
    assert_eq!(open_alerts(store, t).await.len(), 1);
    let failed = attempt("2026-03-18T08:00:00Z");
    let error = AttemptError {
        kind: FailureKind::Timeout,
        message: "no answer".into(),
    };
    store
        .record_failure(t, pbx, &failed, &error, &[])
        .await
        .unwrap();
    let after_failure = open_alerts(store, t).await;
    assert_eq!(after_failure.len(), 1, "a failed read resolves nothing");
    assert_eq!(
        after_failure[0].expiry_date.unwrap().to_string(),
        "2026-03-20"
    );
    // Still reminded about on the right day while the PBX cannot be read.
    assert_eq!(
        store
            .evaluate_alerts(local("2026-03-19T00:00"))
            .await
            .unwrap()
            .fired,
        1
    );

    read_at(
        store,
        t,
        pbx,
        local("2026-03-19T10:00"),
        "2027-03-20T04:30:00Z",
    )
    .await;
    assert!(open_alerts(store, t).await.is_empty());
    let resolved = resolved_alerts(store, t, None).await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].resolution, Some(AlertResolution::Renewed));
    assert_eq!(
        resolved[0].resolution_note.as_deref(),
        Some("renewed: new expiry 2027-03-20")
    );
    assert!(resolved[0].resolved_at.is_some());
}

async fn a_date_moved_inside_the_window_supersedes_the_series_and_starts_the_new_one(h: Harness) {
    let (t, pbx) = setup(&h, "2026-03-17T08:00").await;
    let store = h.store();
    // A short extension: 5 days later is still inside the 10-day window.
    read_at(
        store,
        t,
        pbx,
        local("2026-03-18T08:00"),
        "2026-03-25T04:30:00Z",
    )
    .await;
    let all = resolved_alerts(store, t, None).await;
    assert_eq!(all[0].resolution, Some(AlertResolution::Superseded));
    let open = open_alerts(store, t).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].expiry_date.unwrap().to_string(), "2026-03-25");
    assert_eq!(
        open[0].stage,
        Some(Stage::Milestone(10)),
        "7 days out: the 10-day"
    );
}

async fn not_read_is_raised_once_and_resolves_on_the_next_successful_read(h: Harness) {
    let (t, pbx) = setup(&h, "2026-01-05T08:00").await;
    let store = h.store();
    let mut settings = store.tenant(t).await.unwrap().settings;
    settings.not_read_after_hours = runway_store::DEFAULT_NOT_READ_AFTER_HOURS;
    store.update_tenant(t, &settings).await.unwrap();
    let within = store
        .evaluate_alerts(local("2026-01-06T07:59"))
        .await
        .unwrap();
    assert_eq!(within.fired, 0, "24 hours are allowed");
    assert_eq!(
        store
            .evaluate_alerts(local("2026-01-06T08:01"))
            .await
            .unwrap()
            .fired,
        1
    );
    assert_eq!(
        store
            .evaluate_alerts(local("2026-01-07T08:01"))
            .await
            .unwrap()
            .fired,
        0,
        "once per spell"
    );
    let open = open_alerts(store, t).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, AlertKind::NotRead);
    assert_eq!(open[0].severity, Severity::Warning);
    assert_eq!(open[0].not_read_since, Some(local("2026-01-05T08:00")));

    read_at(store, t, pbx, local("2026-01-07T09:00"), EXPIRY).await;
    assert!(open_alerts(store, t).await.is_empty());
    let resolved = resolved_alerts(store, t, Some(AlertKind::NotRead)).await;
    assert_eq!(resolved[0].resolution, Some(AlertResolution::ReadAgain));
}

async fn acknowledging_holds_until_the_next_milestone_and_tenants_never_see_each_other(h: Harness) {
    let (t, _) = setup(&h, "2026-03-10T08:00").await;
    let store = h.store();
    let alert = open_alerts(store, t).await.remove(0);
    let acked = store
        .acknowledge_alert(t, alert.id, "tech@acme.example", local("2026-03-10T09:00"))
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged.as_ref().unwrap().1, "tech@acme.example");
    store
        .evaluate_alerts(local("2026-03-17T00:00"))
        .await
        .unwrap();
    let escalated = store.alert(t, alert.id).await.unwrap().0;
    assert_eq!(
        escalated.state,
        AlertState::Open,
        "a new milestone opens it again"
    );
    assert_eq!(escalated.severity, Severity::Warning);

    let other = crate::harness::tenant(store, "Other MSP").await;
    assert!(open_alerts(store, other).await.is_empty());
    crate::harness::assert_not_found(store.alert(other, alert.id).await);
    crate::harness::assert_not_found(
        store
            .acknowledge_alert(other, alert.id, "x", local("2026-03-17T01:00"))
            .await,
    );
}

async fn evaluations_racing_on_the_same_day_fire_each_stage_once(h: Harness) {
    let (t, pbx) = setup(&h, "2026-03-01T08:00").await;
    let store = h.store();
    let day = local("2026-03-10T06:00");
    let mut read = reading("2026-01-01T00:00:00Z", facts("KEY-1", EXPIRY));
    read.read_at = day;
    read.raw_body = None;
    let polled = runway_store::NewAttempt {
        started_at: day,
        duration: std::time::Duration::from_millis(5),
        trigger: Trigger::Schedule,
        clock_offset: None,
    };
    let (first, second, recorded, third) = tokio::join!(
        store.evaluate_alerts(day),
        store.evaluate_alerts(day),
        store.record_reading(t, pbx, &read, Some(&polled), &[]),
        store.evaluate_alerts(day),
    );
    recorded.unwrap();
    let fired: u64 = [first, second, third]
        .into_iter()
        .map(|r| r.unwrap().fired)
        .sum();
    assert!(fired <= 1, "{fired} evaluations fired the 10-day stage");
    let alert = open_alerts(store, t).await.remove(0);
    let (_, timeline) = store.alert(t, alert.id).await.unwrap();
    assert_eq!(timeline.len(), 1, "{timeline:?}");
}

async fn badges_count_each_instances_unresolved_alerts_with_the_most_severe(h: Harness) {
    let (t, stale) = setup(&h, "2026-03-10T08:00").await;
    let store = h.store();
    let c = customer(store, t, "Beta").await;
    let renewed = instance(store, t, c, "pbx-b", local("2026-03-10T08:00"))
        .await
        .id;
    read_at(store, t, renewed, local("2026-03-10T08:00"), EXPIRY).await;
    // pbx-b renews the next day, which resolves its reminder; pbx is not read again.
    read_at(
        store,
        t,
        renewed,
        local("2026-03-11T09:00"),
        "2027-03-20T04:30:00Z",
    )
    .await;
    let mut settings = store.tenant(t).await.unwrap().settings;
    settings.not_read_after_hours = 24;
    store.update_tenant(t, &settings).await.unwrap();
    store
        .evaluate_alerts(local("2026-03-12T08:00"))
        .await
        .unwrap();
    let reminder = open_alerts(store, t)
        .await
        .into_iter()
        .find(|alert| alert.kind == AlertKind::LicenseExpiry)
        .unwrap();
    // Acknowledged is still unresolved.
    store
        .acknowledge_alert(
            t,
            reminder.id,
            "tech@acme.example",
            local("2026-03-12T09:00"),
        )
        .await
        .unwrap();

    let badges = store.alert_badges(t).await.unwrap();
    assert_eq!(
        badges,
        vec![runway_store::AlertBadge {
            instance_id: stale,
            unresolved: 2,
            severity: Severity::Warning,
        }],
        "pbx's 10-day INFO and its WARNING \"not read\"; pbx-b's reminder resolved"
    );
    let other = crate::harness::tenant(store, "Other MSP").await;
    assert!(store.alert_badges(other).await.unwrap().is_empty());
}

async fn a_maintenance_date_runs_its_own_series_only_when_the_tenant_turns_it_on(h: Harness) {
    let store = h.store();
    let t = ny_tenant(store).await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", local("2026-03-01T09:00"))
        .await
        .id;
    // The license and its maintenance end on the same day: two series, one ledger.
    let mut both = facts("KEY-1", EXPIRY);
    both.maintenance_expiry = Some(EXPIRY.parse().unwrap());
    read_facts(store, t, pbx, local("2026-03-01T09:00"), both.clone()).await;

    let changed = store
        .evaluate_alerts(local("2026-03-10T00:01"))
        .await
        .unwrap();
    assert_eq!(
        changed.fired, 1,
        "off by default: the license's series only"
    );
    let kinds = |alerts: &[runway_store::Alert]| alerts.iter().map(|a| a.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(&open_alerts(store, t).await),
        [AlertKind::LicenseExpiry]
    );

    let mut settings = store.tenant(t).await.unwrap().settings;
    settings.maintenance_reminders = true;
    store.update_tenant(t, &settings).await.unwrap();
    let changed = store
        .evaluate_alerts(local("2026-03-10T00:02"))
        .await
        .unwrap();
    assert_eq!(changed.fired, 1, "the maintenance series starts at 10 days");
    let open = open_alerts(store, t).await;
    let maintenance = open
        .iter()
        .find(|a| a.kind == AlertKind::MaintenanceExpiry)
        .expect("a maintenance alert");
    assert_eq!(
        (
            maintenance.severity,
            maintenance.stage,
            maintenance.expiry_date
        ),
        (
            Severity::Info,
            Some(Stage::Milestone(10)),
            Some("2026-03-20".parse().unwrap())
        )
    );
    assert_eq!(
        store
            .evaluate_alerts(local("2026-03-10T12:00"))
            .await
            .unwrap()
            .fired,
        0
    );

    // Maintenance renewed a year on: its series resolves, the license's stays.
    let mut renewed = both.clone();
    renewed.maintenance_expiry = Some("2027-03-20T04:30:00Z".parse().unwrap());
    read_facts(store, t, pbx, local("2026-03-12T10:00"), renewed).await;
    assert_eq!(
        kinds(&open_alerts(store, t).await),
        [AlertKind::LicenseExpiry]
    );
    let resolved = resolved_alerts(store, t, Some(AlertKind::MaintenanceExpiry)).await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].resolution, Some(AlertResolution::Renewed));
    assert_eq!(
        resolved[0].resolution_note.as_deref(),
        Some("renewed: new maintenance date 2027-03-20")
    );
    // The renewal did not take: back to the old date, whose 10-day stage has fired already.
    read_facts(store, t, pbx, local("2026-03-13T10:00"), both).await;
    assert_eq!(
        kinds(&open_alerts(store, t).await),
        [AlertKind::LicenseExpiry]
    );

    // One day out: the license's reminder is CRITICAL, the maintenance's at most WARNING.
    let changed = store
        .evaluate_alerts(local("2026-03-19T00:00"))
        .await
        .unwrap();
    assert_eq!(
        (changed.fired, changed.skipped),
        (2, 2),
        "1 day fires, 3 days skipped"
    );
    let open = open_alerts(store, t).await;
    let severity = |kind| open.iter().find(|a| a.kind == kind).unwrap().severity;
    assert_eq!(severity(AlertKind::LicenseExpiry), Severity::Critical);
    assert_eq!(severity(AlertKind::MaintenanceExpiry), Severity::Warning);

    // The tenant turns the series off: its open alert resolves as such, and on again it
    // does not fire what has fired.
    settings.maintenance_reminders = false;
    store.update_tenant(t, &settings).await.unwrap();
    let changed = store
        .evaluate_alerts(local("2026-03-19T11:05"))
        .await
        .unwrap();
    assert_eq!(changed.resolved, 1);
    assert_eq!(
        kinds(&open_alerts(store, t).await),
        [AlertKind::LicenseExpiry]
    );
    let off = resolved_alerts(store, t, Some(AlertKind::MaintenanceExpiry)).await;
    assert_eq!(
        off[0].resolution,
        Some(AlertResolution::TurnedOff),
        "{off:?}"
    );
    assert_eq!(
        off[0].resolution_note.as_deref(),
        Some("maintenance expiry alerts turned off")
    );
    settings.maintenance_reminders = true;
    store.update_tenant(t, &settings).await.unwrap();
    let changed = store
        .evaluate_alerts(local("2026-03-19T11:10"))
        .await
        .unwrap();
    assert_eq!((changed.fired, changed.resolved), (0, 0));
}

async fn capacity_alerts_open_at_ninety_percent_and_resolve_when_seats_free_up(h: Harness) {
    let store = h.store();
    let t = ny_tenant(store).await;
    let mut settings = store.tenant(t).await.unwrap().settings;
    settings.capacity_alerts = true;
    store.update_tenant(t, &settings).await.unwrap();
    let quiet = ny_tenant_named(store, "Quiet MSP").await;
    let seats = |used: u32| {
        let mut f = facts("KEY-1", "2027-06-01T00:00:00Z");
        f.users_used = Some(used);
        f.users_licensed = Some(runway_core::LicensedUsers {
            count: 20,
            estimated: false,
        });
        f
    };
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", local("2026-03-01T09:00"))
        .await
        .id;
    let qc = customer(store, quiet, "Acme").await;
    let other = instance(store, quiet, qc, "pbx", local("2026-03-01T09:00"))
        .await
        .id;

    read_facts(store, t, pbx, local("2026-03-01T09:00"), seats(17)).await;
    assert!(open_alerts(store, t).await.is_empty(), "85%: nothing");
    read_facts(store, t, pbx, local("2026-03-02T09:00"), seats(18)).await;
    read_facts(store, quiet, other, local("2026-03-02T09:00"), seats(19)).await;
    let open = open_alerts(store, t).await;
    assert_eq!(open.len(), 1, "90%: one alert");
    assert_eq!(
        (open[0].kind, open[0].severity),
        (AlertKind::Capacity, Severity::Info)
    );
    assert!(
        open_alerts(store, quiet).await.is_empty(),
        "off by default: a tenant that did not turn it on hears nothing"
    );
    read_facts(store, t, pbx, local("2026-03-03T09:00"), seats(20)).await;
    assert_eq!(
        store
            .evaluate_alerts(local("2026-03-03T10:00"))
            .await
            .unwrap()
            .fired,
        0
    );
    assert_eq!(
        open_alerts(store, t).await.len(),
        1,
        "still the one alert at 100%"
    );

    read_facts(store, t, pbx, local("2026-03-04T09:00"), seats(12)).await;
    assert!(open_alerts(store, t).await.is_empty());
    let resolved = resolved_alerts(store, t, Some(AlertKind::Capacity)).await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].resolution, Some(AlertResolution::Headroom));
    assert_eq!(
        resolved[0].resolution_note.as_deref(),
        Some("headroom: 12 of 20 users (60%)")
    );
}

conformance!(
    a_series_fires_ten_three_one_and_lapse_once_each_on_the_local_day,
    catch_up_fires_only_the_nearest_milestone_and_the_skipped_never_fire,
    a_renewal_resolves_the_series_and_a_failed_read_never_does,
    a_date_moved_inside_the_window_supersedes_the_series_and_starts_the_new_one,
    not_read_is_raised_once_and_resolves_on_the_next_successful_read,
    acknowledging_holds_until_the_next_milestone_and_tenants_never_see_each_other,
    evaluations_racing_on_the_same_day_fire_each_stage_once,
    badges_count_each_instances_unresolved_alerts_with_the_most_severe,
    a_maintenance_date_runs_its_own_series_only_when_the_tenant_turns_it_on,
    capacity_alerts_open_at_ninety_percent_and_resolve_when_seats_free_up,
);
