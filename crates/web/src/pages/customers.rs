//! Customers: list, add, rename, delete.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use runway_store::{Customer, CustomerDraft, CustomerId};

use super::{Chrome, Refused as _};
use crate::auth::{Action, Caller};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "customers.html")]
pub(crate) struct CustomersPage {
    chrome: Chrome,
    customers: Vec<Customer>,
    name: String,
    notes: String,
    errors: FieldErrors,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "customer_form.html")]
pub(crate) struct CustomerFormPage {
    chrome: Chrome,
    customer: Customer,
    name: String,
    notes: String,
    errors: FieldErrors,
    message: String,
}

fn customer_id(id: &str) -> Result<CustomerId, WebError> {
    id.trim()
        .parse()
        .map(CustomerId)
        .map_err(|_| WebError::NotFound)
}

async fn list(
    state: &AppState,
    caller: &Caller,
    name: String,
    notes: String,
    errors: FieldErrors,
    message: String,
) -> Result<CustomersPage, WebError> {
    Ok(CustomersPage {
        chrome: Chrome::of(caller),
        customers: state.store.customers(caller.tenant.id).await?,
        name,
        notes,
        errors,
        message,
    })
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<CustomersPage, WebError> {
    list(
        &state,
        &caller,
        String::new(),
        String::new(),
        FieldErrors::default(),
        String::new(),
    )
    .await
}

pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let draft = CustomerDraft {
        name: form.get("name"),
        notes: form.raw("notes").to_owned(),
    };
    let mut errors = FieldErrors::default();
    if draft.name.is_empty() {
        errors.add("name", "enter the customer's name");
    } else {
        match state.store.create_customer(caller.tenant.id, &draft).await {
            Ok(_) => return Ok(Redirect::to("/customers").into_response()),
            Err(err) => match WebError::from(err) {
                WebError::Invalid(m) | WebError::Conflict(m) => errors.add("name", m),
                other => return Err(other),
            },
        }
    }
    Ok(list(
        &state,
        &caller,
        draft.name,
        draft.notes,
        errors,
        String::new(),
    )
    .await?
    .refused())
}

pub(crate) async fn edit_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<CustomerFormPage, WebError> {
    caller.require(Action::Edit)?;
    let customer = state
        .store
        .customer(caller.tenant.id, customer_id(&id)?)
        .await?;
    Ok(CustomerFormPage {
        chrome: Chrome::of(&caller),
        name: customer.name.clone(),
        notes: customer.notes.clone(),
        customer,
        errors: FieldErrors::default(),
        message: String::new(),
    })
}

pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let customer = state
        .store
        .customer(caller.tenant.id, customer_id(&id)?)
        .await?;
    let draft = CustomerDraft {
        name: form.get("name"),
        notes: form.raw("notes").to_owned(),
    };
    let mut errors = FieldErrors::default();
    if draft.name.is_empty() {
        errors.add("name", "enter the customer's name");
    } else {
        match state
            .store
            .update_customer(caller.tenant.id, customer.id, &draft)
            .await
        {
            Ok(_) => return Ok(Redirect::to("/customers").into_response()),
            Err(err) => match WebError::from(err) {
                WebError::Invalid(m) | WebError::Conflict(m) => errors.add("name", m),
                other => return Err(other),
            },
        }
    }
    Ok(CustomerFormPage {
        chrome: Chrome::of(&caller),
        customer,
        name: draft.name,
        notes: draft.notes,
        errors,
        message: String::new(),
    }
    .refused())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let id = customer_id(&id)?;
    match state
        .store
        .delete_customer(caller.tenant.id, id, form.checked("cascade"))
        .await
    {
        Ok(()) => Ok(Redirect::to("/customers").into_response()),
        Err(err) => match WebError::from(err) {
            WebError::Conflict(message) => Ok(list(
                &state,
                &caller,
                String::new(),
                String::new(),
                FieldErrors::default(),
                message,
            )
            .await?
            .into_response()),
            other => Err(other),
        },
    }
}
