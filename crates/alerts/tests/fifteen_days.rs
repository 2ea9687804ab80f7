//! The "done when" of reminders: a simulated fleet run through fifteen days of moved time, in
//! a New York tenant across the switch to daylight saving time, produces exactly the expected
//! notifications on each channel — no more, no fewer — including the resolve after a Refresh
//! finds a renewal. Then a receiver outage and a crash between deciding and sending: every
//! notification still arrives, in order per series, with the same idempotency key on retries.

#![allow(clippy::unwrap_used, reason = "a panic is a failed test")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;
use runway_alerts::{Worker, WorkerConfig};
use runway_clock::ManualClock;
use runway_engine::{Engine, EngineConfig, SchedulePolicy};
use runway_sim::{Scenario, ScenarioFormat, Scheme, SimOptions, SimServer};
use runway_store::{
    ChannelKind, ChannelSettings, InstanceId, NewChannel, TenantId, TenantSettings, Trigger,
};
use runway_testkit::receivers::{PagerDutyReceiver, WebhookReceiver};
use runway_testkit::{Backend, TestDb};
use runway_threecx::{NetworkPolicy, ReadLimits};

const ZONE: &str = "America/New_York";
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ROUTING_KEY: &str = "e93facc04764012d7bfb002500d5d1a6";

/// Noon on 5 March 2026 in New York: daylight saving time starts on the 8th.
const START: &str = "2026-03-05T12:00";

fn local(wall: DateTime) -> Timestamp {
    runway_core::Zone::parse(ZONE)
        .unwrap()
        .time_zone()
        .to_timestamp(wall)
        .unwrap()
}

/// A day of the run at a local wall-clock time.
fn day_at(day: i64, hour: i8, minute: i8) -> Timestamp {
    let start: DateTime = START.parse().unwrap();
    let date = start
        .date()
        .checked_add(jiff::Span::new().days(day))
        .unwrap();
    local(date.at(hour, minute, 0, 0))
}

fn pbx(id: &str, expiry: &str, extra: &str) -> String {
    format!(
        r#"
[[pbx]]
id = "{id}"
customer = "Customer {id}"
name = "{id}"
version = "20.0.10.1109"
login = {{ kind = "client_credentials", client_id = "runway", client_secret = "secret-{id}" }}
product_code = "3CXPSPROFENTSPLA"
expiry = "{expiry}"
max_sim_calls = 16
users = 20
latency = "1..5"
{extra}
"#
    )
}

/// The run's two channels: the Standard Webhooks receiver and PagerDuty.
async fn add_channels(
    db: &TestDb,
    tenant: TenantId,
    webhook: &WebhookReceiver,
    pagerduty: &PagerDutyReceiver,
    now: Timestamp,
) {
    for (name, kind, settings, secret) in [
        (
            "Ops webhook",
            ChannelKind::Webhook,
            ChannelSettings {
                url: Some(webhook.url()),
                ..ChannelSettings::default()
            },
            SECRET,
        ),
        (
            "PagerDuty",
            ChannelKind::Pagerduty,
            ChannelSettings {
                url: Some(pagerduty.url()),
                ..ChannelSettings::default()
            },
            ROUTING_KEY,
        ),
    ] {
        db.store
            .create_channel(
                tenant,
                &NewChannel {
                    name: name.to_owned(),
                    kind,
                    settings,
                    secret: Some(secret.to_owned()),
                },
                now,
            )
            .await
            .unwrap();
    }
}

struct Run {
    db: TestDb,
    sim: runway_sim::SimHandle,
    clock: Arc<ManualClock>,
    engine: Engine,
    worker: Worker,
    tenant: TenantId,
    ids: HashMap<String, InstanceId>,
    webhook: WebhookReceiver,
    pagerduty: PagerDutyReceiver,
}

