//! A CSV file as a table of named cells, with the quirks of the spreadsheets that write them.
//!
//! Pure: bytes in, a [`Table`] (or every problem found) out. Handled here, so the rows reach
//! validation clean:
//!
//! - a UTF-8 byte-order mark, and UTF-16 files with one (Excel's "Unicode text");
//! - `,`, `;` (Excel in much of Europe) or tab separators, whichever the header line uses most;
//! - quoted cells with separators, doubled quotes and newlines inside;
//! - trailing empty columns, empty header cells over empty columns, and rows of empty cells
//!   (how spreadsheets write their blank rows);
//! - header names in any case, with spaces, `-` or `_`, and the aliases of [`Column::parse`];
//! - a leading `'` before `=`, `+`, `-`, `@` (how Runway's export and spreadsheets keep a cell
//!   from running as a formula) is taken off, except in the secret columns;
//! - the read-only columns of Runway's own export (see `export_only`) are ignored, so an export
//!   imports as it is; where it says `users_licensed_estimated`, its `users_licensed` is an
//!   estimate, not a typed-in count, and is left out.
//!
//! Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2,
//! however many lines a quoted cell spans.

use std::collections::HashMap;
use std::fmt;

use super::CellError;

/// The largest file taken (about 20,000 instances of a full export).
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// The most rows taken.
pub const MAX_IMPORT_ROWS: usize = 20_000;

/// Whether a header names a column of Runway's export that an import does not take: every
/// export column that is not an import column is worked out by Runway (band, days left, …),
/// not typed in.
fn export_only(key: &str) -> bool {
    crate::export::CSV_COLUMNS.contains(&key) && Column::parse(key).is_none()
}

/// A column of the import; [`Column::name`] is its documented name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// The customer's name (created when the tenant has none of that name).
    Customer,
    /// The instance's name, unique per customer.
    Instance,
    /// The PBX's address.
    BaseUrl,
    /// `api_client`, `user`, `legacy` or `manual`.
    LoginKind,
    /// The client id or user name.
    Identity,
    /// The client secret or password.
    Secret,
    /// The TOTP seed (base32).
    TotpSeed,
    /// Minutes between reads.
    PollInterval,
    /// Manual: the license key.
    LicenseKey,
    /// Manual: the product code.
    ProductCode,
    /// Manual: the PBX version.
    Version,
    /// Manual: the expiry date.
    Expiry,
    /// Manual: the maintenance date.
    Maintenance,
    /// Manual: the simultaneous-call limit.
    CallLimit,
    /// Manual: user extensions in use.
    UsersUsed,
    /// Manual: user extensions licensed.
    UsersLicensed,
    /// A column of the export that is not imported (never in [`Column::ALL`]).
    Ignored,
}

impl Column {
    /// The columns of a manual instance's typed-in license (the last of [`Column::ALL`]).
    pub const LICENSE: &'static [Column] = Column::ALL.split_at(8).1;

    /// Every column, in the documented order.
    pub const ALL: [Column; 16] = [
        Column::Customer,
        Column::Instance,
        Column::BaseUrl,
        Column::LoginKind,
        Column::Identity,
        Column::Secret,
        Column::TotpSeed,
        Column::PollInterval,
        Column::LicenseKey,
        Column::ProductCode,
        Column::Version,
        Column::Expiry,
        Column::Maintenance,
        Column::CallLimit,
        Column::UsersUsed,
        Column::UsersLicensed,
    ];

