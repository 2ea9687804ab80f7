//! Instances: CRUD, refresh and read-now (with the license before and after), bulk refresh,
//! connection tests, and history.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use runway_store::{Instance, InstanceId, Trigger};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{body, path_id};
use crate::actions;
use crate::auth::{Action, ApiCaller, Caller};
use crate::edit::InstanceDraft;
use crate::error::{ApiError, ErrorBody, WebError};
use crate::history::{
    AttemptView, EventView, ReadOutcomeView, ReadingView, attempts_view, events_view, readings_view,
};
use crate::state::AppState;
use crate::view::local_time;

/// An instance's settings (never its secrets).
#[derive(Debug, Serialize, ToSchema)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent yes/no facts of the API's schema"
)]
pub struct InstanceView {
    /// Its id.
    pub id: i64,
    /// Its customer's id.
    pub customer_id: i64,
    /// Its customer's name.
    pub customer_name: String,
    /// Its name.
    pub name: String,
    /// The PBX's address.
    pub base_url: String,
    /// `api_client`, `user`, `legacy` or `manual`.
    pub login_kind: String,
    /// The client id or user name.
    pub login_identity: Option<String>,
    /// Whether a TOTP seed is stored.
    pub has_totp: bool,
    /// Minutes between reads.
    pub poll_interval_minutes: u64,
    /// Whether it is read at all.
    pub enabled: bool,
    /// Whether a custom CA is set.
    pub has_custom_ca: bool,
    /// Whether any certificate is accepted.
    pub accept_invalid_certs: bool,
    /// When it is read next, in the tenant's zone.
    pub next_poll_at: String,
}

fn view(instance: &Instance, caller: &Caller) -> InstanceView {
    InstanceView {
        id: instance.id.0,
        customer_id: instance.customer_id.0,
        customer_name: instance.customer_name.clone(),
        name: instance.name.clone(),
        base_url: instance
            .base_url
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        login_kind: instance.login_kind.to_string(),
        login_identity: instance.login_identity.clone(),
        has_totp: instance.has_totp,
        poll_interval_minutes: instance.poll_interval.minutes(),
        enabled: instance.enabled,
        has_custom_ca: instance.tls.custom_ca_pem.is_some(),
        accept_invalid_certs: instance.tls.accept_invalid_certs,
        next_poll_at: local_time(instance.schedule.next_poll_at, &caller.tenant.settings.zone),
    }
}

/// Field errors as one sentence: `name: enter a name; base_url: …`.
fn invalid(errors: &crate::forms::FieldErrors) -> ApiError {
    ApiError(WebError::Invalid(errors.sentence()))
}

