//! PSA tickets: ConnectWise PSA, Autotask, HaloPSA and Syncro.
//!
//! A PSA channel is a notifier that keeps a ticket per reminder series. The lifecycle is the
//! same for the four PSAs and lives in one place, [`PsaNotifier`]:
//!
//! - **open**: the series' first notification creates one ticket (the customer's company, the
//!   configured board or queue, the open status, the severity's priority), carrying the
//!   series' external reference ([`ExternalRef`]);
//! - **escalate**: each later stage adds an internal note and raises the priority;
//! - **resolve**: a renewal closes the ticket with a note giving the new expiry, unless a
//!   technician has touched it (then only the note, and the ticket stays open), or the channel
//!   says to close anyway;
//! - **recurrence**: a closed ticket whose series fires again is reopened with a note, or,
//!   where the PSA will not reopen it, followed by a new ticket that names it;
//! - **idempotency**: before any create Runway looks the external reference up, so a create
//!   that timed out and is retried never makes a second ticket.
//!
//! What differs per PSA — the wire format, authentication, discovery, what "closed" and
//! "touched" look like — is one [`PsaApi`] implementation each, in its own module. Facts and
//! sources: `shared/reference/psa/PSA_APIS.md`; each module says which of its
//! **\[unverified\]** facts it assumes, and how it also copes with the other answer.

// The HTTP helpers below are for the four PSA modules, whose wire formats are still being
// written (issue 12): until then they are unused.
#![allow(
    dead_code,
    reason = "helpers of the PSA modules still being written (issue 12)"
)]

pub mod autotask;
pub mod connectwise;
pub mod halo;
mod lifecycle;
pub mod syncro;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use runway_store::{ChannelKind, ChannelSettings, PsaChoice, PsaSettings};

pub use lifecycle::{PsaNotifier, external_ref};

use crate::notifier::{Answer, Attempt, ChannelError};
use crate::text::{ANSWER_CHARS, one_line, truncate};

/// How a PSA call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsaError {
    /// Worth another try later: a 429 (with the PSA's `Retry-After`, if it gave one), a 5xx, a
    /// timeout or a lost connection, Autotask's thread limit.
    Retry {
        /// How long the PSA asked to wait.
        retry_after: Option<Duration>,
        /// What went wrong (the PSA's message; no secret).
        error: String,
    },
    /// The PSA refused the request for good: a validation error. Trying again will not help.
    Refused {
        /// The PSA's message.
        error: String,
    },
    /// The PSA rejected the credentials (401, 403): the channel pauses until they are fixed.
    Credentials {
        /// The PSA's message.
        error: String,
    },
    /// The record is not there (a 404 on a known ticket: deleted or merged).
    NotFound {
        /// The PSA's message.
        error: String,
    },
}

impl PsaError {
    /// The error's text.
    pub fn message(&self) -> &str {
        match self {
            PsaError::Retry { error, .. }
            | PsaError::Refused { error }
            | PsaError::Credentials { error }
            | PsaError::NotFound { error } => error,
        }
    }

    /// The same error with `context` ("creating the ticket") in front of its text.
    #[must_use]
    pub fn context(self, context: &str) -> PsaError {
        let with = |error: String| format!("{context}: {error}");
        match self {
            PsaError::Retry { retry_after, error } => PsaError::Retry {
                retry_after,
                error: with(error),
            },
            PsaError::Refused { error } => PsaError::Refused { error: with(error) },
            PsaError::Credentials { error } => PsaError::Credentials { error: with(error) },
            PsaError::NotFound { error } => PsaError::NotFound { error: with(error) },
        }
    }

    /// What the delivery worker makes of it (a not-found that reaches the worker is permanent:
    /// the lifecycle handles the ones it expects).
    pub(crate) fn into_attempt(self) -> Attempt {
        match self {
            PsaError::Retry { retry_after, error } => Attempt::Retryable { retry_after, error },
            PsaError::Refused { error } | PsaError::NotFound { error } => {
                Attempt::Permanent { error }
            }
            PsaError::Credentials { error } => Attempt::Rejected { error },
        }
    }

    /// A request that got no answer (timed out, connection lost): retried, and — for a create —
    /// ambiguous, which the lifecycle's lookup before every create takes care of.
    pub(crate) fn from_attempt(attempt: Attempt) -> PsaError {
        match attempt {
            Attempt::Permanent { error } => PsaError::Refused { error },
            Attempt::Rejected { error } => PsaError::Credentials { error },
            Attempt::Retryable { retry_after, error } => PsaError::Retry { retry_after, error },
            Attempt::Sent { .. } => PsaError::Refused {
                error: "the request was not sent".to_owned(),
            },
        }
    }
}

