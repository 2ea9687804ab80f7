//! The Standard Webhooks channel against the testkit's verifying consumer (CHANNELS.md §1).

use std::sync::Arc;
use std::time::Duration;

use runway_alerts::{Attempt, ChannelKind, Notice, Notifier, notifier_for};
use runway_clock::{Clock as _, ManualClock};
use runway_testkit::receivers::Outcome;
use runway_testkit::{Reply, WebhookReceiver};

use crate::support::{
    DECIDED_AT, Expected, RENEW_URL, SERIES_KEY, WAIT, assert_answers_hide_secrets, assert_hides,
    assert_retry_table, clock, closed_port, echoes, failure_rows, init, resolve, target, trigger,
    url_settings,
};

/// A fresh signing secret (32 bytes), used by no other test.
const SECRET: &str = "whsec_YERGMXEokEzh/9Uy3KwNEzmD32bQY2g79yvYiPj8YKk=";

/// The secret's key material: the part after `whsec_`.
const KEY_TEXT: &str = "YERGMXEokEzh/9Uy3KwNEzmD32bQY2g79yvYiPj8YKk=";

/// A receiver checking timestamps against `clock`, and the notifier signing with that clock.
async fn start(clock: &Arc<ManualClock>) -> (WebhookReceiver, Box<dyn Notifier>) {
    init();
    runway_testkit::secrets::used(SECRET);
    let receiver = WebhookReceiver::start_with_clock(SECRET, clock.clone()).await;
    let notifier = crate::support::notifier(
        ChannelKind::Webhook,
        url_settings(receiver.url()),
        Some(SECRET),
        clock.clone(),
    );
    (receiver, notifier)
}

#[tokio::test]
async fn a_trigger_is_signed_and_carries_the_notice_as_its_data() {
    let clock = clock();
    let (receiver, notifier) = start(&clock).await;
    assert_eq!(notifier.notify(&trigger(), None).await, Attempt::sent());
    let events = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let event = &events[0];
    assert!(
        event.id.starts_with("msg_") && !event.id.contains('.'),
        "{}",
        event.id
    );
    assert_eq!(
        event.timestamp,
        clock.now().as_second(),
        "this attempt's time"
    );
    let payload = &event.payload;
    assert_eq!(payload["type"], "alert.triggered");
    assert_eq!(payload["timestamp"], DECIDED_AT, "when it was decided");
    let data = &payload["data"];
    assert_eq!(data["action"], "trigger");
    assert_eq!(data["severity"], "CRITICAL");
    assert_eq!(data["instance_name"], "pbx-01");
    assert_eq!(data["customer_name"], "Smith & Sons");
    assert_eq!(data["expiry_date"], "2026-12-01");
    assert_eq!(data["days_left"], 3);
    assert_eq!(data["renew_url"], RENEW_URL);
    assert_eq!(data["series_key"], SERIES_KEY);
    let notice: Notice = serde_json::from_value(data.clone()).unwrap();
    assert_eq!(notice, trigger(), "data is the notice, whole");
    let request = &receiver.requests()[0];
    assert!(
        request
            .header("webhook-signature")
            .unwrap()
            .starts_with("v1,")
    );
}

#[tokio::test]
async fn a_resolve_is_an_alert_resolved_event_naming_the_new_expiry() {
    let clock = clock();
    let (receiver, notifier) = start(&clock).await;
    assert!(notifier.notify(&trigger(), None).await.is_sent());
    assert!(notifier.notify(&resolve(), None).await.is_sent());
    let events = receiver.wait_for(2, WAIT).await;
    receiver.assert_no_malformed();
    let resolved = &events[1].payload;
    assert_eq!(resolved["type"], "alert.resolved");
    assert_eq!(resolved["data"]["action"], "resolve");
    assert_eq!(resolved["data"]["resolution"], "renewed");
    assert_eq!(
        resolved["data"]["resolution_note"],
        "renewed: new expiry 2027-12-01"
    );
    assert_eq!(resolved["data"]["series_key"], SERIES_KEY);
    assert_ne!(
        events[0].id, events[1].id,
        "a resolve is an event of its own"
    );
}

#[tokio::test]
async fn the_same_notice_keeps_its_webhook_id_across_attempts_and_is_processed_once() {
    let clock = clock();
    let (receiver, notifier) = start(&clock).await;
    receiver.fail_next(1, &Reply::new(503));
    let notice = trigger();
    assert!(matches!(
        notifier.notify(&notice, None).await,
        Attempt::Retryable { .. }
    ));
    for _ in 0..2 {
        clock.advance(Duration::from_secs(30));
        assert_eq!(notifier.notify(&notice, None).await, Attempt::sent());
    }
    receiver.assert_no_malformed();
    let requests = receiver.requests();
    let outcomes: Vec<Outcome> = requests.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Scripted, Outcome::Processed, Outcome::Duplicate]
    );
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let timestamps: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-timestamp").unwrap())
        .collect();
    assert!(
        timestamps[0] < timestamps[1] && timestamps[1] < timestamps[2],
        "every attempt is dated and signed again: {timestamps:?}"
    );
    assert_eq!(receiver.received().len(), 1, "counted once");
}

#[tokio::test]
async fn every_answer_is_classified_by_the_retry_table() {
    let clock = clock();
    let (receiver, notifier) = start(&clock).await;
    let notice = trigger();
    let mut rows = vec![(Reply::new(200), Expected::Sent)];
    for status in [201, 202, 204] {
        rows.push((Reply::new(status), Expected::Sent));
    }
    rows.extend(failure_rows(&receiver.url()));
    assert_retry_table(
        &*notifier,
        &notice,
        &rows,
        |reply| receiver.fail_next(1, reply),
        || receiver.requests().len(),
    )
    .await;
    // The receiver's own answer, unscripted.
    assert_eq!(notifier.notify(&notice, None).await, Attempt::sent());
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn a_receiver_that_stalls_past_the_timeout_is_retried() {
    let clock = clock();
    let (receiver, _) = start(&clock).await;
    // A client like `http_client`, with a timeout short enough for a test.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let target = target(
        ChannelKind::Webhook,
        url_settings(receiver.url()),
        Some(SECRET),
    );
    let notifier = notifier_for(&target, &http, clock.clone()).unwrap();
    receiver.fail_next(1, &Reply::new(200).with_delay(Duration::from_secs(5)));
    let attempt = notifier.notify(&trigger(), None).await;
    let Attempt::Retryable { error, .. } = &attempt else {
        panic!("a stalled receiver is retried: {attempt:?}");
    };
    assert!(error.contains("timed out"), "{error}");
}

#[tokio::test]
async fn no_error_text_carries_the_signing_secret() {
    let clock = clock();
    let (receiver, notifier) = start(&clock).await;
    assert_answers_hide_secrets(
        &*notifier,
        &trigger(),
        &echoes(SECRET, &[KEY_TEXT]),
        |reply| receiver.fail_next(1, reply),
        &[],
        &[SECRET, KEY_TEXT],
    )
    .await;
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_names_no_secret() {
    init();
    let url = format!("http://127.0.0.1:{}/webhook", closed_port());
    let notifier = crate::support::notifier(
        ChannelKind::Webhook,
        url_settings(url),
        Some(SECRET),
        clock(),
    );
    let attempt = notifier.notify(&trigger(), None).await;
    // Checked first: the messages below show the error text.
    assert_hides(&attempt, &[], &[SECRET, KEY_TEXT]);
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
    assert!(attempt.error().unwrap().contains("connect"), "{attempt:?}");
}
