//! Delivery: the outbox rows an alert decision queues (one per routed channel, with a stable
//! idempotency key), claiming them with leases in order per series, retries, escalation and
//! its cancellation, routing rules, and tenants kept apart.

use std::time::Duration;

use jiff::Timestamp;
use runway_core::Severity;
use runway_store::{
    AlertFilter, AttemptOutcome, ChannelKind, ChannelSettings, DeliveryFilter, DeliveryState,
    DueDelivery, EscalationLevel, InstanceId, NewChannel, NewEscalation, NewRoute, NoticeAction,
    PsaSettings, Store, TenantId,
};

use crate::harness::{
    Harness, assert_invalid, assert_not_found, at, attempt, customer, facts, instance, reading,
    tenant,
};

const EXPIRY: &str = "2026-03-20T12:00:00Z";

async fn channel(store: &dyn Store, t: TenantId, name: &str, secret: Option<&str>) -> i64 {
    let settings = ChannelSettings {
        url: Some("http://127.0.0.1:9/hook".to_owned()),
        ..ChannelSettings::default()
    };
    store
        .create_channel(
            t,
            &NewChannel {
                name: name.to_owned(),
                kind: if secret.is_some() {
                    ChannelKind::Webhook
                } else {
                    ChannelKind::Log
                },
                settings,
                secret: secret.map(str::to_owned),
            },
            at("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap()
        .id
        .0
}

/// The tenant's "Ops webhook" (with a signing secret) and "Log" channels.
async fn webhook_and_log(store: &dyn Store, t: TenantId) -> (i64, i64) {
    let hook = channel(
        store,
        t,
        "Ops webhook",
        Some("whsec_dGVzdC1zZWNyZXQtb2YtMjQtYnl0ZXMh"),
    )
    .await;
    (hook, channel(store, t, "Log", None).await)
}

/// Records a read of the instance at `when` with the license expiring at `expiry`.
async fn read(store: &dyn Store, t: TenantId, pbx: InstanceId, when: Timestamp, expiry: &str) {
    let mut r = reading("2026-01-01T00:00:00Z", facts("KEY-1", expiry));
    r.read_at = when;
    let mut a = attempt("2026-01-01T00:00:00Z");
    a.started_at = when;
    store
        .record_reading(t, pbx, &r, Some(&a), &[])
        .await
        .unwrap();
}

async fn setup(h: &Harness) -> (TenantId, InstanceId) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let mut settings = store.tenant(t).await.unwrap().settings;
    settings.not_read_after_hours = 8760;
    store.update_tenant(t, &settings).await.unwrap();
    let c = customer(store, t, "Harbor Dental").await;
    let pbx = instance(store, t, c, "main-office", at("2026-03-01T00:00:00Z"))
        .await
        .id;
    (t, pbx)
}

async fn claim(store: &dyn Store, when: &str) -> Vec<DueDelivery> {
    store
        .claim_deliveries(at(when), "node-a", Duration::from_mins(2), 100)
        .await
        .unwrap()
}

async fn sent(store: &dyn Store, due: &DueDelivery, when: &str) {
    store
        .finish_delivery(
            &due.delivery,
            &AttemptOutcome::Sent { reference: None },
            at(when),
        )
        .await
        .unwrap();
}

async fn a_fired_alert_queues_one_delivery_per_channel_and_its_resolve_follows(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    let (hook, log) = webhook_and_log(store, t).await;
    read(store, t, pbx, at("2026-03-12T15:00:00Z"), EXPIRY).await;

    let due = claim(store, "2026-03-12T15:00:01Z").await;
    assert_eq!(due.len(), 2, "one row per channel: {due:?}");
    let mut channels: Vec<i64> = due.iter().map(|d| d.delivery.channel_id.0).collect();
    channels.sort_unstable();
    assert_eq!(channels, {
        let mut c = vec![hook, log];
        c.sort_unstable();
        c
    });
    let notice = &due[0].delivery.notice;
    assert_eq!(notice.action, NoticeAction::Trigger);
    assert_eq!(notice.stage, "milestone:10");
    assert_eq!(notice.severity, Severity::Info);
    assert_eq!(notice.customer_name, "Harbor Dental");
    assert_eq!(notice.instance_name, "main-office");
    assert_eq!(notice.license_key.as_deref(), Some("KEY-1"));
    assert_eq!(notice.expiry_date.unwrap().to_string(), "2026-03-20");
    assert!(notice.renew_url.as_deref().unwrap().contains("KEY-1"));
    assert_eq!(
        due[1].delivery.notice.idempotency_key, notice.idempotency_key,
        "the same notification has the same key on every channel"
    );
    let webhook = due
        .iter()
        .find(|d| d.delivery.channel_id.0 == hook)
        .unwrap();
    assert_eq!(
        webhook.target.secret.as_deref(),
        Some("whsec_dGVzdC1zZWNyZXQtb2YtMjQtYnl0ZXMh"),
        "the worker gets the channel's secret opened"
    );
    assert!(
        claim(store, "2026-03-12T15:00:02Z").await.is_empty(),
        "leased rows are not handed out twice"
    );
    for d in &due {
        sent(store, d, "2026-03-12T15:00:03Z").await;
    }

    // The renewal resolves the series: a resolve to both channels that got the trigger.
    read(
        store,
        t,
        pbx,
        at("2026-03-13T15:00:00Z"),
        "2027-03-20T12:00:00Z",
    )
    .await;
    let resolves = claim(store, "2026-03-13T15:00:01Z").await;
    assert_eq!(resolves.len(), 2);
    for r in &resolves {
        assert_eq!(r.delivery.notice.action, NoticeAction::Resolve);
        assert!(r.delivery.notice.idempotency_key.ends_with(":resolve:1"));
        assert_eq!(
            r.delivery.notice.resolution_note.as_deref(),
            Some("renewed: new expiry 2027-03-20")
        );
        assert_eq!(r.delivery.notice.series_key, notice.series_key);
    }
    // Reading the renewed license again queues nothing more.
    read(
        store,
        t,
        pbx,
        at("2026-03-14T15:00:00Z"),
        "2027-03-20T12:00:00Z",
    )
    .await;
    for r in &resolves {
        sent(store, r, "2026-03-14T15:00:01Z").await;
    }
    assert!(claim(store, "2026-03-14T15:00:02Z").await.is_empty());
    let alert = store
        .alerts(
            t,
            &AlertFilter {
                state: Some(runway_store::AlertState::Resolved),
                ..AlertFilter::default()
            },
            10,
        )
        .await
        .unwrap()
        .remove(0);
    let listed = store
        .deliveries(
            t,
            &DeliveryFilter {
                alert: Some(alert.id),
                state: None,
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|d| d.state == DeliveryState::Sent));
}

async fn a_resolve_never_overtakes_its_trigger_and_retries_wait_their_turn(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    channel(store, t, "Log", None).await;
    read(store, t, pbx, at("2026-03-17T15:00:00Z"), EXPIRY).await;
    let first = claim(store, "2026-03-17T15:00:01Z").await;
    assert_eq!(first.len(), 1);
    // The receiver is down: retry in ten minutes.
    store
        .finish_delivery(
            &first[0].delivery,
            &AttemptOutcome::Retry {
                retry_at: at("2026-03-17T15:10:00Z"),
                error: "503 Service Unavailable".to_owned(),
            },
            at("2026-03-17T15:00:02Z"),
        )
        .await
        .unwrap();
    // Meanwhile the license is renewed: the resolve is queued behind the trigger.
    read(
        store,
        t,
        pbx,
        at("2026-03-17T15:05:00Z"),
        "2027-03-20T12:00:00Z",
    )
    .await;
    assert!(
        claim(store, "2026-03-17T15:05:01Z").await.is_empty(),
        "the resolve waits for its trigger, which waits for its retry"
    );
    let retried = claim(store, "2026-03-17T15:10:00Z").await;
    assert_eq!(retried.len(), 1, "only the trigger: {retried:?}");
    assert_eq!(retried[0].delivery.notice.action, NoticeAction::Trigger);
    assert_eq!(retried[0].delivery.attempts, 1);
    assert_eq!(
        retried[0].delivery.last_error.as_deref(),
        Some("503 Service Unavailable")
    );
    assert_eq!(
        retried[0].delivery.notice.idempotency_key, first[0].delivery.notice.idempotency_key,
        "a retry carries the same key"
    );
    sent(store, &retried[0], "2026-03-17T15:10:01Z").await;
    let resolve = claim(store, "2026-03-17T15:10:02Z").await;
    assert_eq!(resolve.len(), 1);
    assert_eq!(resolve[0].delivery.notice.action, NoticeAction::Resolve);

    // A node that dies with a lease lets it lapse; another node then takes the row.
    assert!(claim(store, "2026-03-17T15:11:00Z").await.is_empty());
    let again = store
        .claim_deliveries(
            at("2026-03-17T15:12:03Z"),
            "node-b",
            Duration::from_mins(2),
            10,
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "the lapsed lease is handed to another node");
    assert_eq!(again[0].delivery.id, resolve[0].delivery.id);
}

async fn routing_rules_pick_channels_by_kind_severity_and_customer(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    let chat = channel(store, t, "Chat", None).await;
    let pager = channel(store, t, "Pager", None).await;
    store
        .create_route(
            t,
            &NewRoute {
                kind: None,
                min_severity: Severity::Info,
                customer_id: None,
                channel_id: runway_store::ChannelId(chat),
            },
            at("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .create_route(
            t,
            &NewRoute {
                kind: Some(runway_store::AlertKind::LicenseExpiry),
                min_severity: Severity::Critical,
                customer_id: None,
                channel_id: runway_store::ChannelId(pager),
            },
            at("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    read(store, t, pbx, at("2026-03-12T15:00:00Z"), EXPIRY).await;
    let info = claim(store, "2026-03-12T15:00:01Z").await;
    assert_eq!(
        info.iter()
            .map(|d| d.delivery.channel_id.0)
            .collect::<Vec<_>>(),
        [chat],
        "INFO goes to the chat only"
    );
    sent(store, &info[0], "2026-03-12T15:00:02Z").await;
    store
        .evaluate_alerts(at("2026-03-19T05:00:00Z"))
        .await
        .unwrap();
    let critical = claim(store, "2026-03-19T05:00:01Z").await;
    let mut channels: Vec<i64> = critical.iter().map(|d| d.delivery.channel_id.0).collect();
    channels.sort_unstable();
    assert_eq!(
        channels,
        [chat.min(pager), chat.max(pager)],
        "CRITICAL also pages"
    );

    // A rule for another tenant's channel is refused as unknown.
    let other = tenant(store, "Other MSP").await;
    assert_not_found(
        store
            .create_route(
                other,
                &NewRoute {
                    kind: None,
                    min_severity: Severity::Info,
                    customer_id: None,
                    channel_id: runway_store::ChannelId(chat),
                },
                at("2026-01-01T00:00:00Z"),
            )
            .await,
    );
}

async fn escalation_waits_and_acknowledging_cancels_it(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    let chat = channel(store, t, "Chat", None).await;
    let pager = channel(store, t, "Pager", None).await;
    assert_invalid(
        store
            .create_escalation(
                t,
                &NewEscalation {
                    name: "Empty".to_owned(),
                    min_severity: Severity::Info,
                    levels: Vec::new(),
                },
                at("2026-01-01T00:00:00Z"),
            )
            .await,
        "levels",
    );
    store
        .create_escalation(
            t,
            &NewEscalation {
                name: "Wake someone".to_owned(),
                min_severity: Severity::Warning,
                levels: vec![EscalationLevel {
                    after_minutes: 30,
                    channel_id: runway_store::ChannelId(pager),
                }],
            },
            at("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    // A WARNING at 3 days: both channels now (no rules: every channel), the pager again in
    // 30 minutes unless someone acknowledges.
    read(store, t, pbx, at("2026-03-17T15:00:00Z"), EXPIRY).await;
    let now = claim(store, "2026-03-17T15:00:01Z").await;
    assert_eq!(now.len(), 2);
    for d in &now {
        sent(store, d, "2026-03-17T15:00:02Z").await;
    }
    assert!(claim(store, "2026-03-17T15:29:00Z").await.is_empty());
    let escalated = claim(store, "2026-03-17T15:30:00Z").await;
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0].delivery.channel_id.0, pager);
    assert_eq!(escalated[0].delivery.escalation_level, Some(1));
    sent(store, &escalated[0], "2026-03-17T15:30:01Z").await;

    // The 1-day CRITICAL queues a new level; acknowledging cancels it.
    store
        .evaluate_alerts(at("2026-03-19T05:00:00Z"))
        .await
        .unwrap();
    for d in &claim(store, "2026-03-19T05:00:01Z").await {
        sent(store, d, "2026-03-19T05:00:02Z").await;
    }
    let alert = store
        .alerts(t, &AlertFilter::default(), 10)
        .await
        .unwrap()
        .remove(0);
    store
        .acknowledge_alert(t, alert.id, "tech@acme.test", at("2026-03-19T05:10:00Z"))
        .await
        .unwrap();
    assert!(
        claim(store, "2026-03-19T06:00:00Z").await.is_empty(),
        "acknowledged: no escalation"
    );
    let cancelled = store
        .deliveries(
            t,
            &DeliveryFilter {
                alert: Some(alert.id),
                state: Some(DeliveryState::Cancelled),
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].channel_id.0, pager);
    let _ = chat;
}

async fn failed_deliveries_are_retried_by_hand_within_the_tenant_only(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    let hook = channel(
        store,
        t,
        "Hook",
        Some("whsec_dGVzdC1zZWNyZXQtb2YtMjQtYnl0ZXMh"),
    )
    .await;
    read(store, t, pbx, at("2026-03-12T15:00:00Z"), EXPIRY).await;
    let due = claim(store, "2026-03-12T15:00:01Z").await;
    store
        .finish_delivery(
            &due[0].delivery,
            &AttemptOutcome::Failed {
                error: "410 Gone: endpoint disabled".to_owned(),
            },
            at("2026-03-12T15:00:02Z"),
        )
        .await
        .unwrap();
    assert!(
        claim(store, "2026-03-13T00:00:00Z").await.is_empty(),
        "failed rows wait for a hand"
    );
    let depth = store
        .outbox_depth(at("2026-03-13T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!((depth.due, depth.failed), (0, 1));
    let counts = store.delivery_counts(t).await.unwrap();
    assert_eq!(counts.failed, 1, "{counts:?}");
    assert_eq!(counts.sent, 0, "{counts:?}");

    let other = tenant(store, "Other MSP").await;
    assert_eq!(
        store.delivery_counts(other).await.unwrap(),
        runway_store::DeliveryCounts::default(),
        "another tenant's outbox is its own"
    );
    assert_not_found(
        store
            .retry_delivery(other, due[0].delivery.id, at("2026-03-13T00:00:00Z"))
            .await,
    );
    assert_not_found(
        store
            .channel_target(other, runway_store::ChannelId(hook))
            .await,
    );
    assert!(store.channels(other).await.unwrap().is_empty());
    assert_not_found(
        store
            .delete_channel(other, runway_store::ChannelId(hook))
            .await,
    );

    let retried = store
        .retry_delivery(t, due[0].delivery.id, at("2026-03-13T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(retried.state, DeliveryState::Pending);
    let again = claim(store, "2026-03-13T00:00:01Z").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.attempts, 1);
    assert_eq!(
        again[0].delivery.last_error.as_deref(),
        Some("410 Gone: endpoint disabled")
    );
    // Retrying a row that is not failed is a conflict, not a second send.
    assert!(matches!(
        store
            .retry_delivery(t, due[0].delivery.id, at("2026-03-13T00:00:02Z"))
            .await,
        Ok(d) if d.state == DeliveryState::Pending
    ));
    sent(store, &again[0], "2026-03-13T00:00:03Z").await;
    assert!(
        store
            .retry_delivery(t, due[0].delivery.id, at("2026-03-13T00:00:04Z"))
            .await
            .is_err()
    );
}

async fn nodes_claiming_at_once_each_get_different_rows(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    channel(store, t, "Log", None).await;
    let c = customer(store, t, "Harbor Dental").await;
    for n in 0..20 {
        let pbx = instance(store, t, c, &format!("pbx-{n}"), at("2026-03-01T00:00:00Z"))
            .await
            .id;
        read(store, t, pbx, at("2026-03-12T15:00:00Z"), EXPIRY).await;
    }
    let second = h.second_node().await;
    let when = at("2026-03-12T15:00:01Z");
    let (on_a, on_b) = tokio::join!(
        store.claim_deliveries(when, "node-a", Duration::from_mins(2), 15),
        second.claim_deliveries(when, "node-b", Duration::from_mins(2), 15),
    );
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    let mut ids: Vec<i64> = on_a.iter().chain(&on_b).map(|d| d.delivery.id.0).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a row went to both nodes");
    assert_eq!(total, 20);
}

async fn an_open_alerts_last_trigger_is_re_sent_to_alertmanager_until_it_resolves(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    let alertmanager = store
        .create_channel(
            t,
            &NewChannel {
                name: "Alertmanager".to_owned(),
                kind: ChannelKind::Alertmanager,
                settings: ChannelSettings {
                    url: Some("http://127.0.0.1:9".to_owned()),
                    ..ChannelSettings::default()
                },
                secret: None,
            },
            at("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap()
        .id;
    channel(store, t, "Log", None).await;
    read(store, t, pbx, at("2026-03-12T15:00:00Z"), EXPIRY).await;
    for d in claim(store, "2026-03-12T15:00:01Z").await {
        sent(store, &d, "2026-03-12T15:00:02Z").await;
    }
    let resends = |when: &'static str| async move {
        store
            .claim_resends(
                at(when),
                ChannelKind::Alertmanager,
                Duration::from_mins(15),
                100,
            )
            .await
            .unwrap()
    };
    assert!(
        resends("2026-03-12T15:10:00Z").await.is_empty(),
        "not due yet"
    );
    let due = resends("2026-03-12T15:15:02Z").await;
    assert_eq!(due.len(), 1, "only the Alertmanager channel's: {due:?}");
    assert_eq!(due[0].delivery.channel_id, alertmanager);
    assert_eq!(due[0].delivery.notice.stage, "milestone:10");
    assert_eq!(due[0].delivery.state, DeliveryState::Sent);
    assert!(
        resends("2026-03-12T15:15:03Z").await.is_empty(),
        "claimed once, by one node"
    );
    assert_eq!(
        resends("2026-03-12T15:30:02Z").await.len(),
        1,
        "a quarter hour on"
    );

    // The series escalates: while the 3-day trigger waits, the 10-day one is not re-sent;
    // once it went out, only it is.
    read(store, t, pbx, at("2026-03-17T15:00:00Z"), EXPIRY).await;
    assert!(resends("2026-03-17T15:00:01Z").await.is_empty());
    for d in claim(store, "2026-03-17T15:00:01Z").await {
        sent(store, &d, "2026-03-17T15:00:02Z").await;
    }
    let due = resends("2026-03-17T15:15:02Z").await;
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].delivery.notice.stage, "milestone:3");

    // Renewed: a resolved alert is never re-sent.
    read(
        store,
        t,
        pbx,
        at("2026-03-17T16:00:00Z"),
        "2027-03-20T12:00:00Z",
    )
    .await;
    assert!(resends("2026-03-18T00:00:00Z").await.is_empty());
}

/// A PSA channel whose credentials were rejected: its rows wait unclaimed, the tenant's other
/// (non-PSA) channels get one "problem" row each, once, and saving the channel with new
/// credentials lets the waiting rows go. Another tenant can neither resume nor edit it.
async fn a_paused_channel_holds_its_deliveries_and_the_others_hear_of_it(h: Harness) {
    let (t, pbx) = setup(&h).await;
    let store = h.store();
    let (hook, log) = webhook_and_log(store, t).await;
    let settings = ChannelSettings {
        psa: Some(PsaSettings {
            site: "na.myconnectwise.net".to_owned(),
            ..PsaSettings::default()
        }),
        ..ChannelSettings::default()
    };
    let psa = store
        .create_channel(
            t,
            &NewChannel {
                name: "ConnectWise".to_owned(),
                kind: ChannelKind::Connectwise,
                settings: settings.clone(),
                secret: Some("old-private-key".to_owned()),
            },
            at("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap()
        .id;
    read(store, t, pbx, at("2026-03-12T15:00:00Z"), EXPIRY).await;
    let due = claim(store, "2026-03-12T15:00:01Z").await;
    assert_eq!(due.len(), 3, "{due:?}");
    let (to_psa, others): (Vec<_>, Vec<_>) =
        due.into_iter().partition(|d| d.delivery.channel_id == psa);
    for d in &others {
        sent(store, d, "2026-03-12T15:00:02Z").await;
    }
    let mut problem = to_psa[0].delivery.notice.clone();
    problem.action = NoticeAction::Problem;
    problem.alert_id = None;
    problem.idempotency_key = format!("runway:t{}:channel:c{}:rejected:1", t.0, psa.0);
    problem.series_key = format!("runway:t{}:channel:c{}", t.0, psa.0);
    let paused_at = at("2026-03-12T15:00:02Z");
    assert!(
        store
            .pause_channel(t, psa, "HTTP 401 Unauthorized", &problem, paused_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .pause_channel(t, psa, "HTTP 401 Unauthorized", &problem, paused_at)
            .await
            .unwrap(),
        "a paused channel is paused once and its problem told once"
    );
    store
        .finish_delivery(
            &to_psa[0].delivery,
            &AttemptOutcome::Retry {
                retry_at: paused_at,
                error: "HTTP 401 Unauthorized".to_owned(),
            },
            paused_at,
        )
        .await
        .unwrap();
    let listed = store.channels(t).await.unwrap();
    let paused = listed.iter().find(|c| c.id == psa).unwrap();
    assert_eq!(
        paused.paused,
        Some((paused_at, "HTTP 401 Unauthorized".to_owned()))
    );

    let told = claim(store, "2026-03-12T15:00:03Z").await;
    let mut channels: Vec<i64> = told.iter().map(|d| d.delivery.channel_id.0).collect();
    channels.sort_unstable();
    assert_eq!(
        channels,
        {
            let mut c = vec![hook, log];
            c.sort_unstable();
            c
        },
        "the problem goes to the other channels, and the paused channel's row waits"
    );
    for d in &told {
        assert_eq!(d.delivery.notice.action, NoticeAction::Problem);
        assert_eq!(d.delivery.notice.alert_id, None);
        sent(store, d, "2026-03-12T15:00:04Z").await;
    }
    assert!(claim(store, "2026-03-12T15:05:00Z").await.is_empty());

    let other = tenant(store, "Other MSP").await;
    assert_not_found(store.resume_channel(other, psa).await);
    assert_not_found(store.update_channel(other, psa, &settings, None).await);
    let saved = store
        .update_channel(t, psa, &settings, Some("new-private-key"))
        .await
        .unwrap();
    assert_eq!(saved.paused, None, "saving the channel lifts the pause");
    let waited = claim(store, "2026-03-12T15:06:00Z").await;
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert_eq!(waited[0].delivery.id, to_psa[0].delivery.id);
    assert_eq!(waited[0].target.secret.as_deref(), Some("new-private-key"));
}

conformance!(
    a_fired_alert_queues_one_delivery_per_channel_and_its_resolve_follows,
    a_resolve_never_overtakes_its_trigger_and_retries_wait_their_turn,
    routing_rules_pick_channels_by_kind_severity_and_customer,
    escalation_waits_and_acknowledging_cancels_it,
    failed_deliveries_are_retried_by_hand_within_the_tenant_only,
    nodes_claiming_at_once_each_get_different_rows,
    an_open_alerts_last_trigger_is_re_sent_to_alertmanager_until_it_resolves,
    a_paused_channel_holds_its_deliveries_and_the_others_hear_of_it,
);
