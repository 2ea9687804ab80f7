//! The audit log: who did what to a tenant's data, when and from where. Entries name people and
//! things, never secrets; they are kept for the tenant's license-history retention.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{AuditEntryId, UserId};

/// How the actor came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditVia {
    /// A signed-in browser.
    Session,
    /// An API token.
    ApiToken,
    /// The sign-in form, before there is a session.
    SignIn,
    /// A `runway` command on the server.
    Command,
}

stored_names!(AuditVia, "audit channel", {
    Session => "session",
    ApiToken => "api_token",
    SignIn => "sign_in",
    Command => "command",
});

/// An entry to append to a tenant's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When it happened.
    pub at: Timestamp,
    /// Who: the user's email at the time, or the token's name.
    pub actor: String,
    /// The acting user, when known.
    pub user_id: Option<UserId>,
    /// How they came in.
    pub via: AuditVia,
    /// The client's address ("" for a command).
    pub address: String,
    /// What they did, e.g. `instance_changed` (the web layer's words).
    pub action: String,
    /// What it was done to, e.g. `instance 12 "Alpha Main"`.
    pub target: String,
    /// What changed, in words; never a secret.
    pub detail: String,
}

/// An entry of a tenant's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its id (later entries have larger ids).
    pub id: AuditEntryId,
    /// When it happened.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// The acting user, unless unknown or since deleted.
    pub user_id: Option<UserId>,
    /// How they came in.
    pub via: AuditVia,
    /// The client's address.
    pub address: String,
    /// What they did.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// What changed.
    pub detail: String,
}

/// What one pass of housekeeping deleted, across every tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// License readings older than their tenant's history retention (never a current one).
    pub readings: u64,
    /// Instance events older than the history retention.
    pub events: u64,
    /// Read attempts older than the attempt retention.
    pub attempts: u64,
    /// Audit entries older than the history retention.
    pub audit_entries: u64,
}
