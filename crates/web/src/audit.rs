//! The audit log's one writer: a middleware around every unsafe request (POST, PUT, PATCH,
//! DELETE) that records who did it, when, from where and what, once the handler has answered.
//!
//! It sits on every route, so a new route cannot be forgotten. The caller is the one the
//! handler authenticated (the [`Caller`] extractor reports it into an [`AuditSlot`]); sign-in,
//! which has no caller yet, reports the account it tried. Requests that changed something
//! (2xx/3xx) are logged, and so are refusals of a signed-in caller's role (403) and failed
//! sign-ins. The action comes from the route (`POST /instances/{id}/edit` → `instance_changed`)
//! and the target from the path's id; a handler adds what changed with an [`AuditNote`] on its
//! response. Nothing here ever sees a secret: entries are built from the route, the ids and
//! what handlers choose to say.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use runway_store::{AuditVia, NewAuditEntry, TenantId, UserId};

use crate::auth::{Caller, Via, throttle};
use crate::state::AppState;

/// Who is acting, as the handler found out.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) tenant: TenantId,
    pub(crate) user: Option<UserId>,
    pub(crate) name: String,
    pub(crate) via: AuditVia,
}

impl Actor {
    /// The actor of an authenticated caller.
    pub(crate) fn of(caller: &Caller) -> Actor {
        let (via, name) = match &caller.via {
            Via::Session { .. } => (AuditVia::Session, caller.user.email.clone()),
            Via::ApiToken(id) => (
                AuditVia::ApiToken,
                format!("{} (API token {id})", caller.user.email),
            ),
        };
        Actor {
            tenant: caller.tenant.id,
            user: Some(caller.user.id),
            name,
            via,
        }
    }
}

/// Where a handler reports the actor of the request it serves (set by the middleware).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditSlot(Arc<Mutex<Option<Actor>>>);

impl AuditSlot {
    /// Reports the actor (the last report wins).
    pub(crate) fn set(&self, actor: Actor) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(actor);
    }

    fn take(&self) -> Option<Actor> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What a handler adds to its answer's audit entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditNote {
    /// Replaces the action named by the route (e.g. `sign_in_failed`).
    pub(crate) action: Option<&'static str>,
    /// Replaces the target named by the path (e.g. the instance just created).
    pub(crate) target: Option<String>,
    /// What changed, in words; never a secret.
    pub(crate) detail: String,
}

impl AuditNote {
    /// A note saying what changed.
    pub(crate) fn detail(detail: impl Into<String>) -> AuditNote {
        AuditNote {
            detail: detail.into(),
            ..AuditNote::default()
        }
    }

