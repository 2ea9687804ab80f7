//! Slack through an incoming webhook: the webhook URL is the only credential (it is the
//! channel's secret and never appears in an error).
//!
//! The message has a top-level `text` (always: mobile notifications read only that), Block Kit
//! `blocks` — a `header` with the title and a `section` with the facts and a `<url|Renew>`
//! link — and one legacy attachment whose `color` paints the severity (`danger`, `warning`,
//! `#439FE0` for info, `good` once resolved). Slack's limits are respected by construction:
//! the header is cut to 150 characters, the section stays under 3000, the text far under
//! 40,000.
//!
//! Slack answers success as `200` with the body `ok`; a `200` with any other body is a
//! permanent error. Other statuses go through [`crate::classify`] (429 after `Retry-After`,
//! 5xx retried; 400 `invalid_payload`, 403, 404 `channel_not_found`, 410 `channel_is_archived`
//! permanent).

use std::fmt;

use async_trait::async_trait;
use runway_core::Severity;
use runway_store::{ChannelKind, Notice, NoticeAction};
use serde_json::{Value, json};
use url::Url;

use crate::notifier::{Attempt, ChannelError, Notifier, describe, parse_http_url, send};
use crate::render::{self, Status};
use crate::text::{Redactor, safe_link, slack_escape, truncate};

/// `header.text` at most (plain_text).
pub const HEADER_CHARS: usize = 150;
/// `section.text` at most.
pub const SECTION_CHARS: usize = 3000;
/// The top-level `text` at most: Slack cuts above 40,000; a notification needs far less.
pub const TEXT_CHARS: usize = 3000;

/// The attachment colour of a status.
fn color(status: Status) -> &'static str {
    match status {
        Status::Firing(Severity::Critical) => "danger",
        Status::Firing(Severity::Warning) => "warning",
        Status::Firing(Severity::Info) | Status::Test => "#439FE0",
        Status::Resolved => "good",
    }
}

/// A link in mrkdwn's `<url|label>` form: the URL may hold neither `|` nor `>`, and `&` is
/// escaped like everywhere else in mrkdwn.
fn link(url: &Url, label: &str) -> String {
    let url = url
        .as_str()
        .replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('&', "&amp;");
    format!("<{url}|{label}>")
}

/// The message for a notice.
pub fn message(notice: &Notice) -> Value {
    let title = render::title(notice);
    let text = slack_escape(&truncate(&title, TEXT_CHARS));
    let mut section = String::new();
    for (label, value) in render::facts(notice) {
        let line = format!("*{label}:* {}", slack_escape(&value));
        push_line(&mut section, &line);
    }
    if notice.action != NoticeAction::Resolve
        && let Some(url) = safe_link(notice.renew_url.as_deref())
    {
        // A link that does not fit whole is left out: a cut link is a wrong link.
        push_line(&mut section, &link(&url, "Renew"));
    }
    json!({
        "text": text,
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(&title, HEADER_CHARS), "emoji": true},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": section},
            },
        ],
        "attachments": [
            {
                "color": color(Status::of(notice)),
                "fallback": text,
                "text": slack_escape(&render::status_line(notice)),
            },
        ],
    })
}

/// Appends `line` to a section's text when it fits whole under [`SECTION_CHARS`].
fn push_line(section: &mut String, line: &str) {
    let separator = usize::from(!section.is_empty());
    if section.chars().count() + separator + line.chars().count() > SECTION_CHARS {
        return;
    }
    if separator == 1 {
        section.push('\n');
    }
    section.push_str(line);
}

/// A Slack channel's configuration: its webhook URL.
#[derive(Clone)]
pub(crate) struct Config {
    url: Url,
    redactor: Redactor,
}

impl Config {
    /// The webhook URL is the channel's secret.
    pub(crate) fn parse(secret: Option<&str>) -> Result<Config, ChannelError> {
        let text = secret.unwrap_or("");
        let url = parse_http_url(ChannelKind::Slack, "webhook URL", text)?;
        Ok(Config {
            redactor: Redactor::default().with(text).with(url.as_str()),
            url,
        })
    }
}

/// Sends to a Slack incoming webhook.
pub struct SlackNotifier {
    config: Config,
    http: reqwest::Client,
}

