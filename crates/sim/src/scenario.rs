//! Scenario files: the fleet a simulator serves.
//!
//! A scenario is TOML or JSON (chosen by the file extension) with an optional `name`,
//! `description`, a `[defaults]` table (any PBX field except `id`, applied to every PBX that
//! does not set it) and a list of `[[pbx]]` entries. Loading happens in two steps:
//! [`ScenarioFile::parse`] reads the text into [`RawPbx`] entries (syntax, types, unknown
//! fields), then [`ScenarioFile::resolve`] checks meaning and applies "now" to relative dates,
//! giving a [`Scenario`] of [`PbxSpec`]s. Every error names the file, the PBX and the field.
//!
//! The full format is documented in `runway-sim --help` (see `main.rs`) and shown in
//! `scenarios/demo.toml`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dates::{DateSpec, DateStyle, ServedDate};
use crate::faults::{Endpoint, Fault};
use crate::latency::{Latency, duration_from_value};
use crate::license::{License, RawLicenseChange, Renewal, code_is_enterprise, present};
use crate::rng::stable_hash;
use crate::totp;
use crate::version::PbxVersion;

/// The file formats a scenario can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioFormat {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl ScenarioFormat {
    /// The format a path's extension names, if any.
    pub fn from_path(path: &Path) -> Option<ScenarioFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(ScenarioFormat::Toml),
            "json" => Some(ScenarioFormat::Json),
            _ => None,
        }
    }
}

/// A problem in a scenario: what is wrong and where (file, PBX, field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (or label) the scenario came from.
    pub file: String,
    /// The PBX (its id, or `pbx[N]` when it has none), if the problem is inside one.
    pub pbx: Option<String>,
    /// The field (a path such as `faults[0].status`), if known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(pbx) = &self.pbx {
            write!(f, ": PBX `{pbx}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// How a PBX lets a client in (and the credentials it accepts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Login {
    /// v20 API client: `POST /connect/token` with `client_credentials` (Enterprise/AI only).
    ClientCredentials {
        /// `client_id` (the API client's extension number or id).
        client_id: String,
        /// `client_secret` (the API key).
        client_secret: String,
    },
    /// v20 admin user: `POST /webclient/api/Login/GetAccessToken`.
    User {
        /// `Username` (extension number or e-mail).
        username: String,
        /// `Password`.
        password: String,
        /// Base32 TOTP secret: when set, MFA is on and `SecurityCode` must be the current code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        totp_secret: Option<String>,
    },
    /// v16/v18: `POST /api/login` and a session cookie.
    Legacy {
        /// `Username`.
        username: String,
        /// `Password`.
        password: String,
    },
}

/// The three login kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginKind {
    /// API client (`/connect/token`).
    ClientCredentials,
    /// Admin user (`/webclient/api/Login/GetAccessToken`).
    User,
    /// Legacy (`/api/login`).
    Legacy,
}

impl Login {
    /// Which kind of login this is.
    pub fn kind(&self) -> LoginKind {
        match self {
            Login::ClientCredentials { .. } => LoginKind::ClientCredentials,
            Login::User { .. } => LoginKind::User,
            Login::Legacy { .. } => LoginKind::Legacy,
        }
    }
}

impl LoginKind {
    /// The snake_case name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            LoginKind::ClientCredentials => "client_credentials",
            LoginKind::User => "user",
            LoginKind::Legacy => "legacy",
        }
    }
}

impl fmt::Display for LoginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What a PBX without an Enterprise/AI license answers to a correct API client login (3CX does
/// not document it; both have been reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnlicensedApiAnswer {
    /// `401 {"error":"unauthorized",…}`, like wrong credentials.
    #[default]
    Unauthorized,
    /// `403` with an OData error naming `WARNINGS.XAPI.INVALID_LICENSE_TYPE`.
    InvalidLicenseType,
}

/// The licensee contact fields `LicenseStatus` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "each field is the LicenseStatus field of the same name"
)]
pub struct Licensee {
    pub company_name: String,
    pub contact_name: String,
    pub admin_email: String,
    pub email: String,
    pub telephone: String,
    pub country_code: String,
    pub country_name: String,
    pub active_modules: Vec<String>,
}

