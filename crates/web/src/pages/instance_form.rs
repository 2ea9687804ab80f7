//! Adding and editing instances, the connection test, enable/disable and delete.
//!
//! Credentials are write-only: the form never shows a stored secret, and an empty secret
//! field keeps the stored one. Bad input re-renders the form with a message next to the field
//! and stores nothing.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use runway_store::{Customer, Instance, InstanceId};

use super::{Chrome, Refused as _};
use crate::actions;
use crate::auth::{Action, Caller};
use crate::edit::{InstanceDraft, instance_id};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;

/// The result of a connection test, as shown under the form.
pub(crate) struct TestResult {
    ok: bool,
    lines: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "instance_form.html")]
pub(crate) struct InstanceFormPage {
    chrome: Chrome,
    /// `None` when adding.
    instance_id: Option<i64>,
    draft: InstanceDraft,
    customers: Vec<Customer>,
    errors: FieldErrors,
    message: String,
    test: Option<TestResult>,
    has_stored_secret: bool,
    has_stored_totp: bool,
}

impl InstanceFormPage {
    fn kind_selected(&self, kind: &str) -> bool {
        self.draft.login_kind == kind
    }

    fn customer_selected(&self, customer: &Customer) -> bool {
        self.draft.customer_id == customer.id.0
    }

    fn poll_minutes(&self) -> u64 {
        self.draft.poll_interval_minutes.unwrap_or(360)
    }

    fn max_calls(&self) -> String {
        number(self.draft.manual_max_sim_calls)
    }

    fn users_used(&self) -> String {
        number(self.draft.manual_users_used)
    }

    fn users_licensed(&self) -> String {
        number(self.draft.manual_users_licensed)
    }
}

async fn form_page(
    state: &AppState,
    caller: &Caller,
    existing: Option<&Instance>,
    mut draft: InstanceDraft,
    errors: FieldErrors,
    message: String,
    test: Option<TestResult>,
) -> Result<InstanceFormPage, WebError> {
    // Secrets are never sent back, not even the ones just typed.
    draft.secret.clear();
    draft.totp_secret.clear();
    Ok(InstanceFormPage {
        chrome: Chrome::of(caller),
        instance_id: existing.map(|i| i.id.0),
        customers: state.store.customers(caller.tenant.id).await?,
        has_stored_secret: existing.is_some_and(|i| i.login_identity.is_some()),
        has_stored_totp: existing.is_some_and(|i| i.has_totp),
        draft,
        errors,
        message,
        test,
    })
}

async fn existing(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Instance, Option<runway_core::LicenseFacts>), WebError> {
    let id = instance_id(id).ok_or(WebError::NotFound)?;
    let instance = state.store.instance(caller.tenant.id, id).await?;
    let facts = state
        .store
        .license(caller.tenant.id, id)
        .await?
        .good
        .map(|g| g.facts);
    Ok((instance, facts))
}

pub(crate) async fn new_page(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<InstanceFormPage, WebError> {
    caller.require(Action::Edit)?;
    let draft = InstanceDraft {
        login_kind: "api_client".into(),
        poll_interval_minutes: Some(360),
        ..InstanceDraft::default()
    };
    form_page(
        &state,
        &caller,
        None,
        draft,
        FieldErrors::default(),
        String::new(),
        None,
    )
    .await
}

pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let draft = InstanceDraft::from_form(&form);
    let zone = &caller.tenant.settings.zone;
    let result = match draft
        .check(&*state.store, caller.tenant.id, zone, None)
        .await
    {
        Ok(checked) => actions::create_instance(&state, &caller, &checked, true).await,
        Err(errors) => {
            let page = form_page(&state, &caller, None, draft, errors, String::new(), None).await?;
            return Ok(super::unprocessable(page));
        }
    };
    match result {
        Ok(instance) => Ok(Redirect::to(&format!("/instances/{}", instance.id)).into_response()),
        Err(WebError::Invalid(message) | WebError::Conflict(message)) => Ok(super::unprocessable(
            form_page(
                &state,
                &caller,
                None,
                draft,
                FieldErrors::default(),
                message,
                None,
            )
            .await?,
        )),
        Err(err) => Err(err),
    }
}

