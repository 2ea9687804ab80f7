//! The Microsoft Teams channel against the testkit's strict Workflows webhook (CHANNELS.md §3).

use runway_alerts::{Attempt, ChannelKind, Notifier};
use runway_testkit::{Reply, TeamsReceiver};
use serde_json::{Value, json};

use crate::support::{
    Expected, RENEW_URL, WAIT, assert_answers_hide_secrets, assert_hides, assert_retry_table,
    clock, closed_port, echoes, failure_rows, init, resolve, trigger,
};

/// The workflow's secrets: the URL, its path (with the workflow's id) and its `sig`.
struct Workflow {
    url: String,
    path: String,
    sig: String,
}

impl Workflow {
    fn of(url: &str) -> Workflow {
        let parsed = url::Url::parse(url).unwrap();
        let sig = parsed
            .query_pairs()
            .find(|(name, _)| name == "sig")
            .unwrap()
            .1
            .into_owned();
        Workflow {
            url: url.to_owned(),
            path: parsed.path().to_owned(),
            sig,
        }
    }
}

async fn start() -> (TeamsReceiver, Box<dyn Notifier>) {
    init();
    let receiver = TeamsReceiver::start().await;
    let notifier = notifier_to(&receiver.url());
    (receiver, notifier)
}

fn notifier_to(url: &str) -> Box<dyn Notifier> {
    crate::support::notifier(
        ChannelKind::Teams,
        runway_alerts::ChannelSettings::default(),
        Some(url),
        clock(),
    )
}

/// The card of a posted envelope.
fn card(message: &Value) -> &Value {
    &message["attachments"][0]["content"]
}

fn facts(card: &Value) -> &Vec<Value> {
    card["body"]
        .as_array()
        .unwrap()
        .iter()
        .find(|element| element["type"] == "FactSet")
        .and_then(|facts| facts["facts"].as_array())
        .unwrap()
}

#[tokio::test]
async fn a_trigger_posts_a_card_with_the_severity_the_facts_and_a_renew_action() {
    let (receiver, notifier) = start().await;
    assert_eq!(notifier.notify(&trigger(), None).await, Attempt::sent());
    let messages = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let card = card(&messages[0]);
    let title = &card["body"][0];
    assert_eq!(
        title["text"],
        "[CRITICAL] pbx-01 (Smith & Sons): license expires in 3 days on 2026-12-01"
    );
    assert_eq!(title["color"], "Attention");
    let facts = facts(card);
    for fact in [
        json!({"title": "Customer", "value": "Smith & Sons"}),
        json!({"title": "Instance", "value": "pbx-01"}),
        json!({"title": "Expires", "value": "2026-12-01 (Europe/Berlin)"}),
        json!({"title": "Days left", "value": "3"}),
    ] {
        assert!(facts.contains(&fact), "{fact} in {facts:?}");
    }
    assert_eq!(
        card["actions"],
        json!([{"type": "Action.OpenUrl", "title": "Renew", "url": RENEW_URL}])
    );
}

#[tokio::test]
async fn a_resolve_says_resolved_in_good_and_names_the_new_expiry() {
    let (receiver, notifier) = start().await;
    assert_eq!(notifier.notify(&resolve(), None).await, Attempt::sent());
    let messages = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let card = card(&messages[0]);
    let title = &card["body"][0];
    assert!(
        title["text"]
            .as_str()
            .unwrap()
            .starts_with("Resolved: pbx-01"),
        "{title}"
    );
    assert_eq!(title["color"], "Good");
    assert!(
        facts(card)
            .contains(&json!({"title": "Resolved", "value": "renewed: new expiry 2027-12-01"})),
        "{card}"
    );
    assert!(card.get("actions").is_none(), "nothing left to renew");
}

#[tokio::test]
async fn every_answer_is_classified_by_the_retry_table() {
    let (receiver, notifier) = start().await;
    let mut rows: Vec<(Reply, Expected)> = [200, 201, 202, 204]
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
async fn no_error_text_carries_the_workflow_url() {
    let (receiver, notifier) = start().await;
    let workflow = Workflow::of(&receiver.url());
    assert_answers_hide_secrets(
        &*notifier,
        &trigger(),
        &echoes(&workflow.sig, &[&workflow.url, &workflow.path]),
        |reply| receiver.fail_next(1, reply),
        &[&workflow.url, &workflow.path],
        &[&workflow.sig],
    )
    .await;
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_names_no_part_of_the_url() {
    init();
    let sig = "Qm9R2xT7vLk3NpW8zYc4HsJ6dFg1BaE5uIo0rVt_-Ab";
    runway_testkit::secrets::used(sig);
    let url = format!(
        "http://127.0.0.1:{}/workflows/3f2b9c1e-8d4a-4e7b-9a61-5c0d2e7f8b13/triggers/manual/\
         paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}",
        closed_port()
    );
    let workflow = Workflow::of(&url);
    let attempt = notifier_to(&url).notify(&trigger(), None).await;
    // Checked first: the messages below show the error text.
    assert_hides(&attempt, &[&workflow.url, &workflow.path], &[&workflow.sig]);
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
