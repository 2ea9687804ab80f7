//! The legacy v16/v18 API: `POST /api/login` (answers `AuthSuccess` and a session cookie) and
//! `GET /api/SystemStatus` (the old body shape, with `IsSpla`, a possibly null
//! `ExpirationDate` and the misspelt `FreeFirtualMemory`). A v20 PBX answers 404 here.

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use rand::RngExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::auth::{self, SESSION_COOKIE, cookie};
use crate::dates::{DateStyle, format_date, shift};
use crate::faults::Endpoint;
use crate::license::License;
use crate::pbx::SimPbx;
use crate::reply::{JsonObject, Reply, object};
use crate::rng;
use crate::server::PbxCtx;

#[derive(Deserialize)]
struct LegacyLogin {
    #[serde(rename = "Username", alias = "username", default)]
    username: String,
    #[serde(rename = "Password", alias = "password", default)]
    password: String,
}

/// `POST /api/login`.
pub(crate) async fn login(Extension(ctx): Extension<PbxCtx>, body: Bytes) -> Response {
    let pbx = ctx.pbx.clone();
    let cookie_path = ctx.prefix.as_deref().unwrap_or("/").to_owned();
    ctx.pbx
        .serve(&ctx.env, Endpoint::ApiLogin, move |plan| {
            if !pbx.spec.version.is_legacy() {
                return Reply::not_found();
            }
            pbx.state().counters.logins_attempted += 1;
            let accepted = serde_json::from_slice::<LegacyLogin>(&body)
                .is_ok_and(|l| auth::legacy_matches(&pbx.spec, &l.username, &l.password));
            if !accepted || plan.reject_login {
                pbx.state().counters.logins_failed += 1;
                return Reply::text(
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    "AuthFailed".to_owned(),
                );
            }
            let Some(session) = auth::random_token() else {
                return Reply::empty(StatusCode::INTERNAL_SERVER_ERROR);
            };
            let now = Instant::now();
            let mut state = pbx.state();
            state
                .auth
                .open_session(session.clone(), now + pbx.token_lifetime(plan), now);
            state.counters.logins_succeeded += 1;
            drop(state);
            let set_cookie =
                format!("{SESSION_COOKIE}={session}; path={cookie_path}; samesite=lax; httponly");
            let reply = Reply::text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                "AuthSuccess".to_owned(),
            );
            match HeaderValue::from_str(&set_cookie) {
                Ok(value) => reply.with_header(header::SET_COOKIE, value),
                Err(_) => reply,
            }
        })
        .await
}

/// `GET /api/SystemStatus` (needs the session cookie).
pub(crate) async fn system_status(
    Extension(ctx): Extension<PbxCtx>,
    headers: HeaderMap,
) -> Response {
    let pbx = ctx.pbx.clone();
    let clock = ctx.env.clock;
    ctx.pbx
        .serve(&ctx.env, Endpoint::ApiSystemStatus, move |plan| {
            if !pbx.spec.version.is_legacy() {
                return Reply::not_found();
            }
            let valid = cookie(&headers, SESSION_COOKIE)
                .is_some_and(|id| pbx.state().auth.check_session(id, Instant::now()));
            if !valid {
                return Reply::empty(StatusCode::UNAUTHORIZED);
            }
            if plan.forbidden {
                return Reply::empty(StatusCode::FORBIDDEN);
            }
            if let Some(body) = pbx.spec.fixed_bodies.get(&Endpoint::ApiSystemStatus) {
                return Reply::text(
                    StatusCode::OK,
                    "application/json; charset=utf-8",
                    body.to_string(),
                );
            }
            let license = pbx.state().license.clone();
            Reply::ok(system_status_body(&pbx, &license, clock.now()))
        })
        .await
}

