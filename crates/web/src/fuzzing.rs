//! Entry points for fuzzing: the readers of form bodies and JSON API bodies, and the checks
//! that turn what they read into what the store keeps, called without a server.
//!
//! Not part of the crate's API (hidden from its docs). The property tests in
//! `tests/fuzz_bodies.rs` and the `cargo fuzz` targets under `fuzz/` at the workspace root hand
//! these arbitrary bodies. Each function is the handlers' own code path for a body, up to the
//! store write: the same reader, the same draft, the same check.

use axum::body::Bytes;
use runway_core::{LicenseFacts, Zone};
use runway_store::{InstanceUpdate, Store, TenantId, TenantSettings, Trigger};
use serde::de::DeserializeOwned;

use crate::api::instances::BulkInput;
use crate::edit::{InstanceDraft, SettingsDraft};
use crate::error::{ApiError, WebError};
use crate::forms::FormData;

/// What a handler reads of one field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The first value, trimmed ("" when absent).
    pub value: String,
    /// The first value as sent ("" when absent).
    pub raw: String,
    /// Whether it counts as a ticked checkbox.
    pub checked: bool,
    /// Every value, trimmed, in order.
    pub all: Vec<String>,
}

/// Reads a urlencoded form body as every page handler does, and the fields `names` in it.
pub fn form_fields(body: &[u8], names: &[&str]) -> Result<Vec<Field>, WebError> {
    let form = FormData::parse(body)?;
    Ok(names
        .iter()
        .map(|name| Field {
            value: form.get(name),
            raw: form.raw(name).to_owned(),
            checked: form.checked(name),
            all: form.all(name),
        })
        .collect())
}

/// The instance draft an instance form body submits (add, edit and connection test).
pub fn instance_form(body: &[u8]) -> Result<InstanceDraft, WebError> {
    FormData::parse(body).map(|form| InstanceDraft::from_form(&form))
}

/// A JSON API body, read as every API handler reads its body.
pub fn api_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    crate::api::body(&Bytes::copy_from_slice(body)).map_err(|ApiError(err)| err)
}

/// The read a bulk-refresh body asks for.
pub fn bulk_trigger(input: &BulkInput) -> Result<Trigger, WebError> {
    input.trigger()
}

/// Checks tenant settings as the settings page and the API do; the error is the sentence of
/// every field's message.
pub fn check_settings(
    draft: &SettingsDraft,
    current: &TenantSettings,
) -> Result<TenantSettings, String> {
    draft.check(current).map_err(|errors| errors.sentence())
}

/// Checks an instance draft as the forms and the API do for a new instance of `tenant`: the
/// update it makes and, for a manual instance, the facts typed in; the error is the sentence of
/// every field's message.
pub async fn check_instance(
    draft: &InstanceDraft,
    store: &dyn Store,
    tenant: TenantId,
    zone: &Zone,
) -> Result<(InstanceUpdate, Option<LicenseFacts>), String> {
    let checked = draft
        .check(store, tenant, zone, None)
        .await
        .map_err(|errors| errors.sentence())?;
    Ok((checked.update(), checked.manual_facts))
}

/// An instance id as a page path or form value gives it.
pub fn instance_id(text: &str) -> Option<i64> {
    crate::edit::instance_id(text).map(|id| id.0)
}

/// An id as an API path gives it (`None` is the 404 of an unknown id).
pub fn api_path_id(text: &str) -> Option<i64> {
    crate::api::path_id(text).ok()
}
