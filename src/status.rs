//! `runway status`, `runway calendar` and `runway export`: the License Status table, the expiry
//! calendar and the export file, in a terminal.
//!
//! They print the view model the page is drawn from (`runway_web::view::fleet_view`), so the
//! terminal shows the page's rows in the page's order with the page's counters. The data comes
//! from the local database, opened read-only beside a running node (no lock, no migration, no
//! write).
//!
//! Exit status: 0, or 1 when `--fail-on BAND` finds a row in that band or a more urgent one,
//! or 2 when the table cannot be read (the reason is on stderr).

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use runway_store::Store;
use runway_web::view::{CalendarGroupView, Filter, FleetView, StatusRow};

use crate::config::{ClockArgs, StoreArgs};
use crate::remote::{Remote, RemoteArgs};

/// Which rows, from where.
#[derive(Debug, Args)]
pub(crate) struct TableArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    clock: ClockArgs,
    /// The tenant, by name or id (needed when the database holds more than one).
    #[arg(long, env = "RUNWAY_TENANT")]
    tenant: Option<String>,
    /// Only this customer's instances, by name or id.
    #[arg(long)]
    customer: Option<String>,
    /// Only rows in this band.
    #[arg(long, value_enum)]
    band: Option<BandArg>,
    /// Only rows whose instance, customer, FQDN, address or key contains this text.
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
}

/// A band, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BandArg {
    Expired,
    Critical,
    Warning,
    Active,
    Unknown,
}

impl BandArg {
    fn as_str(self) -> &'static str {
        match self {
            BandArg::Expired => "expired",
            BandArg::Critical => "critical",
            BandArg::Warning => "warning",
            BandArg::Active => "active",
            BandArg::Unknown => "unknown",
        }
    }
}

/// How urgent `--fail-on` may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// Any expired license.
    Expired,
    /// Any license expired or critical (14 days or fewer).
    Critical,
    /// Any license expired, critical or warning (60 days or fewer).
    Warning,
}

impl FailOn {
    /// The bands that fail.
    fn bands(self) -> &'static [&'static str] {
        match self {
            FailOn::Expired => &["expired"],
            FailOn::Critical => &["expired", "critical"],
            FailOn::Warning => &["expired", "critical", "warning"],
        }
    }
}

/// Print the License Status table: the five counters, then every instance in the page's order
/// (in band colours on a terminal).
///
/// Exit status 0; 1 with `--fail-on` when a row is in that band or a more urgent one; 2 when the
/// table cannot be read.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Print the table as JSON (the export's format) instead.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the table as CSV (the export's format) instead.
    #[arg(long)]
    csv: bool,
    /// Exit with status 1 when any row shown is in this band or a more urgent one.
    #[arg(long, value_enum, value_name = "BAND")]
    fail_on: Option<FailOn>,
}

/// Print the License Expiry Calendar: "Overdue", then each month with its expiries.
#[derive(Debug, Args)]
pub(crate) struct CalendarArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Print the calendar as JSON instead.
    #[arg(long)]
    json: bool,
}

/// Write the license table to a file (or stdout) as CSV or JSON: the page's rows, order and
/// filter; dates in the tenant's zone beside ISO instants.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    table: TableArgs,
    /// The file format.
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
    /// The file to write (it must not exist); stdout when left out.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    Csv,
    Json,
}

/// The exit status when the table could not be read.
const CANNOT_READ: u8 = 2;

