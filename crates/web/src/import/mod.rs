//! CSV import of customers and instances: a file is read ([`table`]), every row checked by the
//! rules the instance form uses (`InstanceDraft::check_settings`), and the result shown as a
//! preview — what each row creates or updates, and every problem by row and column. Committing
//! checks the file again and writes it in one transaction through the engine's recording path
//! ([`runway_engine::Engine::import_instances`]): a file with one bad row changes nothing.
//!
//! Instances are matched on (customer, instance name), case-insensitively, so importing the same
//! file again updates rather than duplicates. Columns a file leaves out keep what is stored;
//! a secret cell left empty keeps the stored secret (for the same address and login, as the
//! form does). Secrets are never shown back: a preview says only whether one was given.
//!
//! The columns are [`Column::ALL`]. A file exported by Runway imports as it is: the export's
//! read-only columns (band, days left, …) are named in the preview and ignored.

mod sealed;
pub mod table;

pub(crate) use sealed::{open as open_sealed, seal};

use std::collections::{HashMap, HashSet};
use std::fmt;

use runway_core::LicenseFacts;
use runway_engine::{Engine, ImportInstance};
use runway_store::{
    CustomerId, ImportItem, ImportTarget, Instance, InstanceId, LicenseState, LoginKind, Store,
    Tenant, name_key,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::edit::{CheckedInstance, DraftLogin, InstanceDraft};
use crate::error::WebError;
use crate::forms::FieldErrors;

pub use table::{Column, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, Table};

/// One problem of an import file: the row and column it is in (when it is in one), and what is
/// wrong, quoting the cell where that helps — never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CellError {
    /// The row as a spreadsheet numbers it (the header is row 1); absent for the whole file.
    pub row: Option<usize>,
    /// The column's name (or `#N` for a column without one); empty for a whole row.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

impl CellError {
    /// A problem of one cell (or, with an empty `column`, of one row).
    pub(crate) fn new(row: usize, column: &str, message: impl Into<String>) -> CellError {
        CellError {
            row: Some(row),
            column: column.to_owned(),
            message: message.into(),
        }
    }

    /// A problem of the whole file.
    pub(crate) fn file(message: impl Into<String>) -> CellError {
        CellError {
            row: None,
            column: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.row, self.column.as_str()) {
            (Some(row), "") => write!(f, "row {row}: {}", self.message),
            (Some(row), column) => write!(f, "row {row}, column {column}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

/// What importing a row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// A new instance.
    Create,
    /// An existing instance whose settings or typed-in license change.
    Update,
    /// An existing instance the row describes as it is.
    Unchanged,
}

impl RowAction {
    /// The word the preview shows.
    pub fn label(self) -> &'static str {
        match self {
            RowAction::Create => "create",
            RowAction::Update => "update",
            RowAction::Unchanged => "unchanged",
        }
    }
}

/// One row of the preview.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowPreview {
    /// The row as a spreadsheet numbers it.
    pub row: usize,
    /// The customer's name as written.
    pub customer: String,
    /// The instance's name as written.
    pub instance: String,
    /// Whether the customer is created by the import.
    pub new_customer: bool,
    /// `api_client`, `user`, `legacy` or `manual` (empty when the row does not say and it
    /// cannot be told).
    pub login_kind: String,
    /// What importing it does; absent when the row has problems.
    pub action: Option<RowAction>,
    /// A manual instance's expiry date as it will be recorded (the tenant's zone).
    pub expiry_date: Option<String>,
    /// Whether the row gives a secret (the secret itself is never shown back).
    pub secret_given: bool,
    /// Remarks that are not problems, e.g. license columns ignored for a PBX that is read.
    pub notes: Vec<String>,
    /// This row's problems.
    pub errors: Vec<CellError>,
}

/// What an import would do, or did: every row, every problem.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportPreview {
    /// The rows in file order.
    pub rows: Vec<RowPreview>,
    /// Every problem of the file, in file order (the rows' problems included). An import with
    /// any is refused as a whole.
    pub errors: Vec<CellError>,
    /// Columns of the file that are not imported (an export's read-only columns).
    pub ignored_columns: Vec<String>,
    /// The customers the import creates.
    pub new_customers: Vec<String>,
    /// Rows that create an instance.
    pub create: usize,
    /// Rows that update one.
    pub update: usize,
    /// Rows that change nothing.
    pub unchanged: usize,
}

/// A checked file: its preview and, when it has no problems, what to write.
struct Plan {
    preview: ImportPreview,
    items: Vec<ImportInstance>,
}

/// The field of [`InstanceDraft`] an error names, as the column of the import.
fn column_of(field: &str) -> &'static str {
    match field {
        "name" => Column::Instance.name(),
        "customer_id" => Column::Customer.name(),
        "base_url" => Column::BaseUrl.name(),
        "login_kind" => Column::LoginKind.name(),
        "identity" => Column::Identity.name(),
        "secret" => Column::Secret.name(),
        "totp_secret" => Column::TotpSeed.name(),
        "poll_interval_minutes" => Column::PollInterval.name(),
        "manual_expiry_date" => Column::Expiry.name(),
        "manual_maintenance_date" => Column::Maintenance.name(),
        _ => "",
    }
}

