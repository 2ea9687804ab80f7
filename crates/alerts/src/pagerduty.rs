//! PagerDuty through the Events API v2 (`POST /v2/enqueue`): the integration's 32-character
//! routing key, which goes in the body, is the channel's secret.
//!
//! - **Trigger**: `event_action: trigger` with `dedup_key` = the notice's series key, so every
//!   stage of one series lands on the same PagerDuty alert (an open alert absorbs repeats), a
//!   `payload` (summary ≤ 1024 characters, the instance as `source`, severity
//!   `info`/`warning`/`critical`, the decision time, the license facts as `custom_details`)
//!   and the renewal link in `links`.
//! - **Resolve**: `{"routing_key", "event_action": "resolve", "dedup_key"}` with the same key
//!   through the same routing key, which is what PagerDuty requires to close the alert.
//! - **Test**: a trigger with a dedup key of its own (`runway-test:` and the notice's
//!   idempotency key), at `info`, followed by nothing: the person who pressed "test" sees a real
//!   alert and resolves it in PagerDuty.
//!
//! A key longer than PagerDuty's 255 characters is replaced by `runway:sha256:` and its hex
//! SHA-256, the same for every event of the series. The events URL defaults to
//! [`DEFAULT_URL`]; a channel's `url` setting overrides it. 202 is success, 429 and 5xx are
//! retried, 400 is permanent — see [`crate::classify`].

use std::fmt;

use async_trait::async_trait;
use runway_store::{ChannelKind, ChannelSettings, Notice, NoticeAction};
use serde_json::{Map, Value, json};
use url::Url;

use crate::notifier::{Attempt, ChannelError, Notifier, parse_public_url, send};
use crate::render;
use crate::text::{Redactor, safe_link, sha256_hex, truncate};

/// PagerDuty's events endpoint.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// `dedup_key` at most, in characters.
pub const DEDUP_KEY_CHARS: usize = 255;

/// `payload.summary` at most, in characters.
pub const SUMMARY_CHARS: usize = 1024;

/// The length of a routing (integration) key.
const ROUTING_KEY_CHARS: usize = 32;

/// The `dedup_key` of a notice: its series key, or for a test a key of the test's own.
pub fn dedup_key(notice: &Notice) -> String {
    let key = match notice.action {
        NoticeAction::Test => format!("runway-test:{}", notice.idempotency_key),
        NoticeAction::Trigger | NoticeAction::Resolve | NoticeAction::Problem => {
            notice.series_key.clone()
        }
    };
    if key.chars().count() <= DEDUP_KEY_CHARS {
        key
    } else {
        format!("runway:sha256:{}", sha256_hex(&key))
    }
}

/// The event for a notice, with `routing_key` in it.
pub fn event(notice: &Notice, routing_key: &str) -> Value {
    let dedup_key = dedup_key(notice);
    if notice.action == NoticeAction::Resolve {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
    }
    let mut details = Map::new();
    for (label, value) in render::facts(notice) {
        details.insert(label.to_lowercase().replace(' ', "_"), Value::String(value));
    }
    if let Some(days) = notice.days_left {
        details.insert("days_left".to_owned(), json!(days));
    }
    details.insert("stage".to_owned(), json!(notice.stage));
    let source = if notice.instance_name.trim().is_empty() {
        "runway"
    } else {
        notice.instance_name.as_str()
    };
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": truncate(&render::title(notice), SUMMARY_CHARS),
            "source": truncate(source, SUMMARY_CHARS),
            "severity": render::severity_name(notice.severity),
            "timestamp": notice.at,
            "component": "3CX license",
            "group": notice.customer_name,
            "class": notice.kind.as_str(),
            "custom_details": details,
        },
        "client": "Runway",
    });
    if let Some(url) = safe_link(notice.renew_url.as_deref()) {
        event["links"] = json!([{"href": url.as_str(), "text": "Renew"}]);
    }
    event
}

/// A PagerDuty channel's configuration.
#[derive(Clone)]
pub(crate) struct Config {
    url: Url,
    routing_key: String,
}

impl Config {
    /// The routing key from the secret; the events URL from the settings, if set.
    pub(crate) fn parse(
        settings: &ChannelSettings,
        secret: Option<&str>,
    ) -> Result<Config, ChannelError> {
        let kind = ChannelKind::Pagerduty;
        let routing_key = secret.unwrap_or("").trim();
        if routing_key.is_empty() {
            return Err(ChannelError::missing(kind, "routing key"));
        }
        let length = routing_key.chars().count();
        if length != ROUTING_KEY_CHARS {
            return Err(ChannelError::invalid(
                kind,
                "routing key",
                format!("it has {length} characters; an integration key has 32"),
            ));
        }
        if !routing_key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ChannelError::invalid(
                kind,
                "routing key",
                "it must be letters and digits only",
            ));
        }
        let url = match settings.url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => parse_public_url(kind, "events URL", url)?,
            _ => Url::parse(DEFAULT_URL).map_err(|err| {
                ChannelError::invalid(kind, "events URL", format!("the default: {err}"))
            })?,
        };
        Ok(Config {
            url,
            routing_key: routing_key.to_owned(),
        })
    }
}

