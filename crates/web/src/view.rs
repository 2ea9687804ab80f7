//! The License Status view model, shared by the page and the API so both show the same data
//! in the same order.
//!
//! Every derived figure comes from `runway-core`: the band, expiry date and days left from
//! [`LicenseStatus::evaluate`], the order from [`sort_fleet`], the calendar from
//! [`expiry_calendar`], seat usage from [`runway_core::SeatUsage`], the renewal link from
//! the tenant's [`runway_core::RenewalTemplate`]. This module only arranges them for display.
//! The types deserialize too, so that `runway status` against a remote Runway reads the API's
//! answer into the same model it prints from the local database.

use jiff::Timestamp;
use runway_core::{
    Band, BandCounts, FleetSortKey, LicenseStatus, Zone, expiry_calendar, sort_fleet,
};
use runway_store::{CustomerId, FleetRow, LoginKind, Tenant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The five counters across the top of the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counters {
    /// Expired licenses.
    pub expired: usize,
    /// Critical (14 days or fewer).
    pub critical: usize,
    /// Warning (60 days or fewer).
    pub warning: usize,
    /// Active.
    pub active: usize,
    /// Unknown (no expiry on record).
    pub unknown: usize,
}

impl From<BandCounts> for Counters {
    fn from(c: BandCounts) -> Counters {
        Counters {
            expired: c.expired,
            critical: c.critical,
            warning: c.warning,
            active: c.active,
            unknown: c.unknown,
        }
    }
}

/// Seat usage of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeatsView {
    /// Users in use (human and AI).
    pub used: u32,
    /// The user cap.
    pub licensed: u32,
    /// Whether the cap is estimated from the fair-use table.
    pub estimated: bool,
    /// Whole percent used.
    pub percent: u32,
    /// Human users.
    pub human: Option<u32>,
    /// AI-agent users.
    pub ai: Option<u32>,
}

impl SeatsView {
    /// The bar's width in percent (capped at 100).
    pub fn bar_width(&self) -> u32 {
        self.percent.min(100)
    }

    /// "N human · M AI".
    pub fn split_text(&self) -> String {
        format!(
            "{} human · {} AI",
            self.human.unwrap_or(self.used),
            self.ai.unwrap_or(0)
        )
    }
}

/// Why a row's data is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaleView {
    /// The error's stable kind, e.g. `timeout`.
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// When the failed attempt was made, in the tenant's zone.
    pub at: String,
}

/// One row of the License Status table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusRow {
    /// The instance's id.
    pub instance_id: i64,
    /// Its name.
    pub instance_name: String,
    /// Its customer's id.
    pub customer_id: i64,
    /// Its customer's name.
    pub customer_name: String,
    /// The PBX's host name (reported, else from its address).
    pub fqdn: String,
    /// Whether its license is typed in by hand.
    pub manual: bool,
    /// Whether it is polled.
    pub enabled: bool,
    /// The edition label.
    pub edition: String,
    /// The license key.
    pub license_key: Option<String>,
    /// The product code.
    pub product_code: Option<String>,
    /// The PBX's version.
    pub version: Option<String>,
    /// The band: `expired`, `critical`, `warning`, `active` or `unknown`.
    pub band: String,
    /// The band as shown ("Critical").
    pub band_label: String,
    /// The expiry instant (RFC 3339).
    pub expiry: Option<String>,
    /// The expiry date in the tenant's zone (`YYYY-MM-DD`).
    pub expiry_date: Option<String>,
    /// Calendar days left (negative when overdue).
    pub days_left: Option<i32>,
    /// Days left as shown: "today", "1 day", "N days", "Nd overdue".
    pub days_left_text: Option<String>,
    /// The simultaneous-call limit.
    pub max_sim_calls: Option<u32>,
    /// Seat usage.
    pub seats: Option<SeatsView>,
    /// The maintenance expiry instant (RFC 3339).
    pub maintenance_expiry: Option<String>,
    /// The maintenance expiry date in the tenant's zone (`YYYY-MM-DD`).
    pub maintenance_date: Option<String>,
    /// Whether maintenance has lapsed (held out of updates).
    pub maintenance_lapsed: bool,
    /// The last successful read, in the tenant's zone.
    pub last_read_at: Option<String>,
    /// The last successful read's instant (RFC 3339).
    pub last_read_instant: Option<String>,
    /// The error of the last attempt, when it failed (the data shown is from the last success).
    pub stale: Option<StaleView>,
    /// The renewal link for the key, from the tenant's template.
    pub renew_url: Option<String>,
}

