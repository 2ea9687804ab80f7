//! Bands: the five states a license can be in, and the counters across the top of the page.
//!
//! Expired (days left < 0, or the PBX reports the license inactive), Critical (≤ 14 days),
//! Warning (≤ 60 days), Active (later, or a perpetual license with no fixed expiry), Unknown (no
//! expiry on record). The same bands colour the rows of the License Status table.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::countdown::DaysLeft;
use crate::license::LicenseFacts;
use crate::zone::Zone;

/// The last day count that is still Critical.
pub const CRITICAL_DAYS: i32 = 14;
/// The last day count that is still Warning.
pub const WARNING_DAYS: i32 = 60;

/// Where a license stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Past its expiry date, or reported inactive by the PBX.
    Expired,
    /// 14 days or fewer left.
    Critical,
    /// 60 days or fewer left.
    Warning,
    /// More than 60 days left, or perpetual with no fixed expiry.
    Active,
    /// No expiry on record.
    Unknown,
}

impl Band {
    /// Every band, in the order the counters are shown.
    pub const ALL: [Band; 5] = [
        Band::Expired,
        Band::Critical,
        Band::Warning,
        Band::Active,
        Band::Unknown,
    ];

    /// The band for a day count, for a license the PBX reports active.
    pub fn for_days_left(days_left: DaysLeft) -> Band {
        match days_left.get() {
            d if d < 0 => Band::Expired,
            d if d <= CRITICAL_DAYS => Band::Critical,
            d if d <= WARNING_DAYS => Band::Warning,
            _ => Band::Active,
        }
    }

    /// The lower-case name used in CSS classes, the API and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Expired => "expired",
            Band::Critical => "critical",
            Band::Warning => "warning",
            Band::Active => "active",
            Band::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Band::Expired => "Expired",
            Band::Critical => "Critical",
            Band::Warning => "Warning",
            Band::Active => "Active",
            Band::Unknown => "Unknown",
        })
    }
}

/// A license's standing at one moment in one zone: everything the table shows about its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicenseStatus {
    /// The band.
    pub band: Band,
    /// The expiry's civil date in the tenant's zone.
    pub expiry_date: Option<Date>,
    /// Calendar days from today to the expiry date.
    pub days_left: Option<DaysLeft>,
}

impl LicenseStatus {
    /// The status of a license (or of an instance never read: `None`) at `now` in `zone`.
    pub fn evaluate(facts: Option<&LicenseFacts>, now: Timestamp, zone: &Zone) -> LicenseStatus {
        let Some(facts) = facts else {
            return LicenseStatus {
                band: Band::Unknown,
                expiry_date: None,
                days_left: None,
            };
        };
        let expiry_date = facts.expiry.map(|expiry| zone.date_of(expiry));
        let days_left = expiry_date.map(|date| DaysLeft::between(zone.date_of(now), date));
        let band = if facts.license_active == Some(false) {
            Band::Expired
        } else {
            match days_left {
                Some(days) => Band::for_days_left(days),
                None if facts.edition.is_perpetual() => Band::Active,
                None => Band::Unknown,
            }
        };
        LicenseStatus {
            band,
            expiry_date,
            days_left,
        }
    }
}

/// The five counters across the top of the License Status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandCounts {
    /// Licenses in the Expired band.
    pub expired: usize,
    /// Licenses in the Critical band.
    pub critical: usize,
    /// Licenses in the Warning band.
    pub warning: usize,
    /// Licenses in the Active band.
    pub active: usize,
    /// Licenses in the Unknown band.
    pub unknown: usize,
}

impl BandCounts {
    /// Counts one more license in `band`.
    pub fn add(&mut self, band: Band) {
        *self.slot(band) += 1;
    }

    /// The count for one band.
    pub fn get(&self, band: Band) -> usize {
        match band {
            Band::Expired => self.expired,
            Band::Critical => self.critical,
            Band::Warning => self.warning,
            Band::Active => self.active,
            Band::Unknown => self.unknown,
        }
    }

