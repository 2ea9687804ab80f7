//! The control API: lets tests and the demo inspect and steer a running fleet over HTTP.
//!
//! Mounted under `/_sim` (on the shared listeners in path-prefix mode, or on its own listener).
//! All bodies are JSON; dates take the scenario forms (`"+12d"`, RFC 3339, `"none"`,
//! `"null"`/`null`) and relative ones resolve against the simulator's clock at request time.
//!
//! | route | what |
//! |---|---|
//! | `GET /_sim` | index: routes and fleet size |
//! | `GET /_sim/pbxs` | every PBX: ids, customer, version, login kind, URLs, current license, faults, pending renewal, counters |
//! | `GET /_sim/pbxs/{id}` | one PBX |
//! | `PATCH /_sim/pbxs/{id}/license` | change license fields (`expiry`, `maintenance_expiry`, `license_active`, `activated`, `product_code`, `license_key`, `max_sim_calls`, `users`, `max_users`, `ai_agents`, `reseller`, `is_spla`, `support`, `extensions_total`, `api_client_licensed`) |
//! | `GET / PUT / POST / DELETE /_sim/pbxs/{id}/faults` | list / replace (array) / add one / clear faults |
//! | `GET / PUT / DELETE /_sim/pbxs/{id}/renewal` | show / set / clear the pending upstream renewal (license fields plus `after`, `on_refresh`) |
//! | `POST /_sim/pbxs/{id}/renewal/apply` | apply the pending renewal now (as if pushed upstream) |
//! | `POST /_sim/pbxs/{id}/revoke-tokens` | revoke every token and session |
//! | `GET / DELETE /_sim/pbxs/{id}/counters` | read / reset the counters |
//! | `GET / DELETE /_sim/counters` | counters of every PBX (object keyed by id) / reset all |
//! | `GET /_sim/ca.pem` | the CA certificate to trust for HTTPS |

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::faults::Fault;
use crate::license::{License, RawLicenseChange};
use crate::pbx::{PbxCounters, PbxHandle};
use crate::scenario::LoginKind;
use crate::server::{Fleet, PbxUrls};

/// An error answer: `{"error": "…"}`.
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type Answer = Result<Response, ControlError>;

fn bad_body(rejection: &JsonRejection) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, rejection.body_text())
}

/// The control API router (paths include the `/_sim` prefix).
pub(crate) fn router(fleet: Arc<Fleet>) -> Router {
    Router::new()
        .route("/_sim", get(index))
        .route("/_sim/", get(index))
        .route("/_sim/ca.pem", get(ca_pem))
        .route("/_sim/pbxs", get(list))
        .route("/_sim/pbxs/{id}", get(show))
        .route("/_sim/pbxs/{id}/license", patch(change_license))
        .route(
            "/_sim/pbxs/{id}/faults",
            get(faults)
                .put(replace_faults)
                .post(add_fault)
                .delete(clear_faults),
        )
        .route(
            "/_sim/pbxs/{id}/renewal",
            get(renewal).put(set_renewal).delete(clear_renewal),
        )
        .route("/_sim/pbxs/{id}/renewal/apply", post(apply_renewal))
        .route("/_sim/pbxs/{id}/revoke-tokens", post(revoke_tokens))
        .route(
            "/_sim/pbxs/{id}/counters",
            get(counters).delete(reset_counters),
        )
        .route(
            "/_sim/counters",
            get(all_counters).delete(reset_all_counters),
        )
        .fallback(|| async {
            ControlError(
                StatusCode::NOT_FOUND,
                "no such control route; see GET /_sim".to_owned(),
            )
        })
        .with_state(fleet)
}

/// The current license as the control API shows it.
#[derive(Serialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is a license field"
)]
struct LicenseView {
    product_code: Option<String>,
    license_key: Option<String>,
    expiry: String,
    maintenance_expiry: String,
    license_active: bool,
    activated: bool,
    support: bool,
    is_spla: bool,
    reseller: Option<String>,
    max_sim_calls: u32,
    users: u32,
    max_users: u32,
    ai_agents: u32,
    extensions_total: u32,
    api_client_licensed: bool,
    is_enterprise: bool,
    is_professional: bool,
}

impl LicenseView {
    fn of(license: &License, now: Timestamp) -> LicenseView {
        LicenseView {
            product_code: license.product_code.clone(),
            license_key: license.license_key.clone(),
            expiry: license.expiry.describe(),
            maintenance_expiry: license.maintenance_expiry.describe(),
            license_active: license.license_active,
            activated: license.activated,
            support: license.support_at(now),
            is_spla: license.is_spla(),
            reseller: license.reseller_name.clone(),
            max_sim_calls: license.max_sim_calls,
            users: license.users,
            max_users: license.max_user_extensions(),
            ai_agents: license.ai_agents,
            extensions_total: license.extensions_total(),
            api_client_licensed: license.api_client_licensed,
            is_enterprise: license.is_enterprise(),
            is_professional: license.is_professional(),
        }
    }
}

#[derive(Serialize)]
struct PbxView {
    id: String,
    customer: String,
    name: String,
    fqdn: String,
    version: String,
    login_kind: LoginKind,
    logins: Vec<LoginKind>,
    urls: PbxUrls,
    license: LicenseView,
    faults: Vec<Fault>,
    pending_renewal: Option<RawLicenseChange>,
    counters: PbxCounters,
}

fn view(fleet: &Fleet, index: usize, handle: &PbxHandle) -> PbxView {
    let spec = handle.spec();
    PbxView {
        id: spec.id.clone(),
        customer: spec.customer.clone(),
        name: spec.name.clone(),
        fqdn: spec.fqdn.clone(),
        version: spec.version.to_string(),
        login_kind: spec.login.kind(),
        logins: spec.logins().map(crate::scenario::Login::kind).collect(),
        urls: fleet.urls.get(index).cloned().unwrap_or_default(),
        license: LicenseView::of(&handle.license(), fleet.env.clock.now()),
        faults: handle.faults(),
        pending_renewal: handle.pending_renewal().map(|r| r.to_raw()),
        counters: handle.counters(),
    }
}

