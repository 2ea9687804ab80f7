//! The license table with its counters, and the expiry calendar.

use axum::Json;
use axum::extract::{Query, State};

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
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