/// The classes every PSA shares, from an answer's status: 401 and 403 reject the
/// credentials, 404 is not found, 408, 409 (a record in use), 425, 429 and 5xx are retried
/// (after `Retry-After`), any other status is refused. `message` is the PSA's own text, taken
/// from its error body by the caller. A PSA that misuses statuses (Autotask's 500 for a
/// permission problem) reclassifies before calling this.
pub(crate) fn classify_status(answer: &Answer, message: &str) -> PsaError {
    let status = answer.status;
    let error = describe(status, message);
    match status.as_u16() {
        401 | 403 => PsaError::Credentials { error },
        404 => PsaError::NotFound { error },
        408 | 409 | 425 | 429 => PsaError::Retry {
            retry_after: retry_after(answer),
            error,
        },
        _ if status.is_server_error() => PsaError::Retry {
            retry_after: retry_after(answer),
            error,
        },
        _ => PsaError::Refused { error },
    }
}

/// The answer's `Retry-After`, read as seconds or an HTTP-date.
pub(crate) fn retry_after(answer: &Answer) -> Option<Duration> {
    answer
        .retry_after
        .as_ref()
        .and_then(|value| crate::parse_retry_after(value, jiff::Timestamp::now()))
}

/// "HTTP 400 Bad Request: the PSA's message".
pub(crate) fn describe(status: StatusCode, message: &str) -> String {
    let mut text = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        text.push(' ');
        text.push_str(reason);
    }
    let message = one_line(message);
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(&truncate(&message, ANSWER_CHARS));
    }
    text
}

/// A successful answer's body as JSON; a body that is not is retried (a proxy's error page, a
/// body cut short), described by `what`.
pub(crate) fn json_body(answer: &Answer, what: &str) -> Result<serde_json::Value, PsaError> {
    serde_json::from_str(&answer.body).map_err(|err| PsaError::Retry {
        retry_after: None,
        error: format!(
            "{what}: the answer (HTTP {}) is not JSON: {err}",
            answer.status.as_u16()
        ),
    })
}

/// A field of a JSON record as text: a string as it is, a number written out.
pub(crate) fn text_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A ticket as the PSA shows it, reduced to what the lifecycle reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ticket {
    /// The PSA's id.
    pub id: String,
    /// The number people see, when it is not the id.
    pub number: Option<String>,
    /// The ticket in the PSA's pages, when Runway can build the link.
    pub url: Option<String>,
    /// Whether the PSA counts it as closed.
    pub closed: bool,
    /// Its status (id, or Syncro's status name).
    pub status: Option<String>,
    /// Its priority (id, or Syncro's name).
    pub priority: Option<String>,
    /// Who it is assigned to, when someone is.
    pub assigned: Option<String>,
    /// Whether the ticket itself shows time logged on it (hours, timers).
    pub time_logged: bool,
    /// Whether someone other than Runway wrote on it (a note, a comment, an edit), as far as
    /// the ticket itself shows.
    pub others_wrote: bool,
}

/// A ticket to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The company (account, client, customer) it belongs to.
    pub company: PsaChoice,
    /// One line: customer, instance, days left, and the series' token (`[RW-…]`).
    pub summary: String,
    /// Plain text: the key, the edition, the expiry in the tenant's zone, the renew link.
    pub description: String,
    /// The series' external reference.
    pub xref: ExternalRef,
    /// The status to create it in.
    pub status: Option<PsaChoice>,
    /// The priority.
    pub priority: Option<PsaChoice>,
}

/// An internal note: never shown or emailed to the end customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// A short title (Autotask and Syncro want one).
    pub title: String,
    /// Plain text.
    pub text: String,
}

/// The external reference of one series in one channel: a token (`RW-` and 12 hex digits)
/// written at create time (ConnectWise's `externalXRef`, Autotask's `externalID`, and in every
/// PSA's summary), so a ticket can be found again when a create's answer was lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalRef {
    /// `RW-3f2a9c01b7e4`.
    pub token: String,
}

impl ExternalRef {
    /// `[RW-3f2a9c01b7e4]`, as it appears in a summary.
    pub fn tag(&self) -> String {
        format!("[{}]", self.token)
    }
}

/// Whether the PSA reopened a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reopened {
    /// It did.
    Yes,
    /// It will not (Syncro, for an invoiced ticket): the lifecycle opens a new ticket that
    /// names the old one.
    NotPossible,
}

/// A status as the set-up form offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsaStatus {
    /// The status.
    pub choice: PsaChoice,
    /// Whether a ticket in it counts as closed.
    pub closed: bool,
}

/// What the set-up form offers, read from the PSA by "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PsaOptions {
    /// The API base discovery found (ConnectWise's codebase, Autotask's zone), to keep.
    pub api_base: Option<String>,
    /// Boards (ConnectWise), queues (Autotask), teams (Halo); none for Syncro.
    pub boards: Vec<PsaChoice>,
    /// The statuses (of the chosen board, for ConnectWise).
    pub statuses: Vec<PsaStatus>,
    /// The priorities.
    pub priorities: Vec<PsaChoice>,
    /// Halo's ticket types, Syncro's problem types.
    pub ticket_types: Vec<PsaChoice>,
    /// Halo's outcomes (an action needs one).
    pub note_outcomes: Vec<PsaChoice>,
}

