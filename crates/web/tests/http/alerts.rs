//! Alerts over HTTP: the fleet's reminders are open after its first reads, technicians
//! acknowledge them, a new milestone arrives with the day, and a renewal found by Refresh
//! resolves its series.

use crate::helpers::spawn_app;

#[tokio::test]
async fn reminders_open_on_reading_are_acknowledged_and_resolve_after_a_refresh() {
    let app = spawn_app().await;
    let viewer = app.signed_in("viewer@acme.example").await;
    let technician = app.signed_in("technician@acme.example").await;

    let open = viewer.get("/api/v1/alerts").await;
    assert_eq!(open.status, 200, "{}", open.body);
    let open = open.json();
    assert!(open.is_array(), "{open}");
    let by_instance = |alerts: &serde_json::Value, pbx: &str| {
        let id = app.id(pbx).0;
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["instance_id"] == id && a["kind"] == "license_expiry")
            .cloned()
    };
    let lapsed = by_instance(&open, "overdue").expect("the lapsed license has its alert");
    assert_eq!(lapsed["severity"], "CRITICAL");
    assert_eq!(lapsed["lapsed"], true);
    assert_eq!(lapsed["state"], "open");
    assert_eq!(lapsed["customer"], "Bravo Clinic");
    let tomorrow = by_instance(&open, "tomorrow").expect("one day out");
    assert_eq!(tomorrow["milestone_days"], 1);
    assert_eq!(tomorrow["severity"], "CRITICAL");
    assert_eq!(
        tomorrow["summary"],
        format!(
            "License expires tomorrow ({})",
            tomorrow["expiry_date"].as_str().unwrap()
        )
    );
    assert!(
        by_instance(&open, "renewing").is_none(),
        "12 days out: not yet"
    );
    assert!(
        by_instance(&open, "warning").is_none(),
        "45 days out: nothing"
    );
    // The License Status row shows each instance's unresolved alerts, linked to them.
    let status = viewer.get("/").await;
    assert_eq!(status.status, 200);
    let badge = |pbx: &str| format!("href=\"/alerts?instance={}\"", app.id(pbx).0);
    let overdue = status
        .body
        .split(&badge("overdue"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        overdue.starts_with(" title=\"unresolved alerts\">1 alert</a>"),
        "{}",
        status.body
    );
    assert!(
        status.body.contains(&format!(
            "severity-critical alert-badge\" {}",
            badge("overdue")
        )),
        "{}",
        status.body
    );
    assert!(
        !status.body.contains(&badge("warning")),
        "45 days out: no badge"
    );

    // Viewers read; technicians acknowledge.
    let id = tomorrow["id"].as_i64().unwrap();
    let path = format!("/api/v1/alerts/{id}/acknowledge");
    assert_eq!(
        viewer.post_json(&path, &serde_json::json!({})).await.status,
        403
    );
    let acked = technician.post_json(&path, &serde_json::json!({})).await;
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert_eq!(acked.json()["state"], "acknowledged");
    assert_eq!(acked.json()["acknowledged_by"], "technician@acme.example");
    let detail = viewer.get(&format!("/api/v1/alerts/{id}")).await.json();
    let steps: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["fired", "acknowledged"]);

    // Two days on, the 10-day milestone of the 12-day license fires with the tick.
    app.clock.advance(std::time::Duration::from_hours(48));
    let now = runway_clock::Clock::now(&*app.clock);
    app.store.evaluate_alerts(now).await.unwrap();
    // (Sessions last 12 hours: sign in again.)
    let viewer = app.signed_in("viewer@acme.example").await;
    let technician = app.signed_in("technician@acme.example").await;
    let renewing = by_instance(&viewer.get("/api/v1/alerts").await.json(), "renewing")
        .expect("the 10-day reminder");
    assert_eq!(renewing["milestone_days"], 10);
    assert_eq!(renewing["severity"], "INFO");

    // Refresh finds the renewal: the series resolves, saying the new expiry.
    let pbx = app.id("renewing").0;
    let refreshed = technician
        .post_form(&format!("/instances/{pbx}/refresh"), &[])
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert!(by_instance(&viewer.get("/api/v1/alerts").await.json(), "renewing").is_none());
    let resolved = viewer.get("/api/v1/alerts?state=resolved").await.json();
    let renewed = by_instance(&resolved, "renewing").expect("resolved");
    assert_eq!(renewed["resolution"], "renewed");
    assert!(
        renewed["resolution_note"]
            .as_str()
            .unwrap()
            .starts_with("renewed: new expiry "),
        "{renewed}"
    );
    assert!(renewed["resolved_at"].is_string());

    // The page lists the same, and a wrong filter says what is wrong.
    let page = viewer.get("/alerts?state=resolved").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("renewed: new expiry"), "{}", page.body);
    let wrong = viewer.get("/api/v1/alerts?severity=loud").await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong
            .body
            .contains("severity must be one of INFO, WARNING, CRITICAL"),
        "{}",
        wrong.body
    );
    // The page's filter form sends a blank customer for "any": that is no filter, and a
    // customer that is not an id is refused by name.
    let any = viewer.get("/alerts?state=resolved&customer=&kind=").await;
    assert_eq!(any.status, 200, "{}", any.body);
    assert!(any.body.contains("renewed: new expiry"), "{}", any.body);
    let wrong = viewer.get("/api/v1/alerts?customer=bravo").await;
    assert_eq!(wrong.status, 422);
    assert_eq!(
        wrong.json()["error"],
        "customer must be a customer id, not \"bravo\""
    );
}