impl Run {
    async fn start(backend: Backend) -> Option<Run> {
        let db = TestDb::new(backend).await?;
        let now = day_at(0, 12, 0);
        let toml = [
            pbx("soon", "+4d", ""),
            pbx(
                "renewing",
                "+12d",
                r#"renewal = { expiry = "+377d", maintenance_expiry = "+377d" }"#,
            ),
            pbx("later", "+20d", ""),
            pbx("fine", "+200d", ""),
        ]
        .concat();
        let scenario = Scenario::parse(&toml, ScenarioFormat::Toml, "test.toml", now).unwrap();
        runway_testkit::secrets::scenario(&scenario);
        runway_testkit::secrets::used(SECRET);
        runway_testkit::secrets::used(ROUTING_KEY);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = SimServer::start(scenario.clone(), SimOptions::default())
            .await
            .unwrap();
        let mut settings = TenantSettings::new("Acme MSP");
        settings.zone = runway_core::Zone::parse(ZONE).unwrap();
        let tenant = db.store.create_tenant(&settings).await.unwrap().id;
        let loaded = runway_sim_fleet::load_sim_fleet(
            &*db.store,
            tenant,
            &sim,
            &scenario,
            Scheme::Https,
            now,
        )
        .await
        .unwrap();
        let ids = loaded
            .into_iter()
            .map(|pbx| (pbx.pbx_id, pbx.instance))
            .collect();
        let clock = Arc::new(ManualClock::new(now));
        // The receiver checks each signature's timestamp against the run's moved clock.
        let webhook = WebhookReceiver::start_with_clock(SECRET, clock.clone()).await;
        let pagerduty = PagerDutyReceiver::start().await;
        add_channels(&db, tenant, &webhook, &pagerduty, now).await;
        let engine = Engine::new(
            Arc::clone(&db.store),
            clock.clone(),
            EngineConfig {
                node_id: "node-a".to_owned(),
                read_limits: ReadLimits {
                    timeout: Duration::from_secs(5),
                    ..ReadLimits::default()
                },
                schedule: SchedulePolicy {
                    jitter: 0.0,
                    ..SchedulePolicy::default()
                },
                network: NetworkPolicy::allowing_loopback(),
                ..EngineConfig::default()
            },
        );
        let worker = Worker::new(
            Arc::clone(&db.store),
            clock.clone(),
            runway_alerts::http_client().unwrap(),
            WorkerConfig::new("node-a"),
        );
        Some(Run {
            db,
            sim,
            clock,
            engine,
            worker,
            tenant,
            ids,
            webhook,
            pagerduty,
        })
    }

    /// Moves the clock to `at`, lets the tick evaluate and the worker deliver what is due.
    async fn tick(&self, at: Timestamp) {
        self.clock.set(at);
        self.db.store.evaluate_alerts(at).await.unwrap();
        self.deliver().await;
    }

    /// Moves the clock to `at`, reads every due PBX, then ticks.
    async fn poll(&self, at: Timestamp) {
        self.clock.set(at);
        let report = self.engine.run_due().await;
        assert_eq!(report.failed, 0, "{report:?}");
        self.tick(at).await;
    }

    async fn deliver(&self) {
        loop {
            let report = self.worker.deliver_due().await.unwrap();
            if report.claimed == 0 {
                break;
            }
        }
    }

