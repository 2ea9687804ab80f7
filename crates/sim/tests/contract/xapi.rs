//! The v20 XAPI field sets by version, OData behaviour, dates and refresh.

use reqwest::StatusCode;
use runway_sim::dates::DOTNET_MIN_DATE;
use serde_json::Value;

use crate::helpers::{cc_pbx, keys, start};

fn fleet() -> String {
    [
        cc_pbx("v7", "20.0.7.1080", "product_code = \"3CXPSPROFENTSPLA\"\nmax_sim_calls = 16\nusers = 30\nai_agents = 2\nexpiry = \"+12d\"\ndate_style = \"dotnet\""),
        cc_pbx("v8", "20.0.8.1109", "expiry = \"none\"\nmaintenance_expiry = \"+90d\"\ndate_style = \"z\""),
        cc_pbx("v9", "20.0.9.1322", "max_sim_calls = 16\nusers = 72\nai_agents = 3\nexpiry = \"2035-01-01T00:00:00Z\"\nmaintenance_expiry = \"null\""),
        cc_pbx("v10", "20.0.10.1109", "product_code = \"3CXPSPROFENT\"\nexpiry = \"-3d\"\nmaintenance_expiry = \"-3d\"\ndate_style = \"offset\"\nusers = 5\nai_agents = 1"),
        cc_pbx("nofilter", "20.0.9.1322", "users_filter = false\nusers = 4\nai_agents = 2"),
    ]
    .concat()
}

#[tokio::test]
async fn system_status_fields_arrive_by_version() {
    let sim = start(&fleet()).await;
    let v8 = sim
        .get_json("v8", "/xapi/v1/SystemStatus", &sim.token("v8").await)
        .await;
    assert!(
        v8["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/xapi/v1/$metadata#SystemStatus")
    );
    assert_eq!(v8["Version"], "20.0.8.1109");
    assert!(v8.get("UserExtensions").is_none() && v8.get("MaxUserExtensions").is_none());
    assert_eq!(v8["ExpirationDate"], DOTNET_MIN_DATE);
    assert_eq!(v8["MaintenanceExpiresAt"], "2027-02-27T12:00:00Z");

    let v9 = sim
        .get_json("v9", "/xapi/v1/SystemStatus", &sim.token("v9").await)
        .await;
    assert_eq!(v9["UserExtensions"], 72);
    assert_eq!(v9["MaxUserExtensions"], 80);
    assert_eq!(v9["MaxSimCalls"], 16);
    assert_eq!(v9["ExpirationDate"], "2035-01-01T00:00:00Z");
    assert_eq!(v9["MaintenanceExpiresAt"], Value::Null);
    assert_eq!(v9["LicenseActive"], true);
    for field in [
        "FQDN",
        "Activated",
        "LicenseKey",
        "ProductCode",
        "Support",
        "ResellerName",
        "ExtensionsTotal",
    ] {
        assert!(v9.get(field).is_some(), "{field}");
    }

    let v7 = sim
        .get_json("v7", "/xapi/v1/SystemStatus", &sim.token("v7").await)
        .await;
    assert_eq!(v7["ExpirationDate"], "2026-12-11T12:00:00.0000000+00:00");
}

#[tokio::test]
async fn license_status_reports_the_licensee() {
    let sim = start(&fleet()).await;
    let body = sim
        .get_json("v10", "/xapi/v1/LicenseStatus", &sim.token("v10").await)
        .await;
    assert_eq!(body["ProductCode"], "3CXPSPROFENT");
    assert_eq!(body["ExpirationDate"], "2026-11-26T12:00:00+00:00");
    assert_eq!(body["CompanyName"], "Test Customer");
    assert!(body["ActiveModules"].is_array());
    assert_eq!(body["Version"], "20.0.10.1109");
}

#[tokio::test]
async fn license_parameters_fields_arrive_by_version() {
    let sim = start(&fleet()).await;
    let path = "/xapi/v1/Defs/Pbx.GetLicenseParameters()";
    let v7 = sim.get_json("v7", path, &sim.token("v7").await).await;
    assert_eq!(v7["MaxSimCalls"], 16);
    assert_eq!(v7["IsMaintainceExpired"], false);
    assert!(v7.get("IsEnterprise").is_none() && v7.get("IsProfessional").is_none());

    let v10 = sim.get_json("v10", path, &sim.token("v10").await).await;
    assert_eq!(v10["IsEnterprise"], true);
    assert_eq!(v10["IsProfessional"], true);
    assert_eq!(v10["IsMaintainceExpired"], true);
    assert_eq!(v10["ProductCode"], "3CXPSPROFENT");
}

#[tokio::test]
async fn ai_agents_are_counted_with_filter_from_20_0_9_and_absent_before() {
    let sim = start(&fleet()).await;
    let count = "/xapi/v1/Users?$filter=AIAgent%20eq%20true&$count=true&$top=0";
    let v9 = sim.get_json("v9", count, &sim.token("v9").await).await;
    assert_eq!(v9["@odata.count"], 3);
    assert_eq!(v9["value"], Value::Array(vec![]));

    let v7_token = sim.token("v7").await;
    let v7 = sim.get("v7", count, &v7_token).await;
    assert_eq!(
        v7.status(),
        StatusCode::BAD_REQUEST,
        "AIAgent does not exist before 20.0.9"
    );
    let error: Value = v7.json().await.unwrap();
    assert_eq!(error["error"]["code"], "");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("AIAgent")
    );
    assert!(error["error"]["details"].is_array());
    let rows = sim
        .get_json("v7", "/xapi/v1/Users?$select=Id", &v7_token)
        .await;
    assert_eq!(rows["value"].as_array().unwrap().len(), 32);
    assert!(rows["value"][0].get("AIAgent").is_none());
}

