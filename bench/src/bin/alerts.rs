//! The periodic alert tick (`Alerts::evaluate_alerts`) over a large fleet: the first tick that
//! fires every due reminder and queues its outbox rows, a steady tick where nothing changes,
//! and the tick at the next local midnight that fires the next milestones. Prints each tick's
//! wall time, CPU time and peak memory. See BENCHMARKS.md for how it is run and what it
//! measured.
//!
//! The fleet is made through the store's public API (see `runway_bench::fleet`): instances,
//! then one reading each with `Licenses::record_reading`, which evaluates the instance's alerts
//! in its own transaction. So that the first tick is the one that fires (and the loading is not
//! measured), the tenants load with their reminders off (no milestones, no lapse alert) and
//! are then switched to the product's default 10/3/1-day reminders with
//! `Tenants::update_tenant` — what an MSP does when it turns reminders on, or what a node
//! finds after an outage. Time is simulated: every instant is a parameter, so the ticks run at
//! chosen instants (by default 20:00 local, then 00:00 local on the next day).
//!
//! SQLite always (unless `--no-sqlite`); PostgreSQL too with `--postgres-url`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Span, Timestamp};
use runway_bench::fleet::{self, Planned, PlannedLicense};
use runway_bench::{BenchDb, Measured, load_average, measure, mib, peak_rss, run_on_runtime};
use runway_core::{BandCounts, LicenseStatus, ReminderInput, ReminderPolicy, Stage, Zone};
use runway_store::{
    AlertsChanged, ChannelKind, ChannelSettings, NewChannel, Store, TenantId, TenantSettings,
};

#[derive(Debug, Parser)]
#[command(about = "Measure the periodic alert tick over a large fleet")]
struct Args {
    /// Instances in all, split evenly between the tenants.
    #[arg(long, default_value_t = 100_000)]
    instances: usize,
    /// Tenants (MSPs).
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Instances per customer.
    #[arg(long, default_value_t = 100)]
    per_customer: usize,
    /// The tenants' IANA zone.
    #[arg(long, default_value = "America/New_York")]
    zone: String,
    /// The first tick's local date and time in that zone.
    #[arg(long, default_value = "2026-12-01T20:00")]
    now: String,
    /// Instances loaded at once.
    #[arg(long, default_value_t = 8)]
    load_concurrency: usize,
    /// Steady ticks (nothing changes) after the first and after the midnight tick.
    #[arg(long, default_value_t = 3)]
    steady: usize,
    /// Also on PostgreSQL: an admin URL; the benchmark creates (and drops) its own database.
    #[arg(long, env = "RUNWAY_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip SQLite (with --postgres-url).
    #[arg(long)]
    no_sqlite: bool,
    /// Leave the databases in place afterwards (to look into them, e.g. with EXPLAIN).
    #[arg(long)]
    keep_db: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    run_on_runtime(run(&args))
}

async fn run(args: &Args) -> Result<()> {
    let zone = Zone::parse(&args.zone).map_err(|e| anyhow::anyhow!("--zone: {e}"))?;
    let now = zone.time_zone().to_timestamp(
        DateTime::from_str(&args.now)
            .context("--now is a local date and time such as 2026-12-01T20:00")?,
    )?;
    let plan = FleetPlan::new(args, &zone, now)?;
    plan.print(args, &zone, now);
    let mut ok = true;
    if !args.no_sqlite {
        let mut db = BenchDb::sqlite().await?;
        ok &= bench(args, &plan, &db, &zone, now).await?;
        keep(args, &mut db);
    }
    if let Some(url) = &args.postgres_url {
        let mut db = BenchDb::postgres(url).await?;
        ok &= bench(args, &plan, &db, &zone, now).await?;
        keep(args, &mut db);
    }
    if !ok {
        bail!("a tick did not change what the reminder rules expect (see MISMATCH above)");
    }
    Ok(())
}

/// With `--keep-db`, leaves the database in place and says where it is.
fn keep(args: &Args, db: &mut BenchDb) {
    if args.keep_db {
        let backend = db.backend;
        println!("kept the {backend:?} database: {}", db.keep());
    }
}

