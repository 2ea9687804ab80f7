//! The v16/v18 API: `/api/login` + session cookie, `/api/SystemStatus`.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;

use crate::helpers::{TestSim, keys, start};

const V18: &str = r#"
[[pbx]]
id = "old"
customer = "Old Customer"
version = "18.0.9.20"
login = { kind = "legacy", username = "admin", password = "pw" }
product_code = "3CXPSPROF"
expiry = "null"
maintenance_expiry = "2027-03-01T00:00:00+00:00"
max_sim_calls = 8

[[pbx]]
id = "annual"
version = "18.0.8.934"
login = { kind = "legacy", username = "admin", password = "pw" }
product_code = "3CXPSPROFSPLA"
expiry = "+30d"
maintenance_expiry = "+30d"
token_lifetime = "1s"
"#;

async fn login(sim: &TestSim, id: &str, password: &str) -> (String, Option<String>) {
    let response = sim
        .client
        .post(sim.url(id, "/api/login"))
        .json(&serde_json::json!({ "Username": "admin", "Password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    (response.text().await.unwrap(), cookie)
}

async fn system_status(sim: &TestSim, id: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = sim.client.get(sim.url(id, "/api/SystemStatus"));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn legacy_login_answers_auth_success_and_a_session_cookie() {
    let sim = start(V18).await;
    let (body, cookie) = login(&sim, "old", "pw").await;
    assert_eq!(body, "AuthSuccess");
    let cookie = cookie.expect("a session cookie");
    let response = system_status(&sim, "old", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["Version"], "18.0.9.20");
    assert_eq!(status["ExpirationDate"], Value::Null);
    assert_eq!(status["MaintenanceExpiresAt"], "2027-03-01T00:00:00+00:00");
    assert_eq!(status["IsSpla"], false);
    assert_eq!(status["ProductCode"], "3CXPSPROF");
    assert_eq!(status["Support"], true);
    let fields = keys(&status);
    assert!(
        fields.contains(&"FreeFirtualMemory".to_owned()),
        "the real misspelling"
    );
    assert!(!fields.contains(&"@odata.context".to_owned()));
}

#[tokio::test]
async fn legacy_rejects_bad_passwords_with_a_body_other_than_auth_success() {
    let sim = start(V18).await;
    let (body, cookie) = login(&sim, "old", "wrong").await;
    assert_ne!(body, "AuthSuccess");
    assert!(cookie.is_none());
    let counters = sim.handle.pbx("old").unwrap().counters();
    assert_eq!(counters.logins_failed, 1);
}

#[tokio::test]
async fn legacy_system_status_needs_a_live_session() {
    let sim = start(V18).await;
    assert_eq!(
        system_status(&sim, "old", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        system_status(&sim, "old", Some(".AspNetCore.Cookies=forged"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, cookie) = login(&sim, "annual", "pw").await;
    let cookie = cookie.unwrap();
    let fresh: Value = system_status(&sim, "annual", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["IsSpla"], true);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let expired = system_status(&sim, "annual", Some(&cookie)).await;
    assert_eq!(
        expired.status(),
        StatusCode::UNAUTHORIZED,
        "the session lifetime is 1 s"
    );
}

#[tokio::test]
async fn path_prefix_cookies_are_scoped_to_their_pbx() {
    let sim = start(V18).await;
    let response = sim
        .client
        .post(sim.url("old", "/api/login"))
        .json(&serde_json::json!({ "Username": "admin", "Password": "pw" }))
        .send()
        .await
        .unwrap();
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("path=/old"), "{set_cookie}");
}
