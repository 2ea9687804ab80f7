//! The Slack channel against the testkit's strict incoming webhook (CHANNELS.md §2).

use runway_alerts::{Attempt, ChannelKind, Notifier};
use runway_testkit::{Reply, SlackReceiver};
use serde_json::Value;

use crate::support::{
    Expected, RENEW_URL, WAIT, assert_answers_hide_secrets, assert_hides, assert_retry_table,
    clock, closed_port, echoes, failure_rows, init, resolve, trigger,
};

/// The hook's secrets: the URL, its path and its token (the last segment).
struct Hook {
    url: String,
    path: String,
    token: String,
}

impl Hook {
    fn of(url: &str) -> Hook {
        let parsed = url::Url::parse(url).unwrap();
        Hook {
            url: url.to_owned(),
            path: parsed.path().to_owned(),
            token: parsed
                .path_segments()
                .unwrap()
                .next_back()
                .unwrap()
                .to_owned(),
        }
    }
}

/// The receiver, and a notifier for a channel whose secret is its URL.
async fn start() -> (SlackReceiver, Box<dyn Notifier>) {
    init();
    let receiver = SlackReceiver::start().await;
    let notifier = notifier_to(&receiver.url());
    (receiver, notifier)
}

fn notifier_to(url: &str) -> Box<dyn Notifier> {
    crate::support::notifier(
        ChannelKind::Slack,
        runway_alerts::ChannelSettings::default(),
        Some(url),
        clock(),
    )
}

fn section(message: &Value) -> &str {
    message["blocks"][1]["text"]["text"].as_str().unwrap()
}

#[tokio::test]
async fn a_trigger_posts_the_severity_the_facts_and_a_renew_link() {
    let (receiver, notifier) = start().await;
    assert_eq!(notifier.notify(&trigger(), None).await, Attempt::sent());
    let messages = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let message = &messages[0];
    // The top-level text is what mobile notifications show.
    assert_eq!(
        message["text"],
        "[CRITICAL] pbx-01 (Smith &amp; Sons): license expires in 3 days on 2026-12-01"
    );
    assert_eq!(message["blocks"][0]["type"], "header");
    let header = message["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.starts_with("[CRITICAL] pbx-01"), "{header}");
    let section = section(message);
    for expected in [
        "*Customer:* Smith &amp; Sons",
        "*Instance:* pbx-01",
        "*Expires:* 2026-12-01 (Europe/Berlin)",
        "*Days left:* 3",
        &format!("<{}|Renew>", RENEW_URL.replace('&', "&amp;")),
    ] {
        assert!(section.contains(expected), "{expected:?} in {section}");
    }
    assert_eq!(message["attachments"][0]["color"], "danger");
}

#[tokio::test]
async fn a_resolve_says_resolved_in_green_and_names_the_new_expiry() {
    let (receiver, notifier) = start().await;
    assert_eq!(notifier.notify(&resolve(), None).await, Attempt::sent());
    let messages = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let message = &messages[0];
    let text = message["text"].as_str().unwrap();
    assert!(text.starts_with("Resolved: pbx-01"), "{text}");
    assert!(text.contains("new expiry 2027-12-01"), "{text}");
    assert!(
        section(message).contains("*Resolved:* renewed: new expiry 2027-12-01"),
        "{}",
        section(message)
    );
    assert!(
        !section(message).contains("|Renew>"),
        "nothing left to renew"
    );
    assert_eq!(message["attachments"][0]["color"], "good");
}

#[tokio::test]
async fn every_answer_is_classified_by_the_retry_table() {
    let (receiver, notifier) = start().await;
    let mut rows = vec![
        (Reply::new(200).with_body("ok"), Expected::Sent),
        // Slack's 200 says `ok` when it took the message; anything else is an error.
        (
            Reply::new(200).with_body("invalid_token"),
            Expected::Permanent,
        ),
        (Reply::new(200), Expected::Permanent),
    ];
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
async fn no_error_text_carries_the_webhook_url() {
    let (receiver, notifier) = start().await;
    let hook = Hook::of(&receiver.url());
    assert_answers_hide_secrets(
        &*notifier,
        &trigger(),
        &echoes(&hook.token, &[&hook.url, &hook.path]),
        |reply| receiver.fail_next(1, reply),
        &[&hook.url, &hook.path],
        &[&hook.token],
    )
    .await;
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_names_no_part_of_the_url() {
    init();
    let token = "rGx7Kq2mVb9TzW4nLp8sYc3d";
    runway_testkit::secrets::used(token);
    let url = format!(
        "http://127.0.0.1:{}/services/T0RUNWAY01/B0RUNWAY01/{token}",
        closed_port()
    );
    let hook = Hook::of(&url);
    let attempt = notifier_to(&url).notify(&trigger(), None).await;
    // Checked first: the messages below show the error text.
    assert_hides(&attempt, &[&hook.url, &hook.path], &[&hook.token]);
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