    /// The documented header name (stable: exports write it, imports read it).
    pub fn name(self) -> &'static str {
        match self {
            Column::Customer => "customer",
            Column::Instance => "instance",
            Column::BaseUrl => "base_url",
            Column::LoginKind => "login_kind",
            Column::Identity => "identity",
            Column::Secret => "secret",
            Column::TotpSeed => "totp_seed",
            Column::PollInterval => "poll_interval",
            Column::LicenseKey => "license_key",
            Column::ProductCode => "product_code",
            Column::Version => "version",
            Column::Expiry => "expiry",
            Column::Maintenance => "maintenance",
            Column::CallLimit => "call_limit",
            Column::UsersUsed => "users_used",
            Column::UsersLicensed => "users_licensed",
            Column::Ignored => "(ignored)",
        }
    }

    /// The other names a header may use for it.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Customer => &["customer_name", "client", "company"],
            Column::Instance => &["instance_name", "name", "pbx", "pbx_name"],
            Column::BaseUrl => &["url", "address", "pbx_url"],
            Column::LoginKind => &["login", "kind", "login_type"],
            Column::Identity => &["client_id", "username", "user_name", "user"],
            Column::Secret => &["password", "client_secret"],
            Column::TotpSeed => &["totp", "totp_secret", "mfa_secret"],
            Column::PollInterval => &["poll_interval_minutes", "poll_minutes", "interval"],
            Column::LicenseKey => &["key", "license"],
            Column::ProductCode => &["product"],
            Column::Version => &["pbx_version"],
            Column::Expiry => &["expiry_date", "expires", "expiration", "expiration_date"],
            Column::Maintenance => &[
                "maintenance_date",
                "maintenance_expiry",
                "maintenance_until",
            ],
            Column::CallLimit => &["max_sim_calls", "simultaneous_calls", "sim_calls", "calls"],
            Column::UsersUsed => &["users", "user_extensions"],
            Column::UsersLicensed => &["max_users", "max_user_extensions", "licensed_users"],
            Column::Ignored => &[],
        }
    }

    /// The column a header cell names: case-insensitive, spaces and `-` read as `_`.
    pub fn parse(header: &str) -> Option<Column> {
        let key = header_key(header);
        Column::ALL
            .into_iter()
            .find(|c| c.name() == key || c.aliases().contains(&key.as_str()))
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One record row: its cells by column (columns the header has; cells left out are empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its row number (the header is row 1).
    pub number: usize,
    cells: HashMap<Column, String>,
}

impl Row {
    /// The cell of a column the header has, trimmed ("" when empty); `None` when the file has
    /// no such column.
    pub fn get(&self, column: Column) -> Option<&str> {
        self.cells.get(&column).map(|s| s.trim())
    }

    /// The cell as written, untrimmed (secrets are taken as they are).
    pub fn raw(&self, column: Column) -> Option<&str> {
        self.cells.get(&column).map(String::as_str)
    }
}

/// A CSV file read into rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The columns of the header, in its order.
    pub columns: Vec<Column>,
    /// The record rows, blank ones left out.
    pub rows: Vec<Row>,
    /// The header names of columns not imported (see `export_only`), as written.
    pub ignored: Vec<String>,
}

impl Table {
    /// Whether the file has the column.
    pub fn has(&self, column: Column) -> bool {
        self.columns.contains(&column)
    }
}

/// The file as text: UTF-8 (a byte-order mark dropped), or UTF-16 with its byte-order mark.
fn decode(bytes: &[u8]) -> Result<String, CellError> {
    let utf16 = |big: bool| -> Result<String, CellError> {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|pair| match (pair, big) {
                ([hi, lo], true) | ([lo, hi], false) => u16::from_be_bytes([*hi, *lo]),
                _ => 0xFFFD,
            })
            .collect();
        String::from_utf16(&units).map_err(|_| CellError::file("the file is not valid UTF-16"))
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest),
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, CellError> {
    String::from_utf8(bytes.to_vec()).map_err(|err| {
        let line = newlines_in(&bytes[..err.utf8_error().valid_up_to()]) + 1;
        CellError::file(format!(
            "the file is not UTF-8 (line {line}): save it as \"CSV UTF-8\""
        ))
    })
}

