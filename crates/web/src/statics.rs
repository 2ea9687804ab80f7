//! The stylesheet and script, compiled into the binary: nothing comes from a CDN.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

use crate::pages::RouteTable;
use crate::state::AppState;

const STYLE: &str = include_str!("../static/style.css");
const SCRIPT: &str = include_str!("../static/app.js");
const ICON: &[u8] = include_bytes!("../static/favicon.svg");

/// Served for a day; a new release changes the `?v=` query the pages use.
const CACHE: HeaderValue = HeaderValue::from_static("public, max-age=86400");

/// The static files' route table.
pub(crate) fn table() -> RouteTable {
    RouteTable::new()
        .get("/static/style.css", || async {
            asset("text/css; charset=utf-8", STYLE.as_bytes())
        })
        .get("/static/app.js", || async {
            asset("text/javascript; charset=utf-8", SCRIPT.as_bytes())
        })
        .get("/favicon.svg", || async { asset("image/svg+xml", ICON) })
}

pub(crate) fn router() -> Router<AppState> {
    table().into_router()
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