/// One simulated PBX, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::struct_field_names,
    reason = "field names follow the scenario format"
)]
pub struct PbxSpec {
    /// Unique id; its path prefix in path-prefix mode.
    pub id: String,
    /// The MSP's customer this PBX belongs to (the demo creates customers from it).
    pub customer: String,
    /// Display name of the instance.
    pub name: String,
    /// `FQDN` the PBX reports.
    pub fqdn: String,
    /// 3CX version.
    pub version: PbxVersion,
    /// The login a client is configured with (the demo uses this one).
    pub login: Login,
    /// Further logins the PBX also accepts (e.g. an admin user on a non-Enterprise PBX).
    pub extra_logins: Vec<Login>,
    /// What a non-Enterprise PBX answers to a correct API client login.
    pub unlicensed_api_answer: UnlicensedApiAnswer,
    /// The license at start.
    pub license: License,
    /// Licensee contact fields.
    pub licensee: Licensee,
    /// Delay before every answer.
    pub latency: Latency,
    /// Real lifetime of tokens and sessions (also what `expires_in` advertises).
    pub token_lifetime: Duration,
    /// How this PBX writes computed dates.
    pub date_style: DateStyle,
    /// Whether `GET /xapi/v1/Users` accepts `$filter=AIAgent eq true` (support unconfirmed; a
    /// PBX with `false` answers 400 so clients fall back to `$select`).
    pub users_filter: bool,
    /// Faults at start.
    pub faults: Vec<Fault>,
    /// A renewal waiting upstream at start.
    pub renewal: Option<Renewal>,
    /// Bodies served verbatim instead of the generated ones, per read endpoint (e.g. a real
    /// captured SystemStatus); authentication and faults still apply.
    pub fixed_bodies: BTreeMap<Endpoint, Arc<str>>,
}

impl PbxSpec {
    /// Every login the PBX accepts, the configured one first.
    pub fn logins(&self) -> impl Iterator<Item = &Login> {
        std::iter::once(&self.login).chain(&self.extra_logins)
    }
}

/// A resolved scenario: the fleet to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Optional name.
    pub name: Option<String>,
    /// Optional description.
    pub description: Option<String>,
    /// The PBXs, in file order.
    pub pbxs: Vec<PbxSpec>,
}

impl Scenario {
    /// Reads, parses and resolves a scenario file (format from the extension).
    pub fn load(path: &Path, now: Timestamp) -> Result<Scenario, ScenarioError> {
        ScenarioFile::load(path)?.resolve(&path.display().to_string(), now)
    }

    /// Parses and resolves scenario text; `file` labels errors.
    pub fn parse(
        text: &str,
        format: ScenarioFormat,
        file: &str,
        now: Timestamp,
    ) -> Result<Scenario, ScenarioError> {
        ScenarioFile::parse(text, format, file)?.resolve(file, now)
    }

    /// The PBX with this id.
    pub fn pbx(&self, id: &str) -> Option<&PbxSpec> {
        self.pbxs.iter().find(|p| p.id == id)
    }

    /// Customer names in order of first appearance.
    pub fn customers(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.pbxs
            .iter()
            .map(|p| p.customer.as_str())
            .filter(|c| seen.insert(*c))
            .collect()
    }
}

/// A scenario as written, before meaning is checked and "now" applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScenarioFile {
    /// Optional name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The PBX entries, with `[defaults]` already merged in.
    pub pbx: Vec<RawPbx>,
}

/// One `[[pbx]]` entry as written. Every field is optional here so that a missing one can be
/// reported with the PBX's id; [`ScenarioFile::resolve`] says which are required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    missing_docs,
    reason = "documented in the scenario format help (runway-sim --help)"
)]
pub struct RawPbx {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_logins: Option<Vec<Login>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_client_licensed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlicensed_api_answer: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_key: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub maintenance_expiry: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_spla: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sim_calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_agents: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions_total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_modules: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_style: Option<DateStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_filter: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<Fault>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<RawLicenseChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_files: Option<BTreeMap<String, String>>,
}

