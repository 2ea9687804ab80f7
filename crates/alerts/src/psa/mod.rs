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
//! sources: `shared/reference/psa/PSA_APIS.md`; each module is to say which of its
//! **\[unverified\]** facts it assumes, and how it also copes with the other answer.
//!
//! Not yet: no PSA's wire format is written (issue 12), so [`crate::check`] refuses every PSA
//! channel with a message that says so, and none can be stored.

mod lifecycle;

use std::time::Duration;

use async_trait::async_trait;
use runway_store::{ChannelKind, ChannelSettings, PsaChoice, PsaSettings};

pub use lifecycle::{PsaNotifier, external_ref};

use crate::notifier::{Attempt, ChannelError};

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

/// Checks a PSA channel's configuration before it is stored: the rules its API applies.
pub(crate) fn check(
    kind: ChannelKind,
    settings: &ChannelSettings,
    secret: Option<&str>,
) -> Result<(), ChannelError> {
    api_for(kind, settings, secret, None).map(drop)
}

/// The API of a stored PSA channel, checked; `http` is `None` when only checking. No PSA's API
/// is written yet, so every PSA channel is refused with a message that says so.
pub(crate) fn api_for(
    kind: ChannelKind,
    settings: &ChannelSettings,
    _secret: Option<&str>,
    _http: Option<reqwest::Client>,
) -> Result<Box<dyn PsaApi>, ChannelError> {
    settings_of(kind, settings)?;
    Err(ChannelError::invalid(
        kind,
        "kind",
        "Runway cannot open tickets in this PSA yet: its API is still being written",
    ))
}
