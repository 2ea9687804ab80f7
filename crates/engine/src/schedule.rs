//! When an instance is read next: its interval with jitter after a success, exponential backoff
//! after failures. Pure functions of their inputs, so the rules are tested without a clock.

use std::time::Duration;

use jiff::Timestamp;

/// How the next read is placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedulePolicy {
    /// The spread around the interval after a success, as a fraction (0.1 = ±10%), so a fleet
    /// added at once does not stay in lockstep and stampede every cycle.
    pub jitter: f64,
    /// The wait after the first failure; it doubles with each further failure, up to the
    /// instance's interval.
    pub failure_backoff: Duration,
    /// The wait after the first rejected login: longer, because repeated rejected logins make
    /// a 3CX PBX block the caller's address.
    pub login_backoff: Duration,
}

impl Default for SchedulePolicy {
    fn default() -> SchedulePolicy {
        SchedulePolicy {
            jitter: 0.1,
            failure_backoff: Duration::from_mins(1),
            login_backoff: Duration::from_mins(5),
        }
    }
}

/// What the last read did, as far as scheduling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastRead {
    /// It read the license.
    Succeeded,
    /// It failed; `consecutive` failures so far (1 for the first).
    Failed {
        /// Failed reads since the last success, this one included.
        consecutive: u32,
        /// Whether the PBX turned the login down.
        login_rejected: bool,
    },
}

impl SchedulePolicy {
    /// When to read the instance next, `seed` choosing where in the jitter band it lands (the
    /// engine derives it from the instance, so the spread is stable and needs no RNG).
    pub fn next_poll_at(
        &self,
        now: Timestamp,
        interval: Duration,
        last: LastRead,
        seed: u64,
    ) -> Timestamp {
        let wait = match last {
            LastRead::Succeeded => jittered(interval, self.jitter, seed),
            LastRead::Failed {
                consecutive,
                login_rejected,
            } => {
                let first = if login_rejected {
                    self.login_backoff
                } else {
                    self.failure_backoff
                };
                let doublings = consecutive.saturating_sub(1).min(20);
                first
                    .saturating_mul(1 << doublings)
                    .min(interval.max(first))
            }
        };
        let seconds = i64::try_from(wait.as_secs()).unwrap_or(i64::MAX).max(1);
        now.saturating_add(jiff::SignedDuration::from_secs(seconds))
            .unwrap_or(now)
    }
}

/// `interval` moved by up to ±`fraction` of itself, at the place `seed` picks.
fn jittered(interval: Duration, fraction: f64, seed: u64) -> Duration {
    let fraction = fraction.clamp(0.0, 0.5);
    // A well-mixed value in [-1, 1] from the seed (SplitMix64's finaliser).
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    #[allow(
        clippy::cast_precision_loss,
        reason = "a jitter position needs no more precision"
    )]
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let factor = 1.0 + fraction * unit;
    Duration::from_secs_f64(interval.as_secs_f64() * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const SIX_HOURS: Duration = Duration::from_hours(6);

    #[test]
    fn after_a_success_the_next_read_lands_within_the_jitter_band() {
        let policy = SchedulePolicy::default();
        let now = at("2026-06-01T00:00:00Z");
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..2_000 {
            let next = policy.next_poll_at(now, SIX_HOURS, LastRead::Succeeded, seed);
            let secs = next.as_second() - now.as_second();
            assert!((19_440..=23_760).contains(&secs), "seed {seed}: {secs} s");
            seen.insert(secs / 600);
        }
        // Spread across the band, not bunched: 4,320 s of band in 600 s buckets.
        assert!(seen.len() >= 8, "{seen:?}");
    }

    #[test]
    fn without_jitter_the_interval_is_exact() {
        let policy = SchedulePolicy {
            jitter: 0.0,
            ..SchedulePolicy::default()
        };
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(
            policy.next_poll_at(now, SIX_HOURS, LastRead::Succeeded, 7),
            at("2026-06-01T06:00:00Z")
        );
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_interval() {
        let policy = SchedulePolicy::default();
        let now = at("2026-06-01T00:00:00Z");
        let waits: Vec<i64> = (1..=12)
            .map(|consecutive| {
                let last = LastRead::Failed {
                    consecutive,
                    login_rejected: false,
                };
                policy.next_poll_at(now, SIX_HOURS, last, 0).as_second() - now.as_second()
            })
            .collect();
        assert_eq!(
            waits,
            [
                60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600, 21600
            ]
        );
    }

    #[test]
    fn a_rejected_login_waits_longer_before_the_next_try() {
        let policy = SchedulePolicy::default();
        let now = at("2026-06-01T00:00:00Z");
        let wait = |login_rejected| {
            let last = LastRead::Failed {
                consecutive: 2,
                login_rejected,
            };
            policy.next_poll_at(now, SIX_HOURS, last, 0).as_second() - now.as_second()
        };
        assert_eq!((wait(false), wait(true)), (120, 600));
    }

    #[test]
    fn a_huge_failure_count_never_overflows() {
        let policy = SchedulePolicy::default();
        let now = at("2026-06-01T00:00:00Z");
        let last = LastRead::Failed {
            consecutive: u32::MAX,
            login_rejected: true,
        };
        assert_eq!(
            policy.next_poll_at(now, SIX_HOURS, last, 0),
            at("2026-06-01T06:00:00Z")
        );
    }
}
