//! Prometheus metrics: every instance's license as numbers, and Runway's own health, in the
//! OpenMetrics text format that `prometheus-client` writes.
//!
//! Two ways in, each with its own access control:
//!
//! - `GET /metrics` on the main listener needs `Authorization: Bearer <API token>` (any role)
//!   and shows only the token's tenant. Anything else — no token, a revoked one, a session
//!   cookie — is a 401, never a redirect to the sign-in page: a scraper cannot follow one.
//! - [`metrics_router`] (`runway serve --metrics-listen ADDR`) serves `/metrics` for every
//!   tenant without a token, and nothing else. It is meant for a private address that only
//!   the monitoring network reaches; it must never be exposed publicly.
//!
//! Per instance (labels `tenant`, `customer`, `instance`, `instance_id`; no address, no
//! secret): the expiry and maintenance expiry as Unix timestamps, days left, the call limit,
//! users used and licensed, the last successful read, and stored failed reads by kind. Days
//! left and seats come from the License Status page's own view model
//! ([`crate::view::status_row`], computed by `runway-core`), so the numbers cannot disagree with
//! the page. An unknown value has no sample.
//!
//! Health: instances due for a read, outbox rows waiting and deliveries by outcome — per
//! tenant, labelled `tenant` — and, on the node-wide listener only, the histogram of this
//! node's PBX read durations (its reads span every tenant).
//!
//! Cost: per tenant, the fleet (one cached query) and three counting statements over the whole
//! fleet; nothing per instance.

use std::future::Future;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use runway_store::{FleetRow, Tenant};

use crate::auth::{ApiCaller, Via};
use crate::error::{ApiError, WebError};
use crate::pages::RouteTable;
use crate::state::AppState;
use crate::view::status_row;

/// The media type `prometheus_client::encoding::text` writes: OpenMetrics 1.0 text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A sample's labels, in the order they are written.
type Labels = Vec<(String, String)>;

/// `GET /metrics` on the main listener.
pub(crate) fn table() -> RouteTable {
    RouteTable::new().get("/metrics", tenant_metrics)
}

/// The router of the node-wide metrics listener: `/metrics` for every tenant, without a token,
/// and 404 for every other path. Serve it only where the monitoring network alone reaches it.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(all_tenants_metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}

/// Serves [`metrics_router`] on an already bound listener until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The token's tenant only; API tokens only (a browser session is refused like no token).
async fn tenant_metrics(State(state): State<AppState>, caller: ApiCaller) -> Response {
    let ApiCaller(caller) = caller;
    if !matches!(caller.via, Via::ApiToken(_)) {
        return ApiError(WebError::Unauthenticated).into_response();
    }
    answer(render(&state, &[caller.tenant], false).await)
}

/// Every tenant, and the node's own health.
async fn all_tenants_metrics(State(state): State<AppState>) -> Response {
    let tenants = match state.store.tenants().await {
        Ok(tenants) => tenants,
        Err(err) => return answer(Err(err.into())),
    };
    answer(render(&state, &tenants, true).await)
}

