//! The stylesheet and script, compiled into the binary: nothing comes from a CDN.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const STYLE: &str = include_str!("../static/style.css");
const SCRIPT: &str = include_str!("../static/app.js");
const ICON: &[u8] = include_bytes!("../static/favicon.svg");

/// Served for a day; a new release changes the `?v=` query the pages use.
const CACHE: HeaderValue = HeaderValue::from_static("public, max-age=86400");

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE.as_bytes()) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT.as_bytes()) }),
        )
        .route(
            "/favicon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}

fn asset(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
}