const TOP_LEVEL_KEYS: [&str; 4] = ["name", "description", "defaults", "pbx"];

impl ScenarioFile {
    /// Reads and parses a scenario file (format from the extension).
    pub fn load(path: &Path) -> Result<ScenarioFile, ScenarioError> {
        let file = path.display().to_string();
        let format = ScenarioFormat::from_path(path).ok_or_else(|| ScenarioError {
            file: file.clone(),
            pbx: None,
            field: None,
            message: "unknown scenario format: the file name must end in .toml or .json".to_owned(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            pbx: None,
            field: None,
            message: format!("cannot read the file: {e}"),
        })?;
        ScenarioFile::parse(&text, format, &file)
    }

    /// Parses scenario text: syntax, types and unknown fields; `file` labels errors.
    #[allow(
        clippy::too_many_lines,
        reason = "one check after the other, top-level first"
    )]
    pub fn parse(
        text: &str,
        format: ScenarioFormat,
        file: &str,
    ) -> Result<ScenarioFile, ScenarioError> {
        let error = |pbx: Option<String>, field: Option<String>, message: String| ScenarioError {
            file: file.to_owned(),
            pbx,
            field,
            message,
        };
        let document: Value = match format {
            ScenarioFormat::Toml => toml::from_str(text)
                .map_err(|e| error(None, None, e.to_string().trim_end().to_owned()))?,
            ScenarioFormat::Json => serde_json::from_str(text)
                .map_err(|e| error(None, None, format!("invalid JSON: {e}")))?,
        };
        let Value::Object(mut top) = document else {
            return Err(error(
                None,
                None,
                "the scenario must be a table/object with `pbx` entries".to_owned(),
            ));
        };
        if let Some(unknown) = top.keys().find(|k| !TOP_LEVEL_KEYS.contains(&k.as_str())) {
            return Err(error(
                None,
                Some(unknown.clone()),
                format!(
                    "unknown top-level field: expected one of {}",
                    TOP_LEVEL_KEYS.join(", ")
                ),
            ));
        }
        let text_field =
            |top: &mut Map<String, Value>, key: &str| -> Result<Option<String>, ScenarioError> {
                match top.remove(key) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s)),
                    Some(other) => Err(error(
                        None,
                        Some(key.to_owned()),
                        format!("expected a string, found {}", crate::dates::kind_of(&other)),
                    )),
                }
            };
        let name = text_field(&mut top, "name")?;
        let description = text_field(&mut top, "description")?;
        let defaults = match top.remove("defaults") {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(error(
                    None,
                    Some("defaults".to_owned()),
                    "expected a table/object of PBX fields".to_owned(),
                ));
            }
        };
        if defaults.contains_key("id") {
            return Err(error(
                None,
                Some("defaults.id".to_owned()),
                "`id` cannot have a default: every PBX needs its own".to_owned(),
            ));
        }
        // Check the defaults on their own so a mistake there is reported as such.
        raw_pbx_from(Value::Object(defaults.clone())).map_err(|(field, message)| {
            error(
                None,
                Some(format!("defaults.{}", field.unwrap_or_default())),
                message,
            )
        })?;
        let entries = match top.remove("pbx") {
            Some(Value::Array(entries)) if !entries.is_empty() => entries,
            Some(Value::Array(_)) | None => {
                return Err(error(None, Some("pbx".to_owned()), "the scenario has no PBXs: add `[[pbx]]` entries (TOML) or a `pbx` array (JSON)".to_owned()));
            }
            Some(_) => {
                return Err(error(
                    None,
                    Some("pbx".to_owned()),
                    "expected an array of PBX tables/objects".to_owned(),
                ));
            }
        };
        let mut pbx = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let label = entry
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("pbx[{index}]"), str::to_owned);
            let Value::Object(fields) = entry else {
                return Err(error(
                    Some(label),
                    None,
                    "expected a table/object of PBX fields".to_owned(),
                ));
            };
            let mut merged = defaults.clone();
            merged.extend(fields);
            let raw = raw_pbx_from(Value::Object(merged))
                .map_err(|(field, message)| error(Some(label.clone()), field, message))?;
            pbx.push(raw);
        }
        Ok(ScenarioFile {
            name,
            description,
            pbx,
        })
    }

    /// Checks meaning (required fields, versions, logins, dates, duplicates) and applies `now`
    /// to relative dates; `file` labels errors and is the base for relative `body_files`.
    pub fn resolve(&self, file: &str, now: Timestamp) -> Result<Scenario, ScenarioError> {
        let mut seen = HashSet::new();
        let mut pbxs = Vec::with_capacity(self.pbx.len());
        let base_dir = Path::new(file).parent().unwrap_or(Path::new(""));
        for (index, raw) in self.pbx.iter().enumerate() {
            let label = raw.id.clone().unwrap_or_else(|| format!("pbx[{index}]"));
            let spec =
                resolve_pbx(raw, now, base_dir).map_err(|(field, message)| ScenarioError {
                    file: file.to_owned(),
                    pbx: Some(label.clone()),
                    field: field.map(str::to_owned),
                    message,
                })?;
            if !seen.insert(spec.id.clone()) {
                return Err(ScenarioError {
                    file: file.to_owned(),
                    pbx: Some(label),
                    field: Some("id".to_owned()),
                    message: "another PBX already has this id".to_owned(),
                });
            }
            pbxs.push(spec);
        }
        Ok(Scenario {
            name: self.name.clone(),
            description: self.description.clone(),
            pbxs,
        })
    }

    /// The scenario as TOML.
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| e.to_string())
    }

    /// The scenario as pretty JSON.
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| e.to_string())
    }
}

