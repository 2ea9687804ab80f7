//! The notifier contract: one attempt to one channel, and what its outcome means.
//!
//! [`Notifier::notify`] makes exactly one attempt and says whether a failure is worth another
//! try ([`Attempt`]); when and how often to try again is the caller's policy. HTTP answers are
//! classified in one place, [`classify`]; a channel that reads more into an answer (Slack's
//! `200` with a body other than `ok`) layers that on top of it in its own module. Channel
//! configurations are checked once, by [`check`] before they are stored and by
//! [`notifier_for`] when a notifier is built, through the same per-channel parsing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use runway_clock::Clock;
use runway_store::{ChannelKind, ChannelSettings, ChannelTarget, Notice};

use crate::text::{ANSWER_CHARS, Redactor, one_line, truncate};
use crate::{alertmanager, email, log, pagerduty, psa, slack, teams, webhook};

/// The outcome of one attempt to deliver one notification to one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver took it.
    Sent {
        /// An external reference to keep for the series (a ticket id), when the channel has one.
        reference: Option<String>,
    },
    /// It did not go through this time; another attempt may succeed.
    Retryable {
        /// How long the receiver asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
        /// What went wrong: the status and the receiver's answer, secrets redacted.
        error: String,
    },
    /// The receiver refused it; trying again will not help until the channel is fixed.
    Permanent {
        /// What went wrong: the status and the receiver's answer, secrets redacted.
        error: String,
    },
    /// The receiver rejected the channel's credentials (a PSA's 401 or 403): the channel
    /// pauses, its notifications wait (none is lost) and the other channels are told, until
    /// someone fixes the credentials.
    Rejected {
        /// What the receiver said, secrets redacted.
        error: String,
    },
}

impl Attempt {
    /// Sent, with no reference to keep.
    pub fn sent() -> Attempt {
        Attempt::Sent { reference: None }
    }

    /// Whether the receiver took it.
    pub fn is_sent(&self) -> bool {
        matches!(self, Attempt::Sent { .. })
    }

    /// The error text, when it failed.
    pub fn error(&self) -> Option<&str> {
        match self {
            Attempt::Sent { .. } => None,
            Attempt::Retryable { error, .. }
            | Attempt::Permanent { error }
            | Attempt::Rejected { error } => Some(error),
        }
    }

    /// Retryable, with no wait asked for.
    pub(crate) fn retry(error: impl Into<String>) -> Attempt {
        Attempt::Retryable {
            retry_after: None,
            error: error.into(),
        }
    }

    /// Permanent.
    pub(crate) fn permanent(error: impl Into<String>) -> Attempt {
        Attempt::Permanent {
            error: error.into(),
        }
    }

    /// The same outcome with every secret of `redactor` hidden from its error text.
    pub(crate) fn redacted(self, redactor: &Redactor) -> Attempt {
        match self {
            Attempt::Sent { reference } => Attempt::Sent { reference },
            Attempt::Retryable { retry_after, error } => Attempt::Retryable {
                retry_after,
                error: redactor.apply(&error),
            },
            Attempt::Permanent { error } => Attempt::Permanent {
                error: redactor.apply(&error),
            },
            Attempt::Rejected { error } => Attempt::Rejected {
                error: redactor.apply(&error),
            },
        }
    }
}

/// Sends notifications to one channel.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The kind of channel this notifier sends to.
    fn kind(&self) -> ChannelKind;

    /// Makes one attempt to deliver `notice`. `reference` is the external reference this
    /// channel kept for the series from an earlier attempt (a ticket id); the channels here
    /// keep none and ignore it.
    async fn notify(&self, notice: &Notice, reference: Option<&str>) -> Attempt;
}

