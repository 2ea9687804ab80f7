//! How long a tenant's history is kept: its license history (readings, events, the audit log)
//! and its read attempts, each in whole days. Housekeeping deletes what is older; the current
//! license of an instance is never deleted, however old its reading.

/// A tenant's retention periods, in days; always within [`Retention::MAX_DAYS`] and the minimum
/// of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    history_days: u32,
    attempt_days: u32,
}

/// Why retention periods were refused; says which one and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("keep {what} for {min} to {max} days, not {days}")]
pub struct BadRetention {
    /// `"license history"` or `"read attempts"`.
    pub what: &'static str,
    /// The refused number of days.
    pub days: u32,
    /// The fewest days allowed.
    pub min: u32,
    /// The most days allowed.
    pub max: u32,
}

impl Retention {
    /// License history kept by default: a year and a month, so last year's renewal still shows.
    pub const DEFAULT_HISTORY_DAYS: u32 = 400;
    /// Read attempts kept by default.
    pub const DEFAULT_ATTEMPT_DAYS: u32 = 30;
    /// The shortest license history: a renewal cycle must stay visible for a month at least.
    pub const MIN_HISTORY_DAYS: u32 = 30;
    /// The shortest attempt history.
    pub const MIN_ATTEMPT_DAYS: u32 = 1;
    /// The longest either is kept: ten years.
    pub const MAX_DAYS: u32 = 3650;

    /// Retention of `history_days` of license history and `attempt_days` of read attempts.
    pub fn new(history_days: u32, attempt_days: u32) -> Result<Retention, BadRetention> {
        let check = |what, days, min| {
            if (min..=Self::MAX_DAYS).contains(&days) {
                Ok(days)
            } else {
                Err(BadRetention {
                    what,
                    days,
                    min,
                    max: Self::MAX_DAYS,
                })
            }
        };
        Ok(Retention {
            history_days: check("license history", history_days, Self::MIN_HISTORY_DAYS)?,
            attempt_days: check("read attempts", attempt_days, Self::MIN_ATTEMPT_DAYS)?,
        })
    }

    /// Days of license history (readings, events, audit log) kept.
    pub fn history_days(self) -> u32 {
        self.history_days
    }

    /// Days of read attempts kept.
    pub fn attempt_days(self) -> u32 {
        self.attempt_days
    }
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            history_days: Self::DEFAULT_HISTORY_DAYS,
            attempt_days: Self::DEFAULT_ATTEMPT_DAYS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_bounded_per_kind_and_names_the_kind_it_refuses() {
        assert_eq!(Retention::new(400, 30).unwrap(), Retention::default());
        assert!(Retention::new(30, 1).is_ok());
        assert!(Retention::new(3650, 3650).is_ok());
        let short = Retention::new(29, 30).unwrap_err();
        assert_eq!(
            short.to_string(),
            "keep license history for 30 to 3650 days, not 29"
        );
        assert_eq!(Retention::new(400, 0).unwrap_err().what, "read attempts");
        assert_eq!(Retention::new(400, 3651).unwrap_err().days, 3651);
    }
}
