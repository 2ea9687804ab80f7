//! The three login kinds, the one-token-per-client rule and the `expires_in` unit quirk.

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use runway_sim::{Endpoint, totp};
use serde_json::Value;

use crate::helpers::{cc_pbx, now, start};

#[tokio::test]
async fn client_credentials_login_gives_a_bearer_token_and_bad_secrets_get_401() {
    let sim = start(&cc_pbx("acme", "20.0.10.1109", "")).await;
    let body = sim.token_body("acme").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["refresh_token"], Value::Null);
    assert!(body["access_token"].as_str().unwrap().len() > 20);

    let rejected = sim.token_response("acme", "wrong").await;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    let error: Value = rejected.json().await.unwrap();
    assert_eq!(error["error"], "unauthorized");

    let counters = sim.handle.pbx("acme").unwrap().counters();
    assert_eq!(counters.logins_attempted, 2);
    assert_eq!(counters.logins_succeeded, 1);
    assert_eq!(counters.logins_failed, 1);
}

#[tokio::test]
async fn connect_token_accepts_multipart_form_data_too() {
    let sim = start(&cc_pbx("acme", "20.0.9.1322", "")).await;
    let form = reqwest::multipart::Form::new()
        .text("client_id", "runway")
        .text("client_secret", "secret-acme")
        .text("grant_type", "client_credentials");
    let response = sim
        .client
        .post(sim.url("acme", "/connect/token"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");

    let json = sim
        .client
        .post(sim.url("acme", "/connect/token"))
        .json(&serde_json::json!({ "client_id": "runway" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn expires_in_is_minutes_up_to_20_0_8_and_seconds_from_20_0_9() {
    let toml = [
        cc_pbx("v7", "20.0.7.1080", ""),
        cc_pbx("v8", "20.0.8.1109", ""),
        cc_pbx("v9", "20.0.9.1322", ""),
        cc_pbx("v10", "20.0.10.1109", ""),
        cc_pbx("v9-short", "20.0.9.1322", "token_lifetime = \"5m\""),
    ]
    .concat();
    let sim = start(&toml).await;
    for (id, expected) in [
        ("v7", 60),
        ("v8", 60),
        ("v9", 3600),
        ("v10", 3600),
        ("v9-short", 300),
    ] {
        assert_eq!(sim.token_body(id).await["expires_in"], expected, "{id}");
    }
}

#[tokio::test]
async fn a_new_login_revokes_the_previous_token_of_the_same_client() {
    let sim = start(&cc_pbx("acme", "20.0.10.1109", "")).await;
    let first = sim.token("acme").await;
    sim.get_json("acme", "/xapi/v1/SystemStatus", &first).await;
    let second = sim.token("acme").await;

    let revoked = sim.get("acme", "/xapi/v1/SystemStatus", &first).await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.headers()[WWW_AUTHENTICATE], "Bearer");
    assert!(
        revoked.bytes().await.unwrap().is_empty(),
        "401 has an empty body"
    );
    sim.get_json("acme", "/xapi/v1/SystemStatus", &second).await;

    let pbx = sim.handle.pbx("acme").unwrap();
    let counters = pbx.counters();
    assert_eq!(counters.tokens_revoked_by_new_login, 1);
    assert_eq!(counters.unauthorized, 1);
    assert_eq!(counters.requests_to(Endpoint::SystemStatus), 3);
    assert_eq!(pbx.active_tokens(), 1);
}

#[tokio::test]
async fn missing_or_made_up_tokens_get_401_with_www_authenticate() {
    let sim = start(&cc_pbx("acme", "20.0.10.1109", "")).await;
    let none = sim
        .client
        .get(sim.url("acme", "/xapi/v1/LicenseStatus"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()[WWW_AUTHENTICATE], "Bearer");
    let made_up = sim
        .get("acme", "/xapi/v1/LicenseStatus", "eyJmade.up.token")
        .await;
    assert_eq!(made_up.status(), StatusCode::UNAUTHORIZED);
}

const USER_PBX: &str = r#"
[[pbx]]
id = "mfa"
version = "20.0.10.1109"
product_code = "3CXPSPROFSPLA"
login = { kind = "user", username = "admin@acme.example", password = "pw", totp_secret = "JBSWY3DPEHPK3PXP" }

[[pbx]]
id = "plain"
version = "20.0.8.1109"
login = { kind = "user", username = "100", password = "pw" }
"#;

#[tokio::test]
async fn admin_user_login_works_on_any_edition_and_rejects_bad_passwords() {
    let sim = start(USER_PBX).await;
    let ok = sim.user_login("plain", "100", "pw", "").await;
    assert_eq!(ok["Status"], "AuthSuccess");
    assert_eq!(ok["TwoFactorAuth"], Value::Null);
    assert_eq!(ok["Token"]["token_type"], "Bearer");
    assert_eq!(ok["Token"]["expires_in"], 60, "20.0.8 writes minutes");
    let token = ok["Token"]["access_token"].as_str().unwrap();
    sim.get_json("plain", "/xapi/v1/SystemStatus", token).await;

    let bad = sim.user_login("plain", "100", "nope", "").await;
    assert_eq!(bad["Status"], "AuthFailed");
    assert_eq!(bad["Token"], Value::Null);
}

#[tokio::test]
async fn mfa_needs_the_current_totp_code() {
    let sim = start(USER_PBX).await;
    let user = "admin@acme.example";
    let missing = sim.user_login("mfa", user, "pw", "").await;
    assert_ne!(missing["Status"], "AuthSuccess");
    let wrong = sim.user_login("mfa", user, "pw", "000000").await;
    assert_ne!(wrong["Status"], "AuthSuccess");
    assert_ne!(
        wrong["Status"], missing["Status"],
        "a wrong code and no code are told apart"
    );

    let code = totp::code("JBSWY3DPEHPK3PXP", now()).unwrap();
    let ok = sim.user_login("mfa", user, "pw", &code).await;
    assert_eq!(ok["Status"], "AuthSuccess");
    assert_eq!(ok["Token"]["expires_in"], 3600, "20.0.10 writes seconds");
    let counters = sim.handle.pbx("mfa").unwrap().counters();
    assert_eq!((counters.logins_failed, counters.logins_succeeded), (2, 1));
}

#[tokio::test]
async fn non_enterprise_pbx_refuses_the_api_client_with_401_or_403_but_admits_the_admin_user() {
    let toml = [
        cc_pbx(
            "pro-401",
            "20.0.9.1322",
            "product_code = \"3CXPSPROFSPLA\"\nextra_logins = [{ kind = \"user\", username = \"admin\", password = \"pw\" }]",
        ),
        cc_pbx("pro-403", "20.0.10.1109", "product_code = \"3CXPSSPLA\"\nunlicensed_api_answer = 403"),
    ]
    .concat();
    let sim = start(&toml).await;
    let unauthorized = sim.token_response("pro-401", "secret-pro-401").await;
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);

    let forbidden = sim.token_response("pro-403", "secret-pro-403").await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let body: Value = forbidden.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WARNINGS.XAPI.INVALID_LICENSE_TYPE")
    );
    assert!(body["error"]["details"].is_array());

    assert_eq!(
        sim.user_login("pro-401", "admin", "pw", "").await["Status"],
        "AuthSuccess"
    );
}

#[tokio::test]
async fn each_generation_answers_404_to_the_other_generations_login() {
    let toml = format!(
        "{}{}",
        cc_pbx("v20", "20.0.9.1322", ""),
        r#"
[[pbx]]
id = "v18"
version = "18.0.9.20"
login = { kind = "legacy", username = "admin", password = "pw" }
"#
    );
    let sim = start(&toml).await;
    let legacy_on_v20 = sim
        .client
        .post(sim.url("v20", "/api/login"))
        .json(&serde_json::json!({ "Username": "admin", "Password": "pw" }))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy_on_v20.status(), StatusCode::NOT_FOUND);
    let token_on_v18 = sim.token_response("v18", "pw").await;
    assert_eq!(token_on_v18.status(), StatusCode::NOT_FOUND);
    let xapi_on_v18 = sim.get("v18", "/xapi/v1/SystemStatus", "x").await;
    assert_eq!(xapi_on_v18.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn two_logins_in_flight_at_once_are_counted_as_a_violation() {
    let sim = start(&cc_pbx("slow", "20.0.10.1109", "latency = 300")).await;
    let (a, b) = tokio::join!(
        sim.token_response("slow", "secret-slow"),
        sim.token_response("slow", "secret-slow")
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let counters = sim.handle.pbx("slow").unwrap().counters();
    assert_eq!(counters.concurrent_login_violations, 1);
    assert_eq!(counters.max_concurrent_logins, 2);

    sim.handle.pbx("slow").unwrap().reset_counters();
    sim.token("slow").await;
    sim.token("slow").await;
    let sequential = sim.handle.pbx("slow").unwrap().counters();
    assert_eq!(
        sequential.concurrent_login_violations, 0,
        "one after the other is fine"
    );
}