fn find(fleet: &Fleet, id: &str) -> Result<(usize, PbxHandle), ControlError> {
    fleet
        .find(id)
        .map(|(index, pbx)| {
            (
                index,
                PbxHandle {
                    pbx: Arc::clone(pbx),
                },
            )
        })
        .ok_or_else(|| ControlError(StatusCode::NOT_FOUND, format!("no PBX with id `{id}`")))
}

fn show_one(fleet: &Fleet, index: usize, handle: &PbxHandle) -> Response {
    Json(view(fleet, index, handle)).into_response()
}

async fn index(State(fleet): State<Arc<Fleet>>) -> Json<Value> {
    Json(json!({
        "simulator": "runway-sim",
        "pbxs": fleet.pbxs.len(),
        "routes": [
            "GET /_sim/pbxs",
            "GET /_sim/pbxs/{id}",
            "PATCH /_sim/pbxs/{id}/license",
            "GET|PUT|POST|DELETE /_sim/pbxs/{id}/faults",
            "GET|PUT|DELETE /_sim/pbxs/{id}/renewal",
            "POST /_sim/pbxs/{id}/renewal/apply",
            "POST /_sim/pbxs/{id}/revoke-tokens",
            "GET|DELETE /_sim/pbxs/{id}/counters",
            "GET|DELETE /_sim/counters",
            "GET /_sim/ca.pem",
        ],
    }))
}

async fn ca_pem(State(fleet): State<Arc<Fleet>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        fleet.ca_pem.clone(),
    )
        .into_response()
}

async fn list(State(fleet): State<Arc<Fleet>>) -> Json<Vec<PbxView>> {
    Json(
        fleet
            .pbxs
            .iter()
            .enumerate()
            .map(|(index, pbx)| {
                view(
                    &fleet,
                    index,
                    &PbxHandle {
                        pbx: Arc::clone(pbx),
                    },
                )
            })
            .collect(),
    )
}

async fn show(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (index, handle) = find(&fleet, &id)?;
    Ok(show_one(&fleet, index, &handle))
}

async fn change_license(
    State(fleet): State<Arc<Fleet>>,
    Path(id): Path<String>,
    body: Result<Json<RawLicenseChange>, JsonRejection>,
) -> Answer {
    let (index, handle) = find(&fleet, &id)?;
    let Json(raw) = body.map_err(|e| bad_body(&e))?;
    let change = raw
        .resolve_change(fleet.env.clock.now())
        .map_err(|(field, message)| {
            ControlError(
                StatusCode::BAD_REQUEST,
                format!("field `{field}`: {message}"),
            )
        })?;
    handle.update_license(&change);
    Ok(show_one(&fleet, index, &handle))
}

async fn faults(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    Ok(Json(handle.faults()).into_response())
}

async fn replace_faults(
    State(fleet): State<Arc<Fleet>>,
    Path(id): Path<String>,
    body: Result<Json<Vec<Fault>>, JsonRejection>,
) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    let Json(list) = body.map_err(|e| bad_body(&e))?;
    handle.set_faults(list);
    Ok(Json(handle.faults()).into_response())
}

async fn add_fault(
    State(fleet): State<Arc<Fleet>>,
    Path(id): Path<String>,
    body: Result<Json<Fault>, JsonRejection>,
) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    let Json(fault) = body.map_err(|e| bad_body(&e))?;
    handle.add_fault(fault);
    Ok((StatusCode::CREATED, Json(handle.faults())).into_response())
}

async fn clear_faults(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    handle.clear_faults();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn renewal(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    Ok(Json(handle.pending_renewal().map(|r| r.to_raw())).into_response())
}

async fn set_renewal(
    State(fleet): State<Arc<Fleet>>,
    Path(id): Path<String>,
    body: Result<Json<RawLicenseChange>, JsonRejection>,
) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    let Json(raw) = body.map_err(|e| bad_body(&e))?;
    let renewal = raw
        .resolve_renewal(fleet.env.clock.now())
        .map_err(|(field, message)| {
            ControlError(
                StatusCode::BAD_REQUEST,
                format!("field `{field}`: {message}"),
            )
        })?;
    handle.set_renewal(Some(renewal));
    Ok(Json(handle.pending_renewal().map(|r| r.to_raw())).into_response())
}

async fn clear_renewal(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    handle.set_renewal(None);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn apply_renewal(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (index, handle) = find(&fleet, &id)?;
    if !handle.apply_renewal() {
        return Err(ControlError(
            StatusCode::CONFLICT,
            format!("PBX `{id}` has no pending renewal"),
        ));
    }
    Ok(show_one(&fleet, index, &handle))
}

async fn revoke_tokens(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    handle.revoke_tokens();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn counters(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    Ok(Json(handle.counters()).into_response())
}

async fn reset_counters(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Answer {
    let (_, handle) = find(&fleet, &id)?;
    handle.reset_counters();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn all_counters(State(fleet): State<Arc<Fleet>>) -> Json<BTreeMap<String, PbxCounters>> {
    Json(
        fleet
            .pbxs
            .iter()
            .map(|pbx| (pbx.spec.id.clone(), pbx.state().counters.clone()))
            .collect(),
    )
}

async fn reset_all_counters(State(fleet): State<Arc<Fleet>>) -> StatusCode {
    for pbx in &fleet.pbxs {
        pbx.state().counters = PbxCounters::default();
    }
    StatusCode::NO_CONTENT
}
