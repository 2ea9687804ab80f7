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
    let draft = SettingsDraft {
        name: form.get("name"),
        zone: form.get("zone"),
        milestones: form.get("milestones"),
        lapse_alert: form.checked("lapse_alert"),
        renewal_template: form.get("renewal_template"),
    };
    let (errors, message) = match draft.check() {
        Ok(settings) => match state.store.update_tenant(caller.tenant.id, &settings).await {
            Ok(_) => return Ok(Redirect::to("/settings?saved=1").into_response()),
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