/// One entry of the expiry calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarEntry {
    /// The instance's id.
    pub instance_id: i64,
    /// Its name.
    pub instance_name: String,
    /// Its customer's name.
    pub customer_name: String,
    /// The PBX's host name.
    pub fqdn: String,
    /// The license key.
    pub license_key: Option<String>,
    /// The expiry date in the tenant's zone.
    pub expiry_date: String,
    /// Calendar days left.
    pub days_left: i32,
    /// Days left as shown.
    pub days_left_text: String,
    /// The band.
    pub band: String,
}

/// One group of the calendar: "Overdue" or a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarGroupView {
    /// "Overdue" or e.g. "June 2026".
    pub heading: String,
    /// Its entries, by date.
    pub entries: Vec<CalendarEntry>,
}

/// Which rows to show.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Only this customer's instances.
    pub customer: Option<String>,
    /// Only this band (`expired`, `critical`, `warning`, `active`, `unknown`).
    pub band: Option<String>,
    /// Free text matched against instance, customer, FQDN, address and key.
    pub q: Option<String>,
}

impl Filter {
    fn customer_id(&self) -> Option<CustomerId> {
        self.customer
            .as_deref()
            .and_then(|c| c.trim().parse().ok())
            .map(CustomerId)
    }

    fn band(&self) -> Option<Band> {
        let wanted = self.band.as_deref()?.trim();
        Band::ALL.into_iter().find(|b| b.as_str() == wanted)
    }

    fn text(&self) -> Option<String> {
        self.q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase)
    }
}

/// The License Status page's data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FleetView {
    /// The counters over the whole fleet (filters do not change them).
    pub counters: Counters,
    /// The rows that pass the filter, in fleet order.
    pub rows: Vec<StatusRow>,
    /// The expiry calendar of those rows.
    pub calendar: Vec<CalendarGroupView>,
    /// The tenant's zone.
    pub zone: String,
    /// Today in that zone.
    pub today: String,
    /// Instances in the fleet, before filtering.
    pub total: usize,
}