/// What is missing or wrong in a channel's configuration. The text names the channel and the
/// field, and never repeats a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// A field the channel needs is not set.
    #[error("the {channel} channel has no {field}")]
    Missing {
        /// The channel's kind, as people know it ("Slack").
        channel: &'static str,
        /// The field ("webhook URL").
        field: &'static str,
    },
    /// A field is set but not usable.
    #[error("the {channel} channel's {field} is not valid: {problem}")]
    Invalid {
        /// The channel's kind, as people know it ("Slack").
        channel: &'static str,
        /// The field ("webhook URL").
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl ChannelError {
    /// A missing field of a channel of `kind`.
    pub(crate) fn missing(kind: ChannelKind, field: &'static str) -> ChannelError {
        ChannelError::Missing {
            channel: kind.label(),
            field,
        }
    }

    /// An unusable field of a channel of `kind`.
    pub(crate) fn invalid(
        kind: ChannelKind,
        field: &'static str,
        problem: impl Into<String>,
    ) -> ChannelError {
        ChannelError::Invalid {
            channel: kind.label(),
            field,
            problem: problem.into(),
        }
    }
}

/// An absolute http(s) URL with a host, for the field `field` of a channel of `kind`. The
/// problem text never repeats the URL: for Slack and Teams it is the secret.
pub(crate) fn parse_http_url(
    kind: ChannelKind,
    field: &'static str,
    text: &str,
) -> Result<url::Url, ChannelError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ChannelError::missing(kind, field));
    }
    let url = url::Url::parse(text)
        .map_err(|err| ChannelError::invalid(kind, field, format!("not a URL ({err})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ChannelError::invalid(
            kind,
            field,
            "it must start with https:// (or http://)",
        ));
    }
    if !url.has_host() {
        return Err(ChannelError::invalid(kind, field, "it has no host"));
    }
    Ok(url)
}

/// [`parse_http_url`] for a URL that is shown back to people (a webhook's, Alertmanager's):
/// it must not carry a user name or password, which belong in the channel's secret.
pub(crate) fn parse_public_url(
    kind: ChannelKind,
    field: &'static str,
    text: &str,
) -> Result<url::Url, ChannelError> {
    let url = parse_http_url(kind, field, text)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ChannelError::invalid(
            kind,
            field,
            "it holds a user name or password; put credentials in the channel's secret",
        ));
    }
    Ok(url)
}

/// Checks a channel's configuration before it is stored: the same rules [`notifier_for`]
/// applies, without building anything.
pub fn check(
    kind: ChannelKind,
    settings: &ChannelSettings,
    secret: Option<&str>,
) -> Result<(), ChannelError> {
    match kind {
        ChannelKind::Webhook => webhook::Config::parse(settings, secret).map(drop),
        ChannelKind::Slack => slack::Config::parse(secret).map(drop),
        ChannelKind::Teams => teams::Config::parse(secret).map(drop),
        ChannelKind::Pagerduty => pagerduty::Config::parse(settings, secret).map(drop),
        ChannelKind::Email => email::Config::parse(settings, secret).map(drop),
        ChannelKind::Alertmanager => alertmanager::Config::parse(settings, secret).map(drop),
        ChannelKind::Log => Ok(()),
        ChannelKind::Connectwise
        | ChannelKind::Autotask
        | ChannelKind::Halopsa
        | ChannelKind::Syncro => psa::check(kind, settings, secret),
    }
}

