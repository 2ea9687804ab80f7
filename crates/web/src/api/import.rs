//! CSV import: a file of customers and instances, checked row by row, written all or nothing.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{Action, ApiCaller};
use crate::error::{ApiError, ErrorBody, WebError};
use crate::import::{self, ImportReport, MAX_IMPORT_BYTES};
use crate::state::AppState;

/// How to import.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// Check the file and say what it would do, without writing anything.
    #[serde(default)]
    dry_run: bool,
}

/// The request's body, up to the largest file taken.
pub(crate) async fn file_body(body: Body) -> Result<Vec<u8>, WebError> {
    axum::body::to_bytes(body, MAX_IMPORT_BYTES + 1)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            WebError::Invalid(format!(
                "the file is larger than {} MB; split it",
                MAX_IMPORT_BYTES / 1024 / 1024
            ))
        })
}

/// Imports customers and instances from a CSV file (the request body, `text/csv`). Rows are
/// matched to instances on (customer, instance name): a file imported twice updates rather than
/// duplicates. A file with any problem changes nothing and answers 422 with every problem by
/// row and column. Secrets are never shown back. `dry_run=true` checks without writing.
#[utoipa::path(post, path = "/import", tag = "import", params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        description = "The CSV file: a header row, then one row per instance"),
    responses(
        (status = 200, body = ImportReport, description = "Imported (or, in a dry run, checked)"),
        (status = 422, body = ImportReport, description = "The file has problems: nothing was written"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn import(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(Action::Edit)?;
    let bytes = file_body(body).await?;
    let report = import::run(&state.engine, &caller.tenant, &bytes, query.dry_run).await?;
    let status = if report.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}
