//! License dates: how a scenario writes them and how a PBX serves them.
//!
//! A scenario date is absolute (`2035-01-01T00:00:00Z`, `2026-12-01`), relative to a given
//! "now" (`+12d`, `-3d`, `+6h`, `now`), `none` (3CX's way of saying "no date": .NET's minimum
//! `0001-01-01T00:00:00.0000000+00:00`) or `null` (JSON null). Relative dates are resolved
//! against an instant passed in, never against the system clock deep inside.
//!
//! 3CX writes RFC 3339 with up to 7 fractional digits and `Z` or `±hh:mm`; [`DateStyle`] picks
//! one of the shapes seen so fixtures vary the way real PBXs do.

use std::fmt::Write as _;

use jiff::civil::{Date, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// .NET's `DateTimeOffset.MinValue` as 3CX serialises it: the PBX's way of saying "no date".
pub const DOTNET_MIN_DATE: &str = "0001-01-01T00:00:00.0000000+00:00";

/// The key the `toml` crate uses for native TOML datetimes seen through a generic value.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// A date as written in a scenario file or a control-API request, before "now" is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateSpec {
    /// An absolute instant; `text` is the RFC 3339 string as written (served verbatim), or
    /// `None` for a date-only value (served in the PBX's date style at midnight UTC).
    Absolute {
        /// The instant.
        instant: Timestamp,
        /// The exact text to serve, when the scenario gave one.
        text: Option<String>,
    },
    /// "now" plus (or minus) a duration.
    Relative(SignedDuration),
    /// .NET's minimum date (`0001-01-01T00:00:00.0000000+00:00`).
    DotNetMin,
    /// JSON `null`.
    Null,
}

/// A date as a PBX serves it, with "now" applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServedDate {
    /// A real date; `text` (if any) is served verbatim, otherwise the PBX's [`DateStyle`] is
    /// used.
    At {
        /// The instant.
        instant: Timestamp,
        /// The exact text to serve, when the scenario gave one.
        text: Option<String>,
    },
    /// .NET's minimum date: "no date" the 3CX way.
    DotNetMin,
    /// JSON `null`.
    Null,
}

/// How a PBX writes its dates (all seen on real 3CX systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStyle {
    /// `2026-12-01T10:20:30Z`
    Z,
    /// `2026-12-01T10:20:30+00:00`
    Offset,
    /// `2026-12-01T10:20:30.1234567+00:00` (.NET round-trip format)
    Dotnet,
    /// `2026-12-01T10:20:30.1234567Z`
    DotnetZ,
    /// `2026-12-01T11:20:30.1234567+01:00` (a PBX in Central European time)
    DotnetLocal,
}

impl DateStyle {
    /// Every style, for deterministic variation across a fleet.
    pub const ALL: [DateStyle; 5] = [
        DateStyle::Dotnet,
        DateStyle::Z,
        DateStyle::Offset,
        DateStyle::DotnetZ,
        DateStyle::DotnetLocal,
    ];
}

impl DateSpec {
    /// Parses the text form: RFC 3339, `YYYY-MM-DD`, `now`, `+12d` / `-3d` / `+6h` / `+30m` /
    /// `+45s` / `+2w`, `none` or `null`.
    pub fn parse(text: &str) -> Result<DateSpec, String> {
        let trimmed = text.trim();
        match trimmed {
            "none" => return Ok(DateSpec::DotNetMin),
            "null" => return Ok(DateSpec::Null),
            "now" => return Ok(DateSpec::Relative(SignedDuration::ZERO)),
            _ => {}
        }
        if let Some(first) = trimmed.chars().next()
            && (first == '+' || first == '-')
        {
            return parse_relative(trimmed).map(DateSpec::Relative);
        }
        if let Ok(instant) = trimmed.parse::<Timestamp>() {
            return Ok(DateSpec::Absolute {
                instant,
                text: Some(trimmed.to_owned()),
            });
        }
        if let Ok(date) = trimmed.parse::<Date>() {
            let instant = Offset::UTC
                .to_timestamp(date.to_datetime(Time::midnight()))
                .map_err(|e| format!("date `{trimmed}` is out of range: {e}"))?;
            return Ok(DateSpec::Absolute {
                instant,
                text: None,
            });
        }
        Err(format!(
            "`{trimmed}` is not a date: use RFC 3339 (`2035-01-01T00:00:00Z`), `YYYY-MM-DD`, a relative date (`+12d`, `-3d`, `+6h`, `now`), `none` (no date, served as {DOTNET_MIN_DATE}) or `null`"
        ))
    }