/// Deserialises one PBX table, returning the failing field path and message.
fn raw_pbx_from(value: Value) -> Result<RawPbx, (Option<String>, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        (field, e.into_inner().to_string())
    })
}

type Resolved<T> = Result<T, (Option<&'static str>, String)>;

fn field_error<T>(field: &'static str, message: impl Into<String>) -> Resolved<T> {
    Err((Some(field), message.into()))
}

#[allow(
    clippy::too_many_lines,
    reason = "one field after the other, in scenario order"
)]
fn resolve_pbx(raw: &RawPbx, now: Timestamp, base_dir: &Path) -> Resolved<PbxSpec> {
    let Some(id) = raw.id.clone() else {
        return field_error("id", "every PBX needs an `id`");
    };
    if id.is_empty()
        || id.starts_with('_')
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return field_error(
            "id",
            format!(
                "`{id}` cannot be a URL path segment: use letters, digits, `-`, `_` and `.`, not starting with `_`"
            ),
        );
    }
    let Some(version_text) = &raw.version else {
        return field_error(
            "version",
            "every PBX needs a `version`, e.g. \"20.0.9.1322\" or \"18.0.9.20\"",
        );
    };
    let version: PbxVersion = version_text
        .parse()
        .map_err(|e: crate::version::VersionError| (Some("version"), e.to_string()))?;
    let Some(login) = raw.login.clone() else {
        return field_error(
            "login",
            "every PBX needs a `login`, e.g. login = { kind = \"client_credentials\", client_id = \"runway\", client_secret = \"…\" }",
        );
    };
    let extra_logins = raw.extra_logins.clone().unwrap_or_default();
    check_login("login", &login, &version)?;
    for extra in &extra_logins {
        check_login("extra_logins", extra, &version)?;
    }
    let unlicensed_api_answer = match raw.unlicensed_api_answer {
        None | Some(401) => UnlicensedApiAnswer::Unauthorized,
        Some(403) => UnlicensedApiAnswer::InvalidLicenseType,
        Some(other) => {
            return field_error(
                "unlicensed_api_answer",
                format!("{other} is not an answer 3CX gives: use 401 or 403"),
            );
        }
    };
    let product_code = raw
        .product_code
        .clone()
        .unwrap_or_else(|| "3CXPSPROFENTSPLA".to_owned());
    let date = |field: &'static str, value: &Option<Value>| -> Resolved<ServedDate> {
        match value {
            None => Ok(ServedDate::Null),
            Some(v) => DateSpec::from_value(v)
                .map(|s| s.resolve(now))
                .map_err(|e| (Some(field), e)),
        }
    };
    let max_sim_calls = raw.max_sim_calls.unwrap_or(8);
    let license = License {
        api_client_licensed: raw
            .api_client_licensed
            .unwrap_or_else(|| code_is_enterprise(&product_code)),
        license_key: Some(raw.license_key.clone().unwrap_or_else(|| made_up_key(&id))),
        product_code: Some(product_code),
        expiry: date("expiry", &raw.expiry)?,
        maintenance_expiry: date("maintenance_expiry", &raw.maintenance_expiry)?,
        license_active: raw.license_active.unwrap_or(true),
        activated: raw.activated.unwrap_or(true),
        support: raw.support,
        is_spla: raw.is_spla,
        reseller_name: raw.reseller.clone(),
        max_sim_calls,
        users: raw.users.unwrap_or(max_sim_calls * 2),
        max_users: raw.max_users,
        ai_agents: raw.ai_agents.unwrap_or(0),
        extensions_total: raw.extensions_total,
    };
    let customer = raw
        .customer
        .clone()
        .unwrap_or_else(|| "Unassigned".to_owned());
    let slug: String = customer
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let country_code = raw.country_code.clone().unwrap_or_else(|| "US".to_owned());
    let licensee = Licensee {
        company_name: raw.company_name.clone().unwrap_or_else(|| customer.clone()),
        contact_name: raw
            .contact_name
            .clone()
            .unwrap_or_else(|| "IT Department".to_owned()),
        admin_email: raw
            .admin_email
            .clone()
            .unwrap_or_else(|| format!("it@{slug}.example")),
        email: raw
            .admin_email
            .clone()
            .unwrap_or_else(|| format!("it@{slug}.example")),
        telephone: raw
            .telephone
            .clone()
            .unwrap_or_else(|| "+1 555 0100".to_owned()),
        country_name: country_name(&country_code).to_owned(),
        country_code,
        active_modules: raw.active_modules.clone().unwrap_or_default(),
    };
    let latency = match &raw.latency {
        None => Latency::default(),
        Some(v) => Latency::from_value(v).map_err(|e| (Some("latency"), e))?,
    };
    let token_lifetime = match &raw.token_lifetime {
        None => Duration::from_hours(1),
        Some(v) => duration_from_value(v).map_err(|e| (Some("token_lifetime"), e))?,
    };
    if token_lifetime.is_zero() {
        return field_error(
            "token_lifetime",
            "a token lifetime must be longer than zero",
        );
    }
    let date_style = raw.date_style.unwrap_or_else(|| {
        if version.is_legacy() {
            DateStyle::Offset
        } else {
            let index = usize::try_from(stable_hash(&id) % 4).unwrap_or(0);
            DateStyle::ALL[index]
        }
    });
    let renewal = raw
        .renewal
        .as_ref()
        .map(|r| r.resolve_renewal(now))
        .transpose()
        .map_err(|(field, message)| (Some(renewal_field(field)), message))?;
    Ok(PbxSpec {
        fqdn: raw
            .fqdn
            .clone()
            .unwrap_or_else(|| format!("{id}.my3cx.example")),
        name: raw.name.clone().unwrap_or_else(|| id.clone()),
        customer,
        id,
        version,
        login,
        extra_logins,
        unlicensed_api_answer,
        license,
        licensee,
        latency,
        token_lifetime,
        date_style,
        users_filter: raw.users_filter.unwrap_or(true),
        faults: raw.faults.clone().unwrap_or_default(),
        renewal,
        fixed_bodies: body_files(raw.body_files.as_ref(), base_dir)?,
    })
}

