//! The tenant's time zone.
//!
//! Every date a user sees — an expiry date, "today", the month an expiry falls in — is a civil
//! date in the MSP's IANA time zone, never in the server's. Zones are looked up in the tz
//! database bundled into the binary, so two Runway nodes on hosts with different
//! `/usr/share/zoneinfo` contents always count the same days.

use std::fmt;
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{TimeZone, TimeZoneDatabase};

static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// An IANA time zone, such as `America/New_York`, in which a tenant's calendar days are counted.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

/// Why a time zone name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone {name:?}: expected an IANA name such as \"America/New_York\" or \"UTC\""
)]
pub struct UnknownZone {
    /// The name as it was given.
    pub name: String,
}

impl Zone {
    /// Looks up an IANA zone name (case-insensitively) and keeps its canonical spelling.
    pub fn parse(name: &str) -> Result<Zone, UnknownZone> {
        let unknown = || UnknownZone {
            name: name.to_owned(),
        };
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(unknown());
        }
        let tz = TZDB.get(trimmed).map_err(|_| unknown())?;
        if tz.is_unknown() {
            return Err(unknown());
        }
        let canonical = tz.iana_name().unwrap_or(trimmed).to_owned();
        Ok(Zone {
            name: canonical,
            tz,
        })
    }

    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone's IANA name, as the tz database spells it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying `jiff` time zone, for formatting instants in this zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The civil date that `instant` falls on in this zone.
    pub fn date_of(&self, instant: Timestamp) -> Date {
        self.tz.to_datetime(instant).date()
    }

    /// Every zone name the bundled tz database knows, for pickers and exhaustive tests.
    pub fn available() -> Vec<String> {
        TZDB.available()
            .map(|name| name.as_str().to_owned())
            .collect()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_resolve_case_insensitively_to_their_canonical_spelling() {
        let zone = Zone::parse(" america/NEW_YORK ").unwrap();
        assert_eq!(zone.name(), "America/New_York");
        assert_eq!(Zone::parse("utc").unwrap(), Zone::utc());
    }

    #[test]
    fn unknown_zone_names_are_refused_with_the_name_in_the_message() {
        let err = Zone::parse("Mars/Olympus_Mons").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
        assert!(Zone::parse("").is_err());
        assert!(Zone::parse("Etc/Unknown").is_err());
    }

    #[test]
    fn the_bundled_database_lists_hundreds_of_zones() {
        let names = Zone::available();
        assert!(names.len() > 300, "only {} zones", names.len());
        assert!(names.iter().any(|n| n == "Pacific/Chatham"));
    }
}
