//! Entry points for fuzzing: the parsers that turn a PBX's answers into a session, license
//! facts or a typed error, called without a network.
//!
//! Not part of the crate's API (hidden from its docs). The property tests in
//! `tests/fuzz_parsers.rs` and the `cargo fuzz` targets under `fuzz/` at the workspace root
//! hand these arbitrary answers. Each function takes the steps a read takes on the same
//! answers, in the same order, through the same functions; only the sending is left out.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::client::{self, Auth, LicenseReading, XapiRead};
use crate::error::ReadError;
use crate::http::Answer;

/// One answer as a PBX — or whatever listens at its address — might give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAnswer {
    /// The HTTP status. Values HTTP cannot carry (below 100 or above 999) are read as 200.
    pub status: u16,
    /// Header names and values. Pairs HTTP cannot carry are left out, as the HTTP client
    /// would never deliver them.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// An answer with no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> RawAnswer {
        RawAnswer {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn answer(&self) -> Answer {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                headers.append(name, value);
            }
        }
        Answer {
            status: StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK),
            headers,
            body: self.body.clone(),
        }
    }
}

/// What a login answer gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedIn {
    /// A bearer token (v20).
    Bearer,
    /// A session cookie (legacy).
    Cookie,
}

fn logged_in(auth: &Auth) -> LoggedIn {
    match auth {
        Auth::Bearer { .. } => LoggedIn::Bearer,
        Auth::Cookie { .. } => LoggedIn::Cookie,
    }
}

/// The answer to an API client's `POST /connect/token`.
pub fn api_client_login(answer: &RawAnswer) -> Result<LoggedIn, ReadError> {
    client::api_client_auth_from(&answer.answer()).map(|auth| logged_in(&auth))
}

/// The answer to an admin user's `POST /webclient/api/Login/GetAccessToken` (a 404 never gets
/// here: the client tries the legacy login instead).
pub fn user_login(answer: &RawAnswer, has_totp: bool) -> Result<LoggedIn, ReadError> {
    client::user_auth_from(&answer.answer(), has_totp).map(|auth| logged_in(&auth))
}

/// The answer to a legacy `POST /api/login`.
pub fn legacy_login(answer: &RawAnswer) -> Result<LoggedIn, ReadError> {
    client::legacy_auth_from(&answer.answer()).map(|auth| logged_in(&auth))
}

/// What a v20 PBX answered to one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XapiAnswers {
    /// `GET /xapi/v1/SystemStatus`.
    pub system_status: RawAnswer,
    /// `GET /xapi/v1/LicenseStatus`.
    pub license_status: RawAnswer,
    /// `GET /xapi/v1/Defs/Pbx.GetLicenseParameters()`.
    pub parameters: RawAnswer,
    /// `GET /xapi/v1/Users?$filter=AIAgent eq true&$count=true&$top=0`.
    pub ai_count: RawAnswer,
    /// `GET /xapi/v1/Users?$select=Id,AIAgent`, asked when the count gave none.
    pub ai_list: RawAnswer,
}

/// A v20 read from its answers.
pub fn xapi_reading(answers: &XapiAnswers) -> Result<LicenseReading, ReadError> {
    let mut read = XapiRead::from_system_status(&answers.system_status.answer())?;
    read.add_license_status(&answers.license_status.answer())?;
    read.add_parameters(&answers.parameters.answer())?;
    let ai_users = if read.has_ai_agents()? {
        match client::ai_count_from(&answers.ai_count.answer())? {
            Some(count) => Some(count),
            None => read.ai_flags_from(&answers.ai_list.answer())?,
        }
    } else {
        None
    };
    read.into_reading(ai_users)
}

/// A legacy read from its `GET /api/SystemStatus` answer.
pub fn legacy_reading(answer: &RawAnswer) -> Result<LicenseReading, ReadError> {
    client::legacy_reading_from(&answer.answer())
}

/// The error an answer's status means on `endpoint` (`Ok` for 2xx).
pub fn check_status(answer: &RawAnswer, endpoint: &str) -> Result<(), ReadError> {
    client::check_status(&answer.answer(), endpoint)
}

/// How an error describes a body it will not quote.
pub fn describe_body(body: &[u8]) -> String {
    crate::fields::describe_body(body)
}

/// Whether a PBX of this version is asked for its AI agents.
pub fn has_ai_agents(version: Option<&str>) -> bool {
    crate::xapi::has_ai_agents(version)
}
