//! The caller, tenant settings and API tokens.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use runway_store::{ApiToken, ApiTokenId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{body, path_id};
use crate::auth::{Action, ApiCaller, Caller, tokens};
use crate::edit::SettingsDraft;
use crate::error::{ApiError, ErrorBody, WebError};
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The user's id.
    pub user_id: i64,
    /// Their email.
    pub email: String,
    /// Their name.
    pub display_name: String,
    /// `owner`, `admin`, `technician` or `viewer`.
    pub role: String,
    /// The tenant's id.
    pub tenant_id: i64,
    /// The tenant's name.
    pub tenant_name: String,
    /// The CSRF token session-authenticated calls send in `X-CSRF-Token` (empty with a token).
    pub csrf_token: String,
}

/// The caller and their tenant.
#[utoipa::path(get, path = "/me", tag = "account",
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(ApiCaller(caller): ApiCaller) -> Json<MeView> {
    Json(MeView {
        user_id: caller.user.id.0,
        email: caller.user.email.clone(),
        display_name: caller.user.display_name.clone(),
        role: caller.user.role.to_string(),
        tenant_id: caller.tenant.id.0,
        tenant_name: caller.tenant.settings.name.clone(),
        csrf_token: caller.csrf().to_owned(),
    })
}

/// Tenant settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// The MSP's name.
    pub name: String,
    /// The IANA time zone.
    pub zone: String,
    /// Reminder milestones, days before expiry, furthest first.
    pub milestones: Vec<u16>,
    /// Whether a lapsed license raises the "license expired" alert.
    pub lapse_alert: bool,
    /// The renewal-link template.
    pub renewal_template: String,
    /// Days of license history (readings, events, audit log) kept.
    pub history_days: u32,
    /// Days of read attempts kept.
    pub attempt_days: u32,
    /// Hours without a successful read before the "not read" alert.
    pub not_read_after_hours: u32,
    /// Whether an instance at 90% or more of its licensed users raises a "capacity" alert.
    pub capacity_alerts: bool,
    /// Whether maintenance dates get a reminder series too.
    pub maintenance_reminders: bool,
}

fn settings_view(caller: &Caller, settings: &runway_store::TenantSettings) -> SettingsView {
    let _ = caller;
    SettingsView {
        name: settings.name.clone(),
        zone: settings.zone.name().to_owned(),
        milestones: settings
            .reminders
            .milestones()
            .iter()
            .map(|m| m.days_before)
            .collect(),
        lapse_alert: settings.reminders.lapse_alert(),
        renewal_template: settings.renewal_template.as_str().to_owned(),
        history_days: settings.retention.history_days(),
        attempt_days: settings.retention.attempt_days(),
        not_read_after_hours: settings.not_read_after_hours,
        capacity_alerts: settings.capacity_alerts,
        maintenance_reminders: settings.maintenance_reminders,
    }
}

/// The tenant's settings.
#[utoipa::path(get, path = "/settings", tag = "account",
    responses((status = 200, body = SettingsView), (status = 401, body = ErrorBody)))]
pub(crate) async fn settings(ApiCaller(caller): ApiCaller) -> Json<SettingsView> {
    Json(settings_view(&caller, &caller.tenant.settings))
}

/// Replaces the tenant's settings (admin); `milestones` is text such as `"10, 3, 1"`.
#[utoipa::path(put, path = "/settings", tag = "account", request_body = SettingsDraft,
    responses((status = 200, body = SettingsView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<axum::response::Response, ApiError> {
    caller.require(Action::Edit)?;
    let draft: SettingsDraft = body(&bytes)?;
    let settings = draft
        .check(&caller.tenant.settings)
        .map_err(|e| ApiError(WebError::Invalid(e.sentence())))?;
    let tenant = state
        .store
        .update_tenant(caller.tenant.id, &settings)
        .await?;
    let note = crate::audit::AuditNote::detail(crate::pages::describe_settings(&tenant.settings));
    Ok(note.on(axum::response::IntoResponse::into_response(Json(
        settings_view(&caller, &tenant.settings),
    ))))
}

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The email of the user it acts as.
    pub user_email: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was last used.
    pub last_used_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> TokenView {
        TokenView {
            id: t.id.0,
            name: t.name,
            user_email: t.user_email,
            created_at: t.created_at.to_string(),
            last_used_at: t.last_used_at.map(|t| t.to_string()),
            revoked_at: t.revoked_at.map(|t| t.to_string()),
        }
    }
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenInput {
    /// What it is for.
    pub name: String,
}

/// A new token: `token` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The secret to send as `Authorization: Bearer …`.
    pub token: String,
    /// The stored token.
    #[serde(flatten)]
    pub details: TokenView,
}

/// Your API tokens (owners: every token of the tenant), newest first.
#[utoipa::path(get, path = "/tokens", tag = "account",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let list = crate::pages::visible_tokens(&state, &caller).await?;
    Ok(Json(list.into_iter().map(TokenView::from).collect()))
}

/// Creates a token acting as the caller.
#[utoipa::path(post, path = "/tokens", tag = "account", request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let input: TokenInput = body(&bytes)?;
    let (plaintext, token) = tokens::create_api_token(
        &state.store,
        caller.tenant.id,
        caller.user.id,
        &input.name,
        state.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: plaintext.expose().to_owned(),
            details: token.into(),
        }),
    ))
}

/// Revokes one of your tokens (owners: any of the tenant).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "account", params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let id = ApiTokenId(path_id(&id)?);
    if !crate::pages::visible_tokens(&state, &caller)
        .await?
        .iter()
        .any(|t| t.id == id)
    {
        return Err(ApiError(WebError::NotFound));
    }
    Ok(Json(
        tokens::revoke_api_token(&state.store, caller.tenant.id, id, state.now())
            .await?
            .into(),
    ))
}