/// A login kind as a spreadsheet may write it: any case, spaces or `-` for `_`.
fn login_kind(text: &str) -> Option<LoginKind> {
    match table::header_key(text).as_str() {
        "api" | "apiclient" => Some(LoginKind::ApiClient),
        other => other.parse().ok(),
    }
}

/// The tenant's customers and instances, for matching rows by name.
struct Existing {
    customers: HashMap<String, CustomerId>,
    instances: HashMap<(String, String), Instance>,
    /// Each instance's current license, from the fleet (one query, not one per row; the store
    /// refuses the commit if one changed in between).
    licenses: HashMap<InstanceId, LicenseState>,
}

impl Existing {
    async fn load(store: &dyn Store, tenant: &Tenant) -> Result<Existing, WebError> {
        let customers = store.customers(tenant.id).await?;
        let instances = store.instances(tenant.id).await?;
        let fleet = store.fleet(tenant.id).await?;
        Ok(Existing {
            licenses: fleet
                .iter()
                .map(|row| (row.instance.id, row.license.clone()))
                .collect(),
            customers: customers
                .into_iter()
                .map(|c| (name_key(&c.name), c.id))
                .collect(),
            instances: instances
                .into_iter()
                .map(|i| ((name_key(&i.customer_name), name_key(&i.name)), i))
                .collect(),
        })
    }
}

/// A whole number in a cell (`None` when empty).
fn number<T: std::str::FromStr>(
    row: usize,
    column: Column,
    text: &str,
    what: &str,
    errors: &mut Vec<CellError>,
) -> Option<T> {
    if text.is_empty() {
        return None;
    }
    // Spreadsheets write whole numbers of number cells as "120.0" now and then.
    let whole = text.strip_suffix(".0").unwrap_or(text);
    let parsed = whole.parse().ok();
    if parsed.is_none() {
        errors.push(CellError::new(
            row,
            column.name(),
            format!("'{}' is not {what}", shown(text)),
        ));
    }
    parsed
}

