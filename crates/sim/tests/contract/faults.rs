//! Faults: status codes, delays, hangs, garbage, huge bodies, short tokens, rejected logins,
//! forbidden roles and odd bodies.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::helpers::{cc_pbx, client_for, start};

#[tokio::test]
async fn a_status_fault_limited_in_times_then_recovers() {
    let sim = start(&cc_pbx(
        "flaky",
        "20.0.9.1322",
        "faults = [{ kind = \"status\", status = 503, retry_after = 30, endpoint = \"system_status\", times = 2 }]",
    ))
    .await;
    let token = sim.token("flaky").await;
    for _ in 0..2 {
        let response = sim.get("flaky", "/xapi/v1/SystemStatus", &token).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "30");
    }
    sim.get_json("flaky", "/xapi/v1/SystemStatus", &token).await;
    assert!(
        sim.handle.pbx("flaky").unwrap().faults().is_empty(),
        "used up"
    );
    assert_eq!(sim.handle.pbx("flaky").unwrap().counters().faults_fired, 2);
}

#[tokio::test]
async fn other_status_codes_including_401_once() {
    let sim = start(&cc_pbx(
        "codes",
        "20.0.10.1109",
        r#"faults = [
  { kind = "status", status = 504, endpoint = "license_status" },
  { kind = "status", status = 429, retry_after = 5, endpoint = "users" },
  { kind = "status", status = 401, endpoint = "license_parameters", times = 1 },
]"#,
    ))
    .await;
    let token = sim.token("codes").await;
    assert_eq!(
        sim.get("codes", "/xapi/v1/LicenseStatus", &token)
            .await
            .status(),
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(
        sim.get("codes", "/xapi/v1/Users", &token).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let once = sim
        .get("codes", "/xapi/v1/Defs/Pbx.GetLicenseParameters()", &token)
        .await;
    assert_eq!(once.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(once.headers()[WWW_AUTHENTICATE], "Bearer");
    sim.get_json("codes", "/xapi/v1/Defs/Pbx.GetLicenseParameters()", &token)
        .await;
}

#[tokio::test]
async fn a_delay_fault_slows_the_answer() {
    let sim = start(&cc_pbx(
        "slow",
        "20.0.9.1322",
        "faults = [{ kind = \"delay\", ms = 400, endpoint = \"system_status\" }]",
    ))
    .await;
    let token = sim.token("slow").await;
    let started = Instant::now();
    sim.get_json("slow", "/xapi/v1/SystemStatus", &token).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn a_hanging_pbx_costs_the_client_its_timeout_and_shutdown_still_completes() {
    let sim = start(&cc_pbx(
        "hang",
        "20.0.8.1109",
        "faults = [{ kind = \"hang\" }]",
    ))
    .await;
    let impatient = client_for(&sim.handle, Duration::from_millis(300));
    let started = Instant::now();
    let error = impatient
        .post(sim.url("hang", "/connect/token"))
        .form(&[
            ("client_id", "runway"),
            ("client_secret", "secret-hang"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Once it answers again, logging in is not counted as a second login in flight.
    sim.handle.pbx("hang").unwrap().clear_faults();
    sim.token("hang").await;
    assert_eq!(
        sim.handle
            .pbx("hang")
            .unwrap()
            .counters()
            .concurrent_login_violations,
        0
    );
    sim.handle
        .pbx("hang")
        .unwrap()
        .add_fault(runway_sim::Fault::new(runway_sim::FaultKind::Hang {}));

    // A request still hanging when the simulator stops is released, and stop is prompt.
    let url = sim.url("hang", "/xapi/v1/SystemStatus");
    let client = sim.client.clone();
    let pending = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = Instant::now();
    sim.handle.shutdown().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopping.elapsed()
    );
    let _ = pending.await;
}

#[tokio::test]
async fn garbage_bodies_come_in_three_styles() {
    let toml = [
        cc_pbx("html", "20.0.9.1322", "faults = [{ kind = \"garbage\", endpoint = \"data\" }]"),
        cc_pbx("cut", "20.0.9.1322", "faults = [{ kind = \"garbage\", style = \"truncated_json\", endpoint = \"system_status\" }]"),
        cc_pbx("types", "20.0.9.1322", "max_sim_calls = 16\nfaults = [{ kind = \"garbage\", style = \"wrong_types\", endpoint = \"system_status\" }]"),
    ]
    .concat();
    let sim = start(&toml).await;
    let html = sim
        .get("html", "/xapi/v1/SystemStatus", &sim.token("html").await)
        .await;
    assert_eq!(html.status(), StatusCode::OK);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(serde_json::from_slice::<Value>(&html.bytes().await.unwrap()).is_err());

    let cut = sim
        .get("cut", "/xapi/v1/SystemStatus", &sim.token("cut").await)
        .await;
    let cut = cut.text().await.unwrap();
    assert!(cut.starts_with("{\"@odata.context\""));
    assert!(serde_json::from_str::<Value>(&cut).is_err());

    let typed = sim
        .get_json("types", "/xapi/v1/SystemStatus", &sim.token("types").await)
        .await;
    assert_eq!(typed["MaxSimCalls"], "sixteen");
    assert_eq!(typed["LicenseActive"], "yes");
}

#[tokio::test]
async fn a_huge_body_streams_without_a_length() {
    let sim = start(&cc_pbx(
        "huge",
        "20.0.10.1109",
        "faults = [{ kind = \"huge_body\", endpoint = \"system_status\" }]",
    ))
    .await;
    let mut response = sim
        .get("huge", "/xapi/v1/SystemStatus", &sim.token("huge").await)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().get(CONTENT_LENGTH).is_none(),
        "chunked: the client must count"
    );
    let mut total = 0usize;
    let mut largest_chunk = 0usize;
    while let Some(chunk) = response.chunk().await.unwrap() {
        total += chunk.len();
        largest_chunk = largest_chunk.max(chunk.len());
    }
    assert_eq!(total, 50 * 1024 * 1024);
    assert!(
        largest_chunk <= 1024 * 1024,
        "streamed in small pieces, not one buffer"
    );
}

#[tokio::test]
async fn a_huge_body_can_declare_its_length_so_clients_refuse_early() {
    let sim = start(&cc_pbx(
        "huge",
        "20.0.10.1109",
        "faults = [{ kind = \"huge_body\", bytes = 104857600, declare_length = true, endpoint = \"license_status\" }]",
    ))
    .await;
    let response = sim
        .get("huge", "/xapi/v1/LicenseStatus", &sim.token("huge").await)
        .await;
    assert_eq!(response.headers()[CONTENT_LENGTH], "104857600");
    drop(response); // refused without reading
    // The PBX keeps serving other requests.
    sim.get_json("huge", "/xapi/v1/SystemStatus", &sim.token("huge").await)
        .await;
}

#[tokio::test]
async fn short_tokens_die_before_expires_in_says() {
    let sim = start(&cc_pbx(
        "short",
        "20.0.9.1322",
        "faults = [{ kind = \"short_token\", lifetime_ms = 200 }]",
    ))
    .await;
    let body = sim.token_body("short").await;
    assert_eq!(
        body["expires_in"], 3600,
        "the advertised lifetime is unchanged"
    );
    let token = body["access_token"].as_str().unwrap();
    sim.get_json("short", "/xapi/v1/SystemStatus", token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sim.get("short", "/xapi/v1/SystemStatus", token)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rejected_logins_and_forbidden_roles() {
    let toml = [
        cc_pbx(
            "locked",
            "20.0.9.1322",
            "faults = [{ kind = \"reject_login\" }]",
        ),
        cc_pbx(
            "admin",
            "20.0.9.1322",
            "faults = [{ kind = \"forbidden\" }]",
        ),
    ]
    .concat();
    let sim = start(&toml).await;
    assert_eq!(
        sim.token_response("locked", "secret-locked").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sim.handle.pbx("locked").unwrap().counters().logins_failed,
        1
    );

    let token = sim.token("admin").await;
    for path in [
        "/xapi/v1/SystemStatus",
        "/xapi/v1/LicenseStatus",
        "/xapi/v1/Users",
    ] {
        assert_eq!(
            sim.get("admin", path, &token).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        sim.refresh("admin", &token).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(sim.handle.pbx("admin").unwrap().counters().forbidden, 4);
}

#[tokio::test]
async fn odd_but_valid_bodies() {
    let toml = [
        cc_pbx("missing", "20.0.10.1109", "faults = [{ kind = \"odd_body\", style = \"missing_fields\" }]"),
        cc_pbx("nulls", "20.0.10.1109", "faults = [{ kind = \"odd_body\", style = \"null_fields\", endpoint = \"data\" }]"),
        cc_pbx("extra", "20.0.10.1109", "faults = [{ kind = \"odd_body\", style = \"extra_fields\" }]"),
        cc_pbx("newer", "20.0.7.1080", "faults = [{ kind = \"odd_body\", style = \"newer_version\", endpoint = \"system_status\" }]"),
    ]
    .concat();
    let sim = start(&toml).await;
    let missing_token = sim.token_body("missing").await;
    assert!(
        missing_token.get("expires_in").is_none(),
        "token answer without expires_in"
    );
    let token = missing_token["access_token"].as_str().unwrap();
    let missing = sim
        .get_json("missing", "/xapi/v1/SystemStatus", token)
        .await;
    assert!(missing.get("ExpirationDate").is_none() && missing.get("MaxSimCalls").is_none());
    assert!(missing.get("Version").is_some());

    let nulls = sim
        .get_json("nulls", "/xapi/v1/LicenseStatus", &sim.token("nulls").await)
        .await;
    assert_eq!(nulls["ExpirationDate"], Value::Null);
    assert_eq!(nulls["ProductCode"], Value::Null);
    assert!(nulls["@odata.context"].is_string());

    let extra = sim
        .get_json("extra", "/xapi/v1/SystemStatus", &sim.token("extra").await)
        .await;
    assert!(extra.get("SimUnknownSection").is_some());
    assert_eq!(extra["MaxSimCalls"], 8);

    let newer = sim
        .get_json("newer", "/xapi/v1/SystemStatus", &sim.token("newer").await)
        .await;
    assert!(
        newer.get("MaxUserExtensions").is_some(),
        "a 20.0.7 PBX with newer fields"
    );
}
