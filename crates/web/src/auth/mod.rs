//! Accounts: who is calling, and what they may do.
//!
//! A request is authenticated either by an `Authorization: Bearer <token>` header (an API
//! token; cookies are then ignored, and no CSRF token is needed) or by the session cookie (a
//! browser; every unsafe request must carry the session's CSRF token, see [`csrf`]). Either way
//! the result is a [`Caller`]: the user, their tenant, and how they came in. Every handler
//! scopes its work to `caller.tenant.id`.
//!
//! Roles nest: a viewer reads; a technician also refreshes and reads PBXs now; an admin also
//! edits customers, instances and tenant settings and reads the audit log; an owner also
//! manages users.

pub mod csrf;
pub mod password;
pub mod session;
pub mod throttle;
pub mod tokens;
pub mod transport;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use runway_store::{ApiTokenId, Role, SessionId, Tenant, User};

use crate::error::{ApiError, WebError};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "runway_session";
/// The cookie holding the CSRF secret of forms shown before signing in (login, setup).
pub const PRESESSION_COOKIE: &str = "runway_presession";

/// How a caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session, with the CSRF token its forms must carry.
    Session {
        /// The session.
        id: SessionId,
        /// Its CSRF token.
        csrf: String,
    },
    /// An API token.
    ApiToken(ApiTokenId),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// Their tenant.
    pub tenant: Tenant,
    /// How they came in.
    pub via: Via,
}

/// Things only some roles may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Refresh a license or read a PBX now (technician and up).
    Read,
    /// Change customers, instances and tenant settings (admin and up).
    Edit,
    /// Manage users (owner only).
    ManageUsers,
    /// Read the audit log (admin and up).
    ReadAudit,
}

impl Action {
    fn minimum(self) -> u8 {
        match self {
            Action::Read => 1,
            Action::Edit | Action::ReadAudit => 2,
            Action::ManageUsers => 3,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Action::Read => "refresh licenses or read PBXs",
            Action::Edit => "change customers, instances, alert channels or settings",
            Action::ManageUsers => "manage users",
            Action::ReadAudit => "read the audit log",
        }
    }
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Technician => 1,
        Role::Admin => 2,
        Role::Owner => 3,
    }
}

impl Caller {
    /// Whether the caller's role allows `action`.
    pub fn may(&self, action: Action) -> bool {
        rank(self.user.role) >= action.minimum()
    }

    /// `Forbidden` unless the caller's role allows `action`.
    pub fn require(&self, action: Action) -> Result<(), WebError> {
        if self.may(action) {
            Ok(())
        } else {
            Err(WebError::forbidden(action.describe()))
        }
    }

    /// The CSRF token forms must carry (empty for API-token callers, who need none).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::ApiToken(_) => "",
        }
    }

    /// Authenticates a request from its headers.
    pub async fn from_parts(parts: &Parts, state: &AppState) -> Result<Caller, WebError> {
        let now = state.now();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(WebError::Unauthenticated)?;
            let found = state
                .store
                .use_api_token(&tokens::token_hash(token), now)
                .await?
                .ok_or(WebError::Unauthenticated)?;
            let tenant = state.store.tenant(found.user.tenant_id).await?;
            return Ok(Caller {
                user: found.user,
                tenant,
                via: Via::ApiToken(found.credential.id),
            });
        }
        let secret = cookie(parts, SESSION_COOKIE).ok_or(WebError::Unauthenticated)?;
        let found = state
            .store
            .session_by_token(&tokens::token_hash(&secret), now)
            .await?
            .ok_or(WebError::Unauthenticated)?;
        let tenant = state.store.tenant(found.user.tenant_id).await?;
        Ok(Caller {
            user: found.user,
            tenant,
            via: Via::Session {
                id: found.credential.id,
                csrf: csrf::token_for_session(&secret),
            },
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, WebError> {
        let caller = Caller::from_parts(parts, state).await?;
        caller.report_to_audit(parts);
        Ok(caller)
    }
}

impl Caller {
    /// Tells the audit middleware who is acting (when it is watching this request).
    fn report_to_audit(&self, parts: &Parts) {
        if let Some(slot) = parts.extensions.get::<crate::audit::AuditSlot>() {
            slot.set(crate::audit::Actor::of(self));
        }
    }
}

/// A [`Caller`] for the JSON API: failures answer as JSON.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ApiCaller, ApiError> {
        let caller = Caller::from_parts(parts, state).await?;
        caller.report_to_audit(parts);
        Ok(ApiCaller(caller))
    }
}

/// The value of a cookie sent with the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    cookie_in(&parts.headers, name)
}

/// The value of a cookie in request headers.
pub(crate) fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}
