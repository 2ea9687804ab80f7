//! Durations and latency as a scenario writes them.
//!
//! Latency is a fixed number of milliseconds (`latency = 40`) or a range drawn from per
//! request (`latency = "20..200"`, units allowed: `"1s..3s"`). Other durations
//! (`token_lifetime`, a renewal's `after`) take a unit (`"500ms"`, `"30s"`, `"5m"`, `"2h"`,
//! `"1d"`) or a bare number of seconds.

use std::fmt;
use std::time::Duration;

use rand::RngExt as _;
use serde_json::Value;

use crate::dates::kind_of;

/// Simulated network and processing delay before a PBX answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Shortest delay.
    pub min: Duration,
    /// Longest delay (equal to `min` for a fixed latency).
    pub max: Duration,
}

impl Latency {
    /// A fixed latency.
    pub fn fixed(delay: Duration) -> Self {
        Latency {
            min: delay,
            max: delay,
        }
    }

    /// Parses `"20..200"`, `"20-200"`, `"50"`, `"50ms"`, `"1s..2s"` (bare numbers are
    /// milliseconds).
    pub fn parse(text: &str) -> Result<Latency, String> {
        let text = text.trim();
        let error = || {
            format!(
                "`{text}` is not a latency: use milliseconds (`40`) or a range (`20..200`, `1s..3s`)"
            )
        };
        let (low, high) = match text.split_once("..").or_else(|| text.split_once('-')) {
            Some((low, high)) => (low, high),
            None => (text, text),
        };
        let low =
            parse_duration_with_default(low, Duration::from_millis(1)).map_err(|()| error())?;
        let high =
            parse_duration_with_default(high, Duration::from_millis(1)).map_err(|()| error())?;
        if high < low {
            return Err(format!("latency range `{text}` ends before it starts"));
        }
        Ok(Latency {
            min: low,
            max: high,
        })
    }

    /// Parses a generic value: an integer (milliseconds) or a string as in [`Latency::parse`].
    pub fn from_value(value: &Value) -> Result<Latency, String> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .map(|ms| Latency::fixed(Duration::from_millis(ms)))
                .ok_or_else(|| format!("latency `{n}` must be a whole number of milliseconds")),
            Value::String(text) => Latency::parse(text),
            other => Err(format!(
                "latency must be milliseconds or a range string, found {}",
                kind_of(other)
            )),
        }
    }

    /// One draw from the range.
    pub(crate) fn sample(&self, rng: &mut impl rand::Rng) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        rng.random_range(self.min..=self.max)
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min.as_millis())
        } else {
            write!(f, "{}..{}", self.min.as_millis(), self.max.as_millis())
        }
    }
}

/// Parses `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_with_default(text, Duration::from_secs(1)).map_err(|()| {
        format!(
            "`{}` is not a duration: use a number and a unit (`500ms`, `30s`, `5m`, `2h`, `1d`)",
            text.trim()
        )
    })
}

/// Parses a generic value: a whole number of seconds or a string as in [`parse_duration`].
pub fn duration_from_value(value: &Value) -> Result<Duration, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{n}` must be a whole number of seconds")),
        Value::String(text) => parse_duration(text),
        other => Err(format!(
            "expected a duration such as \"30s\", found {}",
            kind_of(other)
        )),
    }
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

fn parse_duration_with_default(text: &str, bare_unit: Duration) -> Result<Duration, ()> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(());
    }
    let amount: u32 = number.parse().map_err(|_| ())?;
    let unit = match unit.trim() {
        "" => bare_unit,
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_mins(1),
        "h" => Duration::from_hours(1),
        "d" => Duration::from_hours(24),
        _ => return Err(()),
    };
    unit.checked_mul(amount).ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_forms() {
        assert_eq!(
            Latency::parse("20..200").unwrap(),
            Latency {
                min: Duration::from_millis(20),
                max: Duration::from_millis(200)
            }
        );
        assert_eq!(
            Latency::parse("20-200").unwrap(),
            Latency::parse("20..200").unwrap()
        );
        assert_eq!(
            Latency::parse("1s..2s").unwrap().max,
            Duration::from_secs(2)
        );
        assert_eq!(
            Latency::from_value(&Value::from(40)).unwrap(),
            Latency::fixed(Duration::from_millis(40))
        );
        assert!(Latency::parse("200..20").is_err());
        assert!(Latency::parse("fast").is_err());
        let mut rng = crate::rng::seeded(3);
        let range = Latency::parse("20..200").unwrap();
        for _ in 0..100 {
            let d = range.sample(&mut rng);
            assert!(d >= range.min && d <= range.max);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_mins(5));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(format_duration(Duration::from_hours(1)), "1h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }
}