/// The notifier for a stored channel (checked by the same rules as [`check`]), reading "now"
/// (a webhook's timestamp, an Alertmanager alert's `endsAt`, an email's `Date`) from `clock`.
/// `http` must be built like [`crate::http_client`]: in particular it must not follow
/// redirects (a redirect is a permanent failure: the channel's URL needs updating).
pub fn notifier_for(
    target: &ChannelTarget,
    http: &reqwest::Client,
    clock: Arc<dyn Clock>,
) -> Result<Box<dyn Notifier>, ChannelError> {
    let settings = &target.channel.settings;
    let secret = target.secret.as_deref();
    let http = http.clone();
    Ok(match target.channel.kind {
        ChannelKind::Webhook => Box::new(webhook::WebhookNotifier::new(
            webhook::Config::parse(settings, secret)?,
            http,
            clock,
        )),
        ChannelKind::Slack => Box::new(slack::SlackNotifier::new(
            slack::Config::parse(secret)?,
            http,
        )),
        ChannelKind::Teams => Box::new(teams::TeamsNotifier::new(
            teams::Config::parse(secret)?,
            http,
        )),
        ChannelKind::Pagerduty => Box::new(pagerduty::PagerDutyNotifier::new(
            pagerduty::Config::parse(settings, secret)?,
            http,
        )),
        ChannelKind::Email => Box::new(email::EmailNotifier::new(
            email::Config::parse(settings, secret)?,
            clock,
        )?),
        ChannelKind::Alertmanager => Box::new(alertmanager::AlertmanagerNotifier::new(
            alertmanager::Config::parse(settings, secret)?,
            http,
            clock,
        )),
        ChannelKind::Log => Box::new(log::LogNotifier),
        ChannelKind::Connectwise
        | ChannelKind::Autotask
        | ChannelKind::Halopsa
        | ChannelKind::Syncro => Box::new(psa::PsaNotifier::new(
            psa::api_for(target.channel.kind, settings, secret, Some(http))?,
            psa::settings_of(target.channel.kind, settings)?.clone(),
            target.channel.clone(),
        )),
    })
}

/// Classifies an HTTP answer: 2xx is sent; 408, 425, 429 and 5xx are worth retrying (after
/// `Retry-After` when given, as delta-seconds or an HTTP-date); anything else — a redirect,
/// any other 4xx, 410 Gone among them — is permanent. The error text is the status and the
/// start of the receiver's answer; the caller redacts its secrets.
pub fn classify(status: StatusCode, retry_after: Option<&HeaderValue>, body: &str) -> Attempt {
    if status.is_success() {
        return Attempt::sent();
    }
    let error = describe(status, body);
    let retryable = matches!(status.as_u16(), 408 | 425 | 429) || status.is_server_error();
    if retryable {
        Attempt::Retryable {
            retry_after: retry_after.and_then(|value| parse_retry_after(value, Timestamp::now())),
            error,
        }
    } else {
        Attempt::Permanent { error }
    }
}

/// How long a `Retry-After` value asks to wait at `now`: delta-seconds, or an HTTP-date (a
/// date in the past is no wait). `None` for a value that is neither.
pub fn parse_retry_after(value: &HeaderValue, now: Timestamp) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()?;
    Some(Duration::try_from(now.duration_until(at)).unwrap_or(Duration::ZERO))
}

/// The outcome of a request that got no HTTP answer: a timeout, a refused or reset connection,
/// a TLS failure or a name that does not resolve are worth retrying; a request that could not
/// even be built is not. The text never includes the URL (a Slack or Teams URL is a secret).
pub fn from_transport_error(err: reqwest::Error) -> Attempt {
    let err = err.without_url();
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut causes: Vec<String> = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Layers often repeat their inner error in their own text.
        if !causes.iter().any(|seen| seen.contains(&text)) {
            causes.push(text);
        }
        source = cause.source();
    }
    let error = truncate(
        &one_line(&format!("{what}: {}", causes.join(": "))),
        ANSWER_CHARS,
    );
    if err.is_builder() {
        Attempt::permanent(error)
    } else {
        Attempt::retry(error)
    }
}

/// "HTTP 400 Bad Request: invalid_payload": the status and the start of the answer on one
/// line, with a hint for the answers whose cause is the channel's URL.
pub(crate) fn describe(status: StatusCode, body: &str) -> String {
    let mut text = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        text.push(' ');
        text.push_str(reason);
    }
    let body = one_line(body);
    if !body.is_empty() {
        text.push_str(": ");
        text.push_str(&truncate(&body, ANSWER_CHARS));
    }
    if status.is_redirection() {
        text.push_str(" (redirects are not followed: update the channel's URL)");
    }
    text
}