    /// The webhook's processed events as (instance, type, stage).
    fn webhook_seen(&self) -> Vec<(String, String, String)> {
        self.webhook
            .received()
            .iter()
            .map(|e| {
                (
                    e.payload["data"]["instance_name"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    e.payload["type"].as_str().unwrap().to_owned(),
                    e.payload["data"]["stage"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// PagerDuty's events as (dedup key's instance, action, severity).
    fn pagerduty_seen(&self) -> Vec<(String, String, String)> {
        let by_id: HashMap<i64, &String> = self.ids.iter().map(|(k, v)| (v.0, k)).collect();
        self.pagerduty
            .events()
            .iter()
            .map(|e| {
                let key = e.dedup_key.as_str();
                let instance: i64 = key
                    .split(':')
                    .find_map(|part| part.strip_prefix('i').and_then(|n| n.parse().ok()))
                    .unwrap();
                (
                    by_id[&instance].clone(),
                    e.action.clone(),
                    e.body["payload"]["severity"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )
            })
            .collect()
    }
}

fn seen(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

async fn fifteen_days_of_a_fleet_send_exactly_the_expected_notifications(backend: Backend) {
    let Some(run) = Run::start(backend).await else {
        return;
    };
    for day in 0..=15 {
        // Local midnight fires the day's milestones without waiting for a read...
        run.tick(day_at(day, 0, 1)).await;
        // ...and the day's read finds the same license (or, on day 5, a renewal: Refresh).
        run.poll(day_at(day, 12, 0)).await;
        if day == 5 {
            let outcome = run
                .engine
                .read_instance(run.tenant, run.ids["renewing"], Trigger::Refresh)
                .await
                .unwrap();
            assert!(outcome.succeeded());
            run.tick(day_at(day, 12, 5)).await;
        }
    }
    let expected_webhook = seen(&[
        // Day 0, first read: 4 days left, so the 10-day INFO (catch-up skips nothing yet).
        ("soon", "alert.triggered", "milestone:10"),
        // Day 1, 00:01: 3 days left.
        ("soon", "alert.triggered", "milestone:3"),
        // Day 2, 00:01: 10 days left.
        ("renewing", "alert.triggered", "milestone:10"),
        // Day 3, 00:01: 1 day left (across the DST change of the 8th).
        ("soon", "alert.triggered", "milestone:1"),
        // Day 5, 00:01: the expiry date has passed.
        ("soon", "alert.triggered", "lapse"),
        // Day 5, Refresh: 3CX had a renewal.
        ("renewing", "alert.resolved", "milestone:10"),
        // Day 10, 00:01: 10 days left.
        ("later", "alert.triggered", "milestone:10"),
    ]);
    assert_eq!(run.webhook_seen(), expected_webhook);
    let expected_pagerduty = seen(&[
        ("soon", "trigger", "info"),
        ("soon", "trigger", "warning"),
        ("renewing", "trigger", "info"),
        ("soon", "trigger", "critical"),
        ("soon", "trigger", "critical"),
        ("renewing", "resolve", ""),
        ("later", "trigger", "info"),
    ]);
    assert_eq!(run.pagerduty_seen(), expected_pagerduty);
    run.webhook.assert_no_malformed();
    run.pagerduty.assert_no_malformed();
    run.sim.shutdown().await;
}

async fn an_outage_and_a_crash_delay_notifications_and_lose_none(backend: Backend) {
    let Some(run) = Run::start(backend).await else {
        return;
    };
    // The webhook receiver is down (503) when the first reads raise the alerts.
    run.webhook
        .set_outage(Some(runway_testkit::receivers::Reply::new(503)));
    run.poll(day_at(0, 12, 0)).await;
    assert!(run.webhook_seen().is_empty());
    assert_eq!(
        run.pagerduty.events().len(),
        1,
        "the other channel is not held up"
    );
    // The license of "soon" moves on to 3 days while the receiver is still down.
    run.tick(day_at(1, 0, 1)).await;
    // It comes back; retries go out as their backoff falls due, in order per series.
    run.webhook.set_outage(None);
    for minute in 1..=120 {
        run.tick(day_at(1, 0, 1) + jiff::SignedDuration::from_mins(minute))
            .await;
    }
    assert_eq!(
        run.webhook_seen(),
        seen(&[
            ("soon", "alert.triggered", "milestone:10"),
            ("soon", "alert.triggered", "milestone:3"),
        ])
    );
    let requests = run.webhook.requests();
    let first_key = requests[0].header("webhook-id");
    let retries = requests
        .iter()
        .filter(|r| r.header("webhook-id") == first_key)
        .count();
    assert!(
        retries >= 2,
        "the first notification was retried: {retries}"
    );

    // A crash between deciding and sending: the day-3 milestone is decided (queued) by a node
    // that dies before its worker runs; another node's worker sends it.
    run.clock.set(day_at(3, 0, 1));
    run.db.store.evaluate_alerts(day_at(3, 0, 1)).await.unwrap();
    let other = Worker::new(
        Arc::clone(&run.db.store),
        run.clock.clone(),
        runway_alerts::http_client().unwrap(),
        WorkerConfig::new("node-b"),
    );
    other.deliver_due().await.unwrap();
    // "soon" at 1 day, "renewing" caught up at its 10-day milestone (9 days left), and, since
    // nobody has read the fleet for two and a half days, "not read" for every PBX. They went
    // out at once, in no set order across series (order is kept within a series).
    let mut day_three = run.webhook_seen().split_off(2);
    day_three.sort();
    assert_eq!(
        day_three,
        seen(&[
            ("fine", "alert.triggered", "not_read"),
            ("later", "alert.triggered", "not_read"),
            ("renewing", "alert.triggered", "milestone:10"),
            ("renewing", "alert.triggered", "not_read"),
            ("soon", "alert.triggered", "milestone:1"),
            ("soon", "alert.triggered", "not_read"),
        ])
    );
    // A crash mid-attempt: a row leased by a node that never reported back goes out once its
    // lease lapses, with the same key (the receiver counts it as one event).
    run.clock.set(day_at(5, 0, 1));
    run.db.store.evaluate_alerts(day_at(5, 0, 1)).await.unwrap();
    let leased = run
        .db
        .store
        .claim_deliveries(day_at(5, 0, 1), "node-dead", Duration::from_mins(2), 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 2, "the lapse alert to both channels");
    run.tick(day_at(5, 0, 2)).await;
    assert_eq!(
        run.webhook_seen().len(),
        8,
        "leased rows wait for their lease"
    );
    run.tick(day_at(5, 0, 4)).await;
    assert_eq!(run.webhook_seen().len(), 9, "sent once its lease lapsed");
    assert_eq!(
        run.webhook_seen().last().unwrap(),
        &(
            "soon".to_owned(),
            "alert.triggered".to_owned(),
            "lapse".to_owned()
        )
    );
    run.sim.shutdown().await;
}

async fn a_receiver_that_does_not_answer_in_time_is_retried_later(backend: Backend) {
    let Some(run) = Run::start(backend).await else {
        return;
    };
    // The webhook answers, but only after the worker has given up on the attempt.
    run.webhook.set_outage(Some(
        runway_testkit::receivers::Reply::new(200).with_delay(Duration::from_secs(5)),
    ));
    run.clock.set(day_at(0, 12, 0));
    assert_eq!(run.engine.run_due().await.failed, 0);
    let mut config = WorkerConfig::new("node-a");
    config.attempt_timeout = Duration::from_millis(300);
    let impatient = Worker::new(
        Arc::clone(&run.db.store),
        run.clock.clone(),
        runway_alerts::http_client().unwrap(),
        config,
    );
    let report = impatient.deliver_due().await.unwrap();
    assert_eq!((report.sent, report.retried), (1, 1), "{report:?}");
    let waiting = run
        .db
        .store
        .deliveries(
            run.tenant,
            &runway_store::DeliveryFilter {
                state: Some(runway_store::DeliveryState::Pending),
                ..runway_store::DeliveryFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1, "the webhook's row waits for its retry");
    assert_eq!(
        waiting[0].last_error.as_deref(),
        Some("no answer within 300 ms"),
        "{waiting:?}"
    );
    run.sim.shutdown().await;
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    runway_testkit::logs::init();
                    super::$name(runway_testkit::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    runway_testkit::logs::init();
                    super::$name(runway_testkit::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_both_backends!(
    fifteen_days_of_a_fleet_send_exactly_the_expected_notifications,
    an_outage_and_a_crash_delay_notifications_and_lose_none,
    a_receiver_that_does_not_answer_in_time_is_retried_later,
);
