//! Faults a simulated PBX can be told to show, and how they bend a request.
//!
//! A PBX has a list of faults (from the scenario, or set through the control API). Each fault
//! has a kind, an optional endpoint scope (`endpoint = "system_status"`, `"login"`, `"data"`,
//! default any) and an optional `times` (only the next N requests it applies to, then it is
//! gone). Several faults can be active at once: delays add up, the first status or hang wins.
//!
//! Faults that act before the handler (delay, hang, status, reject_login, forbidden,
//! short_token) are planned in `plan`; faults that bend a successful body (garbage,
//! huge_body, odd_body) are applied in `apply_body_fault`.

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::reply::{JsonObject, Reply, ReplyBody};

/// Default size of a `huge_body` fault: 50 MiB.
pub const DEFAULT_HUGE_BODY_BYTES: u64 = 50 * 1024 * 1024;

/// One endpoint a simulated PBX serves (the names used in scenarios, counters and faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /connect/token` (API client login, v20).
    ConnectToken,
    /// `POST /webclient/api/Login/GetAccessToken` (admin user login, v20).
    GetAccessToken,
    /// `POST /api/login` (legacy v16/v18 login).
    ApiLogin,
    /// `GET /xapi/v1/SystemStatus`.
    SystemStatus,
    /// `GET /xapi/v1/LicenseStatus`.
    LicenseStatus,
    /// `GET /xapi/v1/Defs/Pbx.GetLicenseParameters()`.
    LicenseParameters,
    /// `GET /xapi/v1/Users`.
    Users,
    /// `GET /xapi/v1/Defs`.
    Defs,
    /// `POST /xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus`.
    Refresh,
    /// `GET /api/SystemStatus` (legacy).
    ApiSystemStatus,
    /// Any other path (answered 404).
    Other,
}

impl Endpoint {
    /// Every endpoint, for documentation and validation messages.
    pub const ALL: [Endpoint; 11] = [
        Endpoint::ConnectToken,
        Endpoint::GetAccessToken,
        Endpoint::ApiLogin,
        Endpoint::SystemStatus,
        Endpoint::LicenseStatus,
        Endpoint::LicenseParameters,
        Endpoint::Users,
        Endpoint::Defs,
        Endpoint::Refresh,
        Endpoint::ApiSystemStatus,
        Endpoint::Other,
    ];

    /// The snake_case name used in scenarios and counters.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::ConnectToken => "connect_token",
            Endpoint::GetAccessToken => "get_access_token",
            Endpoint::ApiLogin => "api_login",
            Endpoint::SystemStatus => "system_status",
            Endpoint::LicenseStatus => "license_status",
            Endpoint::LicenseParameters => "license_parameters",
            Endpoint::Users => "users",
            Endpoint::Defs => "defs",
            Endpoint::Refresh => "refresh",
            Endpoint::ApiSystemStatus => "api_system_status",
            Endpoint::Other => "other",
        }
    }

    /// True for the three login endpoints.
    pub fn is_login(self) -> bool {
        matches!(
            self,
            Endpoint::ConnectToken | Endpoint::GetAccessToken | Endpoint::ApiLogin
        )
    }

    /// True for endpoints that need a token or session (reads and the refresh action).
    pub fn is_data(self) -> bool {
        !self.is_login() && self != Endpoint::Other
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndpointScope {
    /// Every endpoint (the default).
    #[default]
    Any,
    /// The login endpoints.
    Login,
    /// Endpoints that need a token or session.
    Data,
    /// One endpoint.
    Only(Endpoint),
}

impl EndpointScope {
    /// Whether a request to `endpoint` is in scope.
    pub fn matches(self, endpoint: Endpoint) -> bool {
        match self {
            EndpointScope::Any => endpoint != Endpoint::Other,
            EndpointScope::Login => endpoint.is_login(),
            EndpointScope::Data => endpoint.is_data(),
            EndpointScope::Only(only) => only == endpoint,
        }
    }

    fn name(self) -> &'static str {
        match self {
            EndpointScope::Any => "any",
            EndpointScope::Login => "login",
            EndpointScope::Data => "data",
            EndpointScope::Only(endpoint) => endpoint.name(),
        }
    }

    fn parse(text: &str) -> Option<EndpointScope> {
        match text {
            "any" => Some(EndpointScope::Any),
            "login" => Some(EndpointScope::Login),
            "data" => Some(EndpointScope::Data),
            _ => Endpoint::ALL
                .into_iter()
                .find(|e| e.name() == text && *e != Endpoint::Other)
                .map(EndpointScope::Only),
        }
    }
}