/// Sends to PagerDuty's Events API v2.
pub struct PagerDutyNotifier {
    config: Config,
    http: reqwest::Client,
    redactor: Redactor,
}

impl PagerDutyNotifier {
    /// A notifier for a checked configuration.
    pub(crate) fn new(config: Config, http: reqwest::Client) -> Self {
        PagerDutyNotifier {
            redactor: Redactor::default().with(&config.routing_key),
            config,
            http,
        }
    }
}

impl fmt::Debug for PagerDutyNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyNotifier")
            .field("url", &self.config.url.as_str())
            .field("routing_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for PagerDutyNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Pagerduty
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        let request = self
            .http
            .post(self.config.url.clone())
            .json(&event(notice, &self.config.routing_key));
        let attempt = match send(request, &self.redactor).await {
            Ok(answer) => answer.classify(),
            Err(attempt) => attempt,
        };
        attempt.redacted(&self.redactor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    const KEY: &str = "e93facc04764012d7bfb002500d5d1a6";

    #[test]
    fn a_trigger_carries_the_series_as_dedup_key_and_the_facts() {
        let notice = fixtures::trigger();
        let event = event(&notice, KEY);
        assert_eq!(event["routing_key"], KEY);
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["dedup_key"], notice.series_key.as_str());
        let payload = &event["payload"];
        assert!(
            payload["summary"]
                .as_str()
                .unwrap()
                .starts_with("[CRITICAL] pbx-01")
        );
        assert_eq!(payload["source"], "pbx-01");
        assert_eq!(payload["severity"], "critical");
        assert_eq!(payload["timestamp"], "2026-11-28T08:00:00Z");
        let details = &payload["custom_details"];
        assert_eq!(details["customer"], "Smith & Sons <Ltd>");
        assert_eq!(details["license_key"], "ABCD-EFGH-IJKL-MNOP");
        assert_eq!(details["edition"], "Enterprise");
        assert_eq!(details["expires"], "2026-12-01 (Europe/Berlin)");
        assert_eq!(details["days_left"], 3);
        assert_eq!(event["links"][0]["text"], "Renew");
    }

    #[test]
    fn a_resolve_is_the_bare_three_fields_with_the_same_key() {
        let trigger = event(&fixtures::trigger(), KEY);
        let resolve = event(&fixtures::resolve(), KEY);
        assert_eq!(
            resolve,
            json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": trigger["dedup_key"]})
        );
    }

    #[test]
    fn a_test_triggers_under_a_key_of_its_own_at_info() {
        let notice = fixtures::test();
        let event = event(&notice, KEY);
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["payload"]["severity"], "info");
        assert_ne!(event["dedup_key"], notice.series_key.as_str());
        assert!(
            event["dedup_key"]
                .as_str()
                .unwrap()
                .starts_with("runway-test:")
        );
    }

    #[test]
    fn long_keys_are_hashed_and_long_summaries_cut() {
        let mut notice = fixtures::trigger();
        notice.series_key = "k".repeat(300);
        notice.summary = "s".repeat(5000);
        let event = event(&notice, KEY);
        let key = event["dedup_key"].as_str().unwrap();
        assert!(key.len() <= DEDUP_KEY_CHARS);
        assert_eq!(key, dedup_key(&notice), "stable across events");
        assert_eq!(
            event["payload"]["summary"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            SUMMARY_CHARS
        );
    }

    #[test]
    fn the_routing_key_is_checked_and_never_repeated() {
        let settings = ChannelSettings::default();
        let err = Config::parse(&settings, Some("short-key"))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "the PagerDuty channel's routing key is not valid: it has 9 characters; an \
             integration key has 32"
        );
        let config = Config::parse(&settings, Some(KEY)).unwrap();
        assert_eq!(config.url.as_str(), DEFAULT_URL);
        let settings = ChannelSettings {
            url: Some("http://127.0.0.1:9/v2/enqueue".to_owned()),
            ..ChannelSettings::default()
        };
        let config = Config::parse(&settings, Some(KEY)).unwrap();
        assert_eq!(config.url.as_str(), "http://127.0.0.1:9/v2/enqueue");
    }
}
