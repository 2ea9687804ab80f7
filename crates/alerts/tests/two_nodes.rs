//! Two Runway nodes on one PostgreSQL deliver every notification once: their workers claim
//! outbox rows under leases (`FOR UPDATE SKIP LOCKED`), at the same time, and the receiver sees
//! each idempotency key once. (SQLite runs one node, so this test is PostgreSQL's.)

#![allow(clippy::unwrap_used, reason = "a panic is a failed test")]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use runway_alerts::{Worker, WorkerConfig};
use runway_clock::ManualClock;
use runway_engine::{Engine, EngineConfig};
use runway_sim::{Scenario, ScenarioFormat, Scheme, SimOptions, SimServer};
use runway_store::{ChannelKind, ChannelSettings, NewChannel, TenantSettings};
use runway_testkit::receivers::{Outcome, WebhookReceiver};
use runway_testkit::{Backend, TestDb};
use runway_threecx::NetworkPolicy;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PBXS: usize = 40;

fn scenario(now: Timestamp) -> Scenario {
    let toml = (0..PBXS).fold(String::new(), |mut toml, n| {
        let _ = write!(
            toml,
            r#"
[[pbx]]
id = "pbx-{n}"
customer = "Customer {c}"
version = "20.0.10.1109"
login = {{ kind = "client_credentials", client_id = "runway", client_secret = "secret-{n}" }}
product_code = "3CXPSPROFENTSPLA"
expiry = "+{days}d"
"#,
            c = n % 5,
            days = 1 + n % 9,
        );
        toml
    });
    Scenario::parse(&toml, ScenarioFormat::Toml, "two-nodes.toml", now).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_sharing_postgres_deliver_each_notification_once() {
    runway_testkit::logs::init();
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let scenario = scenario(now);
    runway_testkit::secrets::scenario(&scenario);
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let tenant = db
        .store
        .create_tenant(&TenantSettings::new("Acme MSP"))
        .await
        .unwrap()
        .id;
    runway_sim_fleet::load_sim_fleet(&*db.store, tenant, &sim, &scenario, Scheme::Https, now)
        .await
        .unwrap();
    let webhook = WebhookReceiver::start_with_clock(SECRET, clock.clone()).await;
    db.store
        .create_channel(
            tenant,
            &NewChannel {
                name: "Ops webhook".to_owned(),
                kind: ChannelKind::Webhook,
                settings: ChannelSettings {
                    url: Some(webhook.url()),
                    ..ChannelSettings::default()
                },
                secret: Some(SECRET.to_owned()),
            },
            now,
        )
        .await
        .unwrap();
    let engine = Engine::new(
        Arc::clone(&db.store),
        clock.clone(),
        EngineConfig {
            network: NetworkPolicy::allowing_loopback(),
            ..EngineConfig::default()
        },
    );
    let read = engine.run_due().await;
    assert_eq!(read.succeeded, PBXS, "{read:?}");

    // Each node claims a few rows at a time, so both have work while the other sends.
    let node = |name: &str, store| {
        let mut config = WorkerConfig::new(name);
        config.batch = 3;
        config.concurrency = 2;
        Worker::new(
            store,
            clock.clone(),
            runway_alerts::http_client().unwrap(),
            config,
        )
    };
    let node_a = node("node-a", Arc::clone(&db.store));
    let node_b = node("node-b", db.open_again().await.unwrap());
    let drain = |worker: Worker| async move {
        let mut sent = 0;
        loop {
            let report = worker.deliver_due().await.unwrap();
            sent += report.sent;
            assert_eq!(report.retried + report.failed, 0, "{report:?}");
            if report.claimed == 0 {
                return sent;
            }
        }
    };
    let (sent_a, sent_b) = tokio::join!(drain(node_a), drain(node_b));

    // Every PBX is inside the 10-day window: one reminder each, sent once in all.
    assert_eq!(
        sent_a + sent_b,
        PBXS,
        "node a sent {sent_a}, node b {sent_b}"
    );
    let events = webhook.wait_for(PBXS, Duration::from_secs(10)).await;
    let keys: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(keys.len(), PBXS, "one idempotency key per reminder");
    let requests = webhook.requests();
    assert_eq!(requests.len(), PBXS, "no notification went out twice");
    assert!(requests.iter().all(|r| r.outcome == Outcome::Processed));
    webhook.assert_no_malformed();
    sim.shutdown().await;
}