/// The legacy SystemStatus body.
#[allow(
    clippy::too_many_lines,
    reason = "the body's fields, in the order a PBX writes them"
)]
pub(crate) fn system_status_body(pbx: &SimPbx, license: &License, now: Timestamp) -> JsonObject {
    let spec = &pbx.spec;
    let style = spec.date_style;
    let mut rng = rng::seeded(pbx.seed);
    let total_memory: u64 = rng.random_range(2..=16) * 1_073_741_824;
    let free_memory = total_memory / 100 * rng.random_range(20..=70);
    let total_virtual = total_memory * 2;
    let disk_total: u64 = rng.random_range(20..=120) * 1_073_741_824;
    let disk_free = disk_total / 100 * rng.random_range(20..=85);
    let ip_last: u64 = rng.random_range(2..=254);
    let local_last: u64 = rng.random_range(2..=254);
    let registered = u64::from(license.users) * 4 / 5;
    let trunks: u64 = rng.random_range(1..=4);
    let sample_at = |seconds_ago: i64| {
        format_date(
            shift(now, -SignedDuration::from_secs(seconds_ago)),
            DateStyle::DotnetZ,
        )
    };
    let web_meeting = spec.fqdn.replace('.', "-");
    object([
        ("FQDN", Value::from(spec.fqdn.as_str())),
        (
            "WebMeetingFQDN",
            Value::from(format!("{web_meeting}.3cx.net")),
        ),
        ("WebMeetingBestMCU", Value::Null),
        ("Version", Value::from(spec.version.as_str())),
        ("Activated", Value::from(license.activated)),
        ("MaxSimCalls", Value::from(license.max_sim_calls)),
        (
            "MaxSimMeetingParticipants",
            Value::from(if license.is_professional() { 100 } else { 25 }),
        ),
        (
            "CallHistoryCount",
            Value::from(rng.random_range(0_u64..=5000)),
        ),
        (
            "ChatMessagesCount",
            Value::from(rng.random_range(0_u64..=500)),
        ),
        ("ExtensionsRegistered", Value::from(registered)),
        ("OwnPush", Value::from(false)),
        ("Ip", Value::from(format!("198.51.100.{ip_last} Static"))),
        ("LocalIpValid", Value::from(true)),
        (
            "CurrentLocalIp",
            Value::from(format!("192.168.10.{local_last}")),
        ),
        (
            "AvailableLocalIps",
            Value::from(format!("192.168.10.{local_last}")),
        ),
        ("ExtensionsTotal", Value::from(license.extensions_total())),
        ("HasUnregisteredSystemExtensions", Value::from(true)),
        ("HasNotRunningServices", Value::from(false)),
        ("TrunksRegistered", Value::from(trunks)),
        ("TrunksTotal", Value::from(trunks)),
        ("CallsActive", Value::from(0)),
        (
            "BlacklistedIpCount",
            Value::from(rng.random_range(0_u64..=12)),
        ),
        ("MemoryUsage", Value::from(rng.random_range(10_u64..=60))),
        (
            "PhysicalMemoryUsage",
            Value::from((total_memory - free_memory) * 100 / total_memory),
        ),
        (
            "FreeFirtualMemory",
            Value::from(total_virtual - total_memory / 4),
        ),
        ("TotalVirtualMemory", Value::from(total_virtual)),
        ("FreePhysicalMemory", Value::from(free_memory)),
        ("TotalPhysicalMemory", Value::from(total_memory)),
        (
            "DiskUsage",
            Value::from((disk_total - disk_free) * 100 / disk_total),
        ),
        ("FreeDiskSpace", Value::from(disk_free)),
        ("TotalDiskSpace", Value::from(disk_total)),
        ("CpuUsage", Value::from(rng.random_range(1_u64..=30))),
        (
            "CpuUsageHistory",
            json!([[sample_at(6), 4.25], [sample_at(3), 3.5]]),
        ),
        (
            "MaintenanceExpiresAt",
            license.maintenance_expiry.to_json(style),
        ),
        ("Support", Value::from(license.support_at(now))),
        ("ExpirationDate", license.expiry.to_json(style)),
        ("OutboundRules", Value::from(trunks + 1)),
        ("BackupScheduled", Value::from(true)),
        (
            "LastBackupDateTime",
            Value::from(format_date(
                shift(now, -SignedDuration::from_hours(9)),
                DateStyle::DotnetLocal,
            )),
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
        ("IsSpla", Value::from(license.is_spla())),
    ])
}
