//! Prometheus Alertmanager through its API v2: `POST {url}/api/v2/alerts` with a JSON array of
//! alerts. The channel's `url` is Alertmanager's base URL (`http://127.0.0.1:9093`); its secret,
//! if any, is a bearer token.
//!
//! ## Identity, and why severity is a label
//! Alertmanager identifies an alert by its label set. The labels are `alertname`
//! (`RunwayLicenseExpiry`, `RunwayNotRead`, `RunwayTest`), `severity` (`info`, `warning`,
//! `critical`), `customer`, `instance` and `runway_series` (the notice's series key); the
//! label names keep to the classic `[a-zA-Z_][a-zA-Z0-9_]*`. Severity is a label because that
//! is what Alertmanager routes and inhibits on — but a series escalates (info → warning →
//! critical), and a new severity is a new alert. So every trigger also resolves the series'
//! lower severities (same labels, `endsAt` = now), and a resolve resolves the notice's severity
//! and every lower one: at any time at most one alert of a series fires. (A lower severity the
//! series skipped is "resolved" without having fired; Alertmanager shows it only next to the
//! real one, in a group's resolved list.) Everything that reads well but is not identity —
//! summary, description, renewal link, days left, stage — goes into annotations.
//!
//! ## Staying firing
//! A firing alert is sent with `endsAt` = now + [`VALID_FOR`]; Alertmanager resolves it by
//! itself once that passes, so the caller must re-send every open alert's last trigger at least
//! every [`RESEND_EVERY`] (a quarter of the validity, as Prometheus does: two lost re-sends do
//! not resolve it). A test fires for [`TEST_VALID_FOR`] and lapses by itself. `startsAt` is when
//! the alert was decided.
//!
//! 200 is success, 5xx is retried, 400/415/422 are permanent — see [`crate::classify`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::header::HeaderValue;
use runway_clock::Clock;
use runway_core::Severity;
use runway_store::{AlertKind, ChannelKind, ChannelSettings, Notice, NoticeAction};
use serde_json::{Map, Value, json};
use url::Url;

use crate::notifier::{Attempt, ChannelError, Notifier, parse_public_url, send};
use crate::render;
use crate::text::{Redactor, safe_link};

/// How long a sent firing alert stays firing without being sent again.
pub const VALID_FOR: Duration = Duration::from_hours(1);

/// How often the caller re-sends each open alert's last trigger.
pub const RESEND_EVERY: Duration = Duration::from_mins(15);

/// How long a test alert fires.
pub const TEST_VALID_FOR: Duration = Duration::from_mins(5);

/// The path of the alerts endpoint under Alertmanager's base URL.
const ALERTS_PATH: &str = "api/v2/alerts";

/// Severities from least to most severe.
const SEVERITIES: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

/// The `alertname` of a notice.
pub fn alertname(notice: &Notice) -> &'static str {
    match (notice.action, notice.kind) {
        (NoticeAction::Test, _) => "RunwayTest",
        (NoticeAction::Problem, _) => "RunwayChannelProblem",
        (_, AlertKind::LicenseExpiry) => "RunwayLicenseExpiry",
        (_, AlertKind::MaintenanceExpiry) => "RunwayMaintenanceExpiry",
        (_, AlertKind::NotRead) => "RunwayNotRead",
        (_, AlertKind::Capacity) => "RunwayCapacity",
    }
}

/// The labels of a notice's alert at `severity`: its identity in Alertmanager.
pub fn labels(notice: &Notice, severity: Severity) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert("alertname".to_owned(), json!(alertname(notice)));
    labels.insert(
        "severity".to_owned(),
        json!(render::severity_name(severity)),
    );
    labels.insert("customer".to_owned(), json!(notice.customer_name));
    labels.insert("instance".to_owned(), json!(notice.instance_name));
    labels.insert("runway_series".to_owned(), json!(notice.series_key));
    labels
}