/// The fleet of every tenant (the same plan for each), and what the rules expect of it.
struct FleetPlan {
    per_tenant: Vec<Planned>,
    customers: usize,
    /// Per instance, its expiry date in the zone (if any), to work out what should fire.
    expiry_dates: Vec<Option<Date>>,
    /// Instances whose last read is older than the "not read" limit.
    stale: usize,
}

/// One share of the fleet.
struct Share {
    /// Percent of the instances (by instance number modulo 100).
    percent: usize,
    /// What it is, as printed.
    what: &'static str,
    /// The range of days left of its licenses at the first tick; `None`: no expiry date.
    days_left: Option<(i64, i64)>,
    /// When it was last read.
    read: LastRead,
}

/// When a share of the fleet was last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LastRead {
    /// Never: no license on record.
    Never,
    /// An hour before the first tick.
    Recently,
    /// 48 hours before it, past the tenant's 24 h "not read" limit (always polled instances).
    LongAgo,
}

/// The mix of the fleet; the percentages add up to 100.
const MIX: [Share; 7] = [
    Share {
        percent: 4,
        what: "never read (unknown)",
        days_left: None,
        read: LastRead::Never,
    },
    Share {
        percent: 4,
        what: "read, no expiry date (unknown)",
        days_left: None,
        read: LastRead::Recently,
    },
    Share {
        percent: 6,
        what: "lapsed, 1–60 days ago",
        days_left: Some((-60, -1)),
        read: LastRead::Recently,
    },
    Share {
        percent: 24,
        what: "in the reminder window, 0–10 days",
        days_left: Some((0, 10)),
        read: LastRead::Recently,
    },
    Share {
        percent: 8,
        what: "next to enter it, 11–14 days",
        days_left: Some((11, 14)),
        read: LastRead::Recently,
    },
    Share {
        percent: 53,
        what: "far away, 15–400 days",
        days_left: Some((15, 400)),
        read: LastRead::Recently,
    },
    Share {
        percent: 1,
        what: "far away, last read 48 h ago (not read)",
        days_left: Some((15, 400)),
        read: LastRead::LongAgo,
    },
];

/// The share of the `i`-th instance.
fn share(i: usize) -> &'static Share {
    let mut bucket = i % 100;
    for share in &MIX {
        if bucket < share.percent {
            return share;
        }
        bucket -= share.percent;
    }
    &MIX[MIX.len() - 1]
}

