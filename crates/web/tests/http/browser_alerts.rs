//! Alerts and where they go, in a real headless Chromium: the alerts page lists the open
//! reminders and Acknowledge moves one on; an admin adds a webhook channel on the Channels
//! page and sends it a test notification that a local receiver gets; Refresh license on an
//! instance whose PBX holds a renewal resolves its reminder. Leaves screenshots of the alerts
//! and channels pages in `target/screenshots/`.

use std::time::Duration;

use runway_store::{AlertFilter, AlertKind};
use runway_testkit::{Chromium, WebhookReceiver};

use crate::browser::{rgb, screenshot_dir, sign_in};
use crate::helpers::{App, spawn_app};
use crate::status::date_in;

/// The webhook channel's signing secret (`whsec_` + base64 of 32 random bytes).
const SECRET: &str = "whsec_vd7r1Dq4og4c8JDEmY42uGfL+pdpAxpfXWnDBTxVgfI=";

/// The unresolved reminder of `pbx`'s license (not its "not read" alert).
async fn open_alert_of(app: &App, pbx: &str) -> i64 {
    let filter = AlertFilter {
        instance: Some(app.id(pbx)),
        kind: Some(AlertKind::LicenseExpiry),
        ..AlertFilter::default()
    };
    let alerts = app.store.alerts(app.tenant, &filter, 10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{pbx} has one reminder: {alerts:?}");
    alerts[0].id.0
}

/// Saves a screenshot of the whole window to `target/screenshots/{name}.png`.
async fn keep_picture(chrome: &Chromium, name: &str, height: u32) {
    chrome.set_window_size(1440, height).await.unwrap();
    let shot = screenshot_dir().join(format!("{name}.png"));
    chrome.screenshot(&shot).await.unwrap();
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real picture"
    );
}

#[tokio::test]
async fn a_technician_sees_the_open_alerts_and_acknowledges_one() {
    let app = spawn_app().await;
    let Some(chrome) = Chromium::start().await else {
        return;
    };
    let lapsed = open_alert_of(&app, "overdue").await;
    let tomorrow = open_alert_of(&app, "tomorrow").await;
    sign_in(&chrome, &app, "technician@acme.example").await;
    let nav = chrome.find("nav a[href=\"/alerts\"]").await.unwrap();
    chrome.click(&nav).await.unwrap();
    chrome.find("#alerts-table").await.unwrap();

    // The open reminders after the fleet's first read: the lapsed license and the one that
    // expires tomorrow, both critical, both open, each with its Acknowledge button.
    let rows = chrome.find_all("#alerts-table tbody tr").await.unwrap();
    let mut shown = Vec::new();
    for row in &rows {
        let id: i64 = chrome
            .attribute(row, "data-alert-id")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let state = chrome.attribute(row, "data-state").await.unwrap().unwrap();
        shown.push((id, state, chrome.text(row).await.unwrap()));
    }
    let ids: Vec<i64> = shown.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), 2, "{shown:?}");
    assert!(
        ids.contains(&lapsed) && ids.contains(&tomorrow),
        "{shown:?}"
    );
    for (id, state, text) in &shown {
        assert_eq!(state, "open", "{text}");
        assert!(text.contains("CRITICAL"), "{text}");
        assert!(text.contains("Acknowledge"), "{text}");
        let (customer, instance, says) = if *id == lapsed {
            (
                "Bravo Clinic",
                "Bravo Main",
                format!("License expired on {}", date_in(app.now, -3)),
            )
        } else {
            (
                "Alpha Dental",
                "Alpha North",
                format!("License expires tomorrow ({})", date_in(app.now, 1)),
            )
        };
        for want in [customer, instance, &says] {
            assert!(text.contains(want), "{text:?} shows {want:?}");
        }
    }
    let badge = chrome
        .find(&format!(
            "#alerts-table tr[data-alert-id=\"{tomorrow}\"] .badge"
        ))
        .await
        .unwrap();
    let (r, g, b) = rgb(&chrome.css_value(&badge, "background-color").await.unwrap());
    assert!(r > g && r > b, "a critical badge is red: {:?}", (r, g, b));

    // Acknowledge: the alert's page says who acknowledged it.
    let button = chrome
        .find(&format!(
            "#alerts-table tr[data-alert-id=\"{tomorrow}\"] button"
        ))
        .await
        .unwrap();
    chrome.click(&button).await.unwrap();
    chrome.find("#alert").await.unwrap();
    assert_eq!(
        chrome.current_url().await.unwrap(),
        format!("{}/alerts/{tomorrow}", app.base)
    );
    assert_eq!(
        chrome.text_of("#alert-state").await.unwrap(),
        "acknowledged"
    );
    assert!(
        chrome
            .text_of("#alert")
            .await
            .unwrap()
            .contains("by technician@acme.example")
    );
    assert_eq!(chrome.count("#acknowledge").await.unwrap(), 0);
    let steps = chrome.find_all("#timeline tbody tr").await.unwrap();
    assert_eq!(steps.len(), 2);
    assert!(
        chrome
            .text(&steps[1])
            .await
            .unwrap()
            .contains("acknowledged")
    );

    // Back on the list it is acknowledged, without a button; the other is still open.
    chrome.goto(&format!("{}/alerts", app.base)).await.unwrap();
    let row = chrome
        .find(&format!("#alerts-table tr[data-alert-id=\"{tomorrow}\"]"))
        .await
        .unwrap();
    assert_eq!(
        chrome
            .attribute(&row, "data-state")
            .await
            .unwrap()
            .as_deref(),
        Some("acknowledged")
    );
    assert!(
        chrome
            .text(&row)
            .await
            .unwrap()
            .contains("acknowledged by technician@acme.example")
    );
    let buttons = |id: i64| format!("#alerts-table tr[data-alert-id=\"{id}\"] button");
    assert_eq!(chrome.count(&buttons(tomorrow)).await.unwrap(), 0);
    assert_eq!(chrome.count(&buttons(lapsed)).await.unwrap(), 1);
    assert_eq!(
        app.store
            .alerts(app.tenant, &AlertFilter::default(), 10)
            .await
            .unwrap()
            .iter()
            .find(|a| a.id.0 == tomorrow)
            .map(|a| a.state.as_str()),
        Some("acknowledged"),
        "stored so"
    );

    keep_picture(&chrome, "alerts", 900).await;
    chrome.quit().await;
}