pub(crate) async fn run_status(args: StatusArgs) -> ExitCode {
    let fetched = match fetch(&args.table).await {
        Ok(fetched) => fetched,
        Err(err) => return cannot_read(&err),
    };
    let text = if args.json {
        match json(&fetched) {
            Ok(text) => text,
            Err(err) => return cannot_read(&err),
        }
    } else if args.csv {
        match runway_web::export::csv(&fetched.view.rows) {
            Ok(text) => text,
            Err(err) => return cannot_read(&anyhow::Error::new(err)),
        }
    } else {
        table(&fetched, colours())
    };
    print!("{text}");
    let failing = args.fail_on.map_or(0, |fail_on| {
        fetched
            .view
            .rows
            .iter()
            .filter(|row| fail_on.bands().contains(&row.band.as_str()))
            .count()
    });
    if failing > 0 {
        let band = args
            .fail_on
            .and_then(|f| f.to_possible_value())
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default();
        eprintln!(
            "{failing} instance{} {band} or more urgent (--fail-on {band})",
            if failing == 1 { " is" } else { "s are" },
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

pub(crate) async fn run_calendar(args: CalendarArgs) -> ExitCode {
    let fetched = match fetch(&args.table).await {
        Ok(fetched) => fetched,
        Err(err) => return cannot_read(&err),
    };
    let text = if args.json {
        match serde_json::to_string_pretty(&fetched.view.calendar) {
            Ok(text) => text + "\n",
            Err(err) => return cannot_read(&err.into()),
        }
    } else {
        calendar(&fetched.view, colours())
    };
    print!("{text}");
    ExitCode::SUCCESS
}

pub(crate) async fn run_export(args: ExportArgs) -> ExitCode {
    let result = async {
        let fetched = fetch(&args.table).await?;
        let text = match args.format {
            ExportFormat::Csv => runway_web::export::csv(&fetched.view.rows)?,
            ExportFormat::Json => json(&fetched)?,
        };
        match &args.output {
            None => print!("{text}"),
            Some(path) => {
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                std::io::Write::write_all(&mut file, text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!(
                    "wrote {} row{} to {}",
                    fetched.view.rows.len(),
                    if fetched.view.rows.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    path.display()
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => cannot_read(&err),
    }
}

fn cannot_read(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    ExitCode::from(CANNOT_READ)
}

/// The table and where it came from.
struct Fetched {
    tenant_name: String,
    view: FleetView,
    now: jiff::Timestamp,
}

fn json(fetched: &Fetched) -> anyhow::Result<String> {
    let export = runway_web::export::LicenseExport::of(fetched.view.clone(), fetched.now);
    Ok(serde_json::to_string_pretty(&export)? + "\n")
}

/// The tenant's table from the local database, read-only, or from a remote Runway's API.
async fn fetch(args: &TableArgs) -> anyhow::Result<Fetched> {
    if let Some(remote) = args.remote.remote()? {
        return fetch_remote(&remote, args).await;
    }
    let store = runway_store::open_read_only(&args.store.url(), args.store.key()?)
        .await
        .context("cannot open the database")?;
    let fetched = fetch_from(store.as_ref(), args).await;
    store.close().await;
    fetched
}

/// The table of the token's tenant, through the API (the page's view model, as the page has it).
async fn fetch_remote(remote: &Remote, args: &TableArgs) -> anyhow::Result<Fetched> {
    #[derive(serde::Deserialize)]
    struct Me {
        tenant_name: String,
    }
    #[derive(serde::Deserialize)]
    struct Customer {
        id: i64,
        name: String,
    }
    let me: Me = remote.get("/api/v1/me", &[]).await?;
    let mut query = Vec::new();
    if let Some(wanted) = &args.customer {
        let customers: Vec<Customer> = remote.get("/api/v1/customers", &[]).await?;
        let found = customers
            .iter()
            .find(|c| {
                c.id.to_string() == wanted.trim()
                    || c.name.to_lowercase() == wanted.trim().to_lowercase()
            })
            .with_context(|| {
                format!(
                    "{} has no customer {wanted:?}; its customers are: {}",
                    me.tenant_name,
                    names(customers.iter().map(|c| &c.name))
                )
            })?;
        query.push(("customer", found.id.to_string()));
    }
    if let Some(band) = args.band {
        query.push(("band", band.as_str().to_owned()));
    }
    if let Some(q) = &args.search {
        query.push(("q", q.clone()));
    }
    let view: FleetView = remote.get("/api/v1/licenses", &query).await?;
    Ok(Fetched {
        tenant_name: me.tenant_name,
        view,
        now: jiff::Timestamp::now(),
    })
}

/// The tenant named (by name or id), or the only one.
pub(crate) async fn choose_tenant(
    store: &dyn Store,
    wanted: Option<&str>,
) -> anyhow::Result<runway_store::Tenant> {
    let tenants = store.tenants().await?;
    let tenant = match wanted {
        Some(wanted) => tenants
            .iter()
            .find(|t| {
                t.id.0.to_string() == wanted.trim()
                    || t.settings.name.eq_ignore_ascii_case(wanted.trim())
            })
            .with_context(|| {
                format!(
                    "there is no tenant {wanted:?}; the tenants are: {}",
                    names(tenants.iter().map(|t| &t.settings.name))
                )
            })?,
        None => match tenants.as_slice() {
            [only] => only,
            [] => bail!("the database holds no tenant yet: `runway admin init` creates one"),
            _ => bail!(
                "the database holds {} tenants: choose one with --tenant ({})",
                tenants.len(),
                names(tenants.iter().map(|t| &t.settings.name))
            ),
        },
    };
    Ok(tenant.clone())
}

async fn fetch_from(store: &dyn Store, args: &TableArgs) -> anyhow::Result<Fetched> {
    let tenant = &choose_tenant(store, args.tenant.as_deref()).await?;
    let customer = match &args.customer {
        None => None,
        Some(wanted) => {
            let customers = store.customers(tenant.id).await?;
            let found = customers
                .iter()
                .find(|c| {
                    c.id.0.to_string() == wanted.trim()
                        || c.name.to_lowercase() == wanted.trim().to_lowercase()
                })
                .with_context(|| {
                    format!(
                        "{} has no customer {wanted:?}; its customers are: {}",
                        tenant.settings.name,
                        names(customers.iter().map(|c| &c.name))
                    )
                })?;
            Some(found.id.0.to_string())
        }
    };
    let filter = Filter {
        customer,
        band: args.band.map(|b| b.as_str().to_owned()),
        q: args.search.clone(),
    };
    let now = args.clock.clock()?.now();
    let fleet = store.fleet(tenant.id).await?;
    Ok(Fetched {
        tenant_name: tenant.settings.name.clone(),
        view: runway_web::view::fleet_view(&fleet, tenant, now, &filter),
        now,
    })
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = names.map(|n| format!("{n:?}")).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

// ---- the terminal ------------------------------------------------------------------------

/// Whether to colour: stdout is a terminal and `NO_COLOR` is not set (<https://no-color.org>).
fn colours() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The ANSI colour of a band, as the page colours it.
fn band_colour(band: &str) -> &'static str {
    match band {
        "expired" => "\x1b[1;31m",
        "critical" => "\x1b[31m",
        "warning" => "\x1b[33m",
        "active" => "\x1b[32m",
        _ => "\x1b[2m",
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";

fn paint(text: &str, colour: &str, on: bool) -> String {
    if on {
        format!("{colour}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// Columns padded to their widest cell (counted in characters).
struct Columns {
    headers: Vec<&'static str>,
    rows: Vec<(Vec<String>, &'static str)>,
}

impl Columns {
    fn render(&self, out: &mut String, colour: bool) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for (cells, _) in &self.rows {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut line = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    line.push_str(cell);
                } else {
                    let pad = width - cell.chars().count();
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                }
            }
            line.trim_end().to_owned()
        };
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        let _ = writeln!(out, "{}", paint(&line(&header), BOLD, colour));
        for (cells, row_colour) in &self.rows {
            let _ = writeln!(out, "{}", paint(&line(cells), row_colour, colour));
        }
    }
}

fn dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

fn seats(row: &StatusRow) -> String {
    row.seats.as_ref().map_or_else(
        || "—".to_owned(),
        |s| {
            format!(
                "{}/{}{} {}%",
                s.used,
                s.licensed,
                if s.estimated { "*" } else { "" },
                s.percent
            )
        },
    )
}

/// The counters line, then the table.
fn table(fetched: &Fetched, colour: bool) -> String {
    let view = &fetched.view;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} of {} instances · dates in {} · today {}",
        fetched.tenant_name,
        view.rows.len(),
        view.total,
        view.zone,
        view.today
    );
    let c = &view.counters;
    let counters = [
        ("expired", "Expired", c.expired),
        ("critical", "Critical", c.critical),
        ("warning", "Warning", c.warning),
        ("active", "Active", c.active),
        ("unknown", "Unknown", c.unknown),
    ]
    .map(|(band, label, n)| paint(&format!("{label} {n}"), band_colour(band), colour));
    let _ = writeln!(out, "{}\n", counters.join("   "));
    if view.rows.is_empty() {
        let _ = writeln!(out, "No instances match.");
        return out;
    }
    let rows = view
        .rows
        .iter()
        .map(|row| {
            let mut last_read = row.last_read_at.clone().unwrap_or_else(|| "never".into());
            if let Some(stale) = &row.stale {
                let _ = write!(last_read, " (stale: {})", stale.kind);
            }
            let mut status = row.band_label.clone();
            if row.maintenance_lapsed {
                status.push_str(" · no updates");
            }
            let cells = vec![
                row.instance_name.clone(),
                row.customer_name.clone(),
                row.edition.clone(),
                dash(row.license_key.as_deref()),
                status,
                dash(row.expiry_date.as_deref()),
                dash(row.days_left_text.as_deref()),
                dash(row.max_sim_calls),
                seats(row),
                last_read,
            ];
            (cells, band_colour(&row.band))
        })
        .collect();
    Columns {
        headers: vec![
            "INSTANCE",
            "CUSTOMER",
            "EDITION",
            "KEY",
            "STATUS",
            "EXPIRY",
            "DAYS LEFT",
            "CALLS",
            "SEATS",
            "LAST READ",
        ],
        rows,
    }
    .render(&mut out, colour);
    out
}

/// "Overdue", then each month, with its expiries by date.
fn calendar(view: &FleetView, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "License Expiry Calendar · dates in {} · today {}",
        view.zone, view.today
    );
    if view.calendar.is_empty() {
        let _ = writeln!(out, "\nNo expiries on record.");
    }
    // One set of columns across every group, so the months line up.
    let rows = view
        .calendar
        .iter()
        .flat_map(|group| &group.entries)
        .map(|e| {
            let cells = vec![
                e.expiry_date.clone(),
                e.days_left_text.clone(),
                e.instance_name.clone(),
                e.customer_name.clone(),
                dash(e.license_key.as_deref()),
            ];
            (cells, band_colour(&e.band))
        })
        .collect();
    let mut lines = String::new();
    Columns {
        headers: vec!["DATE", "DAYS LEFT", "INSTANCE", "CUSTOMER", "KEY"],
        rows,
    }
    .render(&mut lines, colour);
    // The header row is left out: each group's heading says what follows.
    let mut lines = lines.lines().skip(1);
    for CalendarGroupView { heading, entries } in &view.calendar {
        let _ = writeln!(out, "\n{}", paint(heading, BOLD, colour));
        for line in lines.by_ref().take(entries.len()) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}