pub(crate) async fn edit_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<InstanceFormPage, WebError> {
    caller.require(Action::Edit)?;
    let (instance, facts) = existing(&state, &caller, &id).await?;
    let draft =
        InstanceDraft::from_instance(&instance, facts.as_ref(), &caller.tenant.settings.zone);
    form_page(
        &state,
        &caller,
        Some(&instance),
        draft,
        FieldErrors::default(),
        String::new(),
        None,
    )
    .await
}

pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let (instance, facts) = existing(&state, &caller, &id).await?;
    let draft = InstanceDraft::from_form(&form);
    let zone = &caller.tenant.settings.zone;
    let checked = match draft
        .check(
            &*state.store,
            caller.tenant.id,
            zone,
            Some((&instance, facts.as_ref())),
        )
        .await
    {
        Ok(checked) => checked,
        Err(errors) => {
            return Ok(form_page(
                &state,
                &caller,
                Some(&instance),
                draft,
                errors,
                String::new(),
                None,
            )
            .await?
            .refused());
        }
    };
    match actions::update_instance(&state, &caller, instance.id, &checked, None).await {
        Ok(_) => Ok(Redirect::to(&format!("/instances/{}", instance.id)).into_response()),
        Err(err) => match err {
            WebError::Invalid(message) | WebError::Conflict(message) => Ok(form_page(
                &state,
                &caller,
                Some(&instance),
                draft,
                FieldErrors::default(),
                message,
                None,
            )
            .await?
            .refused()),
            other => Err(other),
        },
    }
}

/// Reads the PBX with the settings in the form, saving nothing.
pub(crate) async fn test_connection(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<InstanceFormPage, WebError> {
    caller.require(Action::Edit)?;
    let existing_instance = match form.get("instance_id").as_str() {
        "" => None,
        id => Some(existing(&state, &caller, id).await?.0),
    };
    let draft = InstanceDraft::from_form(&form);
    let zone = &caller.tenant.settings.zone;
    let test = match draft
        .test_target(&*state.store, caller.tenant.id, existing_instance.as_ref())
        .await
    {
        Err(message) => TestResult {
            ok: false,
            lines: vec![message],
        },
        Ok((base_url, credentials, tls)) => {
            match state
                .engine
                .test_connection(&base_url, &credentials, &tls)
                .await
            {
                Ok(facts) => {
                    let status =
                        runway_core::LicenseStatus::evaluate(Some(&facts), state.now(), zone);
                    TestResult {
                        ok: true,
                        lines: vec![
                            format!("Edition: {}", facts.edition),
                            format!(
                                "License key: {}",
                                facts.license_key.as_deref().unwrap_or("—")
                            ),
                            format!("Version: {}", facts.version.as_deref().unwrap_or("—")),
                            format!(
                                "Expiry: {} ({})",
                                status
                                    .expiry_date
                                    .map_or_else(|| "none".to_owned(), |d| d.to_string()),
                                status.band
                            ),
                            format!(
                                "Simultaneous calls: {}",
                                facts
                                    .max_sim_calls
                                    .map_or_else(|| "—".to_owned(), |n| n.to_string())
                            ),
                        ],
                    }
                }
                Err(err) => TestResult {
                    ok: false,
                    lines: vec![err.to_string()],
                },
            }
        }
    };
    form_page(
        &state,
        &caller,
        existing_instance.as_ref(),
        draft,
        FieldErrors::default(),
        String::new(),
        Some(test),
    )
    .await
}

async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    id: &str,
    enabled: bool,
) -> Result<Redirect, WebError> {
    caller.require(Action::Edit)?;
    let id: InstanceId = instance_id(id).ok_or(WebError::NotFound)?;
    state
        .store
        .set_instance_enabled(caller.tenant.id, id, enabled, state.now())
        .await?;
    Ok(Redirect::to(&format!("/instances/{id}")))
}

pub(crate) async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Redirect, WebError> {
    set_enabled(&state, &caller, &id, true).await
}

pub(crate) async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Redirect, WebError> {
    set_enabled(&state, &caller, &id, false).await
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Redirect, WebError> {
    caller.require(Action::Edit)?;
    let id: InstanceId = instance_id(&id).ok_or(WebError::NotFound)?;
    state.store.delete_instance(caller.tenant.id, id).await?;
    Ok(Redirect::to("/"))
}

/// A number field's value ("" when empty).
fn number(value: Option<u32>) -> String {
    value.map(|n| n.to_string()).unwrap_or_default()
}