/// Reads `body_files` (paths relative to the scenario file's folder).
fn body_files(
    files: Option<&BTreeMap<String, String>>,
    base_dir: &Path,
) -> Resolved<BTreeMap<Endpoint, Arc<str>>> {
    let mut bodies = BTreeMap::new();
    for (name, file) in files.into_iter().flatten() {
        let endpoint = Endpoint::ALL
            .into_iter()
            .find(|e| {
                e.name() == name
                    && matches!(
                        e,
                        Endpoint::SystemStatus
                            | Endpoint::LicenseStatus
                            | Endpoint::LicenseParameters
                            | Endpoint::ApiSystemStatus
                    )
            })
            .ok_or_else(|| {
                (
                    Some("body_files"),
                    format!("`{name}` is not a read endpoint: use system_status, license_status, license_parameters or api_system_status"),
                )
            })?;
        let path = base_dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            (
                Some("body_files"),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        bodies.insert(endpoint, Arc::from(text));
    }
    Ok(bodies)
}

fn renewal_field(field: &str) -> &'static str {
    match field {
        "expiry" => "renewal.expiry",
        "maintenance_expiry" => "renewal.maintenance_expiry",
        "after" => "renewal.after",
        "on_refresh" => "renewal.on_refresh",
        _ => "renewal",
    }
}

