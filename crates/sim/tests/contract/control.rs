//! The control API changes what PBXs serve and reports their counters.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{cc_pbx, start};

fn two() -> String {
    [
        cc_pbx(
            "a",
            "20.0.10.1109",
            "expiry = \"+100d\"\nmax_sim_calls = 8\nusers = 10",
        ),
        cc_pbx("b", "20.0.9.1322", ""),
    ]
    .concat()
}

#[tokio::test]
async fn list_shows_every_pbx_with_urls_license_and_counters() {
    let sim = start(&two()).await;
    let list = sim.control_json("/pbxs").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "a");
    assert_eq!(list[0]["login_kind"], "client_credentials");
    assert_eq!(list[0]["urls"]["http"], sim.handle.http_url("a").unwrap());
    assert_eq!(list[0]["urls"]["https"], sim.handle.https_url("a").unwrap());
    assert_eq!(list[0]["license"]["expiry"], "2027-03-09T12:00:00Z");
    assert_eq!(list[0]["license"]["max_users"], 40);
    assert_eq!(list[0]["counters"]["logins_attempted"], 0);
    let index = sim.control_json("").await;
    assert_eq!(index["pbxs"], 2);
    let missing = sim
        .client
        .get(sim.control("/pbxs/zzz"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("zzz")
    );
}

#[tokio::test]
async fn patching_the_license_changes_what_is_served() {
    let sim = start(&two()).await;
    let token = sim.token("a").await;
    let response = sim
        .client
        .patch(sim.control("/pbxs/a/license"))
        .json(&json!({ "expiry": "+2d", "license_active": false, "max_sim_calls": 32, "users": 150, "product_code": "3CXPSPROFSPLA", "maintenance_expiry": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let shown: Value = response.json().await.unwrap();
    assert_eq!(shown["license"]["expiry"], "2026-12-01T12:00:00Z");

    let status = sim.get_json("a", "/xapi/v1/SystemStatus", &token).await;
    assert!(
        status["ExpirationDate"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T12:00:00")
    );
    assert_eq!(status["MaintenanceExpiresAt"], Value::Null);
    assert_eq!(status["LicenseActive"], false);
    assert_eq!(status["MaxSimCalls"], 32);
    assert_eq!(status["UserExtensions"], 150);
    assert_eq!(status["ProductCode"], "3CXPSPROFSPLA");
    // No longer Enterprise: a new API client login is refused.
    assert_eq!(
        sim.token_response("a", "secret-a").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let bad = sim
        .client
        .patch(sim.control("/pbxs/a/license"))
        .json(&json!({ "expiry": "next week" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let message = bad.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("expiry") && message.contains("next week"),
        "{message}"
    );
}

#[tokio::test]
async fn faults_can_be_set_added_and_cleared() {
    let sim = start(&two()).await;
    let token = sim.token("b").await;
    let put = sim
        .client
        .put(sim.control("/pbxs/b/faults"))
        .json(&json!([{ "kind": "status", "status": 500, "endpoint": "system_status" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(
        sim.get("b", "/xapi/v1/SystemStatus", &token).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    sim.get_json("b", "/xapi/v1/LicenseStatus", &token).await;

    let added = sim
        .client
        .post(sim.control("/pbxs/b/faults"))
        .json(&json!({ "kind": "forbidden" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    assert_eq!(
        sim.control_json("/pbxs/b/faults")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        sim.get("b", "/xapi/v1/LicenseStatus", &token)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let invalid = sim
        .client
        .post(sim.control("/pbxs/b/faults"))
        .json(&json!({ "kind": "explode" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert!(
        invalid.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("explode")
    );

    let cleared = sim
        .client
        .delete(sim.control("/pbxs/b/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    sim.get_json("b", "/xapi/v1/SystemStatus", &token).await;
}

#[tokio::test]
async fn a_renewal_set_through_the_control_api_arrives_on_refresh() {
    let sim = start(&two()).await;
    let token = sim.token("a").await;
    let set = sim
        .client
        .put(sim.control("/pbxs/a/renewal"))
        .json(&json!({ "expiry": "+465d", "max_sim_calls": 16 }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(
        sim.control_json("/pbxs/a/renewal").await["max_sim_calls"],
        16
    );
    sim.refresh("a", &token).await;
    let status = sim.get_json("a", "/xapi/v1/LicenseStatus", &token).await;
    assert_eq!(status["MaxSimCalls"], 16);
    assert_eq!(sim.control_json("/pbxs/a/renewal").await, Value::Null);

    // Applying through the control API (an upstream push) needs a pending renewal.
    let nothing = sim
        .client
        .post(sim.control("/pbxs/a/renewal/apply"))
        .send()
        .await
        .unwrap();
    assert_eq!(nothing.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn revoking_tokens_makes_the_next_read_401_and_counters_show_the_retry() {
    let sim = start(&two()).await;
    let token = sim.token("a").await;
    sim.get_json("a", "/xapi/v1/SystemStatus", &token).await;
    let revoked = sim
        .client
        .post(sim.control("/pbxs/a/revoke-tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.get("a", "/xapi/v1/SystemStatus", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // What a well-behaved client does: log in again once and retry once.
    let fresh = sim.token("a").await;
    sim.get_json("a", "/xapi/v1/SystemStatus", &fresh).await;

    let counters = sim.control_json("/pbxs/a/counters").await;
    assert_eq!(counters["logins_attempted"], 2);
    assert_eq!(counters["unauthorized"], 1);
    assert_eq!(counters["requests"]["system_status"], 3);
    let all = sim.control_json("/counters").await;
    assert_eq!(all["b"]["logins_attempted"], 0);

    let reset = sim
        .client
        .delete(sim.control("/counters"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.control_json("/pbxs/a/counters").await["logins_attempted"],
        0
    );
}

#[tokio::test]
async fn the_ca_certificate_is_served() {
    let sim = start(&two()).await;
    let pem = sim
        .client
        .get(sim.control("/ca.pem"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pem, sim.handle.ca_pem());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
}
