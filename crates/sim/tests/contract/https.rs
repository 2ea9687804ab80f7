//! HTTPS with the generated CA, and per-port mode.

use std::time::Duration;

use reqwest::StatusCode;
use runway_sim::{ServeMode, SimOptions};

use crate::helpers::{cc_pbx, install_crypto, start, start_with};

#[tokio::test]
async fn https_works_when_the_generated_ca_is_trusted() {
    let sim = start(&cc_pbx("tls", "20.0.10.1109", "")).await;
    let base = sim.handle.https_url("tls").unwrap();
    assert!(base.starts_with("https://127.0.0.1:"));
    let response = sim
        .client
        .post(format!("{base}/connect/token"))
        .form(&[
            ("client_id", "runway"),
            ("client_secret", "secret-tls"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn https_is_refused_without_trusting_the_ca() {
    let sim = start(&cc_pbx("tls", "20.0.10.1109", "")).await;
    install_crypto();
    let other_ca = {
        // A client that trusts some other CA only (as a client with no custom CA would).
        let other = runway_sim::SimServer::start(
            runway_sim::Scenario::parse(
                &cc_pbx("x", "20.0.9.1", ""),
                runway_sim::ScenarioFormat::Toml,
                "x",
                crate::helpers::now(),
            )
            .unwrap(),
            SimOptions {
                http: None,
                ..SimOptions::default()
            },
        )
        .await
        .unwrap();
        let pem = other.ca_pem().to_owned();
        other.shutdown().await;
        pem
    };
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(other_ca.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let error = untrusting
        .get(format!(
            "{}/xapi/v1/SystemStatus",
            sim.handle.https_url("tls").unwrap()
        ))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn per_port_mode_serves_each_pbx_at_the_root_of_its_own_port() {
    let toml = [
        cc_pbx("one", "20.0.9.1322", ""),
        cc_pbx("two", "20.0.7.1080", ""),
    ]
    .concat();
    let sim = start_with(
        &toml,
        SimOptions {
            mode: ServeMode::PerPort,
            ..SimOptions::default()
        },
    )
    .await;
    let one = sim.handle.http_url("one").unwrap().to_owned();
    let two = sim.handle.https_url("two").unwrap().to_owned();
    assert!(!one.ends_with("/one"), "{one}");
    assert_ne!(
        one.rsplit(':').next(),
        sim.handle.http_url("two").unwrap().rsplit(':').next(),
        "different ports"
    );
    for (base, id) in [(one, "one"), (two, "two")] {
        let body: serde_json::Value = sim
            .client
            .post(format!("{base}/connect/token"))
            .form(&[
                ("client_id", "runway"),
                ("client_secret", &format!("secret-{id}")),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["token_type"], "Bearer");
    }
    // The control API has its own listener.
    let list = sim.control_json("/pbxs").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Unknown paths on a PBX are 404 and counted.
    let base = sim.handle.http_url("one").unwrap();
    let missing = sim
        .client
        .get(format!("{base}/_sim/pbxs"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sim.handle.pbx("one").unwrap().counters().requests["other"],
        1
    );
    sim.handle.shutdown().await;
}
