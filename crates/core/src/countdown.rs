//! Days left: the calendar-day countdown to an expiry, counted in the tenant's zone.
//!
//! A license's expiry is an instant; what matters to the operator is the date it falls on where
//! the MSP works. Days left is `expiry_local_date − today_local_date`, so a license expiring
//! tomorrow at 21:00 New York time reads "1 day" in New York — never "2 days" because the
//! instant is already the day after in UTC. Hours are never rounded: only dates count.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::zone::Zone;

/// Whole calendar days from today to the expiry date; negative once the date has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DaysLeft(i32);

impl DaysLeft {
    /// Days from `today` to `expiry_date`, both civil dates in the same zone.
    pub fn between(today: Date, expiry_date: Date) -> DaysLeft {
        let seconds = today.duration_until(expiry_date).as_secs();
        // Civil dates are whole days apart and at most ~20,000 years: the quotient fits an i32.
        DaysLeft(i32::try_from(seconds / 86_400).unwrap_or(i32::MAX))
    }

    /// Days left for a license expiring at `expiry`, seen at `now` from `zone`.
    pub fn of(expiry: Timestamp, now: Timestamp, zone: &Zone) -> DaysLeft {
        DaysLeft::between(zone.date_of(now), zone.date_of(expiry))
    }

    /// The count itself.
    pub fn get(self) -> i32 {
        self.0
    }

    /// Whether the expiry date has passed (today is after it).
    pub fn is_overdue(self) -> bool {
        self.0 < 0
    }
}

impl From<i32> for DaysLeft {
    fn from(days: i32) -> DaysLeft {
        DaysLeft(days)
    }
}

/// The words the dashboard shows: "today", "1 day", "N days" or "Nd overdue".
impl fmt::Display for DaysLeft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("today"),
            1 => f.write_str("1 day"),
            n if n < 0 => write!(f, "{}d overdue", n.unsigned_abs()),
            n => write!(f, "{n} days"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn days_left_counts_calendar_days_in_the_tenant_zone_not_hours() {
        let expiry = ts("2026-12-01T02:00:00Z");
        let now = ts("2026-11-29T15:00:00Z");
        let in_zone = |name| DaysLeft::of(expiry, now, &Zone::parse(name).unwrap()).get();
        // 2026-11-30 21:00 in New York: tomorrow.
        assert_eq!(in_zone("America/New_York"), 1);
        assert_eq!(in_zone("UTC"), 2);
        // 2026-11-30 04:00 → 2026-12-01 15:00 in Auckland.
        assert_eq!(in_zone("Pacific/Auckland"), 1);
    }

    #[test]
    fn days_left_text_reads_today_one_day_n_days_and_overdue() {
        assert_eq!(DaysLeft(0).to_string(), "today");
        assert_eq!(DaysLeft(1).to_string(), "1 day");
        assert_eq!(DaysLeft(2).to_string(), "2 days");
        assert_eq!(DaysLeft(-1).to_string(), "1d overdue");
        assert_eq!(DaysLeft(-30).to_string(), "30d overdue");
    }

    #[test]
    fn days_between_spans_leap_days_and_year_ends() {
        let d = |y, m, day| Date::new(y, m, day).unwrap();
        assert_eq!(DaysLeft::between(d(2028, 2, 28), d(2028, 3, 1)).get(), 2);
        assert_eq!(DaysLeft::between(d(2027, 2, 28), d(2027, 3, 1)).get(), 1);
        assert_eq!(DaysLeft::between(d(2026, 12, 31), d(2027, 1, 1)).get(), 1);
        assert_eq!(DaysLeft::between(d(2027, 1, 1), d(2026, 12, 31)).get(), -1);
    }
}
