//! # runway-alerts: delivering alerts to the channels people read
//!
//! Runway decides *that* someone must hear about a license (the rules in `runway-core`, the
//! outbox rows written by `runway-store` in the same transaction). This crate is *how* they
//! hear it: one [`Notifier`] per channel kind, each making exactly one attempt to deliver one
//! [`Notice`] and saying what came of it.
//!
//! The shape follows Alertmanager's notify pipeline: a notifier only sends and reports
//! ([`Attempt::Sent`], [`Attempt::Retryable`] — with the receiver's `Retry-After` if it gave
//! one — or [`Attempt::Permanent`]); the retry schedule, the outbox and "mark sent only after
//! success" belong to the caller (the delivery worker). As in Vector's sinks, one function
//! decides what an HTTP answer means, [`classify`]: 2xx sent; 408, 425, 429 and 5xx retried;
//! every other status (redirects included — they are never followed) permanent. A channel adds
//! only its own nuance on top (Slack's `200` must say `ok`).
//!
//! | channel | module | credential (the channel's secret) |
//! |---|---|---|
//! | Standard Webhooks | [`webhook`] | the `whsec_` signing secret |
//! | Slack incoming webhook | [`slack`] | the webhook URL |
//! | Microsoft Teams Workflows | [`teams`] | the Workflows URL |
//! | PagerDuty Events API v2 | [`pagerduty`] | the routing key |
//! | Email (SMTP) | [`email`] | the SMTP password, if any |
//! | Alertmanager API v2 | [`alertmanager`] | a bearer token, if any |
//! | Runway's log | [`log`] | none |
//!
//! [`check`] validates a channel's configuration before it is stored, and [`notifier_for`]
//! builds the notifier for a stored one, through the same rules. Errors name the channel and
//! the field, and no error text — a configuration error or an attempt's — ever contains a
//! secret: receivers' answers and transport errors are redacted before they leave a notifier.
//!
//! HTTP channels share one `reqwest::Client` built by [`http_client`] (rustls, a 15 s timeout,
//! no redirects). Wire formats and their sources are in `shared/reference/alerting/CHANNELS.md`.

pub mod alertmanager;
pub mod email;
pub mod log;
mod notifier;
pub mod pagerduty;
pub mod psa;
mod render;
pub mod slack;
pub mod teams;
mod text;
pub mod webhook;
mod worker;

use std::time::Duration;

pub use notifier::{
    Attempt, ChannelError, Notifier, check, classify, from_transport_error, notifier_for,
    parse_retry_after,
};
pub use runway_store::{ChannelKind, ChannelSettings, ChannelTarget, Notice, NoticeAction};
pub use worker::{Backoff, DeliveryReport, Worker, WorkerConfig};

/// How long one HTTP attempt may take, connection included (the Standard Webhooks spec
/// suggests 15–30 s).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the HTTP client for the channels could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// The process has not installed rustls's crypto provider.
    #[error(
        "no TLS crypto provider is installed: the program must install rustls's ring provider \
         once at startup, before building the alerts' HTTP client"
    )]
    NoCryptoProvider,
    /// reqwest refused the configuration.
    #[error("cannot build the alerts' HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// The HTTP client every HTTP channel shares: rustls (the process-wide ring provider, which
/// the binary installs at startup; a library never does), a [`HTTP_TIMEOUT`] per attempt, and
/// no redirects — a redirected webhook is a permanent failure whose URL needs updating, and
/// following one would carry a signed body or a secret URL's request elsewhere.
pub fn http_client() -> Result<reqwest::Client, HttpClientError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Err(HttpClientError::NoCryptoProvider);
    }
    reqwest::Client::builder()
        .user_agent(concat!("Runway/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(HttpClientError::Build)
}
