//! A CSV import (`runway_web::import::run`, what the Import page, `POST /api/v1/import` and
//! `runway import` all call): a spreadsheet of manual instances with the quirks the importer
//! reads (a byte-order mark, `;` separators, CRLF, quoted names, trailing empty columns, blank
//! rows, ISO, Excel-serial, day-first and slashed dates; see `runway_web::import::sample_file`),
//! checked as a dry run, committed in one transaction through the engine's recording path
//! (alerts evaluated per license), and imported again unchanged. Prints each phase's wall
//! time, CPU time and peak memory. See BENCHMARKS.md.
//!
//! SQLite always (unless `--no-sqlite`); PostgreSQL too with `--postgres-url`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Parser;
use runway_bench::{BenchDb, load_average, measure, run_on_runtime};
use runway_clock::SystemClock;
use runway_engine::{Engine, EngineConfig};
use runway_store::TenantSettings;

#[derive(Debug, Parser)]
#[command(about = "Measure a CSV import: dry run, commit, and the same file again")]
struct Args {
    /// Rows in the file (one manual instance each, over 50 customers).
    #[arg(long, default_value_t = 2_000)]
    rows: usize,
    /// Also on PostgreSQL: an admin URL; the benchmark creates (and drops) its own database.
    #[arg(long, env = "RUNWAY_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip SQLite (with --postgres-url).
    #[arg(long)]
    no_sqlite: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    run_on_runtime(run(&args))
}

async fn run(args: &Args) -> Result<()> {
    let file = runway_web::import::sample_file(args.rows, jiff::civil::date(2027, 1, 13));
    println!(
        "{} rows, {:.1} KiB; load average {}",
        args.rows,
        f64::from(u32::try_from(file.len()).unwrap_or(u32::MAX)) / 1024.0,
        load_average().unwrap_or_default()
    );
    if !args.no_sqlite {
        import_on(BenchDb::sqlite().await?, &file, args.rows).await?;
    }
    if let Some(url) = &args.postgres_url {
        import_on(BenchDb::postgres(url).await?, &file, args.rows).await?;
    }
    Ok(())
}

async fn import_on(db: BenchDb, file: &[u8], rows: usize) -> Result<()> {
    let store = Arc::clone(&db.store);
    let mut settings = TenantSettings::new("Bench MSP");
    settings.zone = runway_core::Zone::parse("America/New_York")?;
    let tenant = store.create_tenant(&settings).await?;
    let engine = Engine::new(
        Arc::clone(&store),
        Arc::new(SystemClock),
        EngineConfig::default(),
    );
    println!("{:?}:", db.backend);
    let (report, measured) = measure(runway_web::import::run(&engine, &tenant, file, true)).await;
    let report = report.map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.error.is_some() || report.preview.create != rows {
        bail!(
            "the dry run did not plan {rows} creations: {:?}",
            report.error
        );
    }
    println!("  dry run (check every row):        {measured}");
    let (report, measured) = measure(runway_web::import::run(&engine, &tenant, file, false)).await;
    let report = report.map_err(|e| anyhow::anyhow!("{e}"))?;
    if !report.committed || report.licenses_recorded != rows {
        bail!(
            "the import did not commit {rows} licenses: {:?}",
            report.error
        );
    }
    println!("  import (check + one transaction): {measured}");
    let (report, measured) = measure(runway_web::import::run(&engine, &tenant, file, false)).await;
    let report = report.map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.preview.unchanged != rows {
        bail!("the second import was not all unchanged");
    }
    println!("  the same file again (unchanged):  {measured}");
    drop(engine);
    store.close().await;
    drop(db);
    Ok(())
}
