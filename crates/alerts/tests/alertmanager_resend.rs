//! A real Alertmanager forgets a firing alert once its `endsAt` passes, so the worker re-sends
//! each open alert's last trigger: after 50 minutes of Runway's time the alert is still firing
//! there, now valid an hour past the re-send.

#![allow(clippy::unwrap_used, reason = "a panic is a failed test")]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use runway_alerts::{Worker, WorkerConfig};
use runway_clock::ManualClock;
use runway_engine::{Engine, EngineConfig};
use runway_sim::{Scenario, ScenarioFormat, Scheme, SimOptions, SimServer};
use runway_store::{ChannelKind, ChannelSettings, NewChannel, TenantSettings};
use runway_testkit::{Alertmanager, Backend, TestDb};
use runway_threecx::NetworkPolicy;

const PBX: &str = r#"
[[pbx]]
id = "soon"
customer = "Harbor Dental"
name = "Harbor Dental – Main Office"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "secret-soon" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+5d"
"#;

/// The `endsAt` of the one alert Alertmanager holds.
async fn ends_at(alertmanager: &Alertmanager) -> Timestamp {
    let alerts = alertmanager.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["status"]["state"], "active", "{alerts:?}");
    alerts[0]["endsAt"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_alert_stays_firing_in_alertmanager_past_its_first_validity() {
    runway_testkit::logs::init();
    let Some(alertmanager) = Alertmanager::start().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Alertmanager keeps real time: Runway's clock starts at it and then jumps ahead.
    let now = Timestamp::now();
    let clock = Arc::new(ManualClock::new(now));
    let scenario = Scenario::parse(PBX, ScenarioFormat::Toml, "resend.toml", now).unwrap();
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
    db.store
        .create_channel(
            tenant,
            &NewChannel {
                name: "Alertmanager".to_owned(),
                kind: ChannelKind::Alertmanager,
                settings: ChannelSettings {
                    url: Some(alertmanager.url()),
                    ..ChannelSettings::default()
                },
                secret: None,
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
    assert_eq!(engine.run_due().await.succeeded, 1);
    let worker = Worker::new(
        Arc::clone(&db.store),
        clock.clone(),
        runway_alerts::http_client().unwrap(),
        WorkerConfig::new("node-a"),
    );
    assert_eq!(worker.deliver_due().await.unwrap().sent, 1);
    let first = ends_at(&alertmanager).await;
    assert!(first > now.checked_add(SignedDuration::from_mins(59)).unwrap());

    // Not yet due: nothing is re-sent.
    clock.set(now.checked_add(SignedDuration::from_mins(10)).unwrap());
    assert_eq!(worker.resend_active().await.unwrap(), 0);

    // 50 minutes on, the alert would lapse in Alertmanager within ten minutes: it is re-sent,
    // and is valid an hour past the re-send.
    let later = now.checked_add(SignedDuration::from_mins(50)).unwrap();
    clock.set(later);
    assert_eq!(worker.resend_active().await.unwrap(), 1);
    let renewed = ends_at(&alertmanager).await;
    assert!(
        renewed >= later.checked_add(SignedDuration::from_mins(59)).unwrap(),
        "endsAt {renewed} after the re-send at {later} (first {first})"
    );
    assert_eq!(worker.resend_active().await.unwrap(), 0, "once per round");
    sim.shutdown().await;
}