#[tokio::test]
async fn an_admin_adds_a_webhook_channel_and_its_test_notification_arrives() {
    let app = spawn_app().await;
    let Some(chrome) = Chromium::start().await else {
        return;
    };
    let receiver = WebhookReceiver::start_with_clock(SECRET, app.clock.clone()).await;
    sign_in(&chrome, &app, "admin@acme.example").await;
    let nav = chrome.find("nav a[href=\"/channels\"]").await.unwrap();
    chrome.click(&nav).await.unwrap();
    chrome.find("#channel-form").await.unwrap();
    assert_eq!(chrome.count("#channels-table tbody tr").await.unwrap(), 0);

    // The form starts as a webhook's and shows only the fields a kind uses.
    assert_eq!(
        chrome
            .text_of("#channel-kind option[selected]")
            .await
            .unwrap(),
        "Webhook"
    );
    let shown = |css: &'static str| {
        let chrome = &chrome;
        async move {
            let element = chrome.find(css).await.unwrap();
            chrome.css_value(&element, "display").await.unwrap() != "none"
        }
    };
    let url_field = "#channel-form label[data-kinds~=webhook]";
    assert!(shown(url_field).await, "a webhook has a URL");
    assert!(!shown("#email-fields").await, "and no SMTP server");
    let kind = chrome.find("#channel-kind").await.unwrap();
    kind.select_by_value("email").await.unwrap();
    assert!(shown("#email-fields").await, "email has an SMTP server");
    assert!(!shown(url_field).await, "and no URL");
    kind.select_by_value("webhook").await.unwrap();
    assert!(shown(url_field).await);

    // Add the channel.
    for (field, value) in [
        ("name", "Ops webhook".to_owned()),
        ("url", receiver.url()),
        ("secret", SECRET.to_owned()),
    ] {
        let input = chrome
            .find(&format!("#channel-form input[name={field}]"))
            .await
            .unwrap();
        chrome.type_into(&input, &value).await.unwrap();
    }
    let add = chrome
        .find("#channel-form button[type=submit]")
        .await
        .unwrap();
    chrome.click(&add).await.unwrap();
    let row = chrome.find("#channels-table tbody tr").await.unwrap();
    assert_eq!(
        chrome.current_url().await.unwrap(),
        format!("{}/channels", app.base)
    );
    let text = chrome.text(&row).await.unwrap();
    assert!(text.contains("Ops webhook"), "{text}");
    assert!(text.contains(&receiver.url()), "{text}");
    assert!(text.contains("(secret stored)"), "{text}");
    let id: i64 = chrome
        .attribute(&row, "data-channel-id")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();

    // A rule and a policy through their forms.
    let rule = chrome
        .find("#route-form button[type=submit]")
        .await
        .unwrap();
    chrome.click(&rule).await.unwrap();
    let route = chrome.find("#routes-table tbody tr").await.unwrap();
    let text = chrome.text(&route).await.unwrap();
    for want in ["every kind", "INFO", "every customer", "Ops webhook"] {
        assert!(text.contains(want), "{text:?} shows {want:?}");
    }
    for (field, value) in [("name", "Out of hours"), ("wait_1", "30")] {
        let input = chrome
            .find(&format!("#escalation-form input[name={field}]"))
            .await
            .unwrap();
        chrome.type_into(&input, value).await.unwrap();
    }
    chrome
        .find("#escalation-form select[name=channel_1]")
        .await
        .unwrap()
        .select_by_value(&id.to_string())
        .await
        .unwrap();
    let add = chrome
        .find("#escalation-form button[type=submit]")
        .await
        .unwrap();
    chrome.click(&add).await.unwrap();
    let policy = chrome.find("#escalations-table tbody tr").await.unwrap();
    let text = chrome.text(&policy).await.unwrap();
    for want in ["Out of hours", "CRITICAL", "after 30 min → Ops webhook"] {
        assert!(text.contains(want), "{text:?} shows {want:?}");
    }

    // Send test notification: the page says it was taken, and the receiver has it.
    let send_test = chrome
        .find(&format!(
            "#channels-table tr[data-channel-id=\"{id}\"] button.test-channel"
        ))
        .await
        .unwrap();
    chrome.click(&send_test).await.unwrap();
    let result = chrome.find("#test-result").await.unwrap();
    assert_eq!(
        chrome
            .attribute(&result, "data-outcome")
            .await
            .unwrap()
            .as_deref(),
        Some("sent")
    );
    assert_eq!(
        chrome.text(&result).await.unwrap(),
        "Test of Ops webhook: sent — Ops webhook took the test notification"
    );
    let events = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(events[0].payload["type"], "alert.test");
    receiver.assert_no_malformed();
    let html = chrome
        .find("html")
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    assert!(
        !html.contains(SECRET.trim_start_matches("whsec_")),
        "no secret on the page"
    );

    keep_picture(&chrome, "channels", 1500).await;
    chrome.quit().await;
}

