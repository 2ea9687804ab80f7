//! Retention and "not read" settings: kept when left out, refused out of range with a reason
//! naming the field, and saved from the form as from the API.

use crate::helpers::spawn_app;

#[tokio::test]
async fn retention_and_not_read_settings_are_checked_kept_and_saved() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let current = admin.get("/api/v1/settings").await.json();
    assert_eq!(
        (
            current["history_days"].clone(),
            current["attempt_days"].clone()
        ),
        (400.into(), 30.into())
    );
    assert_eq!(current["not_read_after_hours"], 24);
    assert_eq!(
        (
            current["capacity_alerts"].clone(),
            current["maintenance_reminders"].clone()
        ),
        (false.into(), false.into()),
        "both off by default"
    );

    let mut body = serde_json::json!({
        "name": current["name"], "zone": current["zone"], "milestones": "10, 3, 1",
        "lapse_alert": true, "renewal_template": current["renewal_template"],
    });
    // Left out: unchanged.
    let kept = admin
        .send_json(reqwest::Method::PUT, "/api/v1/settings", &body)
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json()["history_days"], 400);

    body["history_days"] = 10.into();
    let short = admin
        .send_json(reqwest::Method::PUT, "/api/v1/settings", &body)
        .await;
    assert_eq!(short.status, 422);
    assert!(
        short
            .body
            .contains("keep license history for 30 to 3650 days, not 10"),
        "{}",
        short.body
    );

    let form = admin
        .post_form(
            "/settings",
            &[
                ("name", "Acme MSP"),
                ("zone", "Asia/Tokyo"),
                ("milestones", "10, 3, 1"),
                (
                    "renewal_template",
                    current["renewal_template"].as_str().unwrap(),
                ),
                ("history_days", "90"),
                ("attempt_days", "7"),
                ("not_read_after_hours", "0"),
            ],
        )
        .await;
    assert_eq!(form.status, 422);
    assert!(
        form.body.contains("id=\"error-not_read_after_hours\""),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("after 1 to 8760 hours, not 0"),
        "{}",
        form.body
    );

    let saved = admin
        .post_form(
            "/settings",
            &[
                ("name", "Acme MSP"),
                ("zone", "Asia/Tokyo"),
                ("milestones", "10, 3, 1"),
                (
                    "renewal_template",
                    current["renewal_template"].as_str().unwrap(),
                ),
                ("history_days", "90"),
                ("attempt_days", "7"),
                ("not_read_after_hours", "48"),
                ("capacity_alerts", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let settings = app.store.tenant(app.tenant).await.unwrap().settings;
    assert!(
        settings.capacity_alerts && !settings.maintenance_reminders,
        "a ticked box turns its kind on; an unticked one leaves it off"
    );
    assert_eq!(
        (
            settings.retention.history_days(),
            settings.retention.attempt_days(),
            settings.not_read_after_hours
        ),
        (90, 7, 48)
    );
}