impl Serialize for EndpointScope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EndpointScope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EndpointScope::parse(&text).ok_or_else(|| {
            let names: Vec<&str> = Endpoint::ALL
                .iter()
                .filter(|e| **e != Endpoint::Other)
                .map(|e| e.name())
                .collect();
            D::Error::custom(format!(
                "unknown endpoint `{text}`: expected any, login, data or one of {}",
                names.join(", ")
            ))
        })
    }
}

/// How a `garbage` fault breaks a body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GarbageStyle {
    /// An HTML error page sent as `application/json`.
    #[default]
    NotJson,
    /// The real body cut off in the middle.
    TruncatedJson,
    /// Valid JSON with the wrong types: `"MaxSimCalls":"sixteen"`, `"LicenseActive":"yes"`,
    /// dates as numbers.
    WrongTypes,
}

/// How an `odd_body` fault bends a body (all still valid JSON a tolerant client must read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OddStyle {
    /// License fields (dates, product code, limits, `expires_in`…) left out.
    MissingFields,
    /// Every field null except the structural ones.
    NullFields,
    /// Unknown extra fields, nested and at the top.
    ExtraFields,
    /// Fields only newer versions send (`MaxUserExtensions`, `IsEnterprise`, …) plus future
    /// ones.
    NewerVersion,
}

