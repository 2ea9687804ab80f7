//! Polls a simulated fleet end to end and prints reads per second, CPU time per read, peak
//! memory and the slowest reads. See BENCHMARKS.md for how it is run and what it measured.
//!
//! The simulator runs as a separate process (`runway-sim`, built next to this binary) with one
//! port per PBX, like a real fleet where every PBX is its own host, so this process's memory
//! and CPU are Runway's alone.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use runway_bench::{cpu_time, fresh_db, mib, peak_rss, percentile, reset_peak_rss, run_on_runtime};
use runway_clock::SystemClock;
use runway_engine::{Engine, EngineConfig};
use runway_sim::{FleetSpec, Latency};
use runway_sim_fleet::load_fleet;
use runway_store::TenantSettings;
use runway_threecx::ReadLimits;

#[derive(Debug, Parser)]
#[command(about = "Poll a simulated fleet and measure the engine")]
struct Args {
    /// PBXs in the fleet.
    #[arg(long, default_value_t = 1000)]
    pbxs: usize,
    /// `http` or `https`.
    #[arg(long, default_value = "https")]
    scheme: String,
    /// `sqlite` or `postgres` (needs RUNWAY_TEST_POSTGRES_URL, an admin URL).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Reads at once (default: the engine's default).
    #[arg(long, default_value_t = runway_engine::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Share of faulty PBXs, in percent.
    #[arg(long, default_value_t = 2.0)]
    faulty_percent: f64,
    /// Latency of every answer, ms or MIN..MAX.
    #[arg(long, default_value = "20..200")]
    latency: String,
    /// Timeout of one read, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// The fleet's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    run_on_runtime(run(&args))
}

/// The simulator process, stopped when dropped.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run(args: &Args) -> Result<()> {
    let https = match args.scheme.as_str() {
        "https" => true,
        "http" => false,
        other => bail!("--scheme must be http or https, not {other:?}"),
    };
    let work = std::env::temp_dir().join(format!("runway-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let spec = FleetSpec {
        count: args.pbxs,
        faulty_percent: args.faulty_percent,
        latency: Latency::parse(&args.latency).map_err(|e| anyhow::anyhow!("--latency: {e}"))?,
        seed: args.seed,
    };
    let file = runway_sim::generate(&spec);
    let scenario_path = work.join("fleet.toml");
    std::fs::write(&scenario_path, file.to_toml().map_err(anyhow::Error::msg)?)?;
    let now = jiff::Timestamp::now();
    let scenario = file
        .resolve("fleet.toml", now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    eprintln!(
        "starting runway-sim with {} PBXs, one port each…",
        args.pbxs
    );
    let ca_path = work.join("ca.pem");
    let (sim, urls) = start_sim(&scenario_path, &ca_path, https)?;
    let ca_pem = https
        .then(|| std::fs::read_to_string(&ca_path))
        .transpose()?;

    let (backend, db) = fresh_db(&args.backend).await?;
    let tenant = db
        .store
        .create_tenant(&TenantSettings::new("Bench MSP"))
        .await?
        .id;
    eprintln!("loading {} instances into {:?}…", args.pbxs, backend);
    let url_of = |id: &str| urls.get(id).cloned();
    load_fleet(
        &*db.store,
        tenant,
        &scenario,
        &url_of,
        ca_pem.as_deref(),
        now,
    )
    .await?;

    let engine = Engine::new(
        Arc::clone(&db.store),
        Arc::new(SystemClock),
        EngineConfig {
            concurrency: args.concurrency,
            read_limits: ReadLimits {
                timeout: Duration::from_secs(args.timeout),
                ..ReadLimits::default()
            },
            network: runway_threecx::NetworkPolicy::allowing_loopback(),
            ..EngineConfig::default()
        },
    );
    eprintln!("polling…");
    reset_peak_rss();
    let cpu_before = cpu_time().unwrap_or_default();
    let started = Instant::now();
    let report = engine.run_due().await;
    let wall = started.elapsed();
    let cpu = cpu_time().unwrap_or_default().saturating_sub(cpu_before);
    let peak = peak_rss().unwrap_or_default();
    drop(sim);

    let mut durations = Vec::with_capacity(args.pbxs);
    for instance in db.store.instances(tenant).await? {
        for attempt in db.store.attempts(tenant, instance.id, 1).await? {
            durations.push(attempt.duration);
        }
    }
    durations.sort_unstable();
    print_figures(args, &report, wall, cpu, peak, &durations);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Prints what the run measured.
fn print_figures(
    args: &Args,
    report: &runway_engine::CycleReport,
    wall: Duration,
    cpu: Duration,
    peak: u64,
    durations: &[Duration],
) {
    let reads = report.reads();
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let per_second = reads as f64 / wall.as_secs_f64();
    let cpu_per_read = cpu / u32::try_from(reads.max(1)).unwrap_or(u32::MAX);
    println!(
        "fleet {} PBXs over {} ({}% faulty, latency {} ms) into {} with concurrency {}",
        args.pbxs, args.scheme, args.faulty_percent, args.latency, args.backend, args.concurrency
    );
    println!(
        "reads {reads} ({} ok, {} failed, {} not recorded) in {:.1} s: {per_second:.0} reads/s",
        report.succeeded,
        report.failed,
        report.not_recorded,
        wall.as_secs_f64()
    );
    println!(
        "cpu {:.1} s in all, {:.2} ms per read; peak memory {}",
        cpu.as_secs_f64(),
        cpu_per_read.as_secs_f64() * 1000.0,
        mib(peak)
    );
    println!(
        "read time p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        percentile(durations, 50.0),
        percentile(durations, 90.0),
        percentile(durations, 99.0),
        durations.last().copied().unwrap_or_default()
    );
    let slowest: Vec<String> = report
        .slowest
        .iter()
        .map(|(id, took)| format!("#{} {:.1} s", id.0, took.as_secs_f64()))
        .collect();
    println!("slowest: {}", slowest.join(", "));
}

/// Starts `runway-sim` (next to this binary) and reads each PBX's address from its listing.
fn start_sim(
    scenario: &std::path::Path,
    ca_out: &std::path::Path,
    https: bool,
) -> Result<(Sim, HashMap<String, String>)> {
    let exe = std::env::current_exe()?
        .parent()
        .context("the benchmark's directory")?
        .join("runway-sim");
    let mut command = Command::new(&exe);
    command
        .arg("--scenario")
        .arg(scenario)
        .arg("--per-port")
        .arg("--ca-out")
        .arg(ca_out)
        .arg(if https { "--no-http" } else { "--no-https" })
        .stdout(Stdio::piped());
    let mut child = command.spawn().with_context(|| {
        format!(
            "cannot start {} (build it: cargo build --release -p runway-sim)",
            exe.display()
        )
    })?;
    let stdout = child.stdout.take().context("runway-sim's output")?;
    let sim = Sim(child);
    let mut urls = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.starts_with("runway-sim: ") {
            return Ok((sim, urls));
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [id, _version, _kind, url, ..] = fields.as_slice() {
            urls.insert((*id).to_owned(), (*url).to_owned());
        }
    }
    bail!("runway-sim stopped before it served the fleet")
}