/// A cell quoted in a message: one line, at most 64 characters.
fn shown(text: &str) -> String {
    text.chars()
        .take(64)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Checks a file for a tenant: the preview, and what to write when it has no problems. Reads
/// the tenant's instances, never writes.
async fn check(store: &dyn Store, tenant: &Tenant, bytes: &[u8]) -> Result<Plan, WebError> {
    let table = match table::read(bytes) {
        Ok(table) => table,
        Err(errors) => {
            return Ok(Plan {
                preview: ImportPreview {
                    errors,
                    ..ImportPreview::default()
                },
                items: Vec::new(),
            });
        }
    };
    let existing = Existing::load(store, tenant).await?;
    let mut preview = ImportPreview {
        ignored_columns: table.ignored.clone(),
        ..ImportPreview::default()
    };
    let mut items = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut new_customers: HashSet<String> = HashSet::new();
    for row in &table.rows {
        let (row_preview, item) = check_row(store, tenant, row, &existing, &mut seen).await?;
        if row_preview.new_customer
            && row_preview.action.is_some()
            && new_customers.insert(name_key(&row_preview.customer))
        {
            preview.new_customers.push(row_preview.customer.clone());
        }
        match row_preview.action {
            Some(RowAction::Create) => preview.create += 1,
            Some(RowAction::Update) => preview.update += 1,
            Some(RowAction::Unchanged) => preview.unchanged += 1,
            None => {}
        }
        preview.errors.extend(row_preview.errors.iter().cloned());
        items.extend(item);
        preview.rows.push(row_preview);
    }
    if table.rows.is_empty() {
        preview.errors.push(CellError::file(
            "the file has a header but no rows to import",
        ));
    }
    if !preview.errors.is_empty() {
        items.clear();
    }
    Ok(Plan { preview, items })
}

/// Checks one row: its preview, and its item when it changes something.
async fn check_row(
    store: &dyn Store,
    tenant: &Tenant,
    row: &table::Row,
    existing: &Existing,
    seen: &mut HashMap<(String, String), usize>,
) -> Result<(RowPreview, Option<ImportInstance>), WebError> {
    let n = row.number;
    let zone = &tenant.settings.zone;
    let cell = |column: Column| row.get(column).unwrap_or("");
    let customer = cell(Column::Customer).to_owned();
    let name = cell(Column::Instance).to_owned();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    if customer.is_empty() {
        errors.push(CellError::new(n, "customer", "enter the customer's name"));
    } else if let Err(err) = runway_store::check_customer_name(&customer) {
        errors.push(CellError::new(n, "customer", err.to_string()));
    }
    if name.is_empty() {
        errors.push(CellError::new(n, "instance", "enter the instance's name"));
    }
    let key = (name_key(&customer), name_key(&name));
    if !customer.is_empty() && !name.is_empty() {
        if let Some(first) = seen.get(&key) {
            errors.push(CellError::new(
                n,
                "instance",
                format!("'{name}' of {customer} is also on row {first}: list each instance once"),
            ));
        } else {
            seen.insert(key.clone(), n);
        }
    }
    let customer_id = existing.customers.get(&key.0).copied();
    let instance = existing.instances.get(&key);
    let before = match instance {
        Some(i) => existing.licenses.get(&i.id).cloned().unwrap_or_default(),
        None => LicenseState::default(),
    };
    let facts: Option<&LicenseFacts> = before.good.as_ref().map(|g| &g.facts);

    // Start from what is stored (or nothing), then take each column the file has.
    let mut draft = instance
        .map(|i| InstanceDraft::from_instance(i, facts, zone))
        .unwrap_or_default();
    draft.customer_id = customer_id.map_or(0, |c| c.0);
    draft.name = name.clone();
    let kind = take_cells(&mut draft, row, instance, &mut errors, &mut notes);
    let secret = row.raw(Column::Secret).unwrap_or("");
    let manual = kind == Some(LoginKind::Manual);

    let mut preview = RowPreview {
        row: n,
        customer: customer.clone(),
        instance: name.clone(),
        new_customer: customer_id.is_none() && !customer.is_empty(),
        login_kind: draft.login_kind.clone(),
        action: None,
        expiry_date: None,
        secret_given: !secret.trim().is_empty(),
        notes,
        errors: Vec::new(),
    };
    let checked = draft
        .check_settings(store, tenant.id, zone, instance.map(|i| (i, facts)), true)
        .await;
    let checked = match checked {
        Ok(checked) if errors.is_empty() => checked,
        Ok(_) => {
            preview.errors = errors;
            return Ok((preview, None));
        }
        Err(field_errors) => {
            // The import's own sentence about a column comes first; the form's about the
            // same column would say it again.
            let said: HashSet<String> = errors.iter().map(|e| e.column.clone()).collect();
            errors.extend(
                cell_errors(n, &field_errors)
                    .into_iter()
                    .filter(|e| !said.contains(&e.column)),
            );
            preview.errors = errors;
            return Ok((preview, None));
        }
    };
    preview.expiry_date = checked
        .manual_facts
        .as_ref()
        .or(facts.filter(|_| manual))
        .and_then(|f| f.expiry)
        .map(|e| zone.date_of(e).to_string());
    let (action, item) = plan(checked, customer, instance, before, manual);
    preview.action = Some(action);
    Ok((preview, item))
}

/// What a checked row does to its instance (`instance`, when it exists), and what to write.
fn plan(
    checked: CheckedInstance,
    customer: String,
    instance: Option<&Instance>,
    before: LicenseState,
    manual: bool,
) -> (RowAction, Option<ImportInstance>) {
    let login = match &checked.login {
        DraftLogin::Set(login) => Some(login.clone()),
        DraftLogin::Keep => None,
    };
    let target = match instance {
        None => ImportTarget::Create,
        Some(i) => {
            let settings_change = login.is_some()
                || checked.name != i.name
                || checked.base_url != i.base_url
                || checked.poll_interval != i.poll_interval;
            if settings_change {
                ImportTarget::Update(i.id)
            } else {
                ImportTarget::Keep(i.id)
            }
        }
    };
    let manual_facts = checked.manual_facts.filter(|_| manual);
    let action = match target {
        ImportTarget::Create => RowAction::Create,
        ImportTarget::Update(_) => RowAction::Update,
        ImportTarget::Keep(_) if manual_facts.is_some() => RowAction::Update,
        ImportTarget::Keep(_) => RowAction::Unchanged,
    };
    if action == RowAction::Unchanged {
        return (action, None);
    }
    let item = ImportInstance {
        item: ImportItem {
            customer,
            target,
            name: checked.name,
            base_url: checked.base_url,
            login,
            poll_interval: checked.poll_interval,
            tls: checked.tls,
            license: None,
        },
        manual: manual_facts.map(|f| (before, f)),
    };
    (action, Some(item))
}

/// The row's cells into the draft, each column the file has over what is stored; the login
/// kind the row ends up with (`None` when it cannot be told, which is a problem pushed here).
fn take_cells(
    draft: &mut InstanceDraft,
    row: &table::Row,
    instance: Option<&Instance>,
    errors: &mut Vec<CellError>,
    notes: &mut Vec<String>,
) -> Option<LoginKind> {
    let n = row.number;
    let cell = |column: Column| row.get(column).unwrap_or("");
    if let Some(url) = row.get(Column::BaseUrl) {
        url.clone_into(&mut draft.base_url);
    }
    let kind_cell = cell(Column::LoginKind);
    let mut kind = instance.map(|i| i.login_kind);
    if !kind_cell.is_empty() {
        match login_kind(kind_cell) {
            Some(k) => kind = Some(k),
            None => errors.push(CellError::new(
                n,
                "login_kind",
                format!(
                    "'{}' is not a login kind; use api_client, user, legacy or manual",
                    shown(kind_cell)
                ),
            )),
        }
    }
    // A row without an address and without a login kind is a license typed in.
    if kind.is_none() && kind_cell.is_empty() {
        if draft.base_url.trim().is_empty() {
            kind = Some(LoginKind::Manual);
        } else {
            errors.push(CellError::new(
                n,
                "login_kind",
                "say how Runway logs in to this PBX: api_client, user or legacy",
            ));
        }
    }
    draft.login_kind = kind.map(|k| k.as_str().to_owned()).unwrap_or_default();
    if let Some(identity) = row.get(Column::Identity).filter(|s| !s.is_empty()) {
        identity.clone_into(&mut draft.identity);
    }
    row.raw(Column::Secret)
        .unwrap_or("")
        .clone_into(&mut draft.secret);
    row.raw(Column::TotpSeed)
        .unwrap_or("")
        .clone_into(&mut draft.totp_secret);
    if let Some(minutes) = number(
        n,
        Column::PollInterval,
        cell(Column::PollInterval),
        "a number of minutes",
        errors,
    ) {
        draft.poll_interval_minutes = Some(minutes);
    }
    let manual = kind == Some(LoginKind::Manual);
    if manual {
        take_license(draft, row, errors);
    } else if Column::LICENSE
        .iter()
        .any(|c| row.get(*c).is_some_and(|v| !v.is_empty()))
    {
        notes.push("license columns ignored: this PBX's license is read from the PBX".into());
    }

    kind
}

/// A manual instance's license cells into the draft: each license column the file has replaces
/// the stored value (an empty cell clears it).
fn take_license(draft: &mut InstanceDraft, row: &table::Row, errors: &mut Vec<CellError>) {
    let n = row.number;
    for &column in Column::LICENSE {
        let Some(text) = row.get(column) else {
            continue;
        };
        let text = text.to_owned();
        match column {
            Column::LicenseKey => draft.manual_license_key = text,
            Column::ProductCode => draft.manual_product_code = text,
            Column::Version => draft.manual_version = text,
            Column::Expiry => draft.manual_expiry_date = text,
            Column::Maintenance => draft.manual_maintenance_date = text,
            Column::CallLimit => {
                draft.manual_max_sim_calls = number(n, column, &text, "a number of calls", errors);
            }
            Column::UsersUsed => {
                draft.manual_users_used = number(n, column, &text, "a number of users", errors);
            }
            Column::UsersLicensed => {
                draft.manual_users_licensed = number(n, column, &text, "a number of users", errors);
            }
            _ => {}
        }
    }
}

/// The form's field errors as the import's cell errors.
fn cell_errors(row: usize, errors: &FieldErrors) -> Vec<CellError> {
    errors
        .iter()
        .map(|(field, message)| CellError::new(row, column_of(field), message))
        .collect()
}

/// What an import did, or in a dry run would do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether the file was written (never with problems, never in a dry run).
    pub committed: bool,
    /// Why nothing was written, when the file has problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Licenses recorded for manual instances (new or changed ones).
    pub licenses_recorded: usize,
    /// Every row and problem.
    #[serde(flatten)]
    pub preview: ImportPreview,
}