    /// Parses a generic value: a string as in [`DateSpec::parse`], JSON `null`, or a native TOML
    /// datetime.
    pub fn from_value(value: &Value) -> Result<DateSpec, String> {
        match value {
            Value::Null => Ok(DateSpec::Null),
            Value::String(text) => DateSpec::parse(text),
            Value::Object(map) => match map.get(TOML_DATETIME_KEY) {
                Some(Value::String(text)) => DateSpec::parse(text),
                _ => Err("expected a date string".to_owned()),
            },
            other => Err(format!("expected a date string, found {}", kind_of(other))),
        }
    }

    /// Applies "now" to relative dates.
    pub fn resolve(&self, now: Timestamp) -> ServedDate {
        match self {
            DateSpec::Absolute { instant, text } => ServedDate::At {
                instant: *instant,
                text: text.clone(),
            },
            DateSpec::Relative(by) => ServedDate::At {
                instant: shift(now, *by),
                text: None,
            },
            DateSpec::DotNetMin => ServedDate::DotNetMin,
            DateSpec::Null => ServedDate::Null,
        }
    }
}

impl ServedDate {
    /// The instant, when this is a real date.
    pub fn instant(&self) -> Option<Timestamp> {
        match self {
            ServedDate::At { instant, .. } => Some(*instant),
            ServedDate::DotNetMin | ServedDate::Null => None,
        }
    }

    /// The JSON value a PBX writing dates in `style` serves.
    pub fn to_json(&self, style: DateStyle) -> Value {
        match self {
            ServedDate::At {
                text: Some(text), ..
            } => Value::String(text.clone()),
            ServedDate::At {
                instant,
                text: None,
            } => Value::String(format_date(*instant, style)),
            ServedDate::DotNetMin => Value::String(DOTNET_MIN_DATE.to_owned()),
            ServedDate::Null => Value::Null,
        }
    }

    /// A short description for listings: the served text in the `Z` style, `none` or `null`.
    pub fn describe(&self) -> String {
        match self {
            ServedDate::At { text: Some(t), .. } => t.clone(),
            ServedDate::At { instant, .. } => format_date(*instant, DateStyle::Z),
            ServedDate::DotNetMin => "none".to_owned(),
            ServedDate::Null => "null".to_owned(),
        }
    }
}