impl SlackNotifier {
    /// A notifier for a checked configuration.
    pub(crate) fn new(config: Config, http: reqwest::Client) -> Self {
        SlackNotifier { config, http }
    }
}

impl fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackNotifier")
            .field("url", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Slack
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        let request = self
            .http
            .post(self.config.url.clone())
            .json(&message(notice));
        let attempt = match send(request, &self.config.redactor).await {
            Ok(answer) if answer.status.is_success() => {
                if answer.body.trim() == "ok" {
                    Attempt::sent()
                } else {
                    Attempt::permanent(format!(
                        "{} (Slack answers \"ok\" when it took a message)",
                        describe(answer.status, &answer.body)
                    ))
                }
            }
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

    fn section(message: &Value) -> &str {
        message["blocks"][1]["text"]["text"].as_str().unwrap()
    }

    #[test]
    fn a_trigger_has_text_a_header_the_facts_a_renew_link_and_the_severity_colour() {
        let message = message(&fixtures::trigger());
        assert_eq!(
            message["text"],
            "[CRITICAL] pbx-01 (Smith &amp; Sons &lt;Ltd&gt;): license expires in 3 days on \
             2026-12-01"
        );
        assert_eq!(message["blocks"][0]["type"], "header");
        assert_eq!(message["blocks"][0]["text"]["type"], "plain_text");
        assert_eq!(message["blocks"][1]["text"]["type"], "mrkdwn");
        let section = section(&message);
        for expected in [
            "*Customer:* Smith &amp; Sons &lt;Ltd&gt;",
            "*Instance:* pbx-01",
            "*License key:* ABCD-EFGH-IJKL-MNOP",
            "*Edition:* Enterprise",
            "*Expires:* 2026-12-01 (Europe/Berlin)",
            "*Days left:* 3",
            "<https://www.3cx.com/renew?key=ABCD-EFGH-IJKL-MNOP&amp;x=1|Renew>",
        ] {
            assert!(section.contains(expected), "{expected} in {section}");
        }
        assert_eq!(message["attachments"][0]["color"], "danger");
    }

    #[test]
    fn a_resolve_is_green_and_names_the_new_expiry() {
        let message = message(&fixtures::resolve());
        assert_eq!(message["attachments"][0]["color"], "good");
        assert!(section(&message).contains("*Resolved:* renewed: new expiry 2027-12-01"));
        assert!(!section(&message).contains("|Renew>"));
    }

    #[test]
    fn colours_follow_the_severity() {
        let mut notice = fixtures::trigger();
        notice.severity = Severity::Warning;
        assert_eq!(message(&notice)["attachments"][0]["color"], "warning");
        notice.severity = Severity::Info;
        assert_eq!(message(&notice)["attachments"][0]["color"], "#439FE0");
    }

    #[test]
    fn long_values_stay_within_slacks_limits() {
        let mut notice = fixtures::trigger();
        notice.summary = "s".repeat(10_000);
        notice.customer_name = "c".repeat(10_000);
        notice.renew_url = Some(format!("https://example.com/{}", "r".repeat(5000)));
        let message = message(&notice);
        let header = message["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), HEADER_CHARS);
        assert!(section(&message).chars().count() <= SECTION_CHARS);
        assert!(
            !section(&message).contains("|Renew>"),
            "a cut link is left out"
        );
        assert!(message["text"].as_str().unwrap().chars().count() <= TEXT_CHARS);
    }

    #[test]
    fn an_unsafe_renew_link_is_not_rendered() {
        let mut notice = fixtures::trigger();
        notice.renew_url = Some("javascript:alert(1)".to_owned());
        assert!(!section(&message(&notice)).contains("Renew"));
    }

    #[test]
    fn the_configuration_needs_a_url_and_never_repeats_it() {
        assert_eq!(
            Config::parse(None).err().unwrap().to_string(),
            "the Slack channel has no webhook URL"
        );
        let err = Config::parse(Some("hooks.slack.com/services/T/B/sekrit-token"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("the Slack channel's webhook URL is not valid"),
            "{err}"
        );
        assert!(!err.contains("sekrit"), "{err}");
    }
}
