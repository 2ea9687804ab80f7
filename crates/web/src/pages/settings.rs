//! Tenant settings: name, time zone, reminder milestones, lapse alert, renewal link; and the
//! tenant's calendar feed (a new URL, shown once, or revoking it).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Chrome, Refused as _};
use crate::api::calendar_feed::{created_detail, revoked_detail};
use crate::audit::AuditNote;
use crate::auth::{Action, Caller};
use crate::calendar_feed::{Origin, create_feed as new_feed, feed_path};
use crate::edit::SettingsDraft;
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;
use crate::view::local_time;

/// The calendar feed's part of the page.
pub(crate) struct FeedPanel {
    /// When the working URL was made, in the tenant's zone; empty when there is none.
    created_at: String,
    /// A URL just made (shown this once): `https://…` and `webcal://…`.
    new_url: Option<(String, String)>,
    /// The feed was just revoked.
    revoked: bool,
}

impl FeedPanel {
    async fn of(state: &AppState, caller: &Caller) -> Result<FeedPanel, WebError> {
        let feed = state.store.calendar_feed(caller.tenant.id).await?;
        Ok(FeedPanel {
            created_at: feed.map_or_else(String::new, |f| {
                local_time(f.created_at, &caller.tenant.settings.zone)
            }),
            new_url: None,
            revoked: false,
        })
    }

    fn exists(&self) -> bool {
        !self.created_at.is_empty()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub(crate) struct SettingsPage {
    chrome: Chrome,
    draft: SettingsDraft,
    errors: FieldErrors,
    message: String,
    feed: FeedPanel,
}

/// What `?feed=revoked` says after a revocation.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct SettingsQuery {
    feed: Option<String>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(query): axum::extract::Query<SettingsQuery>,
) -> Result<SettingsPage, WebError> {
    let mut feed = FeedPanel::of(&state, &caller).await?;
    feed.revoked = query.feed.as_deref() == Some("revoked") && !feed.exists();
    Ok(SettingsPage {
        chrome: Chrome::of(&caller),
        draft: SettingsDraft::from_settings(&caller.tenant.settings),
        errors: FieldErrors::default(),
        message: String::new(),
        feed,
    })
}

/// `POST /calendar-feed`: a new feed URL (admin), shown once on the settings page; the
/// previous URL stops working.
pub(crate) async fn create_feed(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let before = state.store.calendar_feed(caller.tenant.id).await?;
    let (token, _) = new_feed(&*state.store, caller.tenant.id, state.now()).await?;
    let path = feed_path(token.expose());
    let mut feed = FeedPanel::of(&state, &caller).await?;
    feed.new_url = Some((origin.url(&path), origin.webcal(&path)));
    let page = SettingsPage {
        chrome: Chrome::of(&caller),
        draft: SettingsDraft::from_settings(&caller.tenant.settings),
        errors: FieldErrors::default(),
        message: String::new(),
        feed,
    };
    Ok(AuditNote::detail(created_detail(before.is_some())).on(page.into_response()))
}

/// `POST /calendar-feed/revoke`: the feed URL answers 404 from now on (admin).
pub(crate) async fn revoke_feed(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let revoked = state.store.revoke_calendar_feed(caller.tenant.id).await?;
    Ok(AuditNote::detail(revoked_detail(revoked))
        .on(Redirect::to("/settings?feed=revoked#calendar-feed").into_response()))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let mut errors = FieldErrors::default();
    let mut days = |field: &str| {
        let text = form.get(field);
        if text.is_empty() {
            return None;
        }
        let days = text.parse::<u32>().ok();
        if days.is_none() {
            errors.add(field, format!("enter a whole number, not {text:?}"));
        }
        days
    };
    let draft = SettingsDraft {
        name: form.get("name"),
        zone: form.get("zone"),
        milestones: form.get("milestones"),
        lapse_alert: form.checked("lapse_alert"),
        renewal_template: form.get("renewal_template"),
        history_days: days("history_days"),
        attempt_days: days("attempt_days"),
        not_read_after_hours: days("not_read_after_hours"),
        capacity_alerts: Some(form.checked("capacity_alerts")),
        maintenance_reminders: Some(form.checked("maintenance_reminders")),
    };
    let checked = if errors.any() {
        Err(errors)
    } else {
        draft.check(&caller.tenant.settings)
    };
    let (errors, message) = match checked {
        Ok(settings) => match state.store.update_tenant(caller.tenant.id, &settings).await {
            Ok(_) => {
                let note = AuditNote::detail(describe_settings(&settings));
                return Ok(note.on(Redirect::to("/settings?saved=1").into_response()));
            }
            Err(err) => match WebError::from(err) {
                WebError::Invalid(m) | WebError::Conflict(m) => (FieldErrors::default(), m),
                other => return Err(other),
            },
        },
        Err(errors) => (errors, String::new()),
    };
    Ok(SettingsPage {
        chrome: Chrome::of(&caller),
        draft,
        errors,
        message,
        feed: FeedPanel::of(&state, &caller).await?,
    }
    .refused())
}

/// Tenant settings in words, for the audit log.
pub(crate) fn describe_settings(settings: &runway_store::TenantSettings) -> String {
    let draft = SettingsDraft::from_settings(settings);
    format!(
        "name {:?}, zone {}, milestones {}, lapse alert {}, renewal link {}, history kept {} days, \
         attempts kept {} days, not read after {} hours, capacity alerts {}, maintenance \
         reminders {}",
        draft.name,
        draft.zone,
        draft.milestones,
        if draft.lapse_alert { "on" } else { "off" },
        draft.renewal_template,
        settings.retention.history_days(),
        settings.retention.attempt_days(),
        settings.not_read_after_hours,
        if settings.capacity_alerts {
            "on"
        } else {
            "off"
        },
        if settings.maintenance_reminders {
            "on"
        } else {
            "off"
        },
    )
}