#[tokio::test]
async fn refreshing_a_renewed_license_resolves_its_reminder() {
    let app = spawn_app().await;
    let Some(chrome) = Chromium::start().await else {
        return;
    };
    // Two days on, the 12-day license is inside the 10-day window: its reminder is open. Its
    // PBX already holds a renewal that 3CX's license server has not handed over yet.
    app.clock.advance(Duration::from_hours(48));
    let now = runway_clock::Clock::now(&*app.clock);
    app.store.evaluate_alerts(now).await.unwrap();
    let renewing = app.id("renewing").0;
    let alert = open_alert_of(&app, "renewing").await;
    sign_in(&chrome, &app, "technician@acme.example").await;

    chrome.goto(&format!("{}/alerts", app.base)).await.unwrap();
    let row = chrome
        .find(&format!("#alerts-table tr[data-alert-id=\"{alert}\"]"))
        .await
        .unwrap();
    assert_eq!(
        chrome
            .attribute(&row, "data-state")
            .await
            .unwrap()
            .as_deref(),
        Some("open")
    );
    let text = chrome.text(&row).await.unwrap();
    assert!(
        text.contains(&format!(
            "License expires in 10 days ({})",
            date_in(app.now, 12)
        )),
        "{text}"
    );

    // The instance page shows the open alert; Refresh license finds the renewal.
    let instance = chrome
        .find(&format!(
            "#alerts-table tr[data-alert-id=\"{alert}\"] a[href=\"/instances/{renewing}\"]"
        ))
        .await
        .unwrap();
    chrome.click(&instance).await.unwrap();
    chrome.find("#instance").await.unwrap();
    assert_eq!(
        chrome
            .count(&format!("#instance-alerts li[data-alert-id=\"{alert}\"]"))
            .await
            .unwrap(),
        1
    );
    let button = chrome.find("#refresh-license").await.unwrap();
    chrome.click(&button).await.unwrap();
    chrome.find("#read-outcome").await.unwrap();
    let new_expiry = date_in(app.now, 377).to_string();
    assert_eq!(chrome.text_of("#expiry-after").await.unwrap(), new_expiry);
    assert_eq!(
        chrome
            .count(&format!("#instance-alerts li[data-alert-id=\"{alert}\"]"))
            .await
            .unwrap(),
        0,
        "the instance has no open reminder any more"
    );

    // The alerts page: gone from the open ones, resolved with the new expiry.
    chrome.goto(&format!("{}/alerts", app.base)).await.unwrap();
    chrome.find("#alerts-table").await.unwrap();
    assert_eq!(
        chrome
            .count(&format!("#alerts-table tr[data-alert-id=\"{alert}\"]"))
            .await
            .unwrap(),
        0
    );
    chrome
        .goto(&format!("{}/alerts?state=resolved", app.base))
        .await
        .unwrap();
    let row = chrome
        .find(&format!("#alerts-table tr[data-alert-id=\"{alert}\"]"))
        .await
        .unwrap();
    assert_eq!(
        chrome
            .attribute(&row, "data-state")
            .await
            .unwrap()
            .as_deref(),
        Some("resolved")
    );
    let text = chrome.text(&row).await.unwrap();
    assert!(
        text.contains(&format!("renewed: new expiry {new_expiry}")),
        "{text}"
    );
    assert_eq!(
        chrome.count("#alerts-table button").await.unwrap(),
        0,
        "nothing resolved is acknowledged"
    );
    chrome.quit().await;
}