/// The annotations of a notice: what people read.
fn annotations(notice: &Notice) -> Map<String, Value> {
    let mut annotations = Map::new();
    annotations.insert("summary".to_owned(), json!(render::title(notice)));
    let description = render::facts(notice)
        .into_iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    annotations.insert("description".to_owned(), json!(description));
    if let Some(url) = safe_link(notice.renew_url.as_deref()) {
        annotations.insert("renew_url".to_owned(), json!(url.as_str()));
    }
    if let Some(date) = notice.expiry_date {
        annotations.insert("expiry_date".to_owned(), json!(date.to_string()));
    }
    if let Some(days) = notice.days_left {
        annotations.insert("days_left".to_owned(), json!(days.to_string()));
    }
    annotations.insert("stage".to_owned(), json!(notice.stage));
    annotations
}

/// The alerts to post for a notice at `now`: the firing one and the resolved lower severities
/// for a trigger; the notice's severity and the lower ones resolved for a resolve; one
/// short-lived alert for a test.
pub fn alerts(notice: &Notice, now: Timestamp) -> Value {
    let starts_at = notice.at;
    // Alertmanager refuses `endsAt` before `startsAt`.
    let resolved_at = now.max(starts_at);
    let alert = |severity: Severity, ends_at: Timestamp| {
        json!({
            "labels": labels(notice, severity),
            "annotations": annotations(notice),
            "startsAt": starts_at,
            "endsAt": ends_at,
        })
    };
    let until = |valid_for: Duration| now.saturating_add(valid_for).unwrap_or(Timestamp::MAX);
    let lower = SEVERITIES
        .into_iter()
        .filter(|severity| *severity < notice.severity);
    let alerts: Vec<Value> = match notice.action {
        NoticeAction::Trigger => std::iter::once(alert(notice.severity, until(VALID_FOR)))
            .chain(lower.map(|severity| alert(severity, resolved_at)))
            .collect(),
        NoticeAction::Resolve => std::iter::once(notice.severity)
            .chain(lower)
            .map(|severity| alert(severity, resolved_at))
            .collect(),
        NoticeAction::Test => vec![alert(notice.severity, until(TEST_VALID_FOR))],
        // A channel's problem is not re-sent (it belongs to no alert): it fires until people
        // have had the time to see it, then Alertmanager lets it go.
        NoticeAction::Problem => vec![alert(notice.severity, until(VALID_FOR))],
    };
    Value::Array(alerts)
}

/// An Alertmanager channel's configuration.
#[derive(Clone)]
pub(crate) struct Config {
    /// The alerts endpoint.
    url: Url,
    /// `Bearer <token>`, marked sensitive.
    authorization: Option<HeaderValue>,
    redactor: Redactor,
}

impl Config {
    /// The base URL from the settings; a bearer token from the secret, if any.
    pub(crate) fn parse(
        settings: &ChannelSettings,
        secret: Option<&str>,
    ) -> Result<Config, ChannelError> {
        let kind = ChannelKind::Alertmanager;
        let base = parse_public_url(kind, "URL", settings.url.as_deref().unwrap_or(""))?;
        let url = alerts_url(base)
            .map_err(|err| ChannelError::invalid(kind, "URL", format!("not a base URL ({err})")))?;
        let token = secret.map(str::trim).filter(|token| !token.is_empty());
        let authorization = token
            .map(|token| {
                if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(ChannelError::invalid(
                        kind,
                        "bearer token",
                        "it must not contain spaces or control characters",
                    ));
                }
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        ChannelError::invalid(kind, "bearer token", "it must be printable ASCII")
                    })?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        Ok(Config {
            url,
            authorization,
            redactor: Redactor::default().with(token.unwrap_or("")),
        })
    }
}

