//! The license table with its counters, and the expiry calendar.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody, WebError};
use crate::export::LicenseExport;
use crate::state::AppState;
use crate::view::{CalendarGroupView, Filter, FleetView, fleet_view};

/// The License Status table: counters, rows in fleet order, and the calendar of those rows.
#[utoipa::path(get, path = "/licenses", tag = "licenses", params(Filter),
    responses((status = 200, body = FleetView), (status = 401, body = ErrorBody)))]
pub(crate) async fn licenses(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(filter): Query<Filter>,
) -> Result<Json<FleetView>, ApiError> {
    let fleet = state.store.fleet(caller.tenant.id).await?;
    Ok(Json(fleet_view(
        &fleet,
        &caller.tenant,
        state.now(),
        &filter,
    )))
}

/// The License Expiry Calendar: "Overdue" first, then months in order.
#[utoipa::path(get, path = "/calendar", tag = "licenses", params(Filter),
    responses((status = 200, body = Vec<CalendarGroupView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn calendar(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(filter): Query<Filter>,
) -> Result<Json<Vec<CalendarGroupView>>, ApiError> {
    let fleet = state.store.fleet(caller.tenant.id).await?;
    Ok(Json(
        fleet_view(&fleet, &caller.tenant, state.now(), &filter).calendar,
    ))
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExportFormat {
    /// CSV with a UTF-8 byte-order mark, for spreadsheets.
    #[default]
    Csv,
    /// JSON, for scripts.
    Json,
}

/// Which file to export (the rows are chosen by [`Filter`]).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `csv` (the default) or `json`.
    format: Option<ExportFormat>,
}

/// The license table as a file to download: the page's rows in the page's order, after the
/// same filter; dates in the tenant's zone beside ISO instants.
#[utoipa::path(get, path = "/licenses/export", tag = "licenses", params(ExportQuery, Filter),
    responses(
        (status = 200, description = "The table as CSV (`format=csv`) or JSON (`format=json`)",
            content((String = "text/csv"), (LicenseExport = "application/json"))),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(query): Query<ExportQuery>,
    Query(filter): Query<Filter>,
) -> Result<Response, ApiError> {
    let fleet = state.store.fleet(caller.tenant.id).await?;
    let now = state.now();
    let view = fleet_view(&fleet, &caller.tenant, now, &filter);
    let date = view.today.clone();
    let (body, content_type, extension) = match query.format.unwrap_or_default() {
        ExportFormat::Csv => (
            crate::export::csv(&view.rows)
                .map_err(|err| WebError::Internal(format!("cannot write the CSV export: {err}")))?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        ExportFormat::Json => (
            serde_json::to_string_pretty(&LicenseExport::of(view, now)).map_err(|err| {
                WebError::Internal(format!("cannot write the JSON export: {err}"))
            })?,
            "application/json",
            "json",
        ),
    };
    let disposition = format!("attachment; filename=\"runway-licenses-{date}.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
