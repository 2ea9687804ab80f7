//! The alerts page: open and acknowledged alerts (or those of a chosen state), filtered by
//! severity, kind and customer; technicians and up acknowledge them here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::Chrome;
use crate::api::alerts::{
    AlertDetailView, AlertParams, AlertView, acknowledge_as, detail_for, list_for,
};
use crate::api::channels::retry_as;
use crate::auth::Caller;
use crate::error::WebError;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "alerts.html")]
pub(crate) struct AlertsPage {
    chrome: Chrome,
    alerts: Vec<AlertView>,
    state: String,
    severity: String,
    kind: String,
    /// The customers to filter by, and the one chosen.
    customers: Vec<runway_store::Customer>,
    customer: Option<i64>,
}

impl AlertsPage {
    /// Whether the customer filter is on this customer.
    fn customer_selected(&self, customer: &runway_store::Customer) -> bool {
        self.customer == Some(customer.id.0)
    }
}

/// ` selected` when a filter's current value is this option's.
fn selected(current: &str, option: &str) -> &'static str {
    if current.eq_ignore_ascii_case(option) {
        " selected"
    } else {
        ""
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AlertParams>,
) -> Result<AlertsPage, WebError> {
    let alerts = list_for(&state, &caller, &params).await?;
    let customers = state.store.customers(caller.tenant.id).await?;
    Ok(AlertsPage {
        chrome: Chrome::of(&caller),
        alerts,
        state: params.state.unwrap_or_default(),
        severity: params.severity.unwrap_or_default(),
        kind: params.kind.unwrap_or_default(),
        customers,
        // A customer that is not a number was refused by `list_for` above.
        customer: params
            .customer
            .as_deref()
            .and_then(|c| c.trim().parse().ok()),
    })
}

pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: i64 = id.trim().parse().map_err(|_| WebError::NotFound)?;
    acknowledge_as(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "alert.html")]
pub(crate) struct AlertPage {
    chrome: Chrome,
    detail: AlertDetailView,
}

fn alert_id(id: &str) -> Result<i64, WebError> {
    id.trim().parse().map_err(|_| WebError::NotFound)
}

/// One alert: its timeline and where its notifications went.
pub(crate) async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AlertPage, WebError> {
    Ok(AlertPage {
        chrome: Chrome::of(&caller),
        detail: detail_for(&state, &caller, alert_id(&id)?).await?,
    })
}

/// Sends a failed delivery again, then shows its alert.
pub(crate) async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let delivery = retry_as(&state, &caller, alert_id(&id)?).await?;
    let alert = delivery.notice.alert_id.map_or(0, |a| a.0);
    Ok(Redirect::to(&format!("/alerts/{alert}")).into_response())
}
