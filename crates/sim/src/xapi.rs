//! The v20 endpoints: `/connect/token`, `/webclient/api/Login/GetAccessToken` and the OData
//! XAPI reads under `/xapi/v1` (SystemStatus, LicenseStatus, license parameters, Users, Defs)
//! plus the `Pbx.RefreshLicenseStatus` action.
//!
//! Field sets follow the version (see [`crate::version`]); values come from the PBX's current
//! license. A legacy (v16/v18) PBX answers 404 to all of these.

use std::collections::HashMap;

use axum::Extension;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use rand::RngExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::auth::{self, bearer_token};
use crate::dates::{DateStyle, format_date, shift};
use crate::faults::{Endpoint, FaultPlan};
use crate::license::License;
use crate::pbx::SimPbx;
use crate::reply::{JsonObject, Reply, object};
use crate::rng;
use crate::scenario::UnlicensedApiAnswer;
use crate::server::PbxCtx;

/// The OData error key 3CX uses when the license does not allow the XAPI client login.
pub const INVALID_LICENSE_TYPE: &str = "WARNINGS.XAPI.INVALID_LICENSE_TYPE";

type QueryParams = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

fn params(query: QueryParams) -> Result<HashMap<String, String>, Reply> {
    match query {
        Ok(Query(pairs)) => Ok(pairs.into_iter().collect()),
        Err(rejection) => Err(Reply::odata_error(
            StatusCode::BAD_REQUEST,
            "",
            &format!(
                "The query specified in the URI is not valid. {}",
                rejection.body_text()
            ),
        )),
    }
}

fn not_xapi(pbx: &SimPbx) -> bool {
    pbx.spec.version.is_legacy()
}

/// The token's `expires_in` as this version writes it (minutes up to 20.0.8, seconds after).
fn advertised_expires_in(pbx: &SimPbx) -> u64 {
    let seconds = pbx.spec.token_lifetime.as_secs().max(1);
    if pbx.spec.version.expires_in_is_minutes() {
        seconds.div_ceil(60)
    } else {
        seconds
    }
}

/// Issues a token for `principal`, revoking the client's previous one.
fn issue_token(pbx: &SimPbx, principal: &str, plan: &FaultPlan) -> Option<String> {
    let token = auth::access_token(&pbx.spec.id, principal)?;
    let now = Instant::now();
    let expires_at = now + pbx.token_lifetime(plan);
    let mut state = pbx.state();
    if state.auth.issue(principal, token.clone(), expires_at, now) {
        state.counters.tokens_revoked_by_new_login += 1;
    }
    state.counters.logins_succeeded += 1;
    Some(token)
}

fn login_failed(pbx: &SimPbx, reply: Reply) -> Reply {
    pbx.state().counters.logins_failed += 1;
    reply
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        object([
            ("error", Value::from(error)),
            ("error_description", Value::from(description)),
        ]),
    )
}

/// Reads `/connect/token` parameters from a form-urlencoded or multipart body.
async fn token_params(request: Request) -> Result<HashMap<String, String>, Reply> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bad = |why: String| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &why);
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| bad(e.body_text()))?;
        let mut fields = HashMap::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| bad(e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let value = field.text().await.map_err(|e| bad(e.body_text()))?;
            fields.insert(name, value);
        }
        Ok(fields)
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, &())
            .await
            .map_err(|e| bad(e.body_text()))?;
        Ok(pairs.into_iter().collect())
    } else {
        Err(bad(
            "The mandatory 'Content-Type' header must be 'application/x-www-form-urlencoded'."
                .to_owned(),
        ))
    }
}

