//! # runway-web: the dashboard, accounts and JSON API
//!
//! Everything a person or a script sees of Runway over HTTP:
//!
//! - **Pages** ([`pages`]): the License Status page with its counters, sorted table and expiry
//!   calendar; each instance's page with its history and the Refresh license button; the forms
//!   for customers, instances, tenant settings, users and API tokens; first-run setup, sign-in.
//!   Server-rendered HTML (askama, auto-escaped) that works with JavaScript off.
//! - **JSON API** ([`api`]) under `/api/v1`, the same data in the same order, described by the
//!   OpenAPI document at `/api/v1/openapi.json`.
//! - **Accounts** ([`auth`]): argon2id passwords, session cookies, CSRF tokens, API tokens,
//!   roles, login throttling; an audit log of sign-ins and changes.
//! - **Calendar feed** (`calendar_feed`): every expiry as an all-day iCalendar event at a
//!   secret, revocable URL (`/calendar/<token>.ics`) that calendar apps fetch without sign-in.
//! - **Health**: `/healthz` (liveness) and `/readyz` (database and scheduler), without sign-in.
//! - **Metrics** ([`metrics`]): Prometheus metrics at `/metrics` for an API token's tenant, and
//!   for every tenant on a listener of their own ([`serve_metrics`]).
//!
//! Every number shown (band, days left, order, calendar month) comes from `runway-core`
//! through one view model ([`view`]) that pages and API share; what a user does to instances
//! (save one, refresh several) is written once in `actions`, and pages and API only translate
//! input and output. Every handler is scoped to the
//! caller's tenant; another tenant's ids are answered 404. Reads of PBXs (refresh, read now,
//! test connection) go through the engine's one read path.
//!
//! ## Wiring
//! The binary builds an [`AppState`] from its engine, then calls [`serve`] with a bound
//! listener and a shutdown future. [`init_tenant`], [`create_api_token`] and
//! [`revoke_api_token`] serve `runway admin`.

mod actions;
pub mod api;
mod audit;
pub mod auth;
mod calendar_feed;
pub mod edit;
mod error;
pub mod export;
mod forms;
#[doc(hidden)]
pub mod fuzzing;
mod health;
pub mod history;
mod ical;
pub mod import;
pub mod metrics;
pub mod pages;
mod setup;
mod state;
mod statics;
pub mod view;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::tokens::{create_api_token, revoke_api_token};
pub use error::{ApiError, ErrorBody, WebError};
pub use metrics::{metrics_router, serve_metrics};
pub use setup::{InitError, init_tenant};
pub use state::{AppState, WebSettings};

/// The whole application: pages, API, static files, with security headers on every answer.
pub fn router(state: AppState) -> Router {
    let api = api::router(state.clone());
    let transport = axum::middleware::from_fn_with_state(state.clone(), auth::transport::transport);
    let csrf = axum::middleware::from_fn_with_state(state.clone(), auth::csrf::require_csrf);
    let audit = axum::middleware::from_fn_with_state(state.clone(), audit::audit);
    Router::new()
        .merge(pages::router())
        .merge(statics::router())
        .merge(health::table().into_router())
        .merge(metrics::table().into_router())
        .with_state(state)
        .merge(api)
        .fallback(not_found)
        // Inside the CSRF check: a forged request is refused before it is audited.
        .layer(audit)
        .layer(csrf)
        // Outside the CSRF check, which reads the cookies this renames.
        .layer(transport)
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
}

/// One route the application answers: a method and a path pattern as the router matches it
/// (`{id}` stands for an id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// The method (`GET` routes answer `HEAD` too).
    pub method: axum::http::Method,
    /// The path pattern, e.g. `/instances/{id}/refresh`.
    pub path: String,
}

impl Route {
    fn new(method: axum::http::Method, path: impl Into<String>) -> Route {
        Route {
            method,
            path: path.into(),
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Every route of [`router`]: the pages and static files from the tables their routers are
/// built from, the API from its OpenAPI document (whose operations `utoipa_axum::routes!` makes
/// from the same handlers as the API's routes). Tests hold each route against the roles allowed
/// to use it, so a new route cannot go unnoticed.
pub fn route_table() -> Vec<Route> {
    let mut routes = pages::table().into_routes();
    routes.extend(statics::table().into_routes());
    routes.extend(health::table().into_routes());
    routes.extend(metrics::table().into_routes());
    routes.extend(api::routes());
    routes
}

/// Unknown paths: a JSON 404 under `/api/`, the error page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if uri.path().starts_with("/api/") {
        ApiError(WebError::NotFound).into_response()
    } else {
        WebError::NotFound.into_response()
    }
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// What one pass of [`sweep_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sessions that had ended.
    pub sessions: u64,
    /// Sign-in throttle windows that had passed.
    pub throttle_windows: u64,
    /// History older than each tenant's retention.
    pub pruned: runway_store::Pruned,
}

/// Deletes what has expired at `now`: sessions that have ended, sign-in throttle windows older
/// than `throttle_window`, and every tenant's history older than its retention (see
/// `Housekeeping::prune_history`). `runway serve` runs it every few minutes.
pub async fn sweep_expired(
    store: &dyn runway_store::Store,
    now: jiff::Timestamp,
    throttle_window: std::time::Duration,
) -> Result<Swept, runway_store::StoreError> {
    let sessions = store.delete_expired_sessions(now).await?;
    let window =
        jiff::SignedDuration::try_from(throttle_window).unwrap_or(jiff::SignedDuration::MAX);
    let throttle_windows = store
        .purge_sign_in_failures(now.saturating_sub(window).unwrap_or(now))
        .await?;
    let pruned = store.prune_history(now).await?;
    Ok(Swept {
        sessions,
        throttle_windows,
        pruned,
    })
}

/// Serves the application on an already bound listener until `shutdown` completes, then
/// finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
