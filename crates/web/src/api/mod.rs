//! The JSON API under `/api/v1`: everything the pages do, in the same order, with an OpenAPI
//! document at `/api/v1/openapi.json`.
//!
//! Callers authenticate with `Authorization: Bearer <API token>` or with the browser's session
//! cookie (then unsafe calls need the `X-CSRF-Token` header, see [`crate::auth::csrf`]).
//! Errors are `{ "error": "…" }` with the status of [`crate::WebError::status`].

pub mod account;
pub mod alerts;
pub mod audit;
pub mod calendar_feed;
pub mod channels;
pub mod customers;
pub mod import;
pub mod instances;
pub mod licenses;
pub mod webhook;

use axum::Router;
use axum::body::Bytes;
use axum::http::Method;
use axum::routing::get;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Route;
use crate::error::{ApiError, WebError};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Runway API",
        description = "Every 3CX license of an MSP's fleet: the license table, the expiry \
                       calendar, customers, instances, refresh and read-now, history, tokens."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    components(schemas(
        crate::error::ErrorBody,
        webhook::WebhookEvent,
        webhook::WebhookNotice
    ))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(crate::auth::SESSION_COOKIE),
            )),
        );
    }
}

/// The API's routes and its OpenAPI document, built together so they cannot disagree.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(licenses::licenses))
        .routes(routes!(licenses::calendar))
        .routes(routes!(licenses::export))
        .routes(routes!(import::import))
        .routes(routes!(
            calendar_feed::get_feed,
            calendar_feed::create,
            calendar_feed::revoke
        ))
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(
            customers::get_one,
            customers::update,
            customers::delete
        ))
        .routes(routes!(instances::list, instances::create))
        .routes(routes!(
            instances::get_one,
            instances::update,
            instances::delete
        ))
        .routes(routes!(instances::refresh))
        .routes(routes!(instances::read_now))
        .routes(routes!(instances::bulk))
        .routes(routes!(instances::test_connection))
        .routes(routes!(instances::readings))
        .routes(routes!(instances::events))
        .routes(routes!(instances::attempts))
        .routes(routes!(account::me))
        .routes(routes!(account::settings, account::update_settings))
        .routes(routes!(account::tokens, account::create_token))
        .routes(routes!(account::revoke_token))
        .routes(routes!(audit::audit_log))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get_one))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::delete))
        .routes(routes!(channels::test))
        .routes(routes!(channels::routes, channels::create_route))
        .routes(routes!(channels::delete_route))
        .routes(routes!(channels::escalations, channels::create_escalation))
        .routes(routes!(channels::delete_escalation))
        .routes(routes!(channels::retry));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .split_for_parts()
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// Where the OpenAPI document is served.
const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Every API route: each operation of the OpenAPI document (which `routes!` builds from the
/// same handlers as the router), and the document itself.
pub(crate) fn routes() -> Vec<Route> {
    let mut routes = vec![Route::new(Method::GET, OPENAPI_PATH)];
    for (path, item) in openapi().paths.paths {
        let operations = [
            ("GET", item.get.is_some()),
            ("PUT", item.put.is_some()),
            ("POST", item.post.is_some()),
            ("DELETE", item.delete.is_some()),
            ("OPTIONS", item.options.is_some()),
            ("HEAD", item.head.is_some()),
            ("PATCH", item.patch.is_some()),
            ("TRACE", item.trace.is_some()),
            ("QUERY", item.query.is_some()),
        ];
        let methods = operations
            .into_iter()
            .filter(|(_, documented)| *documented)
            .map(|(method, _)| method.to_owned())
            .chain(
                item.additional_operations
                    .keys()
                    .map(|m| m.to_ascii_uppercase()),
            );
        for method in methods {
            if let Ok(method) = Method::from_bytes(method.as_bytes()) {
                routes.push(Route::new(method, &path));
            }
        }
    }
    routes
}

pub(crate) fn router(state: AppState) -> Router {
    let (routes, doc) = parts();
    let json = doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
    routes
        .route(
            OPENAPI_PATH,
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json,
                    )
                }
            }),
        )
        .with_state(state)
}

/// A JSON body, with a JSON error naming what is wrong when it does not parse.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError(WebError::Invalid(format!(
            "the JSON body is not valid: {err}"
        )))
    })
}

/// An id from the path; anything but a number is a 404 like an unknown id.
pub(crate) fn path_id(text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError(WebError::NotFound))
}
