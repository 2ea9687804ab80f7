//! Dates as a PBX writes them, and "no date".
//!
//! 3CX writes instants in RFC 3339 with up to seven fractional digits and `Z` or `±hh:mm`.
//! `null` and .NET's minimum date (`0001-01-01T00:00:00.0000000+00:00`) both mean the PBX has no
//! date; every other date is taken as it is (hosted PBXs report `2035-01-01T00:00:00Z`: that is
//! simply far away).

use jiff::civil::{Date, DateTime};
use jiff::{Timestamp, tz::TimeZone};

/// A date field the PBX sent that is not a date at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a date (expected RFC 3339 like \"2026-12-01T00:00:00Z\")")]
pub struct BadPbxDate {
    /// The text as received, cut to a readable length.
    pub text: String,
}

/// Reads a date field of a PBX answer: `Ok(None)` means "no date", `Err` a malformed value.
///
/// A date-time without an offset is taken as UTC (3CX's servers keep UTC), and a bare date as
/// midnight UTC, so a PBX that drops the offset is still read rather than refused.
pub fn parse_pbx_instant(text: &str) -> Result<Option<Timestamp>, BadPbxDate> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    let instant = text
        .parse::<Timestamp>()
        .or_else(|_| {
            text.parse::<DateTime>()
                .and_then(|dt| TimeZone::UTC.to_timestamp(dt))
        })
        .or_else(|_| {
            text.parse::<Date>()
                .and_then(|d| TimeZone::UTC.to_timestamp(d.into()))
        })
        .map_err(|_| BadPbxDate {
            text: text.chars().take(64).collect(),
        })?;
    Ok(if is_no_date(instant) {
        None
    } else {
        Some(instant)
    })
}

/// Whether an instant is .NET's `DateTime.MinValue` in any offset, which 3CX uses for "none".
pub fn is_no_date(instant: Timestamp) -> bool {
    instant.to_zoned_datetime(TimeZone::UTC).year() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_minimum_date_and_null_mean_no_date() {
        for none in [
            "0001-01-01T00:00:00.0000000+00:00",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+02:00",
            "0001-01-01T00:00:00",
            "null",
            "",
        ] {
            assert_eq!(parse_pbx_instant(none), Ok(None), "{none}");
        }
    }

    #[test]
    fn pbx_dates_parse_with_seven_fraction_digits_and_any_offset() {
        let parsed = |t| parse_pbx_instant(t).unwrap().unwrap().to_string();
        assert_eq!(parsed("2026-12-01T02:00:00Z"), "2026-12-01T02:00:00Z");
        assert_eq!(
            parsed("2025-12-09T00:08:32.7261699+01:00"),
            "2025-12-08T23:08:32.7261699Z"
        );
        assert_eq!(parsed("2019-10-24T12:08:49+00:00"), "2019-10-24T12:08:49Z");
        assert_eq!(parsed("2035-01-01T00:00:00Z"), "2035-01-01T00:00:00Z");
        assert_eq!(parsed("2026-12-01T02:00:00"), "2026-12-01T02:00:00Z");
        assert_eq!(parsed("2026-12-01"), "2026-12-01T00:00:00Z");
    }

    #[test]
    fn malformed_dates_are_errors_that_quote_the_value() {
        let err = parse_pbx_instant("next tuesday").unwrap_err();
        assert!(err.to_string().contains("next tuesday"), "{err}");
        assert!(parse_pbx_instant("2026-13-01T00:00:00Z").is_err());
    }
}
