//! The engine's own metrics: how long PBX reads take on this node.
//!
//! The histogram lives in the engine, which observes every read of its one read path (the
//! scheduler's and the reads users ask for alike); the web layer registers the same histogram
//! (a clone shares its counts) in the registry it encodes for `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;

/// The upper bounds of the poll-duration buckets, in seconds: from a fast PBX on the LAN
/// (50 ms) to the default read timeout (20 s).
pub const POLL_DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0];

/// Durations of this node's PBX reads, successful or not. Cheap to clone: clones share counts.
#[derive(Debug, Clone)]
pub struct PollDurations {
    histogram: Histogram,
    /// Reads observed (the histogram tells its count only to its encoder).
    reads: Arc<AtomicU64>,
}

impl Default for PollDurations {
    fn default() -> PollDurations {
        PollDurations {
            histogram: Histogram::new(POLL_DURATION_BUCKETS),
            reads: Arc::default(),
        }
    }
}

impl PollDurations {
    /// Counts one read that took `took`.
    pub fn observe(&self, took: Duration) {
        self.histogram.observe(took.as_secs_f64());
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads counted so far.
    pub fn count(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The histogram, to register for encoding (it shares this one's counts).
    pub fn histogram(&self) -> Histogram {
        self.histogram.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_counted_in_its_bucket() {
        let durations = PollDurations::default();
        durations.observe(Duration::from_millis(700));
        let shared = durations.clone();
        assert_eq!(shared.count(), 1);
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("poll_duration_seconds", "test", durations.histogram());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("poll_duration_seconds_bucket{le=\"0.5\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("poll_duration_seconds_bucket{le=\"1.0\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("poll_duration_seconds_count 1\n"), "{text}");
        assert!(text.contains("poll_duration_seconds_sum 0.7\n"), "{text}");
    }
}