    /// All licenses counted.
    pub fn total(&self) -> usize {
        Band::ALL.iter().map(|band| self.get(*band)).sum()
    }

    fn slot(&mut self, band: Band) -> &mut usize {
        match band {
            Band::Expired => &mut self.expired,
            Band::Critical => &mut self.critical,
            Band::Warning => &mut self.warning,
            Band::Active => &mut self.active,
            Band::Unknown => &mut self.unknown,
        }
    }
}

impl FromIterator<Band> for BandCounts {
    fn from_iter<I: IntoIterator<Item = Band>>(bands: I) -> BandCounts {
        let mut counts = BandCounts::default();
        bands.into_iter().for_each(|band| counts.add(band));
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::license::PbxLicense;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn facts(expiry: Option<&str>, active: Option<bool>, code: &str) -> LicenseFacts {
        LicenseFacts::from_pbx(PbxLicense {
            expiry: expiry.map(ts),
            license_active: active,
            product_code: Some(code.into()),
            ..PbxLicense::default()
        })
    }

    #[test]
    fn band_edges_are_fourteen_and_sixty_days_inclusive() {
        let band = |d: i32| Band::for_days_left(DaysLeft::from(d));
        assert_eq!(band(-1), Band::Expired);
        assert_eq!(band(0), Band::Critical);
        assert_eq!(band(14), Band::Critical);
        assert_eq!(band(15), Band::Warning);
        assert_eq!(band(60), Band::Warning);
        assert_eq!(band(61), Band::Active);
    }

    #[test]
    fn a_license_the_pbx_reports_inactive_is_expired_whatever_its_date() {
        let now = ts("2026-06-01T12:00:00Z");
        let far = facts(Some("2027-06-01T00:00:00Z"), Some(false), "3CXPSPROFSPLA");
        assert_eq!(
            LicenseStatus::evaluate(Some(&far), now, &Zone::utc()).band,
            Band::Expired
        );
        let undated = facts(None, Some(false), "3CXPSPROFSPLA");
        assert_eq!(
            LicenseStatus::evaluate(Some(&undated), now, &Zone::utc()).band,
            Band::Expired
        );
    }

    #[test]
    fn no_expiry_is_unknown_unless_the_license_is_perpetual() {
        let now = ts("2026-06-01T12:00:00Z");
        let annual = facts(None, Some(true), "3CXPSPROFSPLA");
        let status = LicenseStatus::evaluate(Some(&annual), now, &Zone::utc());
        assert_eq!((status.band, status.days_left), (Band::Unknown, None));
        let perpetual = facts(None, Some(true), "3CXPSPROF");
        assert_eq!(
            LicenseStatus::evaluate(Some(&perpetual), now, &Zone::utc()).band,
            Band::Active
        );
        assert_eq!(
            LicenseStatus::evaluate(None, now, &Zone::utc()).band,
            Band::Unknown
        );
    }

    #[test]
    fn far_away_hosted_dates_are_simply_active() {
        let now = ts("2026-06-01T12:00:00Z");
        let hosted = facts(Some("2035-01-01T00:00:00Z"), Some(true), "XXXXXXX");
        let status = LicenseStatus::evaluate(Some(&hosted), now, &Zone::utc());
        assert_eq!(status.band, Band::Active);
        assert_eq!(status.expiry_date, Some(Date::new(2035, 1, 1).unwrap()));
    }

    #[test]
    fn counters_count_every_band() {
        let counts: BandCounts = [Band::Expired, Band::Critical, Band::Critical, Band::Unknown]
            .into_iter()
            .collect();
        assert_eq!((counts.expired, counts.critical, counts.warning), (1, 2, 0));
        assert_eq!((counts.active, counts.unknown, counts.total()), (0, 1, 4));
    }
}
