//! The PagerDuty channel against the testkit's Events API v2, which models open alerts
//! (CHANNELS.md §4).

use runway_alerts::{Attempt, ChannelKind, Notifier};
use runway_core::Severity;
use runway_testkit::receivers::PagerDutyEffect;
use runway_testkit::{PagerDutyReceiver, Reply};

use crate::support::{
    Expected, RENEW_URL, SERIES_KEY, WAIT, assert_answers_hide_secrets, assert_hides,
    assert_retry_table, at_severity, clock, closed_port, echoes, failure_rows, init, resolve,
    trigger, url_settings,
};

/// A 32-character integration key, used by no other test.
const ROUTING_KEY: &str = "0pnhzqm9s8p5k2f6q3hxs9p40m45n13l";

fn notifier_to(url: String) -> Box<dyn Notifier> {
    runway_testkit::secrets::used(ROUTING_KEY);
    crate::support::notifier(
        ChannelKind::Pagerduty,
        url_settings(url),
        Some(ROUTING_KEY),
        clock(),
    )
}

async fn start() -> (PagerDutyReceiver, Box<dyn Notifier>) {
    init();
    let receiver = PagerDutyReceiver::start().await;
    let notifier = notifier_to(receiver.url());
    (receiver, notifier)
}

#[tokio::test]
async fn a_trigger_opens_an_alert_under_the_series_key() {
    let (receiver, notifier) = start().await;
    assert_eq!(notifier.notify(&trigger(), None).await, Attempt::sent());
    let events = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let event = &events[0];
    assert_eq!(event.routing_key, ROUTING_KEY);
    assert_eq!(event.action, "trigger");
    assert_eq!(event.dedup_key, SERIES_KEY);
    assert_eq!(event.effect, PagerDutyEffect::Opened);
    let payload = &event.body["payload"];
    assert_eq!(payload["severity"], "critical");
    assert_eq!(payload["source"], "pbx-01");
    assert_eq!(
        payload["summary"],
        "[CRITICAL] pbx-01 (Smith & Sons): license expires in 3 days on 2026-12-01"
    );
    let details = &payload["custom_details"];
    assert_eq!(details["customer"], "Smith & Sons");
    assert_eq!(details["instance"], "pbx-01");
    assert_eq!(details["expires"], "2026-12-01 (Europe/Berlin)");
    assert_eq!(details["days_left"], 3);
    assert_eq!(event.body["links"][0]["href"], RENEW_URL);
    let open = receiver.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].dedup_key, SERIES_KEY);
    assert_eq!(open[0].severity, "critical");
}

#[tokio::test]
async fn severities_map_to_info_warning_and_critical_on_one_alert() {
    let (receiver, notifier) = start().await;
    for notice in [
        at_severity(Severity::Info, "milestone:30"),
        at_severity(Severity::Warning, "milestone:10"),
        at_severity(Severity::Critical, "milestone:3"),
    ] {
        assert_eq!(notifier.notify(&notice, None).await, Attempt::sent());
    }
    let events = receiver.wait_for(3, WAIT).await;
    receiver.assert_no_malformed();
    let seen: Vec<(&str, &str, PagerDutyEffect)> = events
        .iter()
        .map(|e| {
            (
                e.body["payload"]["severity"].as_str().unwrap(),
                e.dedup_key.as_str(),
                e.effect,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("info", SERIES_KEY, PagerDutyEffect::Opened),
            ("warning", SERIES_KEY, PagerDutyEffect::Absorbed),
            ("critical", SERIES_KEY, PagerDutyEffect::Absorbed),
        ],
        "one series escalates one alert"
    );
    assert_eq!(receiver.open_alerts().len(), 1);
}

#[tokio::test]
async fn a_resolve_closes_the_open_alert_through_the_same_key() {
    let (receiver, notifier) = start().await;
    assert!(notifier.notify(&trigger(), None).await.is_sent());
    assert_eq!(receiver.open_alerts().len(), 1);
    assert_eq!(notifier.notify(&resolve(), None).await, Attempt::sent());
    let events = receiver.wait_for(2, WAIT).await;
    receiver.assert_no_malformed();
    let resolved = &events[1];
    assert_eq!(resolved.action, "resolve");
    assert_eq!(resolved.dedup_key, events[0].dedup_key);
    assert_eq!(resolved.routing_key, ROUTING_KEY);
    assert_eq!(
        resolved.effect,
        PagerDutyEffect::Resolved,
        "it reached the open alert"
    );
    assert!(receiver.open_alerts().is_empty());
}

#[tokio::test]
async fn every_answer_is_classified_by_the_retry_table() {
    let (receiver, notifier) = start().await;
    let mut rows: Vec<(Reply, Expected)> = [200, 202]
        .into_iter()
        .map(|status| (Reply::new(status), Expected::Sent))
        .collect();
    rows.extend(failure_rows(&receiver.url()));
    assert_retry_table(
        &*notifier,
        &trigger(),
        &rows,
        |reply| receiver.fail_next(1, reply),
        || receiver.requests().len(),
    )
    .await;
    assert_eq!(notifier.notify(&trigger(), None).await, Attempt::sent());
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn no_error_text_carries_the_routing_key() {
    let (receiver, notifier) = start().await;
    for notice in [trigger(), resolve()] {
        assert_answers_hide_secrets(
            &*notifier,
            &notice,
            &echoes(ROUTING_KEY, &[]),
            |reply| receiver.fail_next(1, reply),
            &[],
            &[ROUTING_KEY],
        )
        .await;
    }
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_names_no_routing_key() {
    init();
    let notifier = notifier_to(format!("http://127.0.0.1:{}/v2/enqueue", closed_port()));
    let attempt = notifier.notify(&trigger(), None).await;
    // Checked first: the messages below show the error text.
    assert_hides(&attempt, &[], &[ROUTING_KEY]);
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