#[tokio::test]
async fn without_filter_support_clients_fall_back_to_select() {
    let sim = start(&fleet()).await;
    let token = sim.token("nofilter").await;
    let filtered = sim
        .get(
            "nofilter",
            "/xapi/v1/Users?$filter=AIAgent%20eq%20true&$count=true&$top=0",
            &token,
        )
        .await;
    assert_eq!(filtered.status(), StatusCode::BAD_REQUEST);
    let rows = sim
        .get_json("nofilter", "/xapi/v1/Users?$select=Id,AIAgent", &token)
        .await;
    let rows = rows["value"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.iter().filter(|r| r["AIAgent"] == true).count(), 2);
    assert_eq!(keys(&rows[0]).len(), 2, "only the selected properties");
}

#[tokio::test]
async fn defs_answers_with_the_version_header() {
    let sim = start(&fleet()).await;
    let response = sim
        .get("v9", "/xapi/v1/Defs?$select=Id", &sim.token("v9").await)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-3cx-version"], "20.0.9.1322");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["Id"], 0);
}

#[tokio::test]
async fn select_narrows_the_body_and_unknown_properties_get_an_odata_400() {
    let sim = start(&fleet()).await;
    let token = sim.token("v9").await;
    let narrow = sim
        .get_json(
            "v9",
            "/xapi/v1/SystemStatus?$select=ExpirationDate,LicenseActive",
            &token,
        )
        .await;
    let mut narrow_keys = keys(&narrow);
    narrow_keys.sort();
    assert_eq!(
        narrow_keys,
        ["@odata.context", "ExpirationDate", "LicenseActive"]
    );
    assert!(
        narrow["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("(ExpirationDate,LicenseActive)")
    );
    let bad = sim
        .get("v9", "/xapi/v1/SystemStatus?$select=Nope", &token)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(keys(&error["error"]), ["code", "details", "message"]);
}

#[tokio::test]
async fn refresh_applies_the_pending_upstream_renewal() {
    let toml = cc_pbx(
        "renew",
        "20.0.10.1109",
        "product_code = \"3CXPSPROFSPLA\"\nexpiry = \"+3d\"\nmaintenance_expiry = \"+3d\"\nmax_sim_calls = 8\nextra_logins = [{ kind = \"user\", username = \"admin\", password = \"pw\" }]\nrenewal = { expiry = \"+368d\", maintenance_expiry = \"+368d\", product_code = \"3CXPSPROFENTSPLA\", max_sim_calls = 16 }",
    );
    let sim = start(&toml).await;
    // Not Enterprise yet: the admin user reads and refreshes.
    let login = sim.user_login("renew", "admin", "pw", "").await;
    let token = login["Token"]["access_token"].as_str().unwrap().to_owned();
    let before = sim
        .get_json("renew", "/xapi/v1/LicenseStatus", &token)
        .await;
    assert_eq!(before["MaxSimCalls"], 8);

    let refreshed = sim.refresh("renew", &token).await;
    assert_eq!(refreshed.status(), StatusCode::NO_CONTENT);
    assert!(refreshed.bytes().await.unwrap().is_empty());

    let after = sim.get_json("renew", "/xapi/v1/SystemStatus", &token).await;
    assert_eq!(after["MaxSimCalls"], 16);
    assert_eq!(after["ProductCode"], "3CXPSPROFENTSPLA");
    let expiry = after["ExpirationDate"].as_str().unwrap();
    assert!(expiry.starts_with("2027-12-02T12:00:00"), "{expiry}");
    // The upgrade made the API client login possible.
    assert_eq!(
        sim.token_response("renew", "secret-renew").await.status(),
        StatusCode::OK
    );

    let counters = sim.handle.pbx("renew").unwrap().counters();
    assert_eq!((counters.refresh_calls, counters.renewals_applied), (1, 1));
    // A second refresh has nothing left to apply.
    sim.refresh("renew", &token).await;
    assert_eq!(
        sim.handle.pbx("renew").unwrap().counters().renewals_applied,
        1
    );
}

#[tokio::test]
async fn a_renewal_with_a_delay_arrives_on_its_own() {
    let toml = cc_pbx(
        "later",
        "20.0.9.1322",
        "max_sim_calls = 8\nrenewal = { max_sim_calls = 24, after = \"300ms\", on_refresh = false }",
    );
    let sim = start(&toml).await;
    let token = sim.token("later").await;
    assert_eq!(
        sim.refresh("later", &token).await.status(),
        StatusCode::NO_CONTENT
    );
    let early = sim.get_json("later", "/xapi/v1/SystemStatus", &token).await;
    assert_eq!(
        early["MaxSimCalls"], 8,
        "on_refresh = false: refresh does not bring it"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let late = sim.get_json("later", "/xapi/v1/SystemStatus", &token).await;
    assert_eq!(late["MaxSimCalls"], 24);
}