/// The sentence for a file with problems.
fn refusal(preview: &ImportPreview) -> String {
    let n = preview.errors.len();
    format!(
        "the file has {n} problem{}; nothing was imported",
        if n == 1 { "" } else { "s" }
    )
}

/// Imports a file into a tenant: checks every row, then (unless `dry_run`, and only when no row
/// has a problem) writes it in one transaction through the engine's recording path. A file with
/// problems is a report with `error` set, not an `Err`: the caller shows its problems.
///
/// The caller checks that whoever asked may edit the tenant (the CLI works on the local database
/// as its administrator).
pub async fn run(
    engine: &Engine,
    tenant: &Tenant,
    bytes: &[u8],
    dry_run: bool,
) -> Result<ImportReport, WebError> {
    let plan = check(engine.store().as_ref(), tenant, bytes).await?;
    let mut report = ImportReport {
        dry_run,
        committed: false,
        error: (!plan.preview.errors.is_empty()).then(|| refusal(&plan.preview)),
        licenses_recorded: 0,
        preview: plan.preview,
    };
    if dry_run || report.error.is_some() {
        return Ok(report);
    }
    let imported = engine.import_instances(tenant, plan.items).await?;
    tracing::info!(
        tenant = tenant.id.0,
        created = report.preview.create,
        updated = report.preview.update,
        customers_created = imported.customers_created.len(),
        "import committed"
    );
    report.committed = true;
    report.licenses_recorded = imported.readings;
    Ok(report)
}