/// `{base}/api/v2/alerts`, keeping a base path (`http://host/alertmanager/`); a URL that
/// already names the endpoint is kept.
fn alerts_url(mut base: Url) -> Result<Url, url::ParseError> {
    if base.path().trim_end_matches('/').ends_with(ALERTS_PATH) {
        return Ok(base);
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(ALERTS_PATH)
}

/// Sends to Alertmanager's API v2.
pub struct AlertmanagerNotifier {
    config: Config,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl AlertmanagerNotifier {
    /// A notifier for a checked configuration; `clock` sets `endsAt`.
    pub(crate) fn new(config: Config, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        AlertmanagerNotifier {
            config,
            http,
            clock,
        }
    }
}

impl fmt::Debug for AlertmanagerNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertmanagerNotifier")
            .field("url", &self.config.url.as_str())
            .field("token", &self.config.authorization.is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for AlertmanagerNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Alertmanager
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        let mut request = self
            .http
            .post(self.config.url.clone())
            .json(&alerts(notice, self.clock.now()));
        if let Some(authorization) = &self.config.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization.clone());
        }
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

    fn now() -> Timestamp {
        "2026-11-28T08:00:05Z".parse().unwrap()
    }

    #[test]
    fn a_trigger_fires_its_severity_and_resolves_the_lower_ones() {
        let alerts = alerts(&fixtures::trigger(), now());
        let alerts = alerts.as_array().unwrap();
        assert_eq!(alerts.len(), 3);
        assert_eq!(alerts[0]["labels"]["severity"], "critical");
        assert_eq!(alerts[0]["labels"]["alertname"], "RunwayLicenseExpiry");
        assert_eq!(alerts[0]["startsAt"], "2026-11-28T08:00:00Z");
        assert_eq!(alerts[0]["endsAt"], "2026-11-28T09:00:05Z");
        for lower in &alerts[1..] {
            assert_eq!(lower["endsAt"], "2026-11-28T08:00:05Z");
        }
        let severities: Vec<_> = alerts
            .iter()
            .map(|a| a["labels"]["severity"].clone())
            .collect();
        assert_eq!(
            severities,
            [json!("critical"), json!("info"), json!("warning")]
        );
        assert_eq!(
            alerts[0]["annotations"]["renew_url"],
            "https://www.3cx.com/renew?key=ABCD-EFGH-IJKL-MNOP&x=1"
        );
    }

    #[test]
    fn a_resolve_ends_the_same_label_sets_now() {
        let trigger = alerts(&fixtures::trigger(), now());
        let resolve = alerts(
            &fixtures::resolve(),
            "2026-11-29T09:30:01Z".parse().unwrap(),
        );
        let labels = |alerts: &Value| {
            let mut labels: Vec<String> = alerts
                .as_array()
                .unwrap()
                .iter()
                .map(|alert| alert["labels"].to_string())
                .collect();
            labels.sort();
            labels
        };
        assert_eq!(labels(&trigger), labels(&resolve));
        for alert in resolve.as_array().unwrap() {
            assert_eq!(alert["endsAt"], "2026-11-29T09:30:01Z");
        }
    }

    #[test]
    fn label_names_are_classic_identifiers() {
        for name in labels(&fixtures::trigger(), Severity::Info).keys() {
            let mut chars = name.chars();
            assert!(
                chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            );
            assert!(
                chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn ends_at_never_precedes_starts_at() {
        let before_decision: Timestamp = "2026-11-28T07:59:00Z".parse().unwrap();
        let resolve = alerts(&fixtures::trigger(), before_decision);
        for alert in &resolve.as_array().unwrap()[1..] {
            assert_eq!(alert["endsAt"], alert["startsAt"]);
        }
    }

    #[test]
    fn a_test_fires_briefly_under_its_own_name() {
        let alerts = alerts(&fixtures::test(), now());
        assert_eq!(alerts.as_array().unwrap().len(), 1);
        assert_eq!(alerts[0]["labels"]["alertname"], "RunwayTest");
        assert_eq!(alerts[0]["endsAt"], "2026-11-28T08:05:05Z");
    }

    #[test]
    fn the_endpoint_is_found_under_the_base_url() {
        let url = |text: &str| alerts_url(Url::parse(text).unwrap()).unwrap().to_string();
        assert_eq!(
            url("http://127.0.0.1:9093"),
            "http://127.0.0.1:9093/api/v2/alerts"
        );
        assert_eq!(url("http://h/am"), "http://h/am/api/v2/alerts");
        assert_eq!(url("http://h/am/"), "http://h/am/api/v2/alerts");
        assert_eq!(url("http://h/api/v2/alerts"), "http://h/api/v2/alerts");
    }

    #[test]
    fn a_token_with_spaces_is_refused_without_repeating_it() {
        let settings = ChannelSettings {
            url: Some("http://127.0.0.1:9093".to_owned()),
            ..ChannelSettings::default()
        };
        let err = Config::parse(&settings, Some("tok en-sekrit"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bearer token"), "{err}");
        assert!(!err.contains("sekrit"), "{err}");
        assert!(Config::parse(&settings, Some("token-123")).is_ok());
        assert!(Config::parse(&settings, None).is_ok());
    }
}
