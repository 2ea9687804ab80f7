//! Dates as people type them or spreadsheets write them: a manual instance's expiry in the form,
//! or any date column of a CSV import.
//!
//! One rule for both, so a date the form accepts is a date the import accepts:
//!
//! | written | read as |
//! |---|---|
//! | `2026-06-03`, `2026-6-3`, `2026/06/03`, `2026.06.03` | year first: always unambiguous |
//! | `2026-06-03 00:00:00`, `2026-06-03T00:00` | a spreadsheet's date cell with its midnight |
//! | `46176` (or `46176.5`) | an Excel serial day number (1900 system): 2026-06-03 |
//! | `13/06/2026`, `6/13/2026`, `03.03.2026` | day and month told apart: one is above 12, or both are equal |
//! | `03/06/2026` | refused: 3 June or 6 March? ([`BadTypedDate::Ambiguous`]) |
//!
//! Two-digit years are refused (which century?). A typed date means that calendar day in the
//! tenant's zone: [`typed_date_instant`] places it at local noon, so every rule (days left,
//! bands, reminders) sees the day that was typed whatever the zone's offset.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::zone::Zone;

/// Excel's serial numbers count days from 1899-12-30 (serials from 61 on; below that, Excel's
/// fictitious 1900-02-29 makes them off by one, so they are refused).
const EXCEL_EPOCH: Date = jiff::civil::date(1899, 12, 30);
/// The first serial read: 1900-03-01.
const FIRST_EXCEL_SERIAL: i64 = 61;
/// The last serial Excel has: 9999-12-31.
const LAST_EXCEL_SERIAL: i64 = 2_958_465;

/// Why a typed date was refused; the message quotes it and says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadTypedDate {
    /// Not a date in any accepted form (or a day that does not exist, like 31 February).
    #[error("'{text}' is not a date; expected YYYY-MM-DD")]
    NotADate {
        /// The text as typed, cut to a readable length.
        text: String,
    },
    /// Day and month cannot be told apart.
    #[error("'{text}' is ambiguous: it could be {first} or {second}; write it as YYYY-MM-DD")]
    Ambiguous {
        /// The text as typed.
        text: String,
        /// One reading (day first), e.g. "2026-06-03".
        first: Date,
        /// The other (month first), e.g. "2026-03-06".
        second: Date,
    },
    /// A year of two digits.
    #[error("'{text}' has a two-digit year; write it as YYYY-MM-DD")]
    ShortYear {
        /// The text as typed.
        text: String,
    },
}

/// Reads a typed date (see the module docs for the forms); the text is trimmed first.
pub fn parse_typed_date(text: &str) -> Result<Date, BadTypedDate> {
    let text = text.trim();
    let shown = || text.chars().take(64).collect::<String>();
    let not_a_date = || BadTypedDate::NotADate { text: shown() };
    let date_part = strip_midnight(text);
    if let Some(serial) = excel_serial(date_part) {
        return (FIRST_EXCEL_SERIAL..=LAST_EXCEL_SERIAL)
            .contains(&serial)
            .then(|| EXCEL_EPOCH.checked_add(jiff::Span::new().days(serial)).ok())
            .flatten()
            .ok_or_else(not_a_date);
    }
    let parts: Vec<&str> = date_part.split(['-', '/', '.']).collect();
    let [a, b, c] = parts[..] else {
        return Err(not_a_date());
    };
    let number = |s: &str| -> Option<i16> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (Some(na), Some(nb), Some(nc)) = (number(a), number(b), number(c)) else {
        return Err(not_a_date());
    };
    let day = |year: i16, month: i16, day: i16| -> Result<Date, BadTypedDate> {
        let month = i8::try_from(month).map_err(|_| not_a_date())?;
        let day = i8::try_from(day).map_err(|_| not_a_date())?;
        Date::new(year, month, day).map_err(|_| not_a_date())
    };
    // The separator must be the same twice: "2026-06/03" is a typo, not a date.
    let separators: Vec<char> = date_part.chars().filter(|c| "-/.".contains(*c)).collect();
    if separators.first() != separators.get(1) {
        return Err(not_a_date());
    }
    if a.len() == 4 && b.len() <= 2 && c.len() <= 2 {
        return day(na, nb, nc);
    }
    if c.len() == 2 && a.len() <= 2 && b.len() <= 2 {
        return Err(BadTypedDate::ShortYear { text: shown() });
    }
    if c.len() != 4 || a.len() > 2 || b.len() > 2 {
        return Err(not_a_date());
    }
    match (na > 12, nb > 12) {
        (true, true) => Err(not_a_date()),
        (true, false) => day(nc, nb, na),
        (false, true) => day(nc, na, nb),
        (false, false) if na == nb => day(nc, nb, na),
        (false, false) => {
            let first = day(nc, nb, na)?;
            let second = day(nc, na, nb)?;
            Err(BadTypedDate::Ambiguous {
                text: shown(),
                first,
                second,
            })
        }
    }
}

