//! The License Status page: counters, the sorted table, the expiry calendar.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use runway_store::Customer;

use super::Chrome;
use crate::auth::Caller;
use crate::error::WebError;
use crate::state::AppState;
use crate::view::{Filter, FleetView, fleet_view};

#[derive(Template, WebTemplate)]
#[template(path = "status.html")]
pub(crate) struct StatusPage {
    chrome: Chrome,
    view: FleetView,
    customers: Vec<Customer>,
    filter_customer: String,
    filter_band: String,
    filter_q: String,
    filtered: bool,
    /// Open and acknowledged alerts per instance: (how many, the most severe, lower case).
    alerts: std::collections::HashMap<i64, (u32, String)>,
    /// Whether the tenant has a calendar feed (the calendar then offers to subscribe).
    feed_exists: bool,
}

impl StatusPage {
    fn band_selected(&self, band: &str) -> bool {
        self.filter_band == band
    }

    fn customer_selected(&self, customer: &Customer) -> bool {
        self.filter_customer == customer.id.to_string()
    }

    /// The export of the rows on screen: the same filter, as a file.
    fn export_href(&self, format: &str) -> String {
        let mut query = vec![("format", format)];
        for (name, value) in [
            ("customer", &self.filter_customer),
            ("band", &self.filter_band),
            ("q", &self.filter_q),
        ] {
            if !value.is_empty() {
                query.push((name, value.as_str()));
            }
        }
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        format!("/api/v1/licenses/export?{query}")
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<Filter>,
) -> Result<StatusPage, WebError> {
    let tenant = caller.tenant.id;
    let fleet = state.store.fleet(tenant).await?;
    let customers = state.store.customers(tenant).await?;
    let view = fleet_view(&fleet, &caller.tenant, state.now(), &filter);
    let alerts = state
        .store
        .alert_badges(tenant)
        .await?
        .into_iter()
        .map(|badge| {
            let severity = badge.severity.to_string().to_lowercase();
            (badge.instance_id.0, (badge.unresolved, severity))
        })
        .collect();
    let text = |o: &Option<String>| o.clone().unwrap_or_default().trim().to_owned();
    let filter_customer = text(&filter.customer);
    let filter_band = text(&filter.band);
    let filter_q = text(&filter.q);
    Ok(StatusPage {
        chrome: Chrome::of(&caller),
        filtered: !(filter_customer.is_empty() && filter_band.is_empty() && filter_q.is_empty()),
        view,
        customers,
        filter_customer,
        filter_band,
        filter_q,
        alerts,
        feed_exists: state.store.calendar_feed(tenant).await?.is_some(),
    })
}