/// An instant in the tenant's zone, to the minute.
pub fn local_time(at: Timestamp, zone: &Zone) -> String {
    zone.time_zone()
        .to_datetime(at)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// One row's status and display values.
pub fn status_row(row: &FleetRow, tenant: &Tenant, now: Timestamp) -> (LicenseStatus, StatusRow) {
    let zone = &tenant.settings.zone;
    let facts = row.license.good.as_ref().map(|g| &g.facts);
    let status = LicenseStatus::evaluate(facts, now, zone);
    let instance = &row.instance;
    let seats = facts.and_then(|f| {
        f.seat_usage().map(|usage| SeatsView {
            used: usage.used,
            licensed: usage.licensed.count,
            estimated: usage.licensed.estimated,
            percent: usage.percent(),
            human: f.human_users(),
            ai: f.ai_users,
        })
    });
    let stale = row.license.last_attempt.as_ref().and_then(|attempt| {
        attempt.error.as_ref().map(|err| StaleView {
            kind: err.kind.to_string(),
            message: err.message.clone(),
            at: local_time(attempt.at, zone),
        })
    });
    let renew_url = facts.and_then(|f| {
        f.license_key.as_deref().map(|key| {
            tenant
                .settings
                .renewal_template
                .link(key, f.product_code.as_deref())
        })
    });
    let view = StatusRow {
        instance_id: instance.id.0,
        instance_name: instance.name.clone(),
        customer_id: instance.customer_id.0,
        customer_name: instance.customer_name.clone(),
        fqdn: facts
            .and_then(|f| f.fqdn.clone())
            .or_else(|| instance.base_url.as_ref().map(|u| u.host().to_owned()))
            .unwrap_or_default(),
        manual: instance.login_kind == LoginKind::Manual,
        enabled: instance.enabled,
        edition: facts.map_or_else(|| "Not read yet".to_owned(), |f| f.edition.to_string()),
        license_key: facts.and_then(|f| f.license_key.clone()),
        product_code: facts.and_then(|f| f.product_code.clone()),
        version: facts.and_then(|f| f.version.clone()),
        band: status.band.as_str().to_owned(),
        band_label: status.band.to_string(),
        expiry: facts.and_then(|f| f.expiry).map(|t| t.to_string()),
        expiry_date: status.expiry_date.map(|d| d.to_string()),
        days_left: status.days_left.map(runway_core::DaysLeft::get),
        days_left_text: status.days_left.map(|d| d.to_string()),
        max_sim_calls: facts.and_then(|f| f.max_sim_calls),
        seats,
        maintenance_expiry: facts
            .and_then(|f| f.maintenance_expiry)
            .map(|t| t.to_string()),
        maintenance_date: facts
            .and_then(|f| f.maintenance_expiry)
            .map(|t| zone.date_of(t).to_string()),
        maintenance_lapsed: facts.is_some_and(|f| f.maintenance_lapsed(now)),
        last_read_at: row
            .license
            .good
            .as_ref()
            .map(|g| local_time(g.read_at, zone)),
        last_read_instant: row.license.good.as_ref().map(|g| g.read_at.to_string()),
        stale,
        renew_url,
    };
    (status, view)
}

fn matches(row: &StatusRow, base_url: &str, filter: &Filter) -> bool {
    if filter.customer_id().is_some_and(|c| c.0 != row.customer_id) {
        return false;
    }
    if filter.band().is_some_and(|b| b.as_str() != row.band) {
        return false;
    }
    if let Some(text) = filter.text() {
        let hay = [
            row.instance_name.as_str(),
            row.customer_name.as_str(),
            row.fqdn.as_str(),
            base_url,
            row.license_key.as_deref().unwrap_or(""),
        ];
        if !hay.iter().any(|h| h.to_lowercase().contains(&text)) {
            return false;
        }
    }
    true
}

/// The License Status page's data for the tenant's fleet at `now`.
pub fn fleet_view(
    fleet: &[FleetRow],
    tenant: &Tenant,
    now: Timestamp,
    filter: &Filter,
) -> FleetView {
    let mut all: Vec<(LicenseStatus, StatusRow, &str)> = fleet
        .iter()
        .map(|row| {
            let (status, view) = status_row(row, tenant, now);
            let base_url = row
                .instance
                .base_url
                .as_ref()
                .map_or("", |u| u.url().as_str());
            (status, view, base_url)
        })
        .collect();
    let counters: BandCounts = all.iter().map(|(s, _, _)| s.band).collect();
    all.retain(|(_, row, base_url)| matches(row, base_url, filter));
    sort_fleet(&mut all, |(status, row, _)| FleetSortKey {
        status,
        customer: &row.customer_name,
        instance: &row.instance_name,
    });
    let calendar = expiry_calendar(all.iter(), |(status, _, _)| status)
        .into_iter()
        .map(|group| CalendarGroupView {
            heading: group.heading.to_string(),
            entries: group
                .entries
                .into_iter()
                .filter_map(|(status, row, _)| {
                    Some(CalendarEntry {
                        instance_id: row.instance_id,
                        instance_name: row.instance_name.clone(),
                        customer_name: row.customer_name.clone(),
                        fqdn: row.fqdn.clone(),
                        license_key: row.license_key.clone(),
                        expiry_date: status.expiry_date?.to_string(),
                        days_left: status.days_left?.get(),
                        days_left_text: status.days_left?.to_string(),
                        band: row.band.clone(),
                    })
                })
                .collect(),
        })
        .collect();
    FleetView {
        counters: counters.into(),
        total: fleet.len(),
        rows: all.into_iter().map(|(_, row, _)| row).collect(),
        calendar,
        zone: tenant.settings.zone.name().to_owned(),
        today: tenant.settings.zone.date_of(now).to_string(),
    }
}
