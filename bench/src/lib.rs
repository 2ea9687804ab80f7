//! # runway-bench: measuring Runway on this machine
//!
//! Benchmarks are programs, not timed tests: they print their figures, and `BENCHMARKS.md`
//! records them with the command and the machine. This library holds what every benchmark
//! measures with: CPU time and peak memory of the process (from `/proc`, Linux only), one
//! measured phase ([`measure`]), percentiles, and a store on a fresh database ([`fresh_db`]
//! through the test kit, or [`BenchDb`] from a `--postgres-url`).

pub mod fleet;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use runway_store::{OpenOptions, SecretKey, Store};
use runway_testkit::{Backend, TestDb};

/// Runs a benchmark's `main` on a multi-threaded runtime, as `runway serve` does.
pub fn run_on_runtime(benchmark: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    // Process-wide set-up belongs to the binary: one TLS provider (ring) for every client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(benchmark)
}

/// A fresh database for `--backend sqlite|postgres` (PostgreSQL needs
/// `RUNWAY_TEST_POSTGRES_URL`, an admin URL), dropped with the returned `TestDb`.
pub async fn fresh_db(backend: &str) -> anyhow::Result<(Backend, TestDb)> {
    let backend = match backend {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => bail!("--backend must be sqlite or postgres, not {other:?}"),
    };
    let db = TestDb::new(backend)
        .await
        .context("set RUNWAY_TEST_POSTGRES_URL to an admin URL for --backend postgres")?;
    Ok((backend, db))
}

/// CPU time (user + system) this process has used so far; `None` off Linux.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, which is 100 on every Linux Runway runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// The process's peak resident memory (VmHWM) in bytes; `None` off Linux.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The 1, 5 and 15-minute load averages (`/proc/loadavg`), to show what else the machine was
/// running; `None` off Linux.
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Resets the peak-memory mark to the current use, so a measurement leaves out the set-up.
pub fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM (Linux 4.0+); without it the peak includes set-up.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The `p`-th percentile (0–100) of sorted values, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank within a slice's length"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What one measured phase cost: wall time, CPU time of this process (the database server's
/// is not in it) and this process's peak resident memory during the phase.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Wall time.
    pub wall: Duration,
    /// CPU time (user + system) of this process.
    pub cpu: Duration,
    /// Peak resident memory (VmHWM, reset when the phase began).
    pub peak: u64,
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.3} s wall, {:.3} s cpu, peak {}",
            self.wall.as_secs_f64(),
            self.cpu.as_secs_f64(),
            mib(self.peak)
        )
    }
}

/// Runs one phase and measures it: the peak-memory mark is reset first, so the peak is the
/// phase's own (plus whatever was resident when it began).
pub async fn measure<T>(phase: impl Future<Output = T>) -> (T, Measured) {
    reset_peak_rss();
    let cpu_before = cpu_time().unwrap_or_default();
    let started = Instant::now();
    let out = phase.await;
    let wall = started.elapsed();
    let measured = Measured {
        wall,
        cpu: cpu_time().unwrap_or_default().saturating_sub(cpu_before),
        peak: peak_rss().unwrap_or_default(),
    };
    (out, measured)
}

/// A store on a fresh database for one benchmark run: a SQLite file in a temporary directory,
/// or a new database on a PostgreSQL server given by an admin URL (`--postgres-url`), removed
/// with the value.
pub struct BenchDb {
    /// The store, open (dropped before its database).
    pub store: Arc<dyn Store>,
    /// Which backend.
    pub backend: runway_store::Backend,
    dir: Option<tempfile::TempDir>,
    postgres: Option<PgDatabase>,
}

impl std::fmt::Debug for BenchDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchDb")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl BenchDb {
    /// Leaves the database in place when this value is dropped, to look into it afterwards;
    /// returns where it is (the SQLite file's path, or the PostgreSQL database's name).
    pub fn keep(&mut self) -> String {
        if let Some(dir) = &mut self.dir {
            dir.disable_cleanup(true);
            return dir.path().join("runway.db").display().to_string();
        }
        match &mut self.postgres {
            Some(database) => {
                database.keep = true;
                database.name.clone()
            }
            None => String::new(),
        }
    }

    /// A SQLite file in a new temporary directory (`runway serve`'s default store).
    pub async fn sqlite() -> anyhow::Result<BenchDb> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("runway.db").display());
        let store = runway_store::open(&url, OpenOptions::new(SecretKey::generate()?)).await?;
        Ok(BenchDb {
            store,
            backend: runway_store::Backend::Sqlite,
            dir: Some(dir),
            postgres: None,
        })
    }

    /// A new database on the server of `admin_url` (a URL allowed to create databases).
    pub async fn postgres(admin_url: &str) -> anyhow::Result<BenchDb> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "runway_bench_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut url = url::Url::parse(admin_url).context("--postgres-url is not a URL")?;
        let pool = sqlx::PgPool::connect(admin_url)
            .await
            .context("cannot connect to --postgres-url")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .context("cannot create the benchmark's database")?;
        pool.close().await;
        // From here on, an error drops the new database with the guard.
        let database = PgDatabase {
            admin_url: admin_url.to_owned(),
            name: name.clone(),
            keep: false,
        };
        url.set_path(&format!("/{name}"));
        let store =
            runway_store::open(url.as_str(), OpenOptions::new(SecretKey::generate()?)).await?;
        Ok(BenchDb {
            store,
            backend: runway_store::Backend::Postgres,
            dir: None,
            postgres: Some(database),
        })
    }
}

/// A database created for one run, dropped with this value.
struct PgDatabase {
    admin_url: String,
    name: String,
    keep: bool,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the benchmark's runtime: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let pool = sqlx::PgPool::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&pool)
                .await?;
                pool.close().await;
                Ok::<(), anyhow::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop the database {}", self.name);
        }
    }
}

/// Bytes as MiB with one decimal.
#[allow(clippy::cast_precision_loss, reason = "display only")]
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&values, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&values[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn this_process_has_used_some_cpu_and_memory() {
        let busy: u64 = (0..5_000_000u64).fold(0, |a, b| a.wrapping_add(b * b));
        assert_ne!(busy, 1);
        assert!(peak_rss().unwrap() > 1024 * 1024);
        assert!(cpu_time().is_some());
    }
}
