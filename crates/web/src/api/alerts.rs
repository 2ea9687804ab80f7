//! Alerts: reminder series and "not read" alerts, with their timeline; acknowledging one
//! (technician and up).

use std::collections::HashMap;
use std::str::FromStr as _;

use axum::Json;
use axum::extract::{Path, Query, State};
use runway_core::{Severity, Stage};
use runway_store::{
    Alert, AlertEvent, AlertFilter, AlertId, AlertKind, AlertState, CustomerId, InstanceId,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::auth::{Action, ApiCaller, Caller};
use crate::error::{ApiError, ErrorBody, WebError};
use crate::state::AppState;
use crate::view::local_time;

/// The most alerts one answer holds.
const MAX_ALERTS: u32 = 1000;

/// An alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    /// Its id.
    pub id: i64,
    /// The instance it is about.
    pub instance_id: i64,
    /// The instance's name.
    pub instance: String,
    /// Its customer's name.
    pub customer: String,
    /// `license_expiry` or `not_read`.
    pub kind: String,
    /// `INFO`, `WARNING` or `CRITICAL`.
    pub severity: String,
    /// The milestone that fired last, in days before expiry (`null` for the lapse alert and
    /// "not read").
    pub milestone_days: Option<u16>,
    /// Whether the last stage is the "license expired" alert.
    pub lapsed: bool,
    /// The expiry date of the series (`YYYY-MM-DD`, the tenant's zone).
    pub expiry_date: Option<String>,
    /// Days left when the last stage fired.
    pub days_left: Option<i32>,
    /// For "not read": since when (RFC 3339).
    pub not_read_since: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    /// `renewed`, `superseded` or `read_again`, once resolved.
    pub resolution: Option<String>,
    /// What the resolution said, e.g. "renewed: new expiry 2027-12-01".
    pub resolution_note: Option<String>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// What it says, in words.
    pub summary: String,
    /// When it was raised (RFC 3339).
    pub opened_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// When it resolved (RFC 3339).
    pub resolved_at: Option<String>,
    /// When it last changed, in the tenant's zone.
    pub updated_local: String,
}

/// One step of an alert's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertEventView {
    /// When (RFC 3339).
    pub at: String,
    /// When, in the tenant's zone.
    pub at_local: String,
    /// `fired`, `acknowledged` or `resolved`.
    pub what: String,
    /// The severity then.
    pub severity: String,
    /// The stage (`milestone:3`, `lapse`, `not_read`).
    pub stage: String,
    /// Who acknowledged, or what the resolution said.
    pub note: String,
}

/// An alert with its timeline and deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetailView {
    /// The alert.
    pub alert: AlertView,
    /// What happened to it, oldest first.
    pub timeline: Vec<AlertEventView>,
    /// Its notifications, one per channel and step, newest first.
    pub deliveries: Vec<super::channels::DeliveryView>,
}

/// Which alerts to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// `open`, `acknowledged` or `resolved`; without it, open and acknowledged ones.
    pub state: Option<String>,
    /// Only this severe or more: `INFO`, `WARNING` or `CRITICAL`.
    pub severity: Option<String>,
    /// `license_expiry` or `not_read`.
    pub kind: Option<String>,
    /// Only this customer's instances (id; blank: every customer).
    #[param(value_type = Option<i64>)]
    pub customer: Option<String>,
    /// Only this instance's (id; blank: every instance).
    #[param(value_type = Option<i64>)]
    pub instance: Option<String>,
}