/// `POST /connect/token` (client credentials).
pub(crate) async fn connect_token(Extension(ctx): Extension<PbxCtx>, request: Request) -> Response {
    let params = if not_xapi(&ctx.pbx) {
        Err(Reply::not_found())
    } else {
        token_params(request).await
    };
    let pbx = ctx.pbx.clone();
    ctx.pbx
        .serve(&ctx.env, Endpoint::ConnectToken, move |plan| {
            let params = match params {
                Ok(params) => params,
                Err(reply) if reply.status == StatusCode::NOT_FOUND => return reply,
                Err(reply) => {
                    pbx.state().counters.logins_attempted += 1;
                    return login_failed(&pbx, reply);
                }
            };
            pbx.state().counters.logins_attempted += 1;
            let get = |key: &str| params.get(key).map_or("", String::as_str);
            if get("grant_type") != "client_credentials" {
                return login_failed(
                    &pbx,
                    oauth_error(
                        StatusCode::BAD_REQUEST,
                        "unsupported_grant_type",
                        "The specified 'grant_type' is not supported.",
                    ),
                );
            }
            let unauthorized = || {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "The request requires valid user authentication.",
                )
            };
            let client = auth::find_client(&pbx.spec, get("client_id"), get("client_secret"));
            let Some(client_id) = client.filter(|_| !plan.reject_login) else {
                return login_failed(&pbx, unauthorized());
            };
            if !pbx.state().license.api_client_licensed {
                let reply = match pbx.spec.unlicensed_api_answer {
                    UnlicensedApiAnswer::Unauthorized => unauthorized(),
                    UnlicensedApiAnswer::InvalidLicenseType => invalid_license_type(),
                };
                return login_failed(&pbx, reply);
            }
            let Some(token) = issue_token(&pbx, &format!("client:{client_id}"), plan) else {
                return Reply::empty(StatusCode::INTERNAL_SERVER_ERROR);
            };
            Reply::ok(object([
                ("token_type", Value::from("Bearer")),
                ("expires_in", Value::from(advertised_expires_in(&pbx))),
                ("access_token", Value::from(token)),
                ("refresh_token", Value::Null),
            ]))
        })
        .await
}

/// The 403 a non-Enterprise PBX may answer to an API client login.
fn invalid_license_type() -> Reply {
    let error = json!({
        "code": "",
        "message": INVALID_LICENSE_TYPE,
        "details": [{ "code": "", "message": INVALID_LICENSE_TYPE, "target": null }],
    });
    Reply::json(StatusCode::FORBIDDEN, vec![("error".to_owned(), error)])
}

/// The body of `GetAccessToken`.
#[derive(Deserialize)]
struct UserLogin {
    #[serde(alias = "username", default)]
    #[serde(rename = "Username")]
    username: String,
    #[serde(alias = "password", default)]
    #[serde(rename = "Password")]
    password: String,
    #[serde(alias = "securityCode", alias = "securitycode", default)]
    #[serde(rename = "SecurityCode")]
    security_code: Option<String>,
}

fn user_login_status(status: &str) -> Reply {
    Reply::ok(object([
        ("Status", Value::from(status)),
        ("Token", Value::Null),
        ("TwoFactorAuth", Value::Null),
    ]))
}

/// `POST /webclient/api/Login/GetAccessToken` (admin user, optional MFA code).
pub(crate) async fn get_access_token(Extension(ctx): Extension<PbxCtx>, body: Bytes) -> Response {
    let pbx = ctx.pbx.clone();
    let clock = ctx.env.clock;
    ctx.pbx
        .serve(&ctx.env, Endpoint::GetAccessToken, move |plan| {
            if not_xapi(&pbx) {
                return Reply::not_found();
            }
            pbx.state().counters.logins_attempted += 1;
            let Ok(login) = serde_json::from_slice::<UserLogin>(&body) else {
                return login_failed(
                    &pbx,
                    Reply::odata_error(
                        StatusCode::BAD_REQUEST,
                        "",
                        "The request body is not a valid login.",
                    ),
                );
            };
            let found = auth::find_user(&pbx.spec, &login.username, &login.password);
            let Some((username, totp_secret)) = found.filter(|_| !plan.reject_login) else {
                return login_failed(&pbx, user_login_status("AuthFailed"));
            };
            if let Some(secret) = totp_secret {
                let code = login.security_code.as_deref().unwrap_or("").trim();
                if code.is_empty() {
                    return login_failed(&pbx, user_login_status("TwoFactorRequired"));
                }
                if !crate::totp::verify(secret, code, clock.now()) {
                    return login_failed(&pbx, user_login_status("InvalidSecurityCode"));
                }
            }
            let (Some(token), Some(refresh)) = (
                issue_token(&pbx, &format!("user:{username}"), plan),
                auth::random_token(),
            ) else {
                return Reply::empty(StatusCode::INTERNAL_SERVER_ERROR);
            };
            Reply::ok(object([
                ("Status", Value::from("AuthSuccess")),
                (
                    "Token",
                    json!({
                        "token_type": "Bearer",
                        "expires_in": advertised_expires_in(&pbx),
                        "access_token": token,
                        "refresh_token": refresh,
                    }),
                ),
                ("TwoFactorAuth", Value::Null),
            ]))
        })
        .await
}

