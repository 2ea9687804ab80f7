//! The audit log: sign-ins, failed sign-ins and changes are recorded with who, when, from where
//! and what — never a secret — and only admins and owners of the same tenant read them.

use crate::helpers::{PASSWORD, other_tenant, spawn_app};

#[tokio::test]
async fn sign_ins_and_changes_are_audited_with_who_what_and_from_where() {
    let app = spawn_app().await;
    let pbx = app.id("warning").0;
    let _ = app
        .browser()
        .login("viewer@acme.example", "a wrong password")
        .await;
    let owner = app.signed_in("owner@acme.example").await;
    let viewer_id = app
        .store
        .users(app.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == "viewer@acme.example")
        .unwrap()
        .id;
    let new_password = "a brand new passphrase 42";
    let changed = owner
        .post_form(
            &format!("/users/{viewer_id}"),
            &[("role", "technician"), ("password", new_password)],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let refreshed = owner
        .post_form(&format!("/instances/{pbx}/refresh"), &[])
        .await;
    assert!(refreshed.status < 400, "{}", refreshed.body);
    let token = owner
        .post_json("/api/v1/tokens", &serde_json::json!({"name": "nightly"}))
        .await;
    assert_eq!(token.status, 201, "{}", token.body);
    let secret = token.json()["token"].as_str().unwrap().to_owned();
    let script = app.bearer(&secret);
    let settings = script
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/settings",
            &serde_json::json!({"name": "Acme MSP", "zone": "Asia/Tokyo",
                "milestones": "14, 3, 1", "lapse_alert": true,
                "renewal_template": "https://www.3cx.com/renew?key={key}"}),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let technician = app.signed_in("technician@acme.example").await;
    assert_eq!(
        technician
            .post_form("/customers", &[("name", "Zulu")])
            .await
            .status,
        403
    );

    let log = owner.get("/api/v1/audit").await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries = log.json();
    let entries = entries.as_array().unwrap();
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {entries:#?}"))
    };
    let failed = find("sign_in_failed");
    assert_eq!(failed["actor"], "viewer@acme.example");
    assert_eq!(failed["via"], "sign_in");
    assert_eq!(failed["address"], "127.0.0.1");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "signed_in" && e["actor"] == "owner@acme.example")
    );
    let user = find("user_changed");
    assert!(
        user["target"]
            .as_str()
            .unwrap()
            .contains("viewer@acme.example")
    );
    assert!(user["detail"].as_str().unwrap().contains("role technician"));
    assert!(user["detail"].as_str().unwrap().contains("password set"));
    assert_eq!(find("refreshed")["target"], format!("instance {pbx}"));
    assert_eq!(find("token_created")["via"], "session");
    let by_token = find("settings_changed");
    assert_eq!(by_token["via"], "api_token");
    assert!(
        by_token["actor"]
            .as_str()
            .unwrap()
            .starts_with("owner@acme.example (API token")
    );
    assert!(
        by_token["detail"]
            .as_str()
            .unwrap()
            .contains("milestones 14, 3, 1")
    );
    let refused = find("refused: customer_created");
    assert_eq!(refused["actor"], "technician@acme.example");
    // Newest first, and never a secret.
    assert_eq!(entries[0]["action"], "refused: customer_created");
    for secret in [new_password, PASSWORD, "a wrong password", secret.as_str()] {
        assert!(!log.body.contains(secret), "a secret in the audit log");
    }

    // The page shows the same; viewers and technicians may not read it; tenants never mix.
    let page = owner.get("/audit").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("sign_in_failed") && page.body.contains("user_changed"));
    assert_eq!(technician.get("/api/v1/audit").await.status, 403);
    assert_eq!(technician.get("/audit").await.status, 403);
    other_tenant(&app).await;
    let other = app.signed_in("owner@other.example").await;
    let theirs = other.get("/api/v1/audit").await.json();
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "owner@other.example"),
        "{theirs:#}"
    );
}