/// The most of a receiver's answer that is read: enough for an error text or a small JSON
/// reply, and no more, whatever the receiver sends.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A receiver's answer, its body read up to [`MAX_ANSWER_BYTES`].
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The `Retry-After` header, if any.
    pub(crate) retry_after: Option<HeaderValue>,
    /// The body, as text (lossily decoded).
    pub(crate) body: String,
}

impl Answer {
    /// The answer classified by [`classify`].
    pub(crate) fn classify(&self) -> Attempt {
        classify(self.status, self.retry_after.as_ref(), &self.body)
    }
}

/// Sends a request and reads the answer; a request that got no answer is already an
/// [`Attempt`] (see [`from_transport_error`]). Every secret of `redactor` is hidden from the
/// answer's body here, before anything cuts it: [`describe`] keeps only the start of a body,
/// and a secret cut in two there is no longer found by a redactor applied afterwards — the
/// piece before the cut would stay in the error text.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    redactor: &Redactor,
) -> Result<Answer, Attempt> {
    let mut response = request
        .send()
        .await
        .map_err(|err| from_transport_error(err).redacted(redactor))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .cloned();
    let mut body = Vec::new();
    // A body that breaks off is read as far as it came: the status already says what happened.
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(Answer {
        status,
        retry_after,
        body: redactor.apply(&String::from_utf8_lossy(&body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn success_retry_and_refusal_follow_the_status() {
        for code in [200, 201, 202, 204] {
            assert_eq!(classify(status(code), None, ""), Attempt::sent(), "{code}");
        }
        for code in [408, 425, 429, 500, 502, 503, 504] {
            assert!(
                matches!(classify(status(code), None, ""), Attempt::Retryable { .. }),
                "{code}"
            );
        }
        for code in [301, 302, 307, 400, 401, 403, 404, 410, 413, 415, 422] {
            assert!(
                matches!(classify(status(code), None, ""), Attempt::Permanent { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn the_error_names_the_status_and_the_start_of_the_answer() {
        let long = "x".repeat(5000);
        let Attempt::Permanent { error } = classify(status(400), None, &long) else {
            panic!("400 is permanent");
        };
        assert!(error.starts_with("HTTP 400 Bad Request: xxx"), "{error}");
        assert!(error.chars().count() < 400, "{}", error.len());
        let Attempt::Permanent { error } = classify(status(301), None, "") else {
            panic!("301 is permanent");
        };
        assert!(error.contains("redirects are not followed"), "{error}");
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now: Timestamp = "2026-11-28T08:00:00Z".parse().unwrap();
        let value = |text: &str| HeaderValue::from_str(text).unwrap();
        assert_eq!(
            parse_retry_after(&value("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(&value("Sat, 28 Nov 2026 08:02:00 GMT"), now),
            Some(Duration::from_mins(2))
        );
        assert_eq!(
            parse_retry_after(&value("Sat, 28 Nov 2026 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&value("soon"), now), None);
        assert_eq!(parse_retry_after(&value("-5"), now), None);
        let Attempt::Retryable { retry_after, .. } =
            classify(status(429), Some(&value("7")), "slow down")
        else {
            panic!("429 is retryable");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn every_channel_kind_names_what_it_is_missing() {
        let empty = ChannelSettings::default();
        let expect = [
            (ChannelKind::Webhook, "the Webhook channel has no URL"),
            (ChannelKind::Slack, "the Slack channel has no webhook URL"),
            (
                ChannelKind::Teams,
                "the Microsoft Teams channel has no Workflows URL",
            ),
            (
                ChannelKind::Pagerduty,
                "the PagerDuty channel has no routing key",
            ),
            (ChannelKind::Email, "the Email channel has no SMTP host"),
            (
                ChannelKind::Alertmanager,
                "the Alertmanager channel has no URL",
            ),
        ];
        for (kind, message) in expect {
            let err = check(kind, &empty, None).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
        assert_eq!(check(ChannelKind::Log, &empty, None), Ok(()));
    }
}