/// A well-spread hash of an instance number (splitmix64), for its days left and login kind.
fn spread(n: usize) -> u64 {
    let mut x = (n as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl FleetPlan {
    fn new(args: &Args, zone: &Zone, now: Timestamp) -> Result<FleetPlan> {
        if args.tenants == 0 || args.instances < args.tenants {
            bail!("--instances must be at least --tenants, and --tenants at least 1");
        }
        let count = args.instances / args.tenants;
        let today = zone.date_of(now);
        let read_at = now - SignedDuration::from_hours(1);
        let stale_at = now - SignedDuration::from_hours(48);
        let mut per_tenant = Vec::with_capacity(count);
        let mut expiry_dates = Vec::with_capacity(count);
        let mut stale = 0;
        for i in 0..count {
            let share = share(i);
            let hash = spread(i);
            // One in ten is a manual instance (licenses typed in), except those read long
            // ago, which are polled so that they raise "not read".
            let polled = share.read == LastRead::LongAgo || !hash.is_multiple_of(10);
            let expiry_date = share
                .days_left
                .map(|(lo, hi)| {
                    let span = u64::try_from(hi - lo + 1).unwrap_or(1);
                    let offset = i64::try_from((hash >> 8) % span).unwrap_or(0);
                    today.checked_add(Span::new().days(lo + offset))
                })
                .transpose()?;
            let expiry = expiry_date
                .map(|d| zone.time_zone().to_timestamp(d.at(12, 0, 0, 0)))
                .transpose()?;
            let license = match share.read {
                LastRead::Never => PlannedLicense::NeverRead,
                LastRead::Recently => PlannedLicense::Read { read_at, expiry },
                LastRead::LongAgo => PlannedLicense::Read {
                    read_at: stale_at,
                    expiry,
                },
            };
            stale += usize::from(share.read == LastRead::LongAgo);
            per_tenant.push(Planned {
                customer: i / args.per_customer.max(1),
                name: format!("pbx-{i:06}"),
                polled,
                license,
            });
            expiry_dates.push(expiry_date);
        }
        Ok(FleetPlan {
            customers: count.div_ceil(args.per_customer.max(1)),
            per_tenant,
            expiry_dates,
            stale,
        })
    }

    fn print(&self, args: &Args, zone: &Zone, now: Timestamp) {
        println!(
            "fleet: {} tenant(s) x {} instances ({} customers per tenant) in {}; first tick at {}",
            args.tenants,
            self.per_tenant.len(),
            self.customers,
            zone.name(),
            now.to_zoned_datetime(zone.time_zone().clone())
        );
        for share in &MIX {
            println!("  {:>3}% {}", share.percent, share.what);
        }
        let polled = self.per_tenant.iter().filter(|p| p.polled).count();
        let mut bands = BandCounts::default();
        for (i, p) in self.per_tenant.iter().enumerate() {
            let facts = p.license.facts(&fleet::license_key(TenantId(0), i));
            bands.add(LicenseStatus::evaluate(facts.as_ref(), now, zone).band);
        }
        println!(
            "  per tenant: {polled} polled, {} manual; bands expired {}, critical {}, warning {}, \
             active {}, unknown {}",
            self.per_tenant.len() - polled,
            bands.expired,
            bands.critical,
            bands.warning,
            bands.active,
            bands.unknown
        );
    }

    /// What the default reminder policy fires and skips for one tenant at the first tick
    /// (`today`) and at the next day's (`tomorrow`), by the rules of `runway-core`.
    fn expected(&self, today: Date, tomorrow: Date) -> (AlertsChanged, AlertsChanged) {
        let policy = ReminderPolicy::default();
        let mut first = AlertsChanged {
            fired: self.stale as u64,
            ..AlertsChanged::default()
        };
        let mut next = AlertsChanged::default();
        for expiry_date in self.expiry_dates.iter().copied().flatten() {
            let input = |today, done| ReminderInput {
                expiry_date: Some(expiry_date),
                today,
                done,
                open_series: &[],
            };
            let decision = policy.evaluate(&input(today, &[]));
            let mut done: Vec<Stage> = decision.skip.iter().map(|d| Stage::Milestone(*d)).collect();
            first.skipped += decision.skip.len() as u64;
            if let Some(fire) = decision.fire {
                first.fired += 1;
                done.push(fire.stage);
            }
            let later = policy.evaluate(&input(tomorrow, &done));
            next.skipped += later.skip.len() as u64;
            next.fired += u64::from(later.fire.is_some());
        }
        (first, next)
    }
}

/// Loads the fleet on one backend and measures the ticks; `false` if a tick did not change
/// what the rules expect.
async fn bench(
    args: &Args,
    plan: &FleetPlan,
    db: &BenchDb,
    zone: &Zone,
    now: Timestamp,
) -> Result<bool> {
    let store = &db.store;
    let backend = format!("{:?}", db.backend);
    println!(
        "\n== {backend} == (load average {})",
        load_average().unwrap_or_default()
    );
    let started = Instant::now();
    let tenants = load(args, plan, store, zone, now).await?;
    let loaded = started.elapsed();
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let rate = (plan.per_tenant.len() * tenants.len()) as f64 / loaded.as_secs_f64();
    println!(
        "loaded {} instances in {:.1} s ({rate:.0} instances/s, each created and its license \
         recorded); resident {}",
        plan.per_tenant.len() * tenants.len(),
        loaded.as_secs_f64(),
        mib(peak_rss().unwrap_or_default())
    );

    let today = zone.date_of(now);
    let tomorrow = today.tomorrow()?;
    let midnight = zone
        .time_zone()
        .to_timestamp(tomorrow.to_datetime(Time::midnight()))?;
    // Every tenant has the same fleet: the rules expect the same of each.
    let (first, next) = plan.expected(today, tomorrow);
    let tenant_count = tenants.len() as u64;
    let all = |one: AlertsChanged| AlertsChanged {
        fired: one.fired * tenant_count,
        skipped: one.skipped * tenant_count,
        resolved: one.resolved * tenant_count,
    };
    let (first_expected, next_expected) = (all(first), all(next));
    println!(
        "load average before the ticks {}",
        load_average().unwrap_or_default()
    );
    println!(
        "{:<40} {:>9} {:>9} {:>11} {:>7} {:>7} {:>8} {:>8}",
        "tick", "wall", "cpu", "peak mem", "fired", "skipped", "resolved", "outbox+"
    );
    let mut ok = true;
    ok &= tick(
        store,
        "first tick (fires, queues outbox)",
        now,
        first_expected,
    )
    .await?;
    for n in 1..=args.steady {
        let at = now + SignedDuration::from_mins(5 * i64::try_from(n)?);
        ok &= tick(
            store,
            "steady tick (nothing changes)",
            at,
            AlertsChanged::default(),
        )
        .await?;
    }
    ok &= tick(
        store,
        "next local midnight (next milestones)",
        midnight,
        next_expected,
    )
    .await?;
    for n in 1..=args.steady {
        let at = midnight + SignedDuration::from_mins(5 * i64::try_from(n)?);
        ok &= tick(
            store,
            "steady tick after midnight",
            at,
            AlertsChanged::default(),
        )
        .await?;
    }
    Ok(ok)
}

/// Creates the tenants with reminders off, their Log channel, customers and fleet, then turns
/// the default reminders on; returns the tenants.
async fn load(
    args: &Args,
    plan: &FleetPlan,
    store: &Arc<dyn Store>,
    zone: &Zone,
    now: Timestamp,
) -> Result<Vec<TenantId>> {
    let mut tenants = Vec::with_capacity(args.tenants);
    for n in 0..args.tenants {
        let mut settings = TenantSettings::new(format!("Bench MSP {}", n + 1));
        settings.zone = zone.clone();
        settings.reminders = ReminderPolicy::new(Vec::new(), false)?;
        let tenant = store.create_tenant(&settings).await?.id;
        store
            .create_channel(
                tenant,
                &NewChannel {
                    name: "log".to_owned(),
                    kind: ChannelKind::Log,
                    settings: ChannelSettings::default(),
                    secret: None,
                },
                now,
            )
            .await?;
        let customers = fleet::create_customers(&**store, tenant, plan.customers).await?;
        eprintln!(
            "loading {} instances into tenant {}…",
            plan.per_tenant.len(),
            tenant.0
        );
        let created_at = now - SignedDuration::from_hours(1);
        fleet::load(
            store,
            tenant,
            &customers,
            &plan.per_tenant,
            created_at,
            args.load_concurrency,
        )
        .await?;
        settings.reminders = ReminderPolicy::default();
        store.update_tenant(tenant, &settings).await?;
        tenants.push(tenant);
    }
    Ok(tenants)
}

/// One measured tick; prints its line and whether it changed what was expected.
async fn tick(
    store: &Arc<dyn Store>,
    label: &str,
    at: Timestamp,
    expected: AlertsChanged,
) -> Result<bool> {
    let before = outbox_rows(store, at).await?;
    let (changed, measured): (_, Measured) = measure(store.evaluate_alerts(at)).await;
    let changed = changed?;
    let queued = outbox_rows(store, at).await? - before;
    let ms = |d: std::time::Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!(
        "{label:<40} {:>9} {:>9} {:>11} {:>7} {:>7} {:>8} {:>8}",
        ms(measured.wall),
        ms(measured.cpu),
        mib(measured.peak),
        changed.fired,
        changed.skipped,
        changed.resolved,
        queued
    );
    // One Log channel and no routing rules: every alert that fires queues one row.
    let ok = changed == expected && queued == i64::try_from(changed.fired)?;
    if !ok {
        println!(
            "  MISMATCH: expected fired {}, skipped {}, resolved 0, and one outbox row per fired",
            expected.fired, expected.skipped
        );
    }
    Ok(ok)
}

/// Outbox rows waiting (none is sent: no worker runs).
async fn outbox_rows(store: &Arc<dyn Store>, at: Timestamp) -> Result<i64> {
    let depth = store.outbox_depth(at).await?;
    Ok(i64::try_from(depth.due + depth.waiting + depth.failed)?)
}