    /// Attaches the note to a response.
    pub(crate) fn on(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// Records every unsafe request's outcome (see the module docs).
pub(crate) async fn audit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let unsafe_method = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !unsafe_method {
        return next.run(request).await;
    }
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let address =
        throttle::client_address(peer, request.headers(), &state.settings.trusted_proxies)
            .map_or_else(String::new, |a| a.to_string());

    let response = next.run(request).await;

    let status = response.status().as_u16();
    let Some(actor) = slot.take() else {
        return response;
    };
    let note = response
        .extensions()
        .get::<AuditNote>()
        .cloned()
        .unwrap_or_default();
    let changed = status < 400;
    let refused = status == 403;
    let failed_sign_in = note.action == Some(SIGN_IN_FAILED);
    if !(changed || refused || failed_sign_in) {
        return response;
    }
    let named = action(&method, &route);
    let action = match note.action {
        Some(action) => action.to_owned(),
        None if refused => format!("refused: {named}"),
        None => named,
    };
    let entry = NewAuditEntry {
        at: state.now(),
        actor: actor.name,
        user_id: actor.user,
        via: actor.via,
        address,
        action,
        target: note.target.unwrap_or_else(|| target(&path)),
        detail: note.detail,
    };
    if let Err(err) = state.store.record_audit(actor.tenant, &entry).await {
        tracing::error!(error = %err, action = %entry.action, "the audit log could not be written");
    }
    response
}

/// The action of a failed sign-in.
pub(crate) const SIGN_IN_FAILED: &str = "sign_in_failed";

/// The thing a path's first word names: `instances` → `instance`.
fn thing(plural: &str) -> String {
    match plural {
        "settings" => "settings",
        other => other.strip_suffix('s').unwrap_or(other),
    }
    .to_owned()
}

/// The words for what a route does: `POST /instances/{id}/edit` → `instance_changed`.
fn action(method: &Method, route: &str) -> String {
    let route = route.strip_prefix("/api/v1").unwrap_or(route);
    let words: Vec<&str> = route
        .split('/')
        .filter(|w| !w.is_empty() && !w.starts_with('{'))
        .collect();
    let has_id = route.contains('{');
    match (method.as_str(), words.as_slice()) {
        ("POST", ["login"]) => "signed_in".into(),
        ("POST", ["logout"]) => "signed_out".into(),
        ("POST", ["setup"]) => "set_up".into(),
        ("POST", ["account", "password"]) => "password_changed".into(),
        ("POST" | "PUT", ["settings"]) => "settings_changed".into(),
        ("POST", ["calendar-feed"]) => "calendar_feed_created".into(),
        ("POST", ["calendar-feed", "revoke"]) | ("DELETE", ["calendar-feed"]) => {
            "calendar_feed_revoked".into()
        }
        ("POST", [_, "refresh"]) if has_id => "refreshed".into(),
        ("POST", [_, "read-now"]) if has_id => "read_now".into(),
        ("POST", ["refresh"] | [_, "refresh" | "bulk" | "read-now"]) => "refreshed_several".into(),
        ("POST", ["instances", "test" | "test-connection"]) => "connection_tested".into(),
        ("POST", [kind] | [kind, "new"]) if !has_id => format!("{}_created", thing(kind)),
        ("POST", [kind, "edit"] | [kind]) | ("PUT" | "PATCH", [kind]) => {
            format!("{}_changed", thing(kind))
        }
        ("POST", [kind, "delete"]) | ("DELETE", [kind]) => format!("{}_deleted", thing(kind)),
        ("POST", [kind, "revoke"]) => format!("{}_revoked", thing(kind)),
        ("POST", [kind, "enable"]) => format!("{}_enabled", thing(kind)),
        ("POST", [kind, "disable"]) => format!("{}_disabled", thing(kind)),
        _ => format!("{} {route}", method.as_str()),
    }
}

/// What a path names: `/instances/12/edit` → `instance 12`; `/customers` → `customers`.
fn target(path: &str) -> String {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let mut words = path.split('/').filter(|w| !w.is_empty());
    let kind = words.next().unwrap_or("");
    match words
        .next()
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        Some(id) => format!("{} {id}", thing(kind)),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_named_in_words_and_paths_name_their_target() {
        let cases = [
            (Method::POST, "/instances/{id}/edit", "instance_changed"),
            (Method::PUT, "/api/v1/instances/{id}", "instance_changed"),
            (Method::POST, "/instances/new", "instance_created"),
            (Method::POST, "/api/v1/instances", "instance_created"),
            (Method::DELETE, "/api/v1/customers/{id}", "customer_deleted"),
            (Method::POST, "/users/{id}", "user_changed"),
            (Method::POST, "/tokens/{id}/revoke", "token_revoked"),
            (Method::POST, "/instances/{id}/refresh", "refreshed"),
            (Method::POST, "/login", "signed_in"),
            (Method::PUT, "/api/v1/settings", "settings_changed"),
            (Method::POST, "/settings", "settings_changed"),
            (Method::POST, "/calendar-feed", "calendar_feed_created"),
            (
                Method::POST,
                "/api/v1/calendar-feed",
                "calendar_feed_created",
            ),
            (
                Method::POST,
                "/calendar-feed/revoke",
                "calendar_feed_revoked",
            ),
            (
                Method::DELETE,
                "/api/v1/calendar-feed",
                "calendar_feed_revoked",
            ),
            (
                Method::POST,
                "/somewhere/new/{id}/else",
                "POST /somewhere/new/{id}/else",
            ),
        ];
        for (method, route, expected) in cases {
            assert_eq!(action(&method, route), expected, "{method} {route}");
        }
        assert_eq!(target("/instances/12/edit"), "instance 12");
        assert_eq!(target("/api/v1/customers/7"), "customer 7");
        assert_eq!(target("/customers"), "customers");
    }
}