/// One PSA's API, as the lifecycle uses it. Every call makes the requests it needs and no
/// retries of its own: the outbox retries the whole notification.
#[async_trait]
pub trait PsaApi: Send + Sync {
    /// The PSA.
    fn kind(&self) -> ChannelKind;

    /// The ticket carrying `xref` in `company`, newest first if there are several; closed ones
    /// included (a recurrence reopens them).
    async fn find(
        &self,
        xref: &ExternalRef,
        company: &PsaChoice,
    ) -> Result<Option<Ticket>, PsaError>;

    /// Creates a ticket.
    async fn create(&self, new: &NewTicket) -> Result<Ticket, PsaError>;

    /// A ticket by id ([`PsaError::NotFound`] when it is gone).
    async fn get(&self, id: &str) -> Result<Ticket, PsaError>;

    /// Adds an internal note.
    async fn note(&self, id: &str, note: &Note) -> Result<(), PsaError>;

    /// Sets the priority.
    async fn set_priority(&self, id: &str, priority: &PsaChoice) -> Result<(), PsaError>;

    /// Closes a ticket with a note (the note first: a note on a closed ticket may be refused).
    async fn close(&self, id: &str, status: &PsaChoice, note: &Note) -> Result<(), PsaError>;

    /// Reopens a closed ticket to `status` with a note.
    async fn reopen(&self, id: &str, status: &PsaChoice, note: &Note)
    -> Result<Reopened, PsaError>;

    /// Whether work is logged on the ticket beyond what [`Ticket`] shows (time entries read
    /// apart, technicians' notes); `Ok(false)` when the PSA shows it all on the ticket.
    async fn work_logged(&self, ticket: &Ticket) -> Result<bool, PsaError>;

    /// What the set-up form offers; the statuses of `board` where statuses are per board.
    async fn options(&self, board: Option<&PsaChoice>) -> Result<PsaOptions, PsaError>;

    /// Companies whose name contains `search` (at most 50), for the mapping form.
    async fn companies(&self, search: &str) -> Result<Vec<PsaChoice>, PsaError>;
}

/// A PSA channel's settings, or the error naming what is missing.
pub(crate) fn settings_of(
    kind: ChannelKind,
    settings: &ChannelSettings,
) -> Result<&PsaSettings, ChannelError> {
    let psa = settings
        .psa
        .as_ref()
        .ok_or_else(|| ChannelError::missing(kind, "PSA settings"))?;
    if psa.site.trim().is_empty() {
        return Err(ChannelError::missing(kind, "site"));
    }
    Ok(psa)
}

/// A field that must be set, or the error naming it.
pub(crate) fn required<'a>(
    kind: ChannelKind,
    field: &'static str,
    value: Option<&'a str>,
) -> Result<&'a str, ChannelError> {
    match value.map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ChannelError::missing(kind, field)),
    }
}

/// Checks a PSA channel's configuration before it is stored: the rules its API applies.
pub(crate) fn check(
    kind: ChannelKind,
    settings: &ChannelSettings,
    secret: Option<&str>,
) -> Result<(), ChannelError> {
    let psa = settings_of(kind, settings)?;
    match kind {
        ChannelKind::Connectwise => connectwise::check(psa, secret),
        ChannelKind::Autotask => autotask::check(psa, secret),
        ChannelKind::Halopsa => halo::check(psa, secret),
        ChannelKind::Syncro => syncro::check(psa, secret),
        other => Err(ChannelError::invalid(
            other,
            "kind",
            "it is not a PSA channel",
        )),
    }
}

/// The API for a stored PSA channel, checked.
pub(crate) fn api_for(
    kind: ChannelKind,
    settings: &ChannelSettings,
    secret: Option<&str>,
    http: reqwest::Client,
) -> Result<Box<dyn PsaApi>, ChannelError> {
    let psa = settings_of(kind, settings)?;
    Ok(match kind {
        ChannelKind::Connectwise => Box::new(connectwise::ConnectWise::new(psa, secret, http)?),
        ChannelKind::Autotask => Box::new(autotask::Autotask::new(psa, secret, http)?),
        ChannelKind::Halopsa => Box::new(halo::Halo::new(psa, secret, http)?),
        ChannelKind::Syncro => Box::new(syncro::Syncro::new(psa, secret, http)?),
        other => {
            return Err(ChannelError::invalid(
                other,
                "kind",
                "it is not a PSA channel",
            ));
        }
    })
}

/// The PSA API of a stored PSA channel, for the set-up form's "Test connection" and company
/// search (the same checks as [`crate::check`]).
pub fn api(
    target: &runway_store::ChannelTarget,
    http: &reqwest::Client,
) -> Result<Box<dyn PsaApi>, ChannelError> {
    api_for(
        target.channel.kind,
        &target.channel.settings,
        target.secret.as_deref(),
        http.clone(),
    )
}