fn default_huge_bytes() -> u64 {
    DEFAULT_HUGE_BODY_BYTES
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Answer with this status code (e.g. 500, 503, 504, 429; 401 adds `WWW-Authenticate`).
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` seconds to send along (429/503).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Wait this long before answering (on top of the PBX's latency).
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Accept the request and never answer (until the simulator shuts down).
    Hang {},
    /// A broken body.
    Garbage {
        /// How it is broken.
        #[serde(default)]
        style: GarbageStyle,
    },
    /// A very large body, streamed in 64 KiB chunks without being held in memory.
    HugeBody {
        /// Size in bytes (default 50 MiB).
        #[serde(default = "default_huge_bytes")]
        bytes: u64,
        /// Send `Content-Length` (a client can refuse before reading) instead of chunked.
        #[serde(default, skip_serializing_if = "is_false")]
        declare_length: bool,
    },
    /// Tokens/sessions issued while this is active stop working after this long, although the
    /// login answer still advertises the normal `expires_in`.
    ShortToken {
        /// Real lifetime in milliseconds.
        lifetime_ms: u64,
    },
    /// Logins are rejected even with the right credentials.
    RejectLogin {},
    /// Data endpoints answer 403 (a role lacking rights); login still works.
    Forbidden {},
    /// Odd but valid bodies.
    OddBody {
        /// Which oddity.
        style: OddStyle,
    },
}

impl FaultKind {
    fn applies_to(&self, endpoint: Endpoint) -> bool {
        match self {
            FaultKind::RejectLogin {} | FaultKind::ShortToken { .. } => endpoint.is_login(),
            FaultKind::Forbidden {} => endpoint.is_data(),
            _ => true,
        }
    }

    fn is_body_fault(&self) -> bool {
        matches!(
            self,
            FaultKind::Garbage { .. } | FaultKind::HugeBody { .. } | FaultKind::OddBody { .. }
        )
    }
}

/// A fault with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// What goes wrong.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Which endpoints it affects.
    #[serde(default, skip_serializing_if = "is_any")]
    pub endpoint: EndpointScope,
    /// How many more requests it applies to (`None` = forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_any(scope: &EndpointScope) -> bool {
    *scope == EndpointScope::Any
}

impl Fault {
    /// A fault for every endpoint, forever.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            endpoint: EndpointScope::Any,
            times: None,
        }
    }

    /// Limits the fault to one scope.
    #[must_use]
    pub fn on(mut self, endpoint: EndpointScope) -> Fault {
        self.endpoint = endpoint;
        self
    }

    /// Limits the fault to the next `times` requests it applies to.
    #[must_use]
    pub fn times(mut self, times: u64) -> Fault {
        self.times = Some(times);
        self
    }

    /// Checks values serde cannot (status range).
    pub fn validate(&self) -> Result<(), String> {
        if let FaultKind::Status { status, .. } = self.kind
            && StatusCode::from_u16(status).is_err()
        {
            return Err(format!(
                "status {status} is not an HTTP status code (100–999)"
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let endpoint = match map.remove("endpoint") {
            Some(value) => EndpointScope::deserialize(value).map_err(D::Error::custom)?,
            None => EndpointScope::Any,
        };
        let times =
            match map.remove("times") {
                Some(value) => Some(value.as_u64().ok_or_else(|| {
                    D::Error::custom("`times` must be a whole number of requests")
                })?),
                None => None,
            };
        if !map.contains_key("kind") {
            return Err(D::Error::custom(
                "a fault needs a `kind`: status, delay, hang, garbage, huge_body, short_token, reject_login, forbidden or odd_body",
            ));
        }
        let kind = FaultKind::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
        let fault = Fault {
            kind,
            endpoint,
            times,
        };
        fault.validate().map_err(D::Error::custom)?;
        Ok(fault)
    }
}

/// What the pre-handler faults decided for one request.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    /// Extra delay before answering.
    pub(crate) delay: Duration,
    /// Never answer.
    pub(crate) hang: bool,
    /// Answer with this status instead of running the handler.
    pub(crate) status: Option<(StatusCode, Option<u64>)>,
    /// Reject the login whatever the credentials.
    pub(crate) reject_login: bool,
    /// Answer 403 after authentication.
    pub(crate) forbidden: bool,
    /// Real lifetime of a token issued by this request.
    pub(crate) short_token: Option<Duration>,
    /// How many faults fired.
    pub(crate) fired: u64,
}

/// Plans the pre-handler faults for a request to `endpoint`, using up `times` counts.
pub(crate) fn plan(faults: &mut Vec<Fault>, endpoint: Endpoint) -> FaultPlan {
    let mut plan = FaultPlan::default();
    for fault in faults.iter_mut() {
        if fault.kind.is_body_fault()
            || !fault.endpoint.matches(endpoint)
            || !fault.kind.applies_to(endpoint)
            || fault.times == Some(0)
        {
            continue;
        }
        match fault.kind {
            FaultKind::Status {
                status,
                retry_after,
            } => {
                if plan.status.is_some() || plan.hang {
                    continue;
                }
                let Ok(code) = StatusCode::from_u16(status) else {
                    continue;
                };
                plan.status = Some((code, retry_after));
            }
            FaultKind::Delay { ms } => plan.delay += Duration::from_millis(ms),
            FaultKind::Hang {} => {
                if plan.status.is_some() {
                    continue;
                }
                plan.hang = true;
            }
            FaultKind::RejectLogin {} => plan.reject_login = true,
            FaultKind::Forbidden {} => plan.forbidden = true,
            FaultKind::ShortToken { lifetime_ms } => {
                plan.short_token = Some(Duration::from_millis(lifetime_ms));
            }
            FaultKind::Garbage { .. } | FaultKind::HugeBody { .. } | FaultKind::OddBody { .. } => {
                continue;
            }
        }
        plan.fired += 1;
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
        }
    }
    faults.retain(|f| f.times != Some(0));
    plan
}

/// Takes the first body fault in scope for `endpoint` (using up its count), if any.
pub(crate) fn take_body_fault(faults: &mut Vec<Fault>, endpoint: Endpoint) -> Option<FaultKind> {
    let index = faults.iter().position(|f| {
        f.kind.is_body_fault() && f.endpoint.matches(endpoint) && f.times != Some(0)
    })?;
    let kind = faults[index].kind.clone();
    if let Some(times) = faults[index].times.as_mut() {
        *times -= 1;
        if *times == 0 {
            faults.remove(index);
        }
    }
    Some(kind)
}

/// The reply a `status` fault produces.
pub(crate) fn status_reply(status: StatusCode, retry_after: Option<u64>) -> Reply {
    let mut reply = if status == StatusCode::UNAUTHORIZED {
        Reply::bearer_unauthorized()
    } else if status.is_client_error() || status.is_server_error() {
        // What the reverse proxy in front of a PBX (nginx) sends.
        let reason = status.canonical_reason().unwrap_or("Error");
        Reply::text(
            status,
            "text/html",
            format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                code = status.as_u16()
            ),
        )
    } else {
        Reply::empty(status)
    };
    if let Some(seconds) = retry_after {
        reply = reply.with_header(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    reply
}

/// Applies a body fault to a successful reply.
pub(crate) fn apply_body_fault(kind: &FaultKind, reply: Reply) -> Reply {
    match kind {
        FaultKind::Garbage { style } => garbage(*style, reply),
        FaultKind::HugeBody {
            bytes,
            declare_length,
        } => huge(reply.status, *bytes, *declare_length),
        FaultKind::OddBody { style } => match reply.body {
            ReplyBody::Json(object) => Reply {
                body: ReplyBody::Json(odd(*style, object)),
                ..reply
            },
            _ => reply,
        },
        _ => reply,
    }
}

fn garbage(style: GarbageStyle, reply: Reply) -> Reply {
    let status = reply.status;
    match (style, reply.body) {
        (GarbageStyle::WrongTypes, ReplyBody::Json(object)) => Reply {
            status,
            headers: reply.headers,
            body: ReplyBody::Json(object.into_iter().map(|(k, v)| (k, wrong_type(v))).collect()),
        },
        (GarbageStyle::TruncatedJson, ReplyBody::Json(object)) => {
            let text = serde_json::to_string(&crate::reply::Ordered(&object)).unwrap_or_default();
            let cut = text.len() / 2;
            let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            Reply::text(status, "application/json; charset=utf-8", text[..cut].to_owned())
        }
        (GarbageStyle::TruncatedJson, ReplyBody::Text { content_type, text }) => {
            let cut = (0..=text.len() / 2).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            Reply::text(status, content_type, text[..cut].to_owned())
        }
        _ => Reply::text(
            status,
            "application/json; charset=utf-8",
            "<!DOCTYPE html><html><head><title>3CX</title></head><body><p>Service is starting, please wait…</p></body></html>".to_owned(),
        ),
    }
}

/// Turns a value into the wrong type (recursively for objects and arrays of objects).
fn wrong_type(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(number_word(n.as_i64().unwrap_or(0))),
        Value::Bool(b) => Value::String(if b { "yes" } else { "no" }.to_owned()),
        Value::String(text) if looks_like_date(&text) => {
            let digits: String = text.chars().filter(char::is_ascii_digit).take(8).collect();
            digits
                .parse::<i64>()
                .map_or(Value::String(text), Value::from)
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, wrong_type(v))).collect())
        }
        Value::Array(items) if items.iter().all(Value::is_object) => {
            Value::Array(items.into_iter().map(wrong_type).collect())
        }
        Value::Array(items) => Value::String(format!("{} items", items.len())),
        other => other,
    }
}

fn looks_like_date(text: &str) -> bool {
    text.len() >= 19
        && text.as_bytes().get(4) == Some(&b'-')
        && text.as_bytes().get(10) == Some(&b'T')
}

/// English words for small numbers (`16` → `"sixteen"`), digits-as-words beyond.
fn number_word(n: i64) -> String {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    match usize::try_from(n) {
        Ok(small) if small < 20 => SMALL[small].to_owned(),
        Ok(tens) if tens < 100 => {
            let word = TENS[tens / 10];
            if tens % 10 == 0 {
                word.to_owned()
            } else {
                format!("{word}-{}", SMALL[tens % 10])
            }
        }
        _ => format!("about {n}"),
    }
}

/// Keys never removed or nulled by odd bodies (without them the body is not what the endpoint
/// is, rather than odd).
const STRUCTURAL: [&str; 6] = [
    "@odata.context",
    "value",
    "access_token",
    "token_type",
    "Status",
    "Token",
];

/// License-relevant keys an odd body may leave out.
const REMOVABLE: [&str; 16] = [
    "ExpirationDate",
    "MaintenanceExpiresAt",
    "ProductCode",
    "MaxSimCalls",
    "LicenseActive",
    "Activated",
    "Support",
    "ResellerName",
    "UserExtensions",
    "MaxUserExtensions",
    "IsEnterprise",
    "IsProfessional",
    "IsMaintainceExpired",
    "IsSpla",
    "@odata.count",
    "expires_in",
];

fn odd(style: OddStyle, mut object: JsonObject) -> JsonObject {
    match style {
        OddStyle::MissingFields => {
            object.retain(|(key, _)| !REMOVABLE.contains(&key.as_str()));
            object
        }
        OddStyle::NullFields => object
            .into_iter()
            .map(|(key, value)| {
                if STRUCTURAL.contains(&key.as_str()) {
                    (key, value)
                } else {
                    (key, Value::Null)
                }
            })
            .collect(),
        OddStyle::ExtraFields => {
            object.push((
                "@odata.etag".to_owned(),
                Value::from("W/\"08DCF1A2B3C4D5E6\""),
            ));
            object.push((
                "SimUnknownSection".to_owned(),
                serde_json::json!({ "Nested": { "Level": 2, "Items": [1, 2, 3] }, "Flag": true }),
            ));
            object.push(("LicenseTier".to_owned(), Value::from("AI")));
            object
        }
        OddStyle::NewerVersion => {
            let additions = [
                ("UserExtensions", Value::from(12)),
                ("MaxUserExtensions", Value::from(80)),
                ("IsEnterprise", Value::from(true)),
                ("IsProfessional", Value::from(true)),
                ("AIAgentsLicensed", Value::from(4)),
                ("LicenseEdition", Value::from("AI")),
                (
                    "LicenseFeatures",
                    serde_json::json!(["AIReceptionist", "Transcription"]),
                ),
            ];
            for (key, value) in additions {
                if !object.iter().any(|(k, _)| k == key) {
                    object.push((key.to_owned(), value));
                }
            }
            object
        }
    }
}

/// 64 KiB of filler that the huge body streams again and again (static: nothing allocated per
/// request however large the body).
static FILLER: [u8; 64 * 1024] = [b'a'; 64 * 1024];

/// A JSON-looking body of exactly `bytes` bytes that never closes, streamed chunk by chunk.
fn huge(status: StatusCode, bytes: u64, declare_length: bool) -> Reply {
    const HEAD: &[u8] = b"{\"@odata.context\":\"$metadata#Huge\",\"Padding\":\"";
    let head_len = u64::try_from(HEAD.len()).unwrap_or(u64::MAX);
    let stream = futures_util::stream::unfold(0u64, move |sent| async move {
        if sent >= bytes {
            return None;
        }
        let chunk = if sent == 0 && bytes >= head_len {
            Bytes::from_static(HEAD)
        } else {
            let left = usize::try_from(bytes - sent).unwrap_or(usize::MAX);
            Bytes::from_static(&FILLER[..left.min(FILLER.len())])
        };
        let next = sent + u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        Some((Ok::<Bytes, Infallible>(chunk), next))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if declare_length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes));
    }
    Reply {
        status,
        headers: Vec::new(),
        body: ReplyBody::Ready(Box::new(response)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::object;

    fn parse(text: &str) -> Result<Fault, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn faults_parse_with_scope_and_times() {
        let fault = parse(r#"{"kind":"status","status":503,"endpoint":"system_status","times":2}"#)
            .unwrap();
        assert_eq!(
            fault,
            Fault::new(FaultKind::Status {
                status: 503,
                retry_after: None
            })
            .on(EndpointScope::Only(Endpoint::SystemStatus))
            .times(2)
        );
        assert_eq!(
            parse(r#"{"kind":"hang"}"#).unwrap().kind,
            FaultKind::Hang {}
        );
        assert_eq!(
            parse(r#"{"kind":"huge_body"}"#).unwrap().kind,
            FaultKind::HugeBody {
                bytes: DEFAULT_HUGE_BODY_BYTES,
                declare_length: false
            }
        );
        let round_trip = serde_json::to_string(&fault).unwrap();
        assert_eq!(parse(&round_trip).unwrap(), fault);
    }

    #[test]
    fn bad_faults_say_what_is_wrong() {
        let unknown_kind = parse(r#"{"kind":"explode"}"#).unwrap_err().to_string();
        assert!(unknown_kind.contains("explode"), "{unknown_kind}");
        let unknown_field = parse(r#"{"kind":"delay","ms":5,"sec":1}"#)
            .unwrap_err()
            .to_string();
        assert!(unknown_field.contains("sec"), "{unknown_field}");
        let bad_endpoint = parse(r#"{"kind":"hang","endpoint":"systemstatus"}"#)
            .unwrap_err()
            .to_string();
        assert!(bad_endpoint.contains("systemstatus"), "{bad_endpoint}");
        let bad_status = parse(r#"{"kind":"status","status":42}"#)
            .unwrap_err()
            .to_string();
        assert!(bad_status.contains("42"), "{bad_status}");
        let no_kind = parse(r#"{"status":500}"#).unwrap_err().to_string();
        assert!(no_kind.contains("kind"), "{no_kind}");
    }

    #[test]
    fn plan_uses_up_times_and_respects_scope() {
        let mut faults = vec![
            Fault::new(FaultKind::Status {
                status: 503,
                retry_after: Some(5),
            })
            .times(1),
            Fault::new(FaultKind::Delay { ms: 10 }).on(EndpointScope::Login),
            Fault::new(FaultKind::Forbidden {}),
        ];
        let first = plan(&mut faults, Endpoint::SystemStatus);
        assert_eq!(
            first.status.map(|s| s.0),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(first.forbidden);
        assert_eq!(first.delay, Duration::ZERO);
        let second = plan(&mut faults, Endpoint::SystemStatus);
        assert!(second.status.is_none(), "times = 1 is used up");
        let login = plan(&mut faults, Endpoint::ConnectToken);
        assert_eq!(login.delay, Duration::from_millis(10));
        assert!(!login.forbidden, "forbidden only applies to data endpoints");
        assert_eq!(faults.len(), 2);
    }

    #[test]
    fn wrong_types_spell_numbers_and_stringify_booleans() {
        let body = object([
            ("MaxSimCalls", Value::from(16)),
            ("LicenseActive", Value::from(true)),
            ("ExpirationDate", Value::from("2027-01-31T00:00:00Z")),
        ]);
        let reply = garbage(GarbageStyle::WrongTypes, Reply::ok(body));
        let ReplyBody::Json(object) = reply.body else {
            panic!("still JSON")
        };
        assert_eq!(object[0].1, Value::from("sixteen"));
        assert_eq!(object[1].1, Value::from("yes"));
        assert_eq!(object[2].1, Value::from(20_270_131));
    }

    #[test]
    fn odd_bodies_stay_valid_but_differ() {
        let body = object([
            ("@odata.context", Value::from("x")),
            ("ProductCode", Value::from("3CXPSPROF")),
            ("Version", Value::from("20.0.8.1")),
        ]);
        let missing = odd(OddStyle::MissingFields, body.clone());
        assert!(!missing.iter().any(|(k, _)| k == "ProductCode"));
        let nulls = odd(OddStyle::NullFields, body.clone());
        assert_eq!(nulls[0].1, Value::from("x"));
        assert_eq!(nulls[1].1, Value::Null);
        let newer = odd(OddStyle::NewerVersion, body);
        assert!(newer.iter().any(|(k, _)| k == "MaxUserExtensions"));
    }
}