fn check_login(field: &'static str, login: &Login, version: &PbxVersion) -> Resolved<()> {
    let legacy = version.is_legacy();
    match login {
        Login::Legacy { .. } if !legacy => field_error(
            field,
            format!(
                "a `legacy` login only exists on v16/v18; version {version} uses `client_credentials` or `user`"
            ),
        ),
        Login::ClientCredentials { .. } | Login::User { .. } if legacy => field_error(
            field,
            format!(
                "version {version} only has the legacy API: use login = {{ kind = \"legacy\", username = \"…\", password = \"…\" }}"
            ),
        ),
        Login::User {
            totp_secret: Some(secret),
            ..
        } => totp::decode_secret(secret)
            .map(|_| ())
            .map_err(|e| (Some(field), format!("totp_secret: {e}"))),
        _ => Ok(()),
    }
}

/// A made-up but stable license key in 3CX's `XXXX-XXXX-XXXX-XXXX` shape.
fn made_up_key(id: &str) -> String {
    let hex = format!("{:016X}", stable_hash(id));
    format!(
        "{}-{}-{}-{}",
        &hex[0..4],
        &hex[4..8],
        &hex[8..12],
        &hex[12..16]
    )
}

fn country_name(code: &str) -> &str {
    match code.to_ascii_uppercase().as_str() {
        "US" => "United States",
        "GB" | "UK" => "United Kingdom",
        "DE" => "Germany",
        "FR" => "France",
        "NL" => "Netherlands",
        "IE" => "Ireland",
        "AU" => "Australia",
        "CA" => "Canada",
        "IT" => "Italy",
        "ES" => "Spain",
        "CH" => "Switzerland",
        "AT" => "Austria",
        "BE" => "Belgium",
        "ZA" => "South Africa",
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, ScenarioFormat::Toml, "test.toml", now())
    }

    const MINIMAL: &str = r#"
