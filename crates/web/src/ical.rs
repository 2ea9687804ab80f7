//! A small RFC 5545 (iCalendar) writer: content lines, TEXT escaping and line folding.
//!
//! The feed needs a handful of properties on one component type, so a writer of our own is
//! smaller than a general iCalendar crate (the maintained one pulls in `chrono`, a second time
//! library beside `jiff`). What RFC 5545 asks of the bytes is all here:
//!
//! - every content line ends in CRLF (§3.1);
//! - a line longer than 75 octets is folded: CRLF and one space, the continuation counting
//!   the space, and never inside a UTF-8 character (§3.1);
//! - TEXT values escape `\`, `;`, `,` and line breaks (§3.3.11), and carry no other control
//!   characters.
//!
//! Values of other types (dates, URIs, durations) are written as given: the caller formats
//! them, and they hold none of the characters TEXT escapes.

use std::fmt::Write as _;

/// The most octets a content line may hold before its CRLF.
pub(crate) const MAX_LINE_OCTETS: usize = 75;

/// An iCalendar object being written, content line by content line.
#[derive(Debug, Default)]
pub(crate) struct ICalWriter {
    out: String,
}

impl ICalWriter {
    /// An empty object.
    pub(crate) fn new() -> ICalWriter {
        ICalWriter::default()
    }

    /// `BEGIN:<component>`.
    pub(crate) fn begin(&mut self, component: &str) {
        self.raw("BEGIN", component);
    }

    /// `END:<component>`.
    pub(crate) fn end(&mut self, component: &str) {
        self.raw("END", component);
    }

    /// A property whose value is already in its type's form (a date, a URI, a duration, a
    /// fixed keyword); `name` may carry parameters (`DTSTART;VALUE=DATE`).
    pub(crate) fn raw(&mut self, name: &str, value: &str) {
        let mut line = String::with_capacity(name.len() + 1 + value.len());
        line.push_str(name);
        line.push(':');
        line.push_str(value);
        fold_into(&mut self.out, &line);
    }

    /// A property of type TEXT, escaped.
    pub(crate) fn text(&mut self, name: &str, value: &str) {
        self.raw(name, &escape_text(value));
    }

    /// The object's text.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// A TEXT value escaped (RFC 5545 §3.3.11): `\` `;` `,` get a backslash, every line break
/// (CRLF, LF or CR) becomes `\n`, and other control characters but tab are dropped.
pub(crate) fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at [`MAX_LINE_OCTETS`] octets on character boundaries,
/// each physical line ending in CRLF.
fn fold_into(out: &mut String, line: &str) {
    let mut budget = MAX_LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > budget {
            out.push_str("\r\n ");
            // The leading space of a continuation line counts towards its 75 octets.
            budget = MAX_LINE_OCTETS;
            used = 1;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

/// A civil date as an iCalendar DATE (`YYYYMMDD`).
pub(crate) fn date(date: jiff::civil::Date) -> String {
    let mut out = String::with_capacity(8);
    let _ = write!(
        out,
        "{:04}{:02}{:02}",
        date.year(),
        date.month(),
        date.day()
    );
    out
}

/// An instant as an iCalendar DATE-TIME in UTC (`YYYYMMDDTHHMMSSZ`).
pub(crate) fn utc_date_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The physical lines of written text, each checked to end in CRLF.
    fn physical_lines(text: &str) -> Vec<&str> {
        assert!(text.ends_with("\r\n"), "{text:?}");
        let body = &text[..text.len() - 2];
        let lines: Vec<&str> = body.split("\r\n").collect();
        for line in &lines {
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
        }
        lines
    }

    /// Undoes folding: every CRLF followed by one space disappears.
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn text_escapes_backslash_semicolon_comma_and_line_breaks() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
        assert_eq!(
            escape_text("tab\tkept, bell\u{7} dropped"),
            "tab\tkept\\, bell dropped"
        );
        assert_eq!(
            escape_text("Zürich: 3CX"),
            "Zürich: 3CX",
            "colons need no escape"
        );
    }

    #[test]
    fn short_lines_are_not_folded_and_end_in_crlf() {
        let mut w = ICalWriter::new();
        w.begin("VCALENDAR");
        w.raw("VERSION", "2.0");
        w.end("VCALENDAR");
        assert_eq!(
            w.finish(),
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
        );
    }

    #[test]
    fn a_line_of_exactly_75_octets_stays_whole_and_76_folds() {
        let mut w = ICalWriter::new();
        w.raw("X", &"a".repeat(73));
        let text = w.finish();
        assert_eq!(physical_lines(&text), [format!("X:{}", "a".repeat(73))]);

        let mut w = ICalWriter::new();
        w.raw("X", &"a".repeat(74));
        let text = w.finish();
        let lines = physical_lines(&text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 75);
        assert_eq!(lines[1], " a");
    }

    #[test]
    fn folding_never_splits_a_multi_byte_character_and_keeps_every_line_within_75_octets() {
        // Two-, three- and four-byte characters, at every offset against the fold.
        for prefix in 0..4 {
            let value = format!("{}{}", "x".repeat(prefix), "é€😀ü".repeat(40));
            let mut w = ICalWriter::new();
            w.text("SUMMARY", &value);
            let text = w.finish();
            let lines = physical_lines(&text);
            assert!(lines.len() > 3, "{lines:?}");
            for (i, line) in lines.iter().enumerate() {
                // `&str` pieces: a split inside a character would not have been valid UTF-8.
                assert!(
                    line.len() <= MAX_LINE_OCTETS,
                    "line {i}: {} octets",
                    line.len()
                );
                if i > 0 {
                    assert!(line.starts_with(' ') && !line.starts_with("  "), "{line:?}");
                }
            }
            assert_eq!(unfold(&text), format!("SUMMARY:{value}\r\n"));
        }
    }

    #[test]
    fn lines_fold_as_full_as_they_may() {
        let value = "€".repeat(60); // 180 octets
        let mut w = ICalWriter::new();
        w.raw("X", &value);
        let text = w.finish();
        let lines = physical_lines(&text);
        // "X:" and 24 euros = 74 octets (a 25th would make 77); then " " + 24 euros = 73.
        assert_eq!(lines[0].len(), 74);
        assert_eq!(lines[1].len(), 73);
        assert_eq!(unfold(&text), format!("X:{value}\r\n"));
    }

    #[test]
    fn dates_and_instants_have_their_ical_forms() {
        assert_eq!(date(jiff::civil::date(2027, 3, 9)), "20270309");
        let at: jiff::Timestamp = "2026-12-03T12:43:06Z".parse().unwrap();
        assert_eq!(utc_date_time(at), "20261203T124306Z");
    }
}