/// The tenant's instances, by customer then name.
#[utoipa::path(get, path = "/instances", tag = "instances",
    responses((status = 200, body = Vec<InstanceView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<InstanceView>>, ApiError> {
    let instances = state.store.instances(caller.tenant.id).await?;
    Ok(Json(instances.iter().map(|i| view(i, &caller)).collect()))
}

/// Creates an instance (admin). Secrets are write-only.
#[utoipa::path(post, path = "/instances", tag = "instances", request_body = InstanceDraft,
    responses((status = 201, body = InstanceView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<InstanceView>), ApiError> {
    caller.require(Action::Edit)?;
    let draft: InstanceDraft = body(&bytes)?;
    let checked = draft
        .check(
            &*state.store,
            caller.tenant.id,
            &caller.tenant.settings.zone,
            None,
        )
        .await
        .map_err(|e| invalid(&e))?;
    let enabled = draft.enabled.unwrap_or(true);
    let instance = actions::create_instance(&state, &caller, &checked, enabled).await?;
    Ok((StatusCode::CREATED, Json(view(&instance, &caller))))
}

/// One instance.
#[utoipa::path(get, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = InstanceView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<InstanceView>, ApiError> {
    let instance = state
        .store
        .instance(caller.tenant.id, InstanceId(path_id(&id)?))
        .await?;
    Ok(Json(view(&instance, &caller)))
}

/// Replaces an instance's settings (admin). Empty secrets keep the stored ones.
#[utoipa::path(put, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path)), request_body = InstanceDraft,
    responses((status = 200, body = InstanceView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<InstanceView>, ApiError> {
    caller.require(Action::Edit)?;
    let tenant = caller.tenant.id;
    let instance = state
        .store
        .instance(tenant, InstanceId(path_id(&id)?))
        .await?;
    let facts = state
        .store
        .license(tenant, instance.id)
        .await?
        .good
        .map(|g| g.facts);
    let draft: InstanceDraft = body(&bytes)?;
    let checked = draft
        .check(
            &*state.store,
            tenant,
            &caller.tenant.settings.zone,
            Some((&instance, facts.as_ref())),
        )
        .await
        .map_err(|e| invalid(&e))?;
    let updated =
        actions::update_instance(&state, &caller, instance.id, &checked, draft.enabled).await?;
    Ok(Json(view(&updated, &caller)))
}

/// Deletes an instance with its history (admin).
#[utoipa::path(delete, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::Edit)?;
    state
        .store
        .delete_instance(caller.tenant.id, InstanceId(path_id(&id)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_one(
    state: &AppState,
    caller: &Caller,
    id: &str,
    trigger: Trigger,
) -> Result<Json<ReadOutcomeView>, ApiError> {
    caller.require(Action::Read)?;
    let id = InstanceId(path_id(id)?);
    state.store.instance(caller.tenant.id, id).await?;
    let outcome = state
        .engine
        .read_instance(caller.tenant.id, id, trigger)
        .await?;
    Ok(Json(ReadOutcomeView::of(
        &outcome,
        state.now(),
        &caller.tenant.settings.zone,
    )))
}

/// Asks the PBX to re-query 3CX's license server, reads it, and returns the license before
/// and after (technician). A PBX that fails answers 200 with `succeeded: false` and the error.
#[utoipa::path(post, path = "/instances/{id}/refresh", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = ReadOutcomeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ReadOutcomeView>, ApiError> {
    read_one(&state, &caller, &id, Trigger::Refresh).await
}

/// Reads the PBX now and returns the license before and after (technician).
#[utoipa::path(post, path = "/instances/{id}/read-now", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = ReadOutcomeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn read_now(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ReadOutcomeView>, ApiError> {
    read_one(&state, &caller, &id, Trigger::ReadNow).await
}

/// A bulk refresh or read.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkInput {
    /// The instances to read.
    pub instances: Vec<i64>,
    /// `refresh` (default) or `read_now`.
    #[serde(default)]
    pub trigger: Option<String>,
}

impl BulkInput {
    /// The read asked for: a refresh unless `read_now`.
    pub(crate) fn trigger(&self) -> Result<Trigger, WebError> {
        match self.trigger.as_deref() {
            None | Some("refresh") => Ok(Trigger::Refresh),
            Some("read_now") => Ok(Trigger::ReadNow),
            Some(other) => Err(WebError::Invalid(format!(
                "unknown trigger {other:?}: use refresh or read_now"
            ))),
        }
    }
}

/// One result of a bulk read.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// The instance.
    pub instance_id: i64,
    /// What the read did, when it ran.
    pub outcome: Option<ReadOutcomeView>,
    /// Why it did not run.
    pub error: Option<String>,
}

/// Refreshes (or reads) several instances, each once however often it is named; results in
/// the order first named (technician). Another tenant's instance is 404.
#[utoipa::path(post, path = "/refresh", tag = "instances", request_body = BulkInput,
    responses((status = 200, body = Vec<BulkResult>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn bulk(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<Json<Vec<BulkResult>>, ApiError> {
    let input: BulkInput = body(&bytes)?;
    let trigger = input.trigger()?;
    let ids: Vec<InstanceId> = input.instances.iter().copied().map(InstanceId).collect();
    let results = actions::bulk_read(&state, &caller, &ids, trigger).await?;
    let now = state.now();
    let zone = &caller.tenant.settings.zone;
    Ok(Json(
        results
            .into_iter()
            .map(|(instance, result)| match result {
                Ok(outcome) => BulkResult {
                    instance_id: instance.id.0,
                    outcome: Some(ReadOutcomeView::of(&outcome, now, zone)),
                    error: None,
                },
                Err(err) => BulkResult {
                    instance_id: instance.id.0,
                    outcome: None,
                    error: Some(err.public_message()),
                },
            })
            .collect(),
    ))
}

/// What a connection test read.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestConnectionView {
    /// The edition.
    pub edition: String,
    /// The license key.
    pub license_key: Option<String>,
    /// The version.
    pub version: Option<String>,
    /// The expiry date in the tenant's zone.
    pub expiry_date: Option<String>,
    /// The simultaneous-call limit.
    pub max_sim_calls: Option<u32>,
}

/// Where to test: the draft, and the instance whose stored secrets fill empty fields.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TestParams {
    /// An instance whose stored credentials fill empty secret fields.
    pub instance_id: Option<i64>,
}

/// Reads a PBX with unsaved settings and saves nothing (admin). A PBX that cannot be read
/// answers 422 with its typed error.
#[utoipa::path(post, path = "/instances/test-connection", tag = "instances", params(TestParams), request_body = InstanceDraft,
    responses((status = 200, body = TestConnectionView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn test_connection(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(params): Query<TestParams>,
    bytes: Bytes,
) -> Result<Json<TestConnectionView>, ApiError> {
    caller.require(Action::Edit)?;
    let draft: InstanceDraft = body(&bytes)?;
    let existing = match params.instance_id {
        Some(id) => Some(
            state
                .store
                .instance(caller.tenant.id, InstanceId(id))
                .await?,
        ),
        None => None,
    };
    let (base_url, credentials, tls) = draft
        .test_target(&*state.store, caller.tenant.id, existing.as_ref())
        .await
        .map_err(|m| ApiError(WebError::Invalid(m)))?;
    let facts = state
        .engine
        .test_connection(&base_url, &credentials, &tls)
        .await
        .map_err(|e| ApiError(WebError::Invalid(e.to_string())))?;
    let zone = &caller.tenant.settings.zone;
    Ok(Json(TestConnectionView {
        edition: facts.edition.to_string(),
        license_key: facts.license_key.clone(),
        version: facts.version.clone(),
        expiry_date: facts.expiry.map(|e| zone.date_of(e).to_string()),
        max_sim_calls: facts.max_sim_calls,
    }))
}

/// How much history to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryParams {
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

fn limit(params: &HistoryParams) -> u32 {
    params.limit.unwrap_or(100).min(1000)
}

/// The instance's readings, newest first, each with what it changed.
#[utoipa::path(get, path = "/instances/{id}/readings", tag = "history", params(("id" = i64, Path), HistoryParams),
    responses((status = 200, body = Vec<ReadingView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn readings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<Vec<ReadingView>>, ApiError> {
    let list = state
        .store
        .readings(caller.tenant.id, InstanceId(path_id(&id)?), limit(&params))
        .await?;
    Ok(Json(readings_view(&list, &caller.tenant.settings.zone)))
}

/// The instance's events, newest first.
#[utoipa::path(get, path = "/instances/{id}/events", tag = "history", params(("id" = i64, Path), HistoryParams),
    responses((status = 200, body = Vec<EventView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let list = state
        .store
        .events(caller.tenant.id, InstanceId(path_id(&id)?), limit(&params))
        .await?;
    Ok(Json(events_view(&list, &caller.tenant.settings.zone)))
}

/// The instance's poll attempts, newest first.
#[utoipa::path(get, path = "/instances/{id}/attempts", tag = "history", params(("id" = i64, Path), HistoryParams),
    responses((status = 200, body = Vec<AttemptView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn attempts(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<Vec<AttemptView>>, ApiError> {
    let list = state
        .store
        .attempts(caller.tenant.id, InstanceId(path_id(&id)?), limit(&params))
        .await?;
    Ok(Json(attempts_view(&list, &caller.tenant.settings.zone)))
}
