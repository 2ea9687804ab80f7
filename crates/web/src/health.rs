//! Health for load balancers and monitoring, without signing in and without tenant data:
//!
//! - `GET /healthz` — liveness: the process answers (always 200).
//! - `GET /readyz` — readiness: the database answers at the schema version this build expects,
//!   the scheduler has asked for due reads recently, and the delivery worker has looked for due
//!   notifications recently. 200 with `{"status":"ready"}`, or 503
//!   with `{"status":"not ready","reasons":[…]}` saying what is wrong.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::pages::RouteTable;
use crate::state::AppState;

/// The longest the scheduler may go without asking what is due, beyond a few idle ticks.
const SCHEDULER_GRACE: Duration = Duration::from_mins(2);

/// How long readiness waits for the database before it says "not ready".
const DATABASE_WITHIN: Duration = Duration::from_secs(3);

/// The health routes.
pub(crate) fn table() -> RouteTable {
    RouteTable::new()
        .get("/healthz", healthz)
        .get("/readyz", readyz)
}

/// How long the delivery worker may go without finishing a step: longer than a batch of
/// attempts that all time out.
const WORKER_GRACE: Duration = Duration::from_mins(3);

async fn healthz() -> Response {
    Json(json!({"status": "alive"})).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let mut reasons = Vec::new();
    // A database that went away can keep a query waiting for the pool's whole acquire timeout
    // (30 s); a load balancer must hear sooner.
    match tokio::time::timeout(DATABASE_WITHIN, state.store.schema_version()).await {
        Ok(Ok((applied, expected))) if applied == expected => {}
        Ok(Ok((applied, expected))) => reasons.push(format!(
            "the database is at schema version {applied}; this build expects {expected}"
        )),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: the database did not answer");
            reasons.push("the database does not answer".to_owned());
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer in time");
            reasons.push(format!(
                "the database did not answer within {} s",
                DATABASE_WITHIN.as_secs()
            ));
        }
    }
    let now = state.now();
    let allowed = state.engine.config().idle_tick * 6 + SCHEDULER_GRACE;
    match state.engine.last_scheduled() {
        None => reasons.push("the scheduler has not run yet".to_owned()),
        Some(at) if now.duration_since(at).unsigned_abs() > allowed => reasons.push(format!(
            "the scheduler last looked for due reads at {at}, more than {} s ago",
            allowed.as_secs()
        )),
        Some(_) => {}
    }
    if let Some(worker) = &state.worker {
        match worker.last_step() {
            None => reasons.push("the delivery worker has not run yet".to_owned()),
            Some(at) if now.duration_since(at).unsigned_abs() > WORKER_GRACE => {
                reasons.push(format!(
                    "the delivery worker last looked for due notifications at {at}, more than \
                     {} s ago",
                    WORKER_GRACE.as_secs()
                ));
            }
            Some(_) => {}
        }
    }
    if reasons.is_empty() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reasons": reasons})),
        )
            .into_response()
    }
}