fn answer(result: Result<String, WebError>) -> Response {
    match result {
        Ok(text) => {
            let mut response = text.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        Err(err) => ApiError(err).into_response(),
    }
}

/// The metric families of one scrape, filled tenant by tenant.
#[derive(Default)]
struct Families {
    expiry: Family<Labels, Gauge>,
    maintenance_expiry: Family<Labels, Gauge>,
    days_left: Family<Labels, Gauge>,
    call_limit: Family<Labels, Gauge>,
    users_used: Family<Labels, Gauge>,
    users_licensed: Family<Labels, Gauge>,
    last_read: Family<Labels, Gauge>,
    read_failures: Family<Labels, Counter<u64, AtomicU64>>,
    instances_due: Family<Labels, Gauge>,
    outbox_pending: Family<Labels, Gauge>,
    deliveries: Family<Labels, Counter<u64, AtomicU64>>,
}

fn set(family: &Family<Labels, Gauge>, labels: &Labels, value: impl Into<i64>) {
    family.get_or_create(labels).set(value.into());
}

impl Families {
    /// One tenant's instances and health.
    async fn add_tenant(
        &self,
        state: &AppState,
        tenant: &Tenant,
        now: Timestamp,
    ) -> Result<(), WebError> {
        let store = &state.store;
        let fleet = store.fleet(tenant.id).await?;
        let failures = store.read_failure_counts(tenant.id).await?;
        let due = store.instances_due(tenant.id, now).await?;
        let deliveries = store.delivery_counts(tenant.id).await?;
        let tenant_label = || vec![("tenant".to_owned(), tenant.settings.name.clone())];
        let mut by_id = std::collections::HashMap::with_capacity(fleet.len());
        for row in fleet.iter() {
            let labels = instance_labels(tenant, row);
            self.add_instance(row, tenant, now, &labels);
            by_id.insert(row.instance.id, labels);
        }
        for failure in failures {
            // An instance deleted between the two queries has no labels: leave it out.
            let Some(labels) = by_id.get(&failure.instance) else {
                continue;
            };
            let mut labels = labels.clone();
            labels.push(("kind".to_owned(), failure.kind.as_str().to_owned()));
            self.read_failures
                .get_or_create(&labels)
                .inc_by(failure.count);
        }
        set(
            &self.instances_due,
            &tenant_label(),
            i64::try_from(due).unwrap_or(i64::MAX),
        );
        set(
            &self.outbox_pending,
            &tenant_label(),
            i64::try_from(deliveries.pending).unwrap_or(i64::MAX),
        );
        for (outcome, n) in [
            ("sent", deliveries.sent),
            ("failed", deliveries.failed),
            ("cancelled", deliveries.cancelled),
        ] {
            let mut labels = tenant_label();
            labels.push(("outcome".to_owned(), outcome.to_owned()));
            self.deliveries.get_or_create(&labels).inc_by(n);
        }
        Ok(())
    }

    /// One instance's license, from the page's own row.
    fn add_instance(&self, row: &FleetRow, tenant: &Tenant, now: Timestamp, labels: &Labels) {
        let (status, view) = status_row(row, tenant, now);
        let facts = row.license.good.as_ref().map(|good| &good.facts);
        if let Some(expiry) = facts.and_then(|f| f.expiry) {
            set(&self.expiry, labels, expiry.as_second());
        }
        if let Some(maintenance) = facts.and_then(|f| f.maintenance_expiry) {
            set(&self.maintenance_expiry, labels, maintenance.as_second());
        }
        if let Some(days) = status.days_left {
            set(&self.days_left, labels, days.get());
        }
        if let Some(calls) = view.max_sim_calls {
            set(&self.call_limit, labels, calls);
        }
        if let Some(seats) = &view.seats {
            set(&self.users_used, labels, seats.used);
            set(&self.users_licensed, labels, seats.licensed);
        }
        if let Some(good) = &row.license.good {
            set(&self.last_read, labels, good.read_at.as_second());
        }
    }

    fn into_registry(self) -> Registry {
        let mut registry = Registry::default();
        registry.register(
            "runway_license_expiry_timestamp_seconds",
            "When the instance's license expires, as a Unix timestamp (no sample when unknown)",
            self.expiry,
        );
        registry.register(
            "runway_license_maintenance_expiry_timestamp_seconds",
            "When the instance's maintenance (updates) expires, as a Unix timestamp (no sample \
             when unknown)",
            self.maintenance_expiry,
        );
        registry.register(
            "runway_license_days_left",
            "Calendar days until the license expires in the tenant's time zone, as the License \
             Status page shows them (negative when overdue)",
            self.days_left,
        );
        registry.register(
            "runway_license_call_limit",
            "The license's simultaneous-call limit",
            self.call_limit,
        );
        registry.register(
            "runway_license_users_used",
            "User extensions in use (human and AI)",
            self.users_used,
        );
        registry.register(
            "runway_license_users_licensed",
            "User extensions the license allows (estimated from the fair-use table where the \
             PBX does not say)",
            self.users_licensed,
        );
        registry.register(
            "runway_instance_last_read_timestamp_seconds",
            "When the instance's license was last read successfully, as a Unix timestamp",
            self.last_read,
        );
        registry.register(
            "runway_instance_read_failures",
            "Failed reads of the instance kept in its attempt history, by failure kind (falls \
             when old attempts are pruned)",
            self.read_failures,
        );
        registry.register(
            "runway_instances_due",
            "Instances whose next read is due now and that no read holds",
            self.instances_due,
        );
        registry.register(
            "runway_outbox_pending",
            "Notifications not delivered yet (waiting for an attempt, a retry or an escalation)",
            self.outbox_pending,
        );
        registry.register(
            "runway_deliveries",
            "Notifications by outcome: sent, failed (refused for good) or cancelled",
            self.deliveries,
        );
        registry
    }
}

fn instance_labels(tenant: &Tenant, row: &FleetRow) -> Labels {
    vec![
        ("tenant".to_owned(), tenant.settings.name.clone()),
        ("customer".to_owned(), row.instance.customer_name.clone()),
        ("instance".to_owned(), row.instance.name.clone()),
        ("instance_id".to_owned(), row.instance.id.0.to_string()),
    ]
}

/// The exposition for `tenants`; with `node_wide`, this node's read durations too.
async fn render(state: &AppState, tenants: &[Tenant], node_wide: bool) -> Result<String, WebError> {
    let now = state.now();
    let families = Families::default();
    for tenant in tenants {
        families.add_tenant(state, tenant, now).await?;
    }
    let mut registry = families.into_registry();
    if node_wide {
        registry.register(
            "runway_poll_duration_seconds",
            "How long this node's PBX reads took, failed ones included",
            state.engine.poll_durations().histogram(),
        );
    }
    let mut text = String::new();
    encode(&mut text, &registry)
        .map_err(|_| WebError::Internal("cannot encode the metrics".to_owned()))?;
    Ok(text)
}
