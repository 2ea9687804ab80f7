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
//!   roles, login throttling.
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
pub mod auth;
pub mod edit;
mod error;
mod forms;
pub mod history;
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
pub use setup::{InitError, init_tenant};
pub use state::{AppState, WebSettings};

/// The whole application: pages, API, static files, with security headers on every answer.
pub fn router(state: AppState) -> Router {
    let api = api::router(state.clone());
    let transport = axum::middleware::from_fn_with_state(state.clone(), auth::transport::transport);
    let csrf = axum::middleware::from_fn_with_state(state.clone(), auth::csrf::require_csrf);
    Router::new()
        .merge(pages::router())
        .merge(statics::router())
        .with_state(state)
        .merge(api)
        .fallback(not_found)
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

/// Deletes what has expired at `now`: sessions that have ended, and sign-in throttle windows
/// older than `throttle_window`. `runway serve` runs it every few minutes; returns how many
/// sessions and windows it deleted.
pub async fn sweep_expired(
    store: &dyn runway_store::Store,
    now: jiff::Timestamp,
    throttle_window: std::time::Duration,
) -> Result<(u64, u64), runway_store::StoreError> {
    let sessions = store.delete_expired_sessions(now).await?;
    let window =
        jiff::SignedDuration::try_from(throttle_window).unwrap_or(jiff::SignedDuration::MAX);
    let windows = store
        .purge_sign_in_failures(now.saturating_sub(window).unwrap_or(now))
        .await?;
    Ok((sessions, windows))
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
