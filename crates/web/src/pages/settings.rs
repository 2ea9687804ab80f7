//! Tenant settings: name, time zone, reminder milestones, lapse alert, renewal link.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Chrome, Refused as _};
use crate::auth::{Action, Caller};
use crate::edit::SettingsDraft;
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub(crate) struct SettingsPage {
    chrome: Chrome,
    draft: SettingsDraft,
    errors: FieldErrors,
    message: String,
}

pub(crate) async fn page(caller: Caller) -> Result<SettingsPage, WebError> {
    Ok(SettingsPage {
        chrome: Chrome::of(&caller),
        draft: SettingsDraft::from_settings(&caller.tenant.settings),
        errors: FieldErrors::default(),
        message: String::new(),
    })
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
                let note = crate::audit::AuditNote::detail(describe_settings(&settings));
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