/// The separator the header line uses most: `,`, `;` or tab (a tie goes to the comma).
fn separator(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in text.bytes() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                for (sep, count) in &mut counts {
                    if byte == *sep {
                        *count += 1;
                    }
                }
            }
            _ => {}
        }
    }
    // max_by_key keeps the last of equal counts: reverse so the comma wins a tie.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, count)| *count)
        .map_or(b',', |(sep, _)| sep)
}

/// What the header row says: the column of each cell, the ignored names, where an export's
/// `users_licensed_estimated` is, and the header's problems.
struct Header {
    /// Which column each header cell is; `None` for an empty header cell.
    slots: Vec<Option<Column>>,
    ignored: Vec<String>,
    estimated_at: Option<usize>,
    errors: Vec<CellError>,
}

fn header_slots(header: &csv::StringRecord) -> Header {
    let mut errors = Vec::new();
    let mut slots: Vec<Option<Column>> = Vec::new();
    let mut ignored = Vec::new();
    // Where an export says its users_licensed is an estimate.
    let mut estimated_at = None;
    for (index, name) in header.iter().enumerate() {
        let name = name.trim();
        if name.is_empty() {
            slots.push(None);
            continue;
        }
        let key = header_key(name);
        if export_only(&key) {
            if key == "users_licensed_estimated" {
                estimated_at = Some(index);
            }
            ignored.push(name.to_owned());
            // Ignored cells may hold anything.
            slots.push(Some(Column::Ignored));
            continue;
        }
        match Column::parse(name) {
            Some(column) if slots.contains(&Some(column)) => {
                errors.push(CellError::new(
                    1,
                    name,
                    format!("the column {column} appears twice"),
                ));
                slots.push(None);
            }
            Some(column) => slots.push(Some(column)),
            None => {
                errors.push(CellError::new(
                    1,
                    &format!("#{}", index + 1),
                    format!(
                        "'{name}' is not a column; the columns are {}",
                        Column::ALL.map(Column::name).join(", ")
                    ),
                ));
                slots.push(None);
            }
        }
    }
    for required in [Column::Customer, Column::Instance] {
        if !slots.contains(&Some(required)) {
            errors.push(CellError::new(
                1,
                required.name(),
                format!("the header has no {required} column"),
            ));
        }
    }
    Header {
        slots,
        ignored,
        estimated_at,
        errors,
    }
}

/// Reads a CSV file into a table, or every problem of its header and structure.
pub fn read(bytes: &[u8]) -> Result<Table, Vec<CellError>> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(vec![CellError::file(format!(
            "the file is larger than {} MB; split it",
            MAX_IMPORT_BYTES / 1024 / 1024
        ))]);
    }
    let text = decode(bytes).map_err(|e| vec![e])?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(&text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(err)) => return Err(vec![csv_error(&err, 1)]),
        None => {
            return Err(vec![CellError::file(
                "the file is empty: it needs a header row",
            )]);
        }
    };
    let Header {
        slots,
        ignored,
        estimated_at,
        mut errors,
    } = header_slots(&header);
    let mut rows = Vec::new();
    // Row numbers are lines, less the newlines inside quoted cells before.
    let mut inner_newlines = newlines(&header);
    let mut last = 1;
    let (mut counted_to, mut lines_before) = (0, 0);
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                errors.push(csv_error(&err, last + 1));
                break;
            }
        };
        // The line the record starts on, counted from its byte offset (the reader's own line
        // count is off by one after CRLF line ends, and so is the offset: it can point at the
        // line end before the record).
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .map(|byte| {
                byte + text.as_bytes()[byte.min(text.len())..]
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .count()
            });
        let line = match start {
            Some(byte) if byte >= counted_to => {
                lines_before += newlines_in(&text.as_bytes()[counted_to..byte.min(text.len())]);
                counted_to = byte;
                lines_before + 1
            }
            _ => last + 1 + inner_newlines,
        };
        let number = line.saturating_sub(inner_newlines);
        inner_newlines += newlines(&record);
        last = number;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_IMPORT_ROWS {
            errors.push(CellError::file(format!(
                "the file has more than {MAX_IMPORT_ROWS} rows; split it"
            )));
            break;
        }
        let cells = row_cells(&record, number, &slots, estimated_at, &mut errors);
        rows.push(Row { number, cells });
    }
    if errors.is_empty() {
        Ok(Table {
            columns: slots
                .into_iter()
                .flatten()
                .filter(|c| *c != Column::Ignored)
                .collect(),
            rows,
            ignored,
        })
    } else {
        Err(errors)
    }
}