/// 401 unless the bearer token is valid; 403 if a `forbidden` fault is active.
fn authorize(pbx: &SimPbx, headers: &HeaderMap, plan: &FaultPlan) -> Result<(), Reply> {
    let valid = bearer_token(headers).is_some_and(|t| pbx.state().auth.check(t, Instant::now()));
    if !valid {
        return Err(Reply::bearer_unauthorized());
    }
    if plan.forbidden {
        return Err(Reply::empty(StatusCode::FORBIDDEN));
    }
    Ok(())
}

fn context(pbx: &SimPbx, fragment: &str) -> Value {
    Value::from(format!(
        "https://{}/xapi/v1/$metadata#{fragment}",
        pbx.spec.fqdn
    ))
}

/// Keeps only the `$select`ed properties (400 for unknown ones, as OData does).
fn select(
    mut body: JsonObject,
    selection: Option<&String>,
    entity: &str,
) -> Result<JsonObject, Reply> {
    let Some(selection) = selection else {
        return Ok(body);
    };
    let wanted: Vec<&str> = selection
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = wanted.iter().find(|w| !body.iter().any(|(k, _)| k == *w)) {
        return Err(unknown_property(unknown, entity));
    }
    if let Some((_, Value::String(context))) =
        body.first_mut().filter(|(k, _)| k == "@odata.context")
    {
        context.push('(');
        context.push_str(&wanted.join(","));
        context.push(')');
    }
    body.retain(|(key, _)| key.starts_with("@odata") || wanted.contains(&key.as_str()));
    Ok(body)
}

fn unknown_property(name: &str, entity: &str) -> Reply {
    Reply::odata_error(
        StatusCode::BAD_REQUEST,
        "",
        &format!(
            "The query specified in the URI is not valid. Could not find a property named '{name}' on type '{entity}'."
        ),
    )
}

/// Incidental numbers of a PBX (stable per PBX, not license-related).
struct Incidentals {
    disk_total: u64,
    disk_free: u64,
    trunks: u64,
    ip_last: u64,
    local_last: u64,
    recording_quota: u64,
}

impl Incidentals {
    fn of(pbx: &SimPbx) -> Incidentals {
        let mut rng = rng::seeded(pbx.seed);
        let disk_total = rng.random_range(20..=250) * 1_073_741_824;
        Incidentals {
            disk_free: disk_total / 100 * rng.random_range(10..=80),
            disk_total,
            trunks: rng.random_range(1..=6),
            ip_last: rng.random_range(2..=254),
            local_last: rng.random_range(2..=254),
            recording_quota: rng.random_range(10..=200) * 1_073_741_824,
        }
    }
}

/// Share of `whole` in use when `part` is free, in percent.
fn percent(part: u64, whole: u64) -> u64 {
    (whole.saturating_sub(part) * 100)
        .checked_div(whole)
        .unwrap_or(0)
}