/// A spreadsheet of `rows` manual instances with the quirks [`table`] handles — a byte-order
/// mark, `;` separators, CRLF, quoted names holding the separator, trailing empty columns,
/// blank rows, dates as ISO, as Excel serial numbers, day-first (unambiguous) and with `/` —
/// spread over 50 customers, expiring one day after another from `first_expiry`. For tests and
/// the import benchmark.
#[doc(hidden)]
pub fn sample_file(rows: usize, first_expiry: jiff::civil::Date) -> Vec<u8> {
    use std::fmt::Write as _;
    let excel_epoch = jiff::civil::date(1899, 12, 30);
    let mut text = String::from(
        "\u{feff}Customer;Instance name;Expiry date;Maintenance;License key;Product code;\
         Max sim calls;Users used;;\r\n",
    );
    for i in 0..rows {
        let expiry = first_expiry
            .checked_add(jiff::Span::new().days(i64::try_from(i % 700).unwrap_or(0)))
            .unwrap_or(first_expiry);
        let date = match i % 4 {
            0 => expiry.to_string(),
            1 => (expiry - excel_epoch).get_days().to_string(),
            2 if expiry.day() > 12 => {
                format!(
                    "{:02}/{:02}/{}",
                    expiry.day(),
                    expiry.month(),
                    expiry.year()
                )
            }
            _ => format!(
                "{}/{:02}/{:02}",
                expiry.year(),
                expiry.month(),
                expiry.day()
            ),
        };
        let _ = write!(
            text,
            "\"Customer {:02}; Ltd\";PBX {i:05};{date};{date};{:04X}-{:04X}-{:04X}-{:04X};\
             3CXPSPROFENTSPLA;{};{};;\r\n",
            i % 50,
            i % 65_536,
            (i * 7) % 65_536,
            (i * 13) % 65_536,
            (i * 31) % 65_536,
            4 + (i % 4) * 4,
            i % 10,
        );
        if i % 500 == 499 {
            text.push_str(";;;;;;;;;\r\n");
        }
    }
    text.into_bytes()
}
