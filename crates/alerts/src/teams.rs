//! Microsoft Teams through a Power Automate "Workflows" webhook ("When a Teams webhook request
//! is received"): the URL, whose `sig=` parameter is the credential, is the channel's secret.
//!
//! The body is the envelope the Workflows templates iterate over — `{"type":"message",
//! "attachments":[{"contentType":"application/vnd.microsoft.card.adaptive", "contentUrl":null,
//! "content":<card>}]}` — carrying one Adaptive Card of version 1.4 (the Workflows path does not
//! render 1.5): a coloured title (`Attention`, `Warning`, `Good` once resolved), a status line,
//! a `FactSet`, and an `Action.OpenUrl` "Renew" when there is a renewal link. Values are cut so
//! the card stays far below the ~28 KB limit.
//!
//! Any 2xx is success (Workflows answers 202: the flow run was queued); everything else goes
//! through [`crate::classify`].

use std::fmt;

use async_trait::async_trait;
use runway_core::Severity;
use runway_store::{ChannelKind, Notice, NoticeAction};
use serde_json::{Value, json};
use url::Url;

use crate::notifier::{Attempt, ChannelError, Notifier, parse_http_url, send};
use crate::render::{self, Status};
use crate::text::{Redactor, safe_link, truncate};

/// The card version: the highest the Workflows path renders.
pub const CARD_VERSION: &str = "1.4";

/// The message size limit of Teams, in bytes.
pub const MAX_BYTES: usize = 28 * 1024;

/// The title at most, in characters.
const TITLE_CHARS: usize = 500;

/// The colour of a status, as an Adaptive Card `TextBlock` names it.
fn color(status: Status) -> &'static str {
    match status {
        Status::Firing(Severity::Critical) => "Attention",
        Status::Firing(Severity::Warning) => "Warning",
        Status::Firing(Severity::Info) | Status::Test => "Accent",
        Status::Resolved => "Good",
    }
}

/// The Workflows envelope with the card for a notice.
pub fn message(notice: &Notice) -> Value {
    let status = Status::of(notice);
    let facts: Vec<Value> = render::facts(notice)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "full"},
        "body": [
            {
                "type": "TextBlock",
                "text": truncate(&render::title(notice), TITLE_CHARS),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": true,
                "color": color(status),
            },
            {
                "type": "TextBlock",
                "text": render::status_line(notice),
                "wrap": true,
                "isSubtle": true,
                "spacing": "None",
            },
            {"type": "FactSet", "facts": facts},
        ],
    });
    if notice.action != NoticeAction::Resolve
        && let Some(url) = safe_link(notice.renew_url.as_deref())
        // A link too long to fit is left out: a cut link is a wrong link.
        && url.as_str().len() <= MAX_BYTES / 4
    {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Renew", "url": url.as_str()}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// A Teams channel's configuration: its Workflows URL.
#[derive(Clone)]
pub(crate) struct Config {
    url: Url,
    redactor: Redactor,
}

impl Config {
    /// The Workflows URL is the channel's secret.
    pub(crate) fn parse(secret: Option<&str>) -> Result<Config, ChannelError> {
        let text = secret.unwrap_or("");
        let url = parse_http_url(ChannelKind::Teams, "Workflows URL", text)?;
        Ok(Config {
            redactor: Redactor::default().with(text).with(url.as_str()),
            url,
        })
    }
}

/// Sends to a Teams Workflows webhook.
pub struct TeamsNotifier {
    config: Config,
    http: reqwest::Client,
}

impl TeamsNotifier {
    /// A notifier for a checked configuration.
    pub(crate) fn new(config: Config, http: reqwest::Client) -> Self {
        TeamsNotifier { config, http }
    }
}

impl fmt::Debug for TeamsNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsNotifier")
            .field("url", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for TeamsNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Teams
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        let request = self
            .http
            .post(self.config.url.clone())
            .json(&message(notice));
        let attempt = match send(request, &self.config.redactor).await {
            Ok(answer) => answer.classify(),
            Err(attempt) => attempt,
        };
        attempt.redacted(&self.config.redactor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    #[test]
    fn the_envelope_carries_one_adaptive_card_of_version_1_4() {
        let message = message(&fixtures::trigger());
        assert_eq!(message["type"], "message");
        let attachment = &message["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert!(attachment["contentUrl"].is_null());
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["color"], "Attention");
        assert_eq!(card["body"][2]["type"], "FactSet");
        assert!(
            card["body"][2]["facts"]
                .as_array()
                .unwrap()
                .contains(&json!({"title": "Customer", "value": "Smith & Sons <Ltd>"}))
        );
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(card["actions"][0]["title"], "Renew");
    }

    #[test]
    fn a_resolve_is_good_and_has_no_renew_action() {
        let message = message(&fixtures::resolve());
        let card = &message["attachments"][0]["content"];
        assert_eq!(card["body"][0]["color"], "Good");
        assert!(card.get("actions").is_none());
        assert!(
            card["body"][2]["facts"]
                .as_array()
                .unwrap()
                .contains(&json!({"title": "Resolved", "value": "renewed: new expiry 2027-12-01"}))
        );
    }

    #[test]
    fn warning_colour_and_no_action_without_a_link() {
        let mut notice = fixtures::trigger();
        notice.severity = Severity::Warning;
        notice.renew_url = None;
        let message = message(&notice);
        let card = &message["attachments"][0]["content"];
        assert_eq!(card["body"][0]["color"], "Warning");
        assert!(card.get("actions").is_none());
    }

    #[test]
    fn the_card_stays_under_28_kb_whatever_the_values() {
        let mut notice = fixtures::trigger();
        notice.summary = "s".repeat(50_000);
        notice.customer_name = "c".repeat(50_000);
        notice.license_key = Some("k".repeat(50_000));
        notice.renew_url = Some(format!("https://example.com/{}", "r".repeat(50_000)));
        let bytes = serde_json::to_vec(&message(&notice)).unwrap();
        assert!(bytes.len() <= MAX_BYTES, "{} bytes", bytes.len());
    }

    #[test]
    fn the_configuration_needs_a_url() {
        assert_eq!(
            Config::parse(None).err().unwrap().to_string(),
            "the Microsoft Teams channel has no Workflows URL"
        );
    }
}
