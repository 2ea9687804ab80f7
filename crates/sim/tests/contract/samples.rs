//! Fidelity against the real bodies in `shared/reference/3cx/samples/` (third-party data, read
//! in place, never copied): the simulator's bodies carry the same field names, and a PBX can
//! serve a captured body verbatim via `body_files`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::{cc_pbx, keys, start};

fn samples_dir() -> Option<PathBuf> {
    // The team's shared folder: RUNWAY_SHARED_DIR, else `../shared` beside the checkout.
    let dir = std::env::var_os("RUNWAY_SHARED_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
            PathBuf::from,
        )
        .join("reference/3cx/samples");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("RUNWAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "RUNWAY_REQUIRE_SERVICES=1 but {} is missing",
        dir.display()
    );
    eprintln!("skipping: {} not found", dir.display());
    None
}

fn key_set(value: &Value) -> BTreeSet<String> {
    keys(value).into_iter().collect()
}

fn sample(dir: &std::path::Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[tokio::test]
async fn v20_system_status_has_the_field_names_of_a_real_20_0_7_pbx() {
    let Some(dir) = samples_dir() else { return };
    let real = sample(&dir, "systemstatus-20.0.7.1080.json");
    let sim = start(&cc_pbx("v7", "20.0.7.1080", "expiry = \"+30d\"")).await;
    let ours = sim
        .get_json("v7", "/xapi/v1/SystemStatus", &sim.token("v7").await)
        .await;
    assert_eq!(key_set(&ours), key_set(&real));
}

#[tokio::test]
async fn legacy_system_status_has_the_field_names_of_a_real_legacy_pbx() {
    let Some(dir) = samples_dir() else { return };
    let real = sample(&dir, "api-systemstatus-15.5-legacy.json");
    let sim = start(
        r#"
[[pbx]]
id = "old"
version = "18.0.9.20"
login = { kind = "legacy", username = "admin", password = "pw" }
"#,
    )
    .await;
    let login = sim
        .client
        .post(sim.url("old", "/api/login"))
        .json(&serde_json::json!({ "Username": "admin", "Password": "pw" }))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let ours: Value = sim
        .client
        .get(sim.url("old", "/api/SystemStatus"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key_set(&ours), key_set(&real));
}

#[tokio::test]
async fn a_captured_body_is_served_verbatim_behind_the_normal_login() {
    let Some(dir) = samples_dir() else { return };
    let file = dir.join("systemstatus-20.0.7.1080.json");
    let raw = std::fs::read_to_string(&file).unwrap();
    let sim = start(&cc_pbx(
        "captured",
        "20.0.7.1080",
        &format!(
            "body_files = {{ system_status = {:?} }}",
            file.display().to_string()
        ),
    ))
    .await;
    let token = sim.token("captured").await;
    let served = sim
        .get("captured", "/xapi/v1/SystemStatus", &token)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(served, raw);
    let unauthenticated = sim.get("captured", "/xapi/v1/SystemStatus", "bad").await;
    assert_eq!(unauthenticated.status(), reqwest::StatusCode::UNAUTHORIZED);
}
