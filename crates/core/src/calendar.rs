//! The License Expiry Calendar: renewals planned by month.
//!
//! Upcoming expiries grouped by the month their date falls in, in the tenant's zone, in
//! chronological order ("June 2026", then "July 2026", …), with an "Overdue" group first.
//! Licenses with no expiry date have no place on a calendar and are left out.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;

use crate::band::LicenseStatus;

/// A calendar group's heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CalendarHeading {
    /// Expiry dates already past.
    Overdue,
    /// One month of one year.
    Month {
        /// The year.
        year: i16,
        /// The month, 1–12.
        month: i8,
    },
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "Overdue", or the month and year like "June 2026".
impl fmt::Display for CalendarHeading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CalendarHeading::Overdue => f.write_str("Overdue"),
            CalendarHeading::Month { year, month } => {
                let name = usize::try_from(month - 1)
                    .ok()
                    .and_then(|i| MONTH_NAMES.get(i))
                    .unwrap_or(&"?");
                write!(f, "{name} {year}")
            }
        }
    }
}

/// One group of the calendar with its entries, earliest expiry first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarGroup<T> {
    /// The group's heading.
    pub heading: CalendarHeading,
    /// The entries, by expiry date; equal dates keep the order they were given in.
    pub entries: Vec<T>,
}

/// Groups rows into the expiry calendar. Give the rows in fleet order so equal dates list
/// customer by customer; rows whose status has no expiry date are left out.
pub fn expiry_calendar<T>(
    rows: impl IntoIterator<Item = T>,
    status: impl Fn(&T) -> &LicenseStatus,
) -> Vec<CalendarGroup<T>> {
    let mut groups: BTreeMap<CalendarHeading, Vec<(Date, T)>> = BTreeMap::new();
    for row in rows {
        let status = status(&row);
        let (Some(date), Some(days_left)) = (status.expiry_date, status.days_left) else {
            continue;
        };
        let heading = if days_left.is_overdue() {
            CalendarHeading::Overdue
        } else {
            CalendarHeading::Month {
                year: date.year(),
                month: date.month(),
            }
        };
        groups.entry(heading).or_default().push((date, row));
    }
    groups
        .into_iter()
        .map(|(heading, mut entries)| {
            entries.sort_by_key(|(date, _)| *date);
            CalendarGroup {
                heading,
                entries: entries.into_iter().map(|(_, row)| row).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::band::Band;
    use crate::countdown::DaysLeft;

    fn row(
        name: &'static str,
        date: Option<(i16, i8, i8)>,
        today: Date,
    ) -> (&'static str, LicenseStatus) {
        let expiry_date = date.map(|(y, m, d)| Date::new(y, m, d).unwrap());
        let days_left = expiry_date.map(|d| DaysLeft::between(today, d));
        let band = days_left.map_or(Band::Unknown, Band::for_days_left);
        (
            name,
            LicenseStatus {
                band,
                expiry_date,
                days_left,
            },
        )
    }

    #[test]
    fn calendar_has_overdue_first_then_months_in_chronological_order() {
        let today = Date::new(2026, 5, 20).unwrap();
        let rows = vec![
            row("next-year", Some((2027, 1, 3)), today),
            row("july", Some((2026, 7, 9)), today),
            row("late-june", Some((2026, 6, 30)), today),
            row("unknown", None, today),
            row("early-june", Some((2026, 6, 1)), today),
            row("overdue", Some((2026, 5, 19)), today),
            row("may", Some((2026, 5, 20)), today),
        ];
        let calendar = expiry_calendar(rows, |(_, s)| s);
        let shown: Vec<(String, Vec<&str>)> = calendar
            .iter()
            .map(|g| {
                (
                    g.heading.to_string(),
                    g.entries.iter().map(|(n, _)| *n).collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("Overdue".to_owned(), vec!["overdue"]),
                ("May 2026".to_owned(), vec!["may"]),
                ("June 2026".to_owned(), vec!["early-june", "late-june"]),
                ("July 2026".to_owned(), vec!["july"]),
                ("January 2027".to_owned(), vec!["next-year"]),
            ]
        );
    }
}
