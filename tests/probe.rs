//! `runway probe` as an operator runs it: against a simulated PBX, text and JSON, exit codes.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::Path;
use std::process::Output;

use runway_sim::{Scenario, SimOptions, SimServer};

async fn probe(args: Vec<String>, secret: &str) -> Output {
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || {
        runway_testkit::secrets::used(&secret);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_runway"))
            .arg("probe")
            .args(args)
            .env("PROBE_TEST_SECRET", secret)
            .env("RUNWAY_LOG", runway_testkit::logs::child_filter("warn"))
            .output()
            .unwrap();
        runway_testkit::logs::keep_output("probe", &output);
        output
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_prints_the_license_as_json_and_says_why_a_read_failed_without_the_secret() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/demo.toml");
    let scenario = Scenario::load(&path, jiff::Timestamp::now()).unwrap();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let Some(runway_sim::Login::ClientCredentials {
        client_id,
        client_secret,
    }) = scenario.pbx("harbor-main").map(|p| p.login.clone())
    else {
        panic!("harbor-main should have an API client login")
    };
    let args = |url: &str| -> Vec<String> {
        [
            url,
            "--login",
            "api-client",
            "--client-id",
            &client_id,
            "--secret-env",
            "PROBE_TEST_SECRET",
            "--json",
            "--pbx-network-allow",
            "127.0.0.1",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let url = sim.http_url("harbor-main").unwrap().to_owned();

    let ok = probe(args(&url), &client_secret).await;
    assert!(ok.status.success(), "{ok:?}");
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["facts"]["product_code"], "3CXPSPROFENTSPLA");
    assert_eq!(json["status"]["band"], "critical");

    let wrong_secret = "not-the-secret-4711";
    let failed = probe(args(&url), wrong_secret).await;
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let json: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "login_rejected");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(!all.contains(wrong_secret), "{all}");

    let usage = probe(vec![url, "--login".into(), "api-client".into()], "x").await;
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
    sim.shutdown().await;
}
