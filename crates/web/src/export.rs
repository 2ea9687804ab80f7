//! The license table as a file: CSV for spreadsheets, JSON for scripts. Both hold the rows of
//! [`FleetView`] — the screen's rows, in the screen's order, after the screen's filter — so an
//! export never disagrees with what the page shows.
//!
//! The CSV is UTF-8 with a byte-order mark (so Excel reads it as UTF-8, and LibreOffice and
//! Google Sheets ignore the mark), CRLF line ends and a header row. Dates are the tenant's civil
//! dates (`expiry`, `maintenance`, `last_read`), each beside its ISO 8601 instant
//! (`expiry_at`, …). A text cell that a spreadsheet would run as a formula (it starts with `=`,
//! `+`, `-`, `@`, a tab or a carriage return) is written with a leading `'`, which spreadsheets
//! show as text; `runway import` takes that mark off again.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::view::{Counters, FleetView, StatusRow};

/// The columns of the CSV export, in order. Names shared with the import mean the same there.
pub const CSV_COLUMNS: [&str; 25] = [
    "customer",
    "instance",
    "fqdn",
    "edition",
    "license_key",
    "product_code",
    "version",
    "band",
    "expiry",
    "expiry_at",
    "days_left",
    "maintenance",
    "maintenance_at",
    "maintenance_lapsed",
    "call_limit",
    "users_used",
    "users_licensed",
    "users_licensed_estimated",
    "seats_percent",
    "last_read",
    "last_read_at",
    "read_error",
    "renew_url",
    "manual",
    "enabled",
];

/// The byte-order mark the CSV starts with.
pub const UTF8_BOM: &str = "\u{feff}";

/// The JSON export: the rows with the counters, the zone their dates are in and when it was made.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LicenseExport {
    /// When the export was made (RFC 3339).
    pub exported_at: String,
    /// The tenant's zone, which the civil dates are in.
    pub zone: String,
    /// Today in that zone.
    pub today: String,
    /// The counters over the whole fleet.
    pub counters: Counters,
    /// The rows that pass the filter, in fleet order.
    pub rows: Vec<StatusRow>,
}

impl LicenseExport {
    /// The export of a view made at `now`.
    pub fn of(view: FleetView, now: Timestamp) -> LicenseExport {
        LicenseExport {
            exported_at: now.round(jiff::Unit::Second).unwrap_or(now).to_string(),
            zone: view.zone,
            today: view.today,
            counters: view.counters,
            rows: view.rows,
        }
    }
}

/// Text as a spreadsheet shows it, never as a formula it runs.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn opt_text(value: Option<&str>) -> String {
    value.map(text).unwrap_or_default()
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn cells(row: &StatusRow) -> [String; CSV_COLUMNS.len()] {
    let seats = row.seats.as_ref();
    [
        text(&row.customer_name),
        text(&row.instance_name),
        text(&row.fqdn),
        text(&row.edition),
        opt_text(row.license_key.as_deref()),
        opt_text(row.product_code.as_deref()),
        opt_text(row.version.as_deref()),
        row.band.clone(),
        opt(row.expiry_date.as_deref()),
        opt(row.expiry.as_deref()),
        opt(row.days_left),
        opt(row.maintenance_date.as_deref()),
        opt(row.maintenance_expiry.as_deref()),
        row.maintenance_lapsed.to_string(),
        opt(row.max_sim_calls),
        opt(seats.map(|s| s.used)),
        opt(seats.map(|s| s.licensed)),
        opt(seats.map(|s| s.estimated)),
        opt(seats.map(|s| s.percent)),
        opt(row.last_read_at.as_deref()),
        opt(row.last_read_instant.as_deref()),
        opt_text(row.stale.as_ref().map(|s| s.message.as_str())),
        opt_text(row.renew_url.as_deref()),
        row.manual.to_string(),
        row.enabled.to_string(),
    ]
}

/// The rows as CSV: the byte-order mark, the header ([`CSV_COLUMNS`]), one line per row.
pub fn csv(rows: &[StatusRow]) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(UTF8_BOM.as_bytes().to_vec());
    writer.write_record(CSV_COLUMNS)?;
    for row in rows {
        writer.write_record(cells(row))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| csv::Error::from(err.into_error()))?;
    // Every cell is a `String`, so the bytes are UTF-8.
    String::from_utf8(bytes).map_err(|err| csv::Error::from(std::io::Error::other(err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_marked_as_text() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-rm"), "'-rm");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("Acme = good"), "Acme = good");
        assert_eq!(text(""), "");
    }
}
