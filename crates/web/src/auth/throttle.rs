//! Login throttling, in memory.
//!
//! Failed sign-ins are counted per email address and per client address in a fixed window;
//! once an email reaches the limit (or an address five times the limit, so one office behind
//! NAT is not locked out by a colleague), further attempts are refused until the window that
//! began with the first failure has passed — even with the right password, so guessing gains
//! nothing. A success clears the email's count.
//!
//! The counts live in this process: a restart forgets them and several nodes count apart. That
//! is acceptable for slowing password guessing (argon2id already makes each guess expensive);
//! it keeps a failed sign-in from costing a database write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// Failed attempts in the current window for one key.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Timestamp,
    failures: u32,
}

/// The throttle's state.
#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

impl LoginThrottle {
    /// A throttle allowing `max_failures` per email in `window`.
    pub fn new(max_failures: u32, window: Duration) -> LoginThrottle {
        LoginThrottle {
            max_failures: max_failures.max(1),
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, address: &str) -> [(String, u32); 2] {
        [
            (format!("email:{}", email.trim().to_lowercase()), 1),
            (format!("addr:{address}"), 5),
        ]
    }

    /// `Some(seconds to wait)` when attempts for this email or address are refused now.
    pub fn blocked(&self, email: &str, address: &str, now: Timestamp) -> Option<u64> {
        let windows = self.lock();
        Self::keys(email, address)
            .iter()
            .filter_map(|(key, factor)| {
                let w = windows.get(key)?;
                let ends = w.started.as_second() + self.window_secs();
                (now.as_second() < ends && w.failures >= self.max_failures * factor)
                    .then(|| u64::try_from(ends - now.as_second()).unwrap_or(1))
            })
            .max()
    }

    /// Counts a failed attempt.
    pub fn failed(&self, email: &str, address: &str, now: Timestamp) {
        let window_secs = self.window_secs();
        let mut windows = self.lock();
        // Forget finished windows now and then, so the map stays small.
        if windows.len() > 10_000 {
            windows.retain(|_, w| now.as_second() < w.started.as_second() + window_secs);
        }
        for (key, _) in Self::keys(email, address) {
            let w = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.as_second() >= w.started.as_second() + window_secs {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures = w.failures.saturating_add(1);
        }
    }

    /// Clears an email's count after a successful sign-in.
    pub fn succeeded(&self, email: &str) {
        let [(key, _), _] = Self::keys(email, "");
        self.lock().remove(&key);
    }

    fn window_secs(&self) -> i64 {
        i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_blocks_until_the_window_has_passed() {
        let throttle = LoginThrottle::new(3, Duration::from_mins(10));
        let t0: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.blocked("a@x", "1.2.3.4", t0), None);
            throttle.failed("A@x", "1.2.3.4", t0);
        }
        assert_eq!(throttle.blocked("a@x", "1.2.3.4", t0), Some(600));
        assert_eq!(throttle.blocked("b@x", "1.2.3.4", t0), None, "per email");
        let later = t0 + Duration::from_mins(10);
        assert_eq!(throttle.blocked("a@x", "1.2.3.4", later), None);
    }
}