/// The date part of a date followed by midnight (`2026-06-03 00:00:00`, `2026-06-03T00:00`),
/// which is how spreadsheets write a date cell that holds a date-time; other text unchanged.
fn strip_midnight(text: &str) -> &str {
    let Some((date, time)) = text.split_once([' ', 'T']) else {
        return text;
    };
    let time = time.trim();
    let midnight = ["00:00", "00:00:00", "00:00:00.000", "0:00", "0:00:00"];
    if midnight.contains(&time) {
        date.trim()
    } else {
        text
    }
}

/// An Excel serial day number (`46176`, or `46176.5` for a date-time: the day is kept).
fn excel_serial(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // "2026.06.03" has two dots and is a date; a serial has at most one.
    (digits(whole) && digits(fraction) && whole.len() <= 7).then(|| whole.parse().ok())?
}

/// The instant a typed date stands for: noon of that day in `zone`, so the date typed is the
/// date every rule sees. `None` only at the very ends of the calendar (9999-12-31 west of UTC).
pub fn typed_date_instant(date: Date, zone: &Zone) -> Option<Timestamp> {
    zone.time_zone()
        .to_zoned_datetime(date.at(12, 0, 0, 0))
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn year_first_forms_are_read() {
        for text in [
            "2026-06-03",
            "2026-6-3",
            "2026/06/03",
            "2026.06.03",
            " 2026-06-03 ",
            "2026-06-03 00:00:00",
            "2026-06-03T00:00",
        ] {
            assert_eq!(parse_typed_date(text), Ok(date("2026-06-03")), "{text}");
        }
    }

    #[test]
    fn excel_serial_numbers_are_days_since_1899_12_30() {
        assert_eq!(parse_typed_date("46176"), Ok(date("2026-06-03")));
        assert_eq!(parse_typed_date("46176.75"), Ok(date("2026-06-03")));
        assert_eq!(parse_typed_date("61"), Ok(date("1900-03-01")));
        assert_eq!(parse_typed_date("2958465"), Ok(date("9999-12-31")));
        assert!(
            parse_typed_date("60").is_err(),
            "Excel's 1900-02-29 never was"
        );
        assert!(parse_typed_date("2958466").is_err());
    }

    #[test]
    fn day_and_month_are_read_only_when_they_cannot_be_confused() {
        assert_eq!(parse_typed_date("13/06/2026"), Ok(date("2026-06-13")));
        assert_eq!(parse_typed_date("6/13/2026"), Ok(date("2026-06-13")));
        assert_eq!(parse_typed_date("03.03.2026"), Ok(date("2026-03-03")));
        assert_eq!(parse_typed_date("31-12-2026"), Ok(date("2026-12-31")));
    }

    #[test]
    fn an_ambiguous_date_says_both_readings() {
        let err = parse_typed_date("03/06/2026").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'03/06/2026' is ambiguous: it could be 2026-06-03 or 2026-03-06; write it as \
             YYYY-MM-DD"
        );
    }

    #[test]
    fn days_that_do_not_exist_and_other_text_are_not_dates() {
        assert_eq!(
            parse_typed_date("31/02/2026").unwrap_err().to_string(),
            "'31/02/2026' is not a date; expected YYYY-MM-DD"
        );
        for text in [
            "",
            "2026-02-30",
            "2026-13-01",
            "tomorrow",
            "2026-06/03",
            "13/13/2026",
            "2026-06-03 12:00",
            "1.5.6",
            "-5",
        ] {
            assert!(
                matches!(parse_typed_date(text), Err(BadTypedDate::NotADate { .. })),
                "{text}"
            );
        }
        assert!(matches!(
            parse_typed_date("03/06/26"),
            Err(BadTypedDate::ShortYear { .. })
        ));
    }

    #[test]
    fn a_typed_date_is_noon_of_that_day_in_the_zone() {
        let zone = Zone::parse("America/New_York").unwrap();
        let instant = typed_date_instant(date("2026-06-03"), &zone).unwrap();
        assert_eq!(instant.to_string(), "2026-06-03T16:00:00Z");
        assert_eq!(zone.date_of(instant), date("2026-06-03"));
    }
}
