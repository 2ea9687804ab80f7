//! # runway-clock: where Runway gets "now"
//!
//! Every instant that drives scheduling, recording and reminders comes from a [`Clock`] the
//! caller is given, never from `now()` deep inside the code, so tests move time without
//! sleeping: [`SystemClock`] in the binary, [`ManualClock`] in tests and simulations. It is a
//! crate of its own so that the engine, the web layer and the alerts take the same clock
//! without depending on one another; `runway-core`'s rules take the instant itself.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// The source of the current instant for scheduling and recording.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told to move: for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        *self.lock() = now;
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now.saturating_add(by).unwrap_or(*now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-06-01T08:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), "2026-06-01T08:01:30Z".parse().unwrap());
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
