//! The audit log (admin and owner): who did what, when, from where; newest first, in pages.

use axum::Json;
use axum::extract::{Query, State};
use runway_core::Zone;
use runway_store::{AuditEntry, AuditEntryId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Action, ApiCaller};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::view::local_time;

/// The most entries one page holds.
pub(crate) const PAGE: u32 = 100;

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Its id; pass it as `before` for the next (older) page.
    pub id: i64,
    /// When, as an RFC 3339 instant.
    pub at: String,
    /// When, in the tenant's zone.
    pub at_local: String,
    /// Who: the user's email (and the API token used, if any).
    pub actor: String,
    /// How: `session`, `api_token`, `sign_in` or `command`.
    pub via: String,
    /// From which client address.
    pub address: String,
    /// What, e.g. `instance_changed`, `sign_in_failed`, `refused: user_deleted`.
    pub action: String,
    /// To what, e.g. `instance 12`.
    pub target: String,
    /// What changed, in words.
    pub detail: String,
}

impl AuditEntryView {
    pub(crate) fn of(entry: &AuditEntry, zone: &Zone) -> AuditEntryView {
        AuditEntryView {
            id: entry.id.0,
            at: entry.at.to_string(),
            at_local: local_time(entry.at, zone),
            actor: entry.actor.clone(),
            via: entry.via.as_str().to_owned(),
            address: entry.address.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            detail: entry.detail.clone(),
        }
    }
}

/// Which page of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries older than this id (the last id of the previous page).
    pub before: Option<i64>,
    /// At most this many entries (1–100, default 100).
    pub limit: Option<u32>,
}

/// A page of the audit log, newest first.
pub(crate) async fn page_of(
    state: &AppState,
    caller: &crate::auth::Caller,
    params: &AuditParams,
) -> Result<Vec<AuditEntryView>, crate::WebError> {
    caller.require(Action::ReadAudit)?;
    let max = params.limit.unwrap_or(PAGE).clamp(1, PAGE);
    let entries = state
        .store
        .audit_log(caller.tenant.id, max, params.before.map(AuditEntryId))
        .await?;
    let zone = &caller.tenant.settings.zone;
    Ok(entries
        .iter()
        .map(|e| AuditEntryView::of(e, zone))
        .collect())
}

/// The tenant's audit log, newest first (admin and owner).
#[utoipa::path(get, path = "/audit", tag = "account", params(AuditParams),
    responses((status = 200, body = Vec<AuditEntryView>), (status = 403, body = ErrorBody)))]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(params): Query<AuditParams>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    Ok(Json(page_of(&state, &caller, &params).await?))
}
