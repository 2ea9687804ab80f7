//! The Alertmanager channel against a real Prometheus Alertmanager, which forwards what it
//! notifies to a webhook of the testkit (CHANNELS.md §5); its failures against a scripted
//! stand-in, since the real one cannot be made to fail.

use std::sync::Arc;

use jiff::Timestamp;
use runway_alerts::{Attempt, ChannelKind, Notice, Notifier};
use runway_clock::SystemClock;
use runway_testkit::{Alertmanager, Reply};
use serde_json::{Value, json};

use crate::support::{
    Expected, RENEW_URL, SERIES_KEY, Stub, WAIT, assert_answers_hide_secrets, assert_hides,
    assert_retry_table, closed_port, echoes, failure_rows, init, resolve, trigger, url_settings,
};

/// A bearer token, used by no other test.
const TOKEN: &str = "am-token-4f9c2e7b1d8a6035";

/// A notifier for Alertmanager at `url`, on the real clock: Alertmanager judges `endsAt`
/// against its own.
fn notifier_to(url: String, token: Option<&str>) -> Box<dyn Notifier> {
    crate::support::notifier(
        ChannelKind::Alertmanager,
        url_settings(url),
        token,
        Arc::new(SystemClock),
    )
}

/// `notice`, decided `seconds_ago` by the real clock (whole seconds).
fn decided_ago(notice: Notice, seconds_ago: i64) -> Notice {
    Notice {
        at: Timestamp::from_second(Timestamp::now().as_second() - seconds_ago).unwrap(),
        ..notice
    }
}

fn time(value: &Value) -> Timestamp {
    value.as_str().unwrap().parse().unwrap()
}

/// Whether a forwarded notification has `status` and is about this series at `severity`.
fn forwarded(notification: &Value, status: &str, severity: &str) -> bool {
    notification["status"] == status
        && notification["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|alert| {
                alert["labels"]["runway_series"] == SERIES_KEY
                    && alert["labels"]["severity"] == severity
                    && alert["status"] == status
            })
}

/// The series' alerts Alertmanager holds now (resolved ones are not listed).
async fn held(am: &Alertmanager) -> Vec<Value> {
    am.alerts()
        .await
        .into_iter()
        .filter(|alert| alert["labels"]["runway_series"] == SERIES_KEY)
        .collect()
}

#[tokio::test]
async fn a_trigger_fires_one_alert_with_its_labels_and_annotations() {
    init();
    let Some(am) = Alertmanager::start().await else {
        return;
    };
    let notice = decided_ago(trigger(), 60);
    let sent_at = Timestamp::now();
    let notifier = notifier_to(am.url(), None);
    assert_eq!(notifier.notify(&notice, None).await, Attempt::sent());
    am.wait_for_forwarded(|n| forwarded(n, "firing", "critical"), WAIT)
        .await;
    let alerts = held(&am).await;
    assert_eq!(
        alerts.len(),
        1,
        "only the notice's severity fires: {alerts:#?}"
    );
    let alert = &alerts[0];
    assert_eq!(
        alert["labels"],
        json!({
            "alertname": "RunwayLicenseExpiry",
            "severity": "critical",
            "customer": "Smith & Sons",
            "instance": "pbx-01",
            "runway_series": SERIES_KEY,
        })
    );
    assert_eq!(alert["status"]["state"], "active");
    let annotations = &alert["annotations"];
    assert_eq!(
        annotations["summary"],
        "[CRITICAL] pbx-01 (Smith & Sons): license expires in 3 days on 2026-12-01"
    );
    assert_eq!(annotations["renew_url"], RENEW_URL);
    assert_eq!(annotations["expiry_date"], "2026-12-01");
    assert_eq!(annotations["days_left"], "3");
    assert_eq!(annotations["stage"], "milestone:3");
    let description = annotations["description"].as_str().unwrap();
    assert!(description.contains("Instance: pbx-01"), "{description}");
    assert_eq!(time(&alert["startsAt"]), notice.at);
    let ends_at = time(&alert["endsAt"]);
    assert!(
        ends_at >= sent_at + jiff::SignedDuration::from_mins(59),
        "it stays firing for the re-send period: {ends_at}"
    );
}

#[tokio::test]
async fn a_resolve_ends_the_alert_and_alertmanager_forwards_it_resolved() {
    init();
    let Some(am) = Alertmanager::start().await else {
        return;
    };
    let notifier = notifier_to(am.url(), None);
    assert!(
        notifier
            .notify(&decided_ago(trigger(), 60), None)
            .await
            .is_sent()
    );
    am.wait_for_forwarded(|n| forwarded(n, "firing", "critical"), WAIT)
        .await;
    let resolve = decided_ago(resolve(), 0);
    assert_eq!(notifier.notify(&resolve, None).await, Attempt::sent());
    let sent_at = Timestamp::now();
    let notification = am
        .wait_for_forwarded(|n| forwarded(n, "resolved", "critical"), WAIT)
        .await;
    let alert = notification["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["labels"]["severity"] == "critical")
        .unwrap();
    let ends_at = time(&alert["endsAt"]);
    assert!(
        ends_at >= time(&alert["startsAt"]) && ends_at <= sent_at,
        "endsAt is the resolve's time: {alert:#}"
    );
    assert!(
        held(&am).await.is_empty(),
        "no alert of the series fires any more"
    );
}

#[tokio::test]
async fn every_answer_is_classified_by_the_retry_table() {
    init();
    runway_testkit::secrets::used(TOKEN);
    let stub = Stub::start().await;
    let notifier = notifier_to(stub.url(), Some(TOKEN));
    let mut rows = vec![
        (Reply::new(200), Expected::Sent),
        (Reply::new(204), Expected::Sent),
        // Alertmanager's own refusals: a bad label set, a missing field, a wrong content type.
        (Reply::new(415), Expected::Permanent),
        (Reply::new(422), Expected::Permanent),
    ];
    rows.extend(failure_rows(&format!("{}/api/v2/alerts", stub.url())));
    assert_retry_table(
        &*notifier,
        &trigger(),
        &rows,
        |reply| stub.fail_next(reply),
        || stub.requests().len(),
    )
    .await;
    let bearer = format!("Bearer {TOKEN}");
    for (path, authorization) in stub.requests() {
        assert_eq!(path, "/api/v2/alerts");
        assert_eq!(authorization.as_deref(), Some(bearer.as_str()));
    }
}

#[tokio::test]
async fn no_error_text_carries_the_bearer_token() {
    init();
    runway_testkit::secrets::used(TOKEN);
    let stub = Stub::start().await;
    let notifier = notifier_to(stub.url(), Some(TOKEN));
    assert_answers_hide_secrets(
        &*notifier,
        &trigger(),
        &echoes(TOKEN, &[&format!("Authorization: Bearer {TOKEN}")]),
        |reply| stub.fail_next(reply),
        &[],
        &[TOKEN],
    )
    .await;
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_names_no_token() {
    init();
    runway_testkit::secrets::used(TOKEN);
    let notifier = notifier_to(format!("http://127.0.0.1:{}", closed_port()), Some(TOKEN));
    let attempt = notifier.notify(&trigger(), None).await;
    // Checked first: the messages below show the error text.
    assert_hides(&attempt, &[], &[TOKEN]);
    assert!(
        matches!(
            attempt,
            Attempt::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{attempt:?}"
    );
}
