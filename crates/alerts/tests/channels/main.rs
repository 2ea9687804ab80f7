//! Contract tests of the alert channels: every notifier, built by `notifier_for` from a stored
//! channel, against a receiver that checks what CHANNELS.md documents — the testkit's strict
//! fakes for the Standard Webhooks, Slack, Teams and PagerDuty, a real Alertmanager and a real
//! SMTP server (aiosmtpd) for the other two.
//!
//! Each channel's module pins the same contract, as Alertmanager's `notify/test` does for its
//! integrations:
//!
//! - a trigger arrives well-formed and says what the product must say (severity, instance,
//!   customer, expiry date, renewal link); a resolve says it resolved, in the channel's way;
//! - one attempt is one request, classified by the retry table (`support::failure_rows`):
//!   2xx sent; 408, 425, 429 and 5xx retryable, with `Retry-After`; other 4xx and every
//!   redirect permanent, and a redirect is never followed; a refused connection retryable;
//! - no error text carries the channel's secret, not even when the receiver repeats it in its
//!   answer, wherever the answer is cut.
//!
//! Everything listens on 127.0.0.1. The real services skip without their variables
//! (`RUNWAY_TEST_ALERTMANAGER`, `RUNWAY_TEST_AIOSMTPD`) unless `RUNWAY_REQUIRE_SERVICES=1`.

#![allow(clippy::unwrap_used, reason = "a panic is a failed test")]

mod alertmanager;
mod email;
mod pagerduty;
mod slack;
mod support;
mod teams;
mod webhook;
