//! # runway-bench: measuring Runway on this machine
//!
//! Benchmarks are programs, not timed tests: they print their figures, and `BENCHMARKS.md`
//! records them with the command and the machine. This library holds what every benchmark
//! measures with: CPU time and peak memory of the process (from `/proc`, Linux only), and
//! percentiles.

use std::time::Duration;

use anyhow::{Context, bail};
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
