//! Fleet order: the next lapse on top.
//!
//! Most overdue first (every Expired row, including licenses the PBX reports inactive), then the
//! soonest expiry, then licenses with no fixed expiry, Unknown last; ties by customer, then
//! instance name (case-insensitive, so "acme" and "Acme" sit together).

use std::cmp::Ordering;

use crate::band::{Band, LicenseStatus};

/// What a row is sorted by.
#[derive(Debug, Clone, Copy)]
pub struct FleetSortKey<'a> {
    /// The row's license status.
    pub status: &'a LicenseStatus,
    /// The customer's name.
    pub customer: &'a str,
    /// The instance's name.
    pub instance: &'a str,
}

impl FleetSortKey<'_> {
    fn group(&self) -> u8 {
        match (self.status.band, self.status.days_left) {
            (Band::Expired, _) => 0,
            (Band::Unknown, _) => 3,
            (_, Some(_)) => 1,
            (_, None) => 2,
        }
    }
}

/// Compares two rows in fleet order.
pub fn fleet_order(a: &FleetSortKey<'_>, b: &FleetSortKey<'_>) -> Ordering {
    a.group()
        .cmp(&b.group())
        // Rows without a day count go after dated ones of their group.
        .then_with(|| match (a.status.days_left, b.status.days_left) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| caseless(a.customer, b.customer))
        .then_with(|| caseless(a.instance, b.instance))
        .then_with(|| a.customer.cmp(b.customer))
        .then_with(|| a.instance.cmp(b.instance))
}

/// Sorts rows into fleet order (stable).
pub fn sort_fleet<T>(rows: &mut [T], key: impl Fn(&T) -> FleetSortKey<'_>) {
    rows.sort_by(|a, b| fleet_order(&key(a), &key(b)));
}

fn caseless(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countdown::DaysLeft;

    fn status(band: Band, days: Option<i32>) -> LicenseStatus {
        LicenseStatus {
            band,
            expiry_date: None,
            days_left: days.map(DaysLeft::from),
        }
    }

    #[test]
    fn fleet_order_puts_most_overdue_first_then_soonest_then_undated_then_unknown() {
        let rows = vec![
            ("Zeta", "pbx", status(Band::Unknown, None)),
            ("Acme", "perpetual", status(Band::Active, None)),
            ("Acme", "far", status(Band::Active, Some(300))),
            ("Acme", "soon", status(Band::Critical, Some(2))),
            ("Acme", "inactive", status(Band::Expired, Some(40))),
            ("Acme", "lapsed", status(Band::Expired, Some(-1))),
            ("Acme", "long-lapsed", status(Band::Expired, Some(-30))),
            ("Acme", "today", status(Band::Critical, Some(0))),
        ];
        let mut sorted = rows.clone();
        sort_fleet(&mut sorted, |(c, i, s)| FleetSortKey {
            status: s,
            customer: c,
            instance: i,
        });
        let names: Vec<_> = sorted.iter().map(|(_, i, _)| *i).collect();
        assert_eq!(
            names,
            [
                "long-lapsed",
                "lapsed",
                "inactive",
                "today",
                "soon",
                "far",
                "perpetual",
                "pbx"
            ]
        );
    }

    #[test]
    fn ties_break_by_customer_then_instance_ignoring_case() {
        let same = status(Band::Warning, Some(30));
        let mut rows = vec![("beta", "b"), ("Alpha", "z"), ("alpha", "a"), ("Beta", "a")];
        sort_fleet(&mut rows, |(c, i)| FleetSortKey {
            status: &same,
            customer: c,
            instance: i,
        });
        assert_eq!(
            rows,
            [("alpha", "a"), ("Alpha", "z"), ("Beta", "a"), ("beta", "b")]
        );
    }
}
