//! Web access: sign-in sessions and per-user API tokens.
//!
//! Both are bearer secrets the web layer hands out: a session cookie to a browser, an API token
//! to a script. The store never sees the secret itself, only its **hash** (the web layer takes
//! SHA-256 of a 256-bit random token, hex-encoded), so a copy of the database opens no session
//! and no API. Looking one up is the one way in that starts from a secret instead of a tenant:
//! like [`crate::Users::user_by_email`], those two calls are unscoped by design, and what they
//! return names the tenant every later call is scoped to.
//!
//! A session or token is only as good as its user: one of a disabled user is not found, and
//! deleting a user deletes its sessions and tokens with it.

use jiff::Timestamp;

use crate::ids::{ApiTokenId, SessionId, TenantId, UserId};
use crate::user::User;

/// A signed-in browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// The tenant of its user.
    pub tenant_id: TenantId,
    /// Who signed in.
    pub user_id: UserId,
    /// When it began.
    pub created_at: Timestamp,
    /// When it ends, whatever happens.
    pub expires_at: Timestamp,
}

/// A valid session (or API token) together with its user, as found from a secret's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated<T> {
    /// The session or token.
    pub credential: T,
    /// Its user (never a disabled one).
    pub user: User,
}

/// An API token as stored (without the secret, which only its creator ever saw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// The tenant of its user.
    pub tenant_id: TenantId,
    /// The user it acts as.
    pub user_id: UserId,
    /// That user's email address, for listings.
    pub user_email: String,
    /// What it is for, as its creator named it.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last authenticated a request.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// Whether it has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// An API token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// The user it acts as (of the same tenant).
    pub user_id: UserId,
    /// What it is for.
    pub name: String,
    /// The hash of the secret token (hex SHA-256, computed by the caller).
    pub token_hash: String,
}

/// A tenant's private iCalendar feed, as stored: only the hash of the secret in its URL.
///
/// A tenant has at most one. Creating one replaces the one before (so the old URL stops
/// working at once), and revoking deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    /// The tenant whose expiries it lists.
    pub tenant_id: TenantId,
    /// When its current URL was made.
    pub created_at: Timestamp,
}