/// A query parameter that was given and is not blank.
fn present(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl AlertParams {
    /// The filter, or a message naming the parameter that is wrong.
    pub(crate) fn filter(&self) -> Result<AlertFilter, WebError> {
        let bad = |name: &str, value: &str, allowed: &str| {
            WebError::Invalid(format!("{name} must be one of {allowed}, not {value:?}"))
        };
        let id = |name: &str, value: Option<&String>| {
            present(value)
                .map(|v| {
                    v.parse::<i64>().map_err(|_| {
                        WebError::Invalid(format!("{name} must be a {name} id, not {v:?}"))
                    })
                })
                .transpose()
        };
        Ok(AlertFilter {
            state: present(self.state.as_ref())
                .map(|v| {
                    AlertState::from_str(v)
                        .map_err(|_| bad("state", v, "open, acknowledged, resolved"))
                })
                .transpose()?,
            min_severity: present(self.severity.as_ref())
                .map(|v| {
                    Severity::from_str(v).map_err(|_| bad("severity", v, "INFO, WARNING, CRITICAL"))
                })
                .transpose()?,
            kind: present(self.kind.as_ref())
                .map(|v| AlertKind::from_str(v).map_err(|_| bad("kind", v, KINDS)))
                .transpose()?,
            customer: id("customer", self.customer.as_ref())?.map(CustomerId),
            instance: id("instance", self.instance.as_ref())?.map(InstanceId),
        })
    }
}

/// The kinds a filter accepts, for its error message.
const KINDS: &str = "license_expiry, maintenance_expiry, not_read, capacity";

/// Instance id → (customer, instance name), from the tenant's fleet.
pub(crate) async fn names(
    state: &AppState,
    caller: &Caller,
) -> Result<HashMap<InstanceId, (String, String)>, WebError> {
    let fleet = state.store.fleet(caller.tenant.id).await?;
    Ok(fleet
        .iter()
        .map(|row| {
            (
                row.instance.id,
                (
                    row.instance.customer_name.clone(),
                    row.instance.name.clone(),
                ),
            )
        })
        .collect())
}

/// An alert in words: "License expires in 3 days (2026-12-04)".
fn summary(alert: &Alert) -> String {
    let thing = match alert.kind {
        AlertKind::MaintenanceExpiry => "Maintenance",
        _ => "License",
    };
    match (alert.kind, alert.stage, alert.expiry_date, alert.days_left) {
        (AlertKind::NotRead, ..) => "Not read successfully for too long".to_owned(),
        (AlertKind::Capacity, ..) => "Uses 90% or more of its licensed users".to_owned(),
        (_, Some(Stage::Lapse), Some(date), _) => format!("{thing} expired on {date}"),
        (_, _, Some(date), Some(days)) => match days {
            0 => format!("{thing} expires today ({date})"),
            1 => format!("{thing} expires tomorrow ({date})"),
            n => format!("{thing} expires in {n} days ({date})"),
        },
        _ => format!("{thing} reminder"),
    }
}

pub(crate) fn view(
    alert: &Alert,
    names: &HashMap<InstanceId, (String, String)>,
    zone: &runway_core::Zone,
) -> AlertView {
    let (customer, instance) = names.get(&alert.instance_id).cloned().unwrap_or_default();
    AlertView {
        id: alert.id.0,
        instance_id: alert.instance_id.0,
        instance,
        customer,
        kind: alert.kind.as_str().to_owned(),
        severity: alert.severity.to_string(),
        milestone_days: match alert.stage {
            Some(Stage::Milestone(days)) => Some(days),
            _ => None,
        },
        lapsed: alert.stage == Some(Stage::Lapse),
        expiry_date: alert.expiry_date.map(|d| d.to_string()),
        days_left: alert.days_left,
        not_read_since: alert.not_read_since.map(|t| t.to_string()),
        state: alert.state.as_str().to_owned(),
        resolution: alert.resolution.map(|r| r.as_str().to_owned()),
        resolution_note: alert.resolution_note.clone(),
        acknowledged_by: alert.acknowledged.as_ref().map(|(_, by)| by.clone()),
        summary: summary(alert),
        opened_at: alert.opened_at.to_string(),
        updated_at: alert.updated_at.to_string(),
        resolved_at: alert.resolved_at.map(|t| t.to_string()),
        updated_local: local_time(alert.updated_at, zone),
    }
}

fn event_view(event: &AlertEvent, zone: &runway_core::Zone) -> AlertEventView {
    AlertEventView {
        at: event.at.to_string(),
        at_local: local_time(event.at, zone),
        what: event.what.clone(),
        severity: event.severity.to_string(),
        stage: event.stage.clone(),
        note: event.note.clone(),
    }
}

/// The alerts matching `params`, as views.
pub(crate) async fn list_for(
    state: &AppState,
    caller: &Caller,
    params: &AlertParams,
) -> Result<Vec<AlertView>, WebError> {
    let filter = params.filter()?;
    let alerts = state
        .store
        .alerts(caller.tenant.id, &filter, MAX_ALERTS)
        .await?;
    let names = names(state, caller).await?;
    let zone = &caller.tenant.settings.zone;
    Ok(alerts.iter().map(|a| view(a, &names, zone)).collect())
}

/// Acknowledges an alert as the caller (technician and up).
pub(crate) async fn acknowledge_as(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Alert, WebError> {
    caller.require(Action::Read)?;
    Ok(state
        .store
        .acknowledge_alert(
            caller.tenant.id,
            AlertId(id),
            &caller.user.email,
            state.now(),
        )
        .await?)
}

/// The tenant's alerts: open and acknowledged ones unless `state` says otherwise; the most
/// severe first, then the most recently changed.
#[utoipa::path(get, path = "/alerts", tag = "alerts", params(AlertParams),
    responses((status = 200, body = Vec<AlertView>), (status = 422, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(params): Query<AlertParams>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    Ok(Json(list_for(&state, &caller, &params).await?))
}

/// One alert with its timeline and deliveries.
pub(crate) async fn detail_for(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<AlertDetailView, WebError> {
    let (alert, timeline) = state.store.alert(caller.tenant.id, AlertId(id)).await?;
    let deliveries = state
        .store
        .deliveries(
            caller.tenant.id,
            &runway_store::DeliveryFilter {
                alert: Some(alert.id),
                state: None,
            },
            MAX_ALERTS,
        )
        .await?;
    let names = names(state, caller).await?;
    let zone = &caller.tenant.settings.zone;
    Ok(AlertDetailView {
        alert: view(&alert, &names, zone),
        timeline: timeline.iter().map(|e| event_view(e, zone)).collect(),
        deliveries: deliveries
            .iter()
            .map(|d| super::channels::delivery_view(d, zone))
            .collect(),
    })
}

/// One alert with its timeline and its deliveries (each channel's notifications, with the
/// receiver's last answer when one was not taken).
#[utoipa::path(get, path = "/alerts/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = AlertDetailView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<AlertDetailView>, ApiError> {
    Ok(Json(detail_for(&state, &caller, path_id(&id)?).await?))
}

/// Acknowledges an open alert (technician and up); an acknowledged or resolved one stays as
/// it is. A later milestone of the series opens it again.
#[utoipa::path(post, path = "/alerts/{id}/acknowledge", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let alert = acknowledge_as(&state, &caller, path_id(&id)?).await?;
    let names = names(&state, &caller).await?;
    Ok(Json(view(&alert, &names, &caller.tenant.settings.zone)))
}