/// A cell without the `'` that keeps a spreadsheet from running it as a formula.
fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// A header cell (or a login kind) as a key: lower case, spaces and `-` read as `_`.
pub(crate) fn header_key(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// A record's cells by column: the export's formula mark taken off (never from secrets), an
/// estimated `users_licensed` left out; a value under no column is a problem.
fn row_cells(
    record: &csv::StringRecord,
    number: usize,
    slots: &[Option<Column>],
    estimated_at: Option<usize>,
    errors: &mut Vec<CellError>,
) -> HashMap<Column, String> {
    let mut cells = HashMap::new();
    let estimated = estimated_at
        .and_then(|at| record.get(at))
        .is_some_and(|cell| cell.trim().eq_ignore_ascii_case("true"));
    for (position, cell) in record.iter().enumerate() {
        match slots.get(position) {
            Some(Some(Column::Ignored)) => {}
            Some(Some(Column::UsersLicensed)) if estimated => {
                cells.insert(Column::UsersLicensed, String::new());
            }
            Some(Some(column @ (Column::Secret | Column::TotpSeed))) => {
                cells.insert(*column, cell.to_owned());
            }
            Some(Some(column)) => {
                cells.insert(*column, unguard(cell).to_owned());
            }
            // A cell under no column (an empty header cell, or beyond the header) must be
            // empty: a value there would be silently lost.
            _ if !cell.trim().is_empty() => errors.push(CellError::new(
                number,
                &format!("#{}", position + 1),
                "a value in a column without a header name",
            )),
            _ => {}
        }
    }
    for column in slots.iter().flatten() {
        if *column != Column::Ignored {
            cells.entry(*column).or_default();
        }
    }
    cells
}

/// The line feeds in some bytes.
fn newlines_in(bytes: &[u8]) -> usize {
    bytes.iter().fold(0, |n, b| n + usize::from(*b == b'\n'))
}

/// The newlines inside a record's cells.
fn newlines(record: &csv::StringRecord) -> usize {
    record.iter().map(|cell| cell.matches('\n').count()).sum()
}

fn csv_error(err: &csv::Error, row: usize) -> CellError {
    let what = match err.kind() {
        csv::ErrorKind::Utf8 { .. } => "the row is not UTF-8".to_owned(),
        _ => "the row cannot be read as CSV (an unclosed quote?)".to_owned(),
    };
    CellError::new(row, "", what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        read(text.as_bytes()).unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        read(text.as_bytes())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let t = read(b"\xEF\xBB\xBFcustomer,instance\nAcme,HQ\n").unwrap();
        assert_eq!(t.columns, [Column::Customer, Column::Instance]);
        assert_eq!(t.rows[0].get(Column::Customer), Some("Acme"));
    }

    #[test]
    fn utf16_with_its_byte_order_mark_is_read() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "customer\tinstance\nAcmé\tHQ\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let t = read(&bytes).unwrap();
        assert_eq!(t.rows[0].get(Column::Customer), Some("Acmé"));
    }

    #[test]
    fn semicolons_and_tabs_are_separators_when_the_header_uses_them() {
        for text in [
            "customer;instance;expiry\nAcme, Inc.;HQ;2026-06-03\n",
            "customer\tinstance\texpiry\nAcme, Inc.\tHQ\t2026-06-03\n",
            "customer,instance,expiry\n\"Acme, Inc.\",HQ,2026-06-03\n",
        ] {
            let t = table(text);
            assert_eq!(
                t.rows[0].get(Column::Customer),
                Some("Acme, Inc."),
                "{text}"
            );
            assert_eq!(t.rows[0].get(Column::Expiry), Some("2026-06-03"), "{text}");
        }
    }

    #[test]
    fn quoted_newlines_stay_in_their_cell_and_rows_count_as_a_spreadsheet_shows_them() {
        let t = table("customer,instance\n\"Acme\nNorth\",HQ\nBeta,\"Main\r\nOffice\"\nGamma,X\n");
        assert_eq!(t.rows[0].get(Column::Customer), Some("Acme\nNorth"));
        assert_eq!(t.rows[1].get(Column::Instance), Some("Main\r\nOffice"));
        let numbers: Vec<usize> = t.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [2, 3, 4]);
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them_whatever_the_line_ends() {
        for text in [
            "customer;instance\r\nx;y\r\n;\r\n\r\n\"z\r\nz\";w\r\nv;u\r\n",
            "\u{feff}customer;instance\nx;y\n;\n\n\"z\nz\";w\nv;u\n",
        ] {
            let numbers: Vec<usize> = table(text).rows.iter().map(|r| r.number).collect();
            assert_eq!(numbers, [2, 5, 6], "{text:?}");
        }
    }

    #[test]
    fn trailing_empty_columns_and_blank_rows_are_ignored() {
        let t = table("customer,instance,,,\r\nAcme,HQ,,,\r\n,,,,\r\n\r\nBeta,Main\r\n");
        assert_eq!(t.columns, [Column::Customer, Column::Instance]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].number, 5);
        assert_eq!(t.rows[1].get(Column::Instance), Some("Main"));
    }

    #[test]
    fn a_value_under_no_header_is_an_error_not_lost() {
        assert_eq!(
            errors("customer,instance,\nAcme,HQ,2026-06-03\n"),
            ["row 2, column #3: a value in a column without a header name"]
        );
    }

    #[test]
    fn headers_are_case_insensitive_with_aliases() {
        let t =
            table("Customer Name;Instance name;BASE-URL;Expiry Date;Max Sim Calls\nA;B;C;D;E\n");
        assert_eq!(
            t.columns,
            [
                Column::Customer,
                Column::Instance,
                Column::BaseUrl,
                Column::Expiry,
                Column::CallLimit
            ]
        );
        for column in Column::ALL {
            assert_eq!(Column::parse(column.name()), Some(column));
            assert_eq!(Column::parse(&column.name().to_uppercase()), Some(column));
        }
    }

    #[test]
    fn header_problems_are_all_listed() {
        assert_eq!(
            errors("customer,expirey,customer\n"),
            [
                "row 1, column #2: 'expirey' is not a column; the columns are customer, \
                 instance, base_url, login_kind, identity, secret, totp_seed, poll_interval, \
                 license_key, product_code, version, expiry, maintenance, call_limit, \
                 users_used, users_licensed",
                "row 1, column customer: the column customer appears twice",
                "row 1, column instance: the header has no instance column",
            ]
        );
        assert_eq!(errors(""), ["the file is empty: it needs a header row"]);
    }

    #[test]
    fn a_file_that_is_not_utf8_says_how_to_save_it() {
        assert_eq!(
            read(b"customer,instance\nCaf\xE9,HQ\n")
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["the file is not UTF-8 (line 2): save it as \"CSV UTF-8\""]
        );
    }

    #[test]
    fn rows_left_short_have_empty_cells() {
        let t = table("customer,instance,expiry\nAcme,HQ\n");
        assert_eq!(t.rows[0].get(Column::Expiry), Some(""));
        assert_eq!(t.rows[0].get(Column::Secret), None, "no such column");
    }
}