[[pbx]]
id = "alpha"
version = "20.0.9.1322"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s3cret" }
"#;

    #[test]
    fn a_minimal_pbx_gets_defaults() {
        let scenario = parse(MINIMAL).unwrap();
        let pbx = &scenario.pbxs[0];
        assert_eq!(pbx.name, "alpha");
        assert_eq!(
            pbx.license.product_code.as_deref(),
            Some("3CXPSPROFENTSPLA")
        );
        assert!(pbx.license.api_client_licensed);
        assert_eq!(pbx.license.expiry, ServedDate::Null);
        assert_eq!(pbx.token_lifetime, Duration::from_hours(1));
    }

    #[test]
    fn defaults_apply_unless_a_pbx_overrides_them() {
        let scenario = parse(
            r#"
[defaults]
reseller = "Northwind Telecom"
max_sim_calls = 16

[[pbx]]
id = "a"
version = "20.0.10.10"
login = { kind = "user", username = "admin", password = "pw" }

[[pbx]]
id = "b"
version = "18.0.9.20"
max_sim_calls = 4
login = { kind = "legacy", username = "admin", password = "pw" }
"#,
        )
        .unwrap();
        assert_eq!(scenario.pbxs[0].license.max_sim_calls, 16);
        assert_eq!(scenario.pbxs[1].license.max_sim_calls, 4);
        assert_eq!(
            scenario.pbxs[1].license.reseller_name.as_deref(),
            Some("Northwind Telecom")
        );
    }

    #[test]
    fn errors_name_file_pbx_and_field() {
        let bad_type =
            parse(&MINIMAL.replace("[[pbx]]", "[[pbx]]\nmax_sim_calls = \"sixteen\"")).unwrap_err();
        assert_eq!(bad_type.file, "test.toml");
        assert_eq!(bad_type.pbx.as_deref(), Some("alpha"));
        assert_eq!(bad_type.field.as_deref(), Some("max_sim_calls"));
        assert!(
            bad_type
                .to_string()
                .starts_with("test.toml: PBX `alpha`, field `max_sim_calls`: "),
            "{bad_type}"
        );

        let bad_date = parse(&format!("{MINIMAL}expiry = \"in two weeks\"\n")).unwrap_err();
        assert_eq!(bad_date.field.as_deref(), Some("expiry"));
        assert!(bad_date.message.contains("in two weeks"));

        let typo = parse(&format!("{MINIMAL}expiry_date = \"+3d\"\n")).unwrap_err();
        assert_eq!(typo.pbx.as_deref(), Some("alpha"));
        assert!(typo.message.contains("expiry_date"), "{typo}");

        let legacy_mismatch = parse(&MINIMAL.replace("20.0.9.1322", "18.0.9.20")).unwrap_err();
        assert_eq!(legacy_mismatch.field.as_deref(), Some("login"));

        let bad_fault = parse(&format!(
            "{MINIMAL}faults = [{{ kind = \"status\", status = 9999 }}]\n"
        ))
        .unwrap_err();
        assert_eq!(bad_fault.field.as_deref(), Some("faults[0]"));

        let duplicate = parse(&format!("{MINIMAL}{MINIMAL}")).unwrap_err();
        assert_eq!(duplicate.field.as_deref(), Some("id"));

        let syntax = parse("[[pbx]\nid = 1").unwrap_err();
        assert!(syntax.pbx.is_none());
        assert!(syntax.message.contains("line"), "{syntax}");

        let no_id = parse("[[pbx]]\nversion = \"20.0.9.1\"").unwrap_err();
        assert_eq!(no_id.pbx.as_deref(), Some("pbx[0]"));
        assert_eq!(no_id.field.as_deref(), Some("id"));

        let bad_default = parse(&format!("[defaults]\nlatency = true\n{MINIMAL}")).unwrap_err();
        assert_eq!(bad_default.pbx.as_deref(), Some("alpha"));
        assert_eq!(bad_default.field.as_deref(), Some("latency"));

        let bad_renewal =
            parse(&format!("{MINIMAL}renewal = {{ expiry = \"soon\" }}\n")).unwrap_err();
        assert_eq!(bad_renewal.field.as_deref(), Some("renewal.expiry"));
    }

    #[test]
    fn json_scenarios_parse_too_with_real_nulls() {
        let scenario = Scenario::parse(
            r#"{"pbx":[{"id":"j","version":"18.0.9.20","expiry":null,"maintenance_expiry":"+30d",
                "login":{"kind":"legacy","username":"admin","password":"pw"}}]}"#,
            ScenarioFormat::Json,
            "test.json",
            now(),
        )
        .unwrap();
        assert_eq!(scenario.pbxs[0].license.expiry, ServedDate::Null);
        assert_eq!(scenario.pbxs[0].date_style, DateStyle::Offset);
    }

    #[test]
    fn native_toml_datetimes_are_accepted() {
        let scenario = parse(&format!("{MINIMAL}expiry = 2035-01-01T00:00:00Z\n")).unwrap();
        assert_eq!(
            scenario.pbxs[0].license.expiry.to_json(DateStyle::Dotnet),
            "2035-01-01T00:00:00Z"
        );
    }
}