/// `GET /xapi/v1/SystemStatus` body for the PBX's version.
#[allow(
    clippy::too_many_lines,
    reason = "the body's fields, in the order a PBX writes them"
)]
pub(crate) fn system_status_body(pbx: &SimPbx, license: &License, now: Timestamp) -> JsonObject {
    let spec = &pbx.spec;
    let style = spec.date_style;
    let inc = Incidentals::of(pbx);
    let registered = u64::from(license.users) * 4 / 5;
    let mut body = object([
        ("@odata.context", context(pbx, "SystemStatus")),
        ("FQDN", Value::from(spec.fqdn.as_str())),
        ("Version", Value::from(spec.version.as_str())),
        ("Activated", Value::from(license.activated)),
        ("MaxSimCalls", Value::from(license.max_sim_calls)),
        ("ExtensionsRegistered", Value::from(registered)),
        (
            "Ip",
            Value::from(format!("203.0.113.{} Static", inc.ip_last)),
        ),
        ("IpV4", Value::from(format!("203.0.113.{}", inc.ip_last))),
        ("IpV6", Value::from("")),
        ("LocalIpValid", Value::from(true)),
        (
            "CurrentLocalIp",
            Value::from(format!("10.20.0.{}", inc.local_last)),
        ),
        (
            "AvailableLocalIps",
            Value::from(format!("10.20.0.{}", inc.local_last)),
        ),
        ("ExtensionsTotal", Value::from(license.extensions_total())),
    ]);
    if spec.version.has_user_extension_counts() {
        body.push((
            "MaxUserExtensions".to_owned(),
            Value::from(license.max_user_extensions()),
        ));
        body.push(("UserExtensions".to_owned(), Value::from(license.users)));
    }
    let last_backup = shift(now, -SignedDuration::from_secs(6 * 3600 + 1234));
    body.extend(object([
        ("HasUnregisteredSystemExtensions", Value::from(false)),
        ("HasNotRunningServices", Value::from(false)),
        ("TrunksRegistered", Value::from(inc.trunks)),
        ("TrunksTotal", Value::from(inc.trunks)),
        ("CallsActive", Value::from(0)),
        (
            "DiskUsage",
            Value::from(percent(inc.disk_free, inc.disk_total)),
        ),
        ("FreeDiskSpace", Value::from(inc.disk_free)),
        ("TotalDiskSpace", Value::from(inc.disk_total)),
        (
            "MaintenanceExpiresAt",
            license.maintenance_expiry.to_json(style),
        ),
        ("Support", Value::from(license.support_at(now))),
        ("LicenseActive", Value::from(license.license_active)),
        ("ExpirationDate", license.expiry.to_json(style)),
        ("OutboundRules", Value::from(inc.trunks + 1)),
        ("BackupScheduled", Value::from(true)),
        (
            "LastBackupDateTime",
            Value::from(format_date(last_backup, DateStyle::DotnetLocal)),
        ),
        (
            "ResellerName",
            license
                .reseller_name
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        (
            "LicenseKey",
            license
                .license_key
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        (
            "ProductCode",
            license
                .product_code
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        ("IsAuditLogEnabled", Value::from(true)),
        ("IsChatLogEnabled", Value::from(true)),
        ("RecordingUsedSpace", Value::from(inc.recording_quota / 3)),
        ("RecordingQuota", Value::from(inc.recording_quota)),
        ("RecordingStopped", Value::from(false)),
        ("VoicemailStopped", Value::from(false)),
        ("VoicemailQuotaReached", Value::from(false)),
        ("DBMaintenanceInProgress", Value::from(false)),
        ("RecordingQuotaReached", Value::from(false)),
        ("IsRecordingArchiveEnabled", Value::from(false)),
        ("OS", Value::from("Linux")),
        ("AutoUpdateEnabled", Value::from(true)),
        (
            "LastCheckForUpdates",
            Value::from(format_date(
                shift(now, -SignedDuration::from_hours(20)),
                DateStyle::DotnetLocal,
            )),
        ),
        (
            "LastSuccessfulUpdate",
            Value::from(format_date(
                shift(now, -SignedDuration::from_hours(24 * 17)),
                DateStyle::DotnetLocal,
            )),
        ),
        ("RemoteStorageEnabled", Value::from(false)),
        ("RemoteStorageStatus", Value::from("NotConfigured")),
        ("RemoteConfigurationRequired", Value::from(false)),
        (
            "ChatUsedSpace",
            Value::from(16_777_216 + inc.ip_last * 1000),
        ),
        (
            "LogUsedSpace",
            Value::from(90_000_000 + inc.local_last * 1000),
        ),
    ]));
    body
}

/// `GET /xapi/v1/LicenseStatus` body.
pub(crate) fn license_status_body(pbx: &SimPbx, license: &License, now: Timestamp) -> JsonObject {
    let spec = &pbx.spec;
    let style = spec.date_style;
    let who = &spec.licensee;
    object([
        ("@odata.context", context(pbx, "LicenseStatus")),
        (
            "LicenseKey",
            license
                .license_key
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        (
            "ProductCode",
            license
                .product_code
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        ("ExpirationDate", license.expiry.to_json(style)),
        (
            "MaintenanceExpiresAt",
            license.maintenance_expiry.to_json(style),
        ),
        ("Activated", Value::from(license.activated)),
        ("Version", Value::from(spec.version.as_str())),
        ("LicenseActive", Value::from(license.license_active)),
        ("Support", Value::from(license.support_at(now))),
        (
            "ResellerName",
            license
                .reseller_name
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        ("MaxSimCalls", Value::from(license.max_sim_calls)),
        ("AdminEMail", Value::from(who.admin_email.as_str())),
        ("EMail", Value::from(who.email.as_str())),
        ("ContactName", Value::from(who.contact_name.as_str())),
        ("CompanyName", Value::from(who.company_name.as_str())),
        ("ActiveModules", Value::from(who.active_modules.clone())),
        ("CountryName", Value::from(who.country_name.as_str())),
        ("CountryCode", Value::from(who.country_code.as_str())),
        (
            "SimMeetingParticipants",
            Value::from(if license.is_professional() { 100 } else { 25 }),
        ),
        ("Telephone", Value::from(who.telephone.as_str())),
    ])
}

/// `GET /xapi/v1/Defs/Pbx.GetLicenseParameters()` body for the PBX's version.
pub(crate) fn license_parameters_body(
    pbx: &SimPbx,
    license: &License,
    now: Timestamp,
) -> JsonObject {
    let version = &pbx.spec.version;
    let mut body = object([
        ("@odata.context", context(pbx, "Pbx.License")),
        (
            "ProductCode",
            license
                .product_code
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        (
            "CountryCode",
            Value::from(pbx.spec.licensee.country_code.as_str()),
        ),
        (
            "IsMaintainceExpired",
            Value::from(license.maintenance_expired_at(now)),
        ),
    ]);
    if version.license_parameters_have_max_sim_calls() {
        body.push(("MaxSimCalls".to_owned(), Value::from(license.max_sim_calls)));
    }
    if version.license_parameters_have_edition_flags() {
        body.extend(object([
            ("IsProfessional", Value::from(license.is_professional())),
            ("IsEnterprise", Value::from(license.is_enterprise())),
            ("IsBrandingEnabled", Value::from(false)),
            ("IsCfdEnabled", Value::from(license.is_professional())),
        ]));
    }
    body
}

/// Serves a read endpoint: version check, authorisation, body, `$select`.
async fn read(
    ctx: PbxCtx,
    endpoint: Endpoint,
    headers: HeaderMap,
    query: QueryParams,
    entity: &'static str,
    build: fn(&SimPbx, &License, Timestamp) -> JsonObject,
) -> Response {
    let pbx = ctx.pbx.clone();
    let clock = ctx.env.clock;
    ctx.pbx
        .serve(&ctx.env, endpoint, move |plan| {
            if not_xapi(&pbx) {
                return Reply::not_found();
            }
            if let Err(reply) = authorize(&pbx, &headers, plan) {
                return reply;
            }
            let params = match params(query) {
                Ok(params) => params,
                Err(reply) => return reply,
            };
            if let Some(body) = pbx.spec.fixed_bodies.get(&endpoint) {
                return Reply::text(
                    StatusCode::OK,
                    "application/json; charset=utf-8",
                    body.to_string(),
                );
            }
            let license = pbx.state().license.clone();
            match select(
                build(&pbx, &license, clock.now()),
                params.get("$select"),
                entity,
            ) {
                Ok(body) => Reply::ok(body),
                Err(reply) => reply,
            }
        })
        .await
}

/// `GET /xapi/v1/SystemStatus`.
pub(crate) async fn system_status(
    Extension(ctx): Extension<PbxCtx>,
    headers: HeaderMap,
    query: QueryParams,
) -> Response {
    read(
        ctx,
        Endpoint::SystemStatus,
        headers,
        query,
        "Pbx.SystemStatus",
        system_status_body,
    )
    .await
}

/// `GET /xapi/v1/LicenseStatus`.
pub(crate) async fn license_status(
    Extension(ctx): Extension<PbxCtx>,
    headers: HeaderMap,
    query: QueryParams,
) -> Response {
    read(
        ctx,
        Endpoint::LicenseStatus,
        headers,
        query,
        "Pbx.LicenseStatus",
        license_status_body,
    )
    .await
}

/// `GET /xapi/v1/Defs/Pbx.GetLicenseParameters()`.
pub(crate) async fn license_parameters(
    Extension(ctx): Extension<PbxCtx>,
    headers: HeaderMap,
    query: QueryParams,
) -> Response {
    read(
        ctx,
        Endpoint::LicenseParameters,
        headers,
        query,
        "Pbx.License",
        license_parameters_body,
    )
    .await
}

/// `GET /xapi/v1/Defs` (`$select=Id`): answers with the `X-3CX-Version` header.
pub(crate) async fn defs(
    Extension(ctx): Extension<PbxCtx>,
    headers: HeaderMap,
    query: QueryParams,
) -> Response {
    let pbx = ctx.pbx.clone();
    ctx.pbx
        .serve(&ctx.env, Endpoint::Defs, move |plan| {
            if not_xapi(&pbx) {
                return Reply::not_found();
            }
            if let Err(reply) = authorize(&pbx, &headers, plan) {
                return reply;
            }
            let params = match params(query) {
                Ok(params) => params,
                Err(reply) => return reply,
            };
            let body = object([
                ("@odata.context", context(&pbx, "Defs")),
                ("Id", Value::from(0)),
            ]);
            let reply = match select(body, params.get("$select"), "Pbx.Defs") {
                Ok(body) => Reply::ok(body),
                Err(reply) => return reply,
            };
            match HeaderValue::from_str(pbx.spec.version.as_str()) {
                Ok(version) => {
                    reply.with_header(header::HeaderName::from_static("x-3cx-version"), version)
                }
                Err(_) => reply,
            }
        })
        .await
}

const FIRST_NAMES: [&str; 16] = [
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Robin", "Avery",
    "Quinn", "Drew", "Parker", "Reese", "Emerson", "Hayden",
];
const LAST_NAMES: [&str; 16] = [
    "Nguyen", "Smith", "Garcia", "Müller", "Rossi", "Kowalski", "Dubois", "Jansen", "Silva",
    "O'Brien", "Novak", "Larsen", "Costa", "Schmidt", "Moreau", "Walsh",
];

/// One user row; AI agents come after the human users.
fn user_row(pbx: &SimPbx, index: u32, ai_agent: bool) -> JsonObject {
    let mut rng = rng::seeded(pbx.seed ^ u64::from(index).wrapping_mul(0x9e37_79b9));
    let (first, last) = if ai_agent {
        ("AI", "Agent")
    } else {
        (
            FIRST_NAMES[rng.random_range(..FIRST_NAMES.len())],
            LAST_NAMES[rng.random_range(..LAST_NAMES.len())],
        )
    };
    let number = 100 + index;
    let mut row = object([
        ("Id", Value::from(index + 1)),
        ("Number", Value::from(number.to_string())),
        ("FirstName", Value::from(first)),
        (
            "LastName",
            Value::from(if ai_agent {
                format!("{last} {number}")
            } else {
                last.to_owned()
            }),
        ),
        (
            "EmailAddress",
            Value::from(format!(
                "{}.{number}@{}",
                first.to_ascii_lowercase(),
                pbx.spec.fqdn
            )),
        ),
    ]);
    if pbx.spec.version.has_ai_agent_field() {
        row.push(("AIAgent".to_owned(), Value::from(ai_agent)));
    }
    row
}

/// `GET /xapi/v1/Users` with `$filter=AIAgent eq true|false`, `$count`, `$top`, `$skip`,
/// `$select`.
pub(crate) async fn users(
    Extension(ctx): Extension<PbxCtx>,
    headers: HeaderMap,
    query: QueryParams,
) -> Response {
    let pbx = ctx.pbx.clone();
    ctx.pbx
        .serve(&ctx.env, Endpoint::Users, move |plan| {
            if not_xapi(&pbx) {
                return Reply::not_found();
            }
            if let Err(reply) = authorize(&pbx, &headers, plan) {
                return reply;
            }
            match params(query).and_then(|p| users_body(&pbx, &p)) {
                Ok(body) => Reply::ok(body),
                Err(reply) => reply,
            }
        })
        .await
}

fn users_body(pbx: &SimPbx, params: &HashMap<String, String>) -> Result<JsonObject, Reply> {
    let has_ai_field = pbx.spec.version.has_ai_agent_field();
    let filter = match params
        .get("$filter")
        .map(|f| f.split_whitespace().collect::<Vec<_>>())
    {
        None => None,
        Some(words) => {
            if words.first().is_some_and(|w| *w == "AIAgent") && !has_ai_field {
                return Err(unknown_property("AIAgent", "Pbx.User"));
            }
            match words.as_slice() {
                ["AIAgent", "eq", "true"] if pbx.spec.users_filter => Some(true),
                ["AIAgent", "eq", "false"] if pbx.spec.users_filter => Some(false),
                _ => {
                    return Err(Reply::odata_error(
                        StatusCode::BAD_REQUEST,
                        "",
                        "The query specified in the URI is not valid. The $filter expression is not supported.",
                    ));
                }
            }
        }
    };
    let number = |key: &str| -> Result<Option<usize>, Reply> {
        params
            .get(key)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    Reply::odata_error(
                        StatusCode::BAD_REQUEST,
                        "",
                        &format!("The query specified in the URI is not valid. Invalid value '{v}' for {key}."),
                    )
                })
            })
            .transpose()
    };
    let top = number("$top")?;
    let skip = number("$skip")?.unwrap_or(0);
    let count = match params.get("$count").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Reply::odata_error(
                StatusCode::BAD_REQUEST,
                "",
                &format!(
                    "The query specified in the URI is not valid. '{other}' is not a valid count option."
                ),
            ));
        }
    };
    let license = pbx.state().license.clone();
    let all = (0..license.users)
        .map(|i| (i, false))
        .chain((0..license.ai_agents).map(|i| (license.users + i, true)));
    let matching: Vec<(u32, bool)> = all
        .filter(|(_, ai)| filter.is_none_or(|want| want == *ai))
        .collect();
    let total = matching.len();
    let limit = top.unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    for (index, ai) in matching.into_iter().skip(skip).take(limit) {
        let row = select(
            [("@odata.context".to_owned(), Value::Null)]
                .into_iter()
                .chain(user_row(pbx, index, ai))
                .collect(),
            params.get("$select"),
            "Pbx.User",
        )?;
        let map: serde_json::Map<String, Value> = row
            .into_iter()
            .filter(|(k, _)| k != "@odata.context")
            .collect();
        rows.push(Value::Object(map));
    }
    if rows.is_empty()
        && let Some(selection) = params.get("$select")
    {
        // Validate the selection even when no row is returned.
        let probe = [("@odata.context".to_owned(), Value::Null)]
            .into_iter()
            .chain(user_row(pbx, 0, false))
            .collect();
        select(probe, Some(selection), "Pbx.User")?;
    }
    let mut body = object([("@odata.context", context(pbx, "Users"))]);
    if count {
        body.push(("@odata.count".to_owned(), Value::from(total)));
    }
    body.push(("value".to_owned(), Value::Array(rows)));
    Ok(body)
}

/// `POST /xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus`: applies a pending upstream renewal,
/// answers 204.
pub(crate) async fn refresh(Extension(ctx): Extension<PbxCtx>, headers: HeaderMap) -> Response {
    let pbx = ctx.pbx.clone();
    ctx.pbx
        .serve(&ctx.env, Endpoint::Refresh, move |plan| {
            if not_xapi(&pbx) {
                return Reply::not_found();
            }
            if let Err(reply) = authorize(&pbx, &headers, plan) {
                return reply;
            }
            let mut state = pbx.state();
            state.counters.refresh_calls += 1;
            if state.renewal.as_ref().is_some_and(|p| p.renewal.on_refresh) {
                state.apply_renewal();
            }
            Reply::empty(StatusCode::NO_CONTENT)
        })
        .await
}