/// `instant + shift`, clamped to jiff's range instead of failing.
pub(crate) fn shift(instant: Timestamp, by: SignedDuration) -> Timestamp {
    instant.checked_add(by).unwrap_or(if by.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Formats an instant the way a PBX with the given style writes it.
pub fn format_date(instant: Timestamp, style: DateStyle) -> String {
    let offset = match style {
        DateStyle::DotnetLocal => Offset::constant(1),
        _ => Offset::UTC,
    };
    let dt = offset.to_datetime(instant);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let ticks = dt.subsec_nanosecond() / 100; // .NET ticks: 7 fractional digits
    match style {
        DateStyle::Z => out.push('Z'),
        DateStyle::Offset => out.push_str("+00:00"),
        DateStyle::Dotnet => {
            let _ = write!(out, ".{ticks:07}+00:00");
        }
        DateStyle::DotnetZ => {
            let _ = write!(out, ".{ticks:07}Z");
        }
        DateStyle::DotnetLocal => {
            let _ = write!(out, ".{ticks:07}+01:00");
        }
    }
    out
}

/// Parses `+12d`, `-3d`, `+6h`, `+30m`, `+45s`, `+2w` (sign required, one unit).
pub(crate) fn parse_relative(text: &str) -> Result<SignedDuration, String> {
    let error = || {
        format!(
            "`{text}` is not a relative date: use a sign, a whole number and one unit of s, m, h, d or w (e.g. `+12d`, `-3d`, `+6h`)"
        )
    };
    let (negative, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (false, rest),
        Some(("-", rest)) => (true, rest),
        _ => return Err(error()),
    };
    let unit_at = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
    let (number, unit) = rest.split_at(unit_at);
    let amount: i64 = number.parse().map_err(|_| error())?;
    let seconds_per_unit: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(error()),
    };
    let seconds = amount
        .checked_mul(seconds_per_unit)
        .filter(|s| s.abs() < 400 * 365 * 86_400)
        .ok_or_else(|| format!("`{text}` is too far away"))?;
    Ok(SignedDuration::from_secs(if negative {
        -seconds
    } else {
        seconds
    }))
}

/// A human word for a JSON value's type, for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table/object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T15:00:00.123456789Z".parse().unwrap()
    }

    #[test]
    fn relative_dates_resolve_against_the_given_now() {
        let served = DateSpec::parse("+12d").unwrap().resolve(now());
        assert_eq!(
            served.instant().unwrap(),
            "2026-12-11T15:00:00.123456789Z"
                .parse::<Timestamp>()
                .unwrap()
        );
        let past = DateSpec::parse("-3d").unwrap().resolve(now());
        assert_eq!(past.to_json(DateStyle::Z), "2026-11-26T15:00:00Z");
        let hours = DateSpec::parse("+6h").unwrap().resolve(now());
        assert_eq!(
            hours.to_json(DateStyle::Dotnet),
            "2026-11-29T21:00:00.1234567+00:00"
        );
        assert_eq!(
            DateSpec::parse("now").unwrap().resolve(now()).instant(),
            Some(now())
        );
    }

    #[test]
    fn styles_match_what_3cx_writes() {
        let at: Timestamp = "2027-03-01T23:30:00Z".parse().unwrap();
        assert_eq!(format_date(at, DateStyle::Z), "2027-03-01T23:30:00Z");
        assert_eq!(
            format_date(at, DateStyle::Offset),
            "2027-03-01T23:30:00+00:00"
        );
        assert_eq!(
            format_date(at, DateStyle::Dotnet),
            "2027-03-01T23:30:00.0000000+00:00"
        );
        assert_eq!(
            format_date(at, DateStyle::DotnetZ),
            "2027-03-01T23:30:00.0000000Z"
        );
        assert_eq!(
            format_date(at, DateStyle::DotnetLocal),
            "2027-03-02T00:30:00.0000000+01:00"
        );
    }

    #[test]
    fn absolute_text_is_served_verbatim_and_special_values_are_kept() {
        let spec = DateSpec::parse("2035-01-01T00:00:00Z").unwrap();
        assert_eq!(
            spec.resolve(now()).to_json(DateStyle::Dotnet),
            "2035-01-01T00:00:00Z"
        );
        let date_only = DateSpec::parse("2027-06-30").unwrap().resolve(now());
        assert_eq!(
            date_only.to_json(DateStyle::Offset),
            "2027-06-30T00:00:00+00:00"
        );
        assert_eq!(
            DateSpec::parse("none")
                .unwrap()
                .resolve(now())
                .to_json(DateStyle::Z),
            DOTNET_MIN_DATE
        );
        assert_eq!(
            DateSpec::from_value(&Value::Null)
                .unwrap()
                .resolve(now())
                .to_json(DateStyle::Z),
            Value::Null
        );
    }

    #[test]
    fn bad_dates_say_what_is_accepted() {
        for bad in [
            "+12",
            "12d",
            "+12y",
            "+d",
            "tomorrow",
            "2026-13-01",
            "+999999999d",
        ] {
            let error = DateSpec::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }
}
