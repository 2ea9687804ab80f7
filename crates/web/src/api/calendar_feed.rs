//! The tenant's iCalendar feed: whether there is one, a new URL (shown once), revoking it.
//! The feed itself is served at the URL, without sign-in (see `crate::calendar_feed`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::AuditNote;
use crate::auth::{Action, ApiCaller};
use crate::calendar_feed::{Origin, create_feed, feed_path};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Whether the tenant has a feed (its URL is shown only when it is made).
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarFeedView {
    /// Whether a feed URL works now.
    pub exists: bool,
    /// When the working URL was made (RFC 3339).
    pub created_at: Option<String>,
}

/// A new feed URL: shown this once; the previous URL, if any, no longer works.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedCalendarFeed {
    /// The feed's URL, for a calendar app's "subscribe from URL" (add `?alarms=1` for
    /// reminders at the tenant's milestones).
    pub url: String,
    /// The same URL as `webcal://`, which opens a calendar app's subscribe dialog.
    pub webcal_url: String,
    /// The secret in the URL.
    pub token: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

/// Whether the tenant has a calendar feed.
#[utoipa::path(get, path = "/calendar-feed", tag = "calendar",
    responses((status = 200, body = CalendarFeedView), (status = 401, body = ErrorBody)))]
pub(crate) async fn get_feed(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<CalendarFeedView>, ApiError> {
    let feed = state.store.calendar_feed(caller.tenant.id).await?;
    Ok(Json(CalendarFeedView {
        exists: feed.is_some(),
        created_at: feed.map(|f| f.created_at.to_string()),
    }))
}

/// Makes a new feed URL (admin), replacing the previous one.
#[utoipa::path(post, path = "/calendar-feed", tag = "calendar",
    responses((status = 201, body = CreatedCalendarFeed), (status = 403, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    origin: Origin,
) -> Result<Response, ApiError> {
    caller.require(Action::Edit)?;
    let before = state.store.calendar_feed(caller.tenant.id).await?;
    let (token, feed) = create_feed(&*state.store, caller.tenant.id, state.now()).await?;
    let path = feed_path(token.expose());
    let created = CreatedCalendarFeed {
        url: origin.url(&path),
        webcal_url: origin.webcal(&path),
        token: token.expose().to_owned(),
        created_at: feed.created_at.to_string(),
    };
    Ok(AuditNote::detail(created_detail(before.is_some()))
        .on((StatusCode::CREATED, Json(created)).into_response()))
}

/// Revokes the feed (admin): its URL answers 404 from now on. Revoking when there is none
/// changes nothing and succeeds.
#[utoipa::path(delete, path = "/calendar-feed", tag = "calendar",
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Response, ApiError> {
    caller.require(Action::Edit)?;
    let revoked = state.store.revoke_calendar_feed(caller.tenant.id).await?;
    Ok(AuditNote::detail(revoked_detail(revoked)).on(StatusCode::NO_CONTENT.into_response()))
}

/// The audit entry's words for a new URL.
pub(crate) fn created_detail(replaced: bool) -> &'static str {
    if replaced {
        "new calendar feed URL; the previous URL no longer works"
    } else {
        "calendar feed URL created"
    }
}

/// The audit entry's words for a revocation.
pub(crate) fn revoked_detail(revoked: bool) -> &'static str {
    if revoked {
        "calendar feed URL revoked"
    } else {
        "there was no calendar feed to revoke"
    }
}
