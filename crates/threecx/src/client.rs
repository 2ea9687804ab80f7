//! One PBX's client: its login session, the reading of its license, and refresh.
//!
//! A [`PbxClient`] keeps one session per PBX behind a lock, so two logins for one PBX never run
//! at once (3CX allows one active token per API client). Tokens are renewed early, and a 401 on
//! a read gets one new login and one retry. A rejected login starts an exponential wait before
//! the next attempt, so the PBX's anti-hacking rules never block Runway's address. Every read is
//! bounded by one overall timeout: a hanging PBX costs that timeout and nothing more.

use std::sync::Arc;

use crate::network::{NetworkPolicy, NotAllowed};
use std::time::Duration;

use reqwest::StatusCode;
use runway_core::{LicenseFacts, PbxLicense};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::error::ReadError;
use crate::fields::{Fields, describe_body, parse_object};
use crate::http::{Answer, send};
use crate::target::{PbxTarget, ReadLimits};
use crate::{legacy, totp, xapi};
use runway_core::Credentials;
use runway_core::Secret;

/// Which of the PBX's APIs answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// v20 XAPI (`/xapi/v1`).
    Xapi,
    /// v16/v18 legacy API (`/api`).
    Legacy,
}

impl Api {
    /// The name stored with a reading.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Xapi => "xapi",
            Api::Legacy => "legacy",
        }
    }
}

/// A successful read: the license facts, the raw answers they came from, and notes on anything
/// optional the PBX could not tell.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseReading {
    /// The facts, with every rule of runway-core applied.
    pub facts: LicenseFacts,
    /// The API that answered.
    pub api: Api,
    /// The PBX's answers, keyed by endpoint, for the reading history.
    pub raw: Value,
    /// Optional data the PBX did not provide, e.g. "LicenseStatus: HTTP 404".
    pub notes: Vec<String>,
    /// The PBX's clock minus this host's, in whole seconds, from the `Date` header of its
    /// status answer (`None` without one): `runway doctor` tells a host clock that is off.
    pub clock_offset: Option<i64>,
}

/// The first wait after a rejected login; it doubles with each further rejection.
const LOGIN_BACKOFF_START: Duration = Duration::from_secs(30);
/// The longest wait between login attempts.
const LOGIN_BACKOFF_MAX: Duration = Duration::from_mins(30);
/// How early before its expiry a token is renewed (as a fraction of its lifetime, in quarters).
const TOKEN_RENEW_AFTER_QUARTERS: u32 = 3;

#[derive(Debug, Default)]
struct Session {
    auth: Option<Auth>,
    /// The API found to answer, for logins that can fall back from one to the other.
    api: Option<Api>,
    rejections: u32,
    held_until: Option<(Instant, String)>,
    /// Whether the PBX's version (as last read) has AI agents, so the next read asks for their
    /// count together with everything else.
    has_ai_agents: Option<bool>,
}

#[derive(Debug)]
pub(crate) enum Auth {
    Bearer { token: Secret, renew_at: Instant },
    Cookie { cookie: Secret },
}

/// A client for one PBX; see the module docs.
#[derive(Debug)]
pub struct PbxClient {
    target: PbxTarget,
    http: reqwest::Client,
    limits: ReadLimits,
    policy: Arc<NetworkPolicy>,
    session: Mutex<Session>,
}

impl PbxClient {
    pub(crate) fn new(
        target: PbxTarget,
        http: reqwest::Client,
        limits: ReadLimits,
        policy: Arc<NetworkPolicy>,
    ) -> PbxClient {
        PbxClient {
            target,
            http,
            limits,
            policy,
            session: Mutex::default(),
        }
    }

    /// The PBX's address when its URL names an address rather than a host name.
    fn address_literal(&self) -> Option<std::net::IpAddr> {
        match self.target.base_url.url().host()? {
            url::Host::Ipv4(v4) => Some(v4.into()),
            url::Host::Ipv6(v6) => Some(v6.into()),
            url::Host::Domain(_) => None,
        }
    }

    /// The PBX this client reads.
    pub fn target(&self) -> &PbxTarget {
        &self.target
    }

    /// Reads the license.
    pub async fn read_license(&self) -> Result<LicenseReading, ReadError> {
        self.bounded(false).await
    }

    /// Asks the PBX to re-query 3CX's license server, then reads the license again at once.
    pub async fn refresh_license(&self) -> Result<LicenseReading, ReadError> {
        self.bounded(true).await
    }

    async fn bounded(&self, refresh: bool) -> Result<LicenseReading, ReadError> {
        // An address in the URL is checked here; a name is checked as it is resolved.
        if let Some(address) = self.address_literal()
            && !self.policy.permits(address)
        {
            return Err(ReadError::NotAllowed(NotAllowed {
                address: address.to_string(),
            }));
        }
        let work = async {
            let mut session = self.session.lock().await;
            self.read_in_session(&mut session, refresh).await
        };
        let result = tokio::time::timeout(self.limits.timeout, work)
            .await
            .unwrap_or(Err(ReadError::Timeout {
                after: self.limits.timeout,
            }));
        result.map_err(|err| err.scrubbed(&self.target.credentials.secrets()))
    }

    async fn read_in_session(
        &self,
        session: &mut Session,
        refresh: bool,
    ) -> Result<LicenseReading, ReadError> {
        self.ensure_login(session).await?;
        let api = session.api.unwrap_or(Api::Xapi);
        let mut notes = Vec::new();
        if refresh {
            match api {
                Api::Xapi => {
                    let path = "xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus";
                    let answer = self.authed(session, reqwest::Method::POST, path).await?;
                    check_status(&answer, "LicenseStatus/Pbx.RefreshLicenseStatus")?;
                }
                Api::Legacy => notes.push(
                    "v16/v18 PBXs cannot be asked to re-query 3CX: read again as it is".to_owned(),
                ),
            }
        }
        let mut reading = match api {
            Api::Xapi => self.read_xapi(session).await?,
            Api::Legacy => self.read_legacy(session).await?,
        };
        notes.append(&mut reading.notes);
        reading.notes = notes;
        Ok(reading)
    }

    fn url(&self, path: &str) -> Result<Url, ReadError> {
        self.target
            .base_url
            .url()
            .join(path)
            .map_err(|_| ReadError::unexpected(path, "cannot form the request address"))
    }

    // ---- login ------------------------------------------------------------------------------

    async fn ensure_login(&self, session: &mut Session) -> Result<(), ReadError> {
        match &session.auth {
            Some(Auth::Bearer { renew_at, .. }) if Instant::now() < *renew_at => return Ok(()),
            Some(Auth::Cookie { .. }) => return Ok(()),
            _ => {}
        }
        if let Some((until, detail)) = &session.held_until {
            let now = Instant::now();
            if now < *until {
                return Err(ReadError::LoginHeldBack {
                    retry_in: until.duration_since(now),
                    detail: detail.clone(),
                });
            }
        }
        session.auth = None;
        match self.login(session).await {
            Ok(auth) => {
                session.auth = Some(auth);
                session.rejections = 0;
                session.held_until = None;
                Ok(())
            }
            Err(err) => {
                if err.is_login_failure() {
                    session.rejections = session.rejections.saturating_add(1);
                    let doublings = session.rejections.saturating_sub(1).min(16);
                    let wait = LOGIN_BACKOFF_START
                        .saturating_mul(1 << doublings)
                        .min(LOGIN_BACKOFF_MAX);
                    let detail = match &err {
                        ReadError::LoginRejected { detail } => detail.clone(),
                        other => other.to_string(),
                    };
                    session.held_until = Some((Instant::now() + wait, detail));
                }
                Err(err)
            }
        }
    }

    async fn login(&self, session: &mut Session) -> Result<Auth, ReadError> {
        match &self.target.credentials {
            Credentials::ApiClient {
                client_id,
                client_secret,
            } => {
                session.api = Some(Api::Xapi);
                self.login_api_client(client_id, client_secret).await
            }
            Credentials::User {
                username,
                password,
                totp_secret,
            } => {
                if session.api == Some(Api::Legacy) {
                    return self.login_legacy(username, password).await;
                }
                match self
                    .login_user(username, password, totp_secret.as_ref())
                    .await
                {
                    Err(NotThere) => {
                        session.api = Some(Api::Legacy);
                        self.login_legacy(username, password).await
                    }
                    Ok(result) => {
                        session.api = Some(Api::Xapi);
                        result
                    }
                }
            }
            Credentials::Legacy { username, password } => {
                if session.api == Some(Api::Xapi) {
                    return flatten(self.login_user(username, password, None).await);
                }
                match self.login_legacy(username, password).await {
                    Err(ReadError::UnexpectedAnswer { what, .. })
                        if what.starts_with(NOT_FOUND) =>
                    {
                        session.api = Some(Api::Xapi);
                        flatten(self.login_user(username, password, None).await)
                    }
                    other => {
                        session.api = Some(Api::Legacy);
                        other
                    }
                }
            }
        }
    }

    async fn login_api_client(&self, client_id: &str, secret: &Secret) -> Result<Auth, ReadError> {
        let form = [
            ("client_id", client_id),
            ("client_secret", secret.expose()),
            ("grant_type", "client_credentials"),
        ];
        let request = self.http.post(self.url("connect/token")?).form(&form);
        let answer = send(request, API_CLIENT_LOGIN, self.limits).await?;
        api_client_auth_from(&answer)
    }

    /// The v20 web-client login; `Err(NotThere)` when the PBX has no such endpoint (v16/v18).
    async fn login_user(
        &self,
        username: &str,
        password: &Secret,
        totp_secret: Option<&Secret>,
    ) -> Result<Result<Auth, ReadError>, NotThere> {
        const ENDPOINT: &str = "/webclient/api/Login/GetAccessToken";
        let attempt = async {
            let code = match totp_secret {
                Some(secret) => totp::totp_code(secret, jiff::Timestamp::now().as_second())
                    .map_err(|err| ReadError::LoginRejected {
                        detail: err.to_string(),
                    })?,
                None => String::new(),
            };
            let body =
                json!({"Username": username, "Password": password.expose(), "SecurityCode": code});
            let request = self
                .http
                .post(self.url("webclient/api/Login/GetAccessToken")?)
                .json(&body);
            send(request, ENDPOINT, self.limits).await
        };
        let answer = match attempt.await {
            Ok(answer) => answer,
            Err(err) => return Ok(Err(err)),
        };
        if answer.status == StatusCode::NOT_FOUND {
            return Err(NotThere);
        }
        Ok(user_auth_from(&answer, totp_secret.is_some()))
    }

    async fn login_legacy(&self, username: &str, password: &Secret) -> Result<Auth, ReadError> {
        let body = json!({"Username": username, "Password": password.expose()});
        let request = self.http.post(self.url("api/login")?).json(&body);
        let answer = send(request, LEGACY_LOGIN, self.limits).await?;
        legacy_auth_from(&answer)
    }

    // ---- authenticated requests --------------------------------------------------------------

    /// Sends an authenticated request; on a 401 logs in once more and retries once.
    async fn authed(
        &self,
        session: &mut Session,
        method: reqwest::Method,
        path: &str,
    ) -> Result<Answer, ReadError> {
        let url = self.url(path)?;
        let mut retried = false;
        loop {
            self.ensure_login(session).await?;
            let request = Self::with_auth(self.http.request(method.clone(), url.clone()), session);
            let answer = send(request, endpoint_name(path), self.limits).await?;
            if answer.status == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                session.auth = None;
                continue;
            }
            return Ok(answer);
        }
    }

    fn with_auth(request: reqwest::RequestBuilder, session: &Session) -> reqwest::RequestBuilder {
        match &session.auth {
            Some(Auth::Bearer { token, .. }) => request.bearer_auth(token.expose()),
            Some(Auth::Cookie { cookie }) => {
                request.header(reqwest::header::COOKIE, cookie.expose())
            }
            None => request,
        }
    }

    /// GETs several paths at once under the session's current login, so a read costs one
    /// round trip for all of them instead of one each. If any meets a 401 (the token died
    /// meanwhile), logs in once more and sends those again once — never more.
    async fn get_all(
        &self,
        session: &mut Session,
        paths: &[&str],
    ) -> Vec<Result<Answer, ReadError>> {
        let mut answers = self.send_all(session, paths).await;
        let unauthorized = |answer: &Result<Answer, ReadError>| matches!(answer, Ok(a) if a.status == StatusCode::UNAUTHORIZED);
        if !answers.iter().any(unauthorized) {
            return answers;
        }
        session.auth = None;
        if let Err(err) = self.ensure_login(session).await {
            return answers.into_iter().map(|_| Err(err.clone())).collect();
        }
        let retry: Vec<&str> = paths
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| unauthorized(answer))
            .map(|(path, _)| *path)
            .collect();
        let mut retried = self.send_all(session, &retry).await.into_iter();
        for answer in &mut answers {
            if unauthorized(answer)
                && let Some(again) = retried.next()
            {
                *answer = again;
            }
        }
        answers
    }

    /// GETs every path at once with the session's current login, answers in order.
    async fn send_all(&self, session: &Session, paths: &[&str]) -> Vec<Result<Answer, ReadError>> {
        futures_util::future::join_all(paths.iter().map(|path| async move {
            let request = Self::with_auth(self.http.get(self.url(path)?), session);
            send(request, endpoint_name(path), self.limits).await
        }))
        .await
    }

    // ---- reading -----------------------------------------------------------------------------

    async fn read_xapi(&self, session: &mut Session) -> Result<LicenseReading, ReadError> {
        // Everything is asked at once, the AI-agent count included unless the previous read
        // showed a version without AI agents: one round trip instead of two. On the first read
        // of an older v20 PBX that costs one answer thrown away (the version decides below).
        let ask_ai_now = session.has_ai_agents != Some(false);
        let paths: &[&str] = if ask_ai_now {
            &[SYSTEM_STATUS, LICENSE_STATUS, PARAMETERS, AI_AGENTS]
        } else {
            &[SYSTEM_STATUS, LICENSE_STATUS, PARAMETERS]
        };
        let mut answers = self.get_all(session, paths).await.into_iter();
        let mut next = |path| {
            answers
                .next()
                .unwrap_or_else(|| Err(ReadError::unexpected(endpoint_name(path), "no answer")))
        };
        let mut read = XapiRead::from_system_status(&next(SYSTEM_STATUS)?)?;
        read.add_license_status(&next(LICENSE_STATUS)?)?;
        read.add_parameters(&next(PARAMETERS)?)?;
        let with_ai = read.has_ai_agents()?;
        session.has_ai_agents = Some(with_ai);
        let ai_users = if with_ai {
            let answer = if ask_ai_now {
                next(AI_AGENTS)?
            } else {
                self.authed(session, reqwest::Method::GET, AI_AGENTS)
                    .await?
            };
            if let Some(count) = ai_count_from(&answer)? {
                Some(count)
            } else {
                // Filtering on `AIAgent` is not confirmed on every build: count the flags.
                let answer = self.authed(session, reqwest::Method::GET, AI_FLAGS).await?;
                read.ai_flags_from(&answer)?
            }
        } else {
            None
        };
        read.into_reading(ai_users)
    }

    async fn read_legacy(&self, session: &mut Session) -> Result<LicenseReading, ReadError> {
        let answer = self
            .authed(session, reqwest::Method::GET, LEGACY_SYSTEM_STATUS)
            .await?;
        legacy_reading_from(&answer)
    }
}

/// The PBX has no such login endpoint.
#[derive(Debug)]
struct NotThere;

const NOT_FOUND: &str = "not found (404)";

/// The endpoint of the v20 API client login (client credentials).
const API_CLIENT_LOGIN: &str = "/connect/token";
/// The endpoint of the v16/v18 legacy login.
const LEGACY_LOGIN: &str = "/api/login";

fn flatten(result: Result<Result<Auth, ReadError>, NotThere>) -> Result<Auth, ReadError> {
    result.unwrap_or_else(|NotThere| {
        Err(ReadError::unexpected(
            "/webclient/api/Login/GetAccessToken",
            format!(
                "{NOT_FOUND}: this PBX has neither the legacy nor the v20 login; check the base URL"
            ),
        ))
    })
}

fn rejected_credentials(said: &str) -> ReadError {
    ReadError::LoginRejected {
        detail: format!("the PBX answered {said}: check the username and password"),
    }
}

fn mentions_license(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_uppercase();
    text.contains("INVALID_LICENSE_TYPE") || text.contains("LICENSE")
}

// The license endpoints, as paths under the base URL.
/// v20: the PBX's status, license fields included (required).
const SYSTEM_STATUS: &str = "xapi/v1/SystemStatus";
/// v20: the license itself (optional).
const LICENSE_STATUS: &str = "xapi/v1/LicenseStatus";
/// v20: the license parameters (optional).
const PARAMETERS: &str = "xapi/v1/Defs/Pbx.GetLicenseParameters()";
/// v20.0.9+: the count of AI-agent users.
const AI_AGENTS: &str = "xapi/v1/Users?$filter=AIAgent%20eq%20true&$count=true&$top=0";
/// v20.0.9+: users with their AI-agent flag, when the count is not given.
const AI_FLAGS: &str = "xapi/v1/Users?$select=Id,AIAgent";
/// v16/v18: the PBX's status, license fields included.
const LEGACY_SYSTEM_STATUS: &str = "api/SystemStatus";

/// A v20 read as its answers come in: each step takes one answer, in the order a read asks
/// for them, so a read and its tests take the same steps.
#[derive(Debug)]
pub(crate) struct XapiRead {
    system_status: Map<String, Value>,
    license_status: Option<Map<String, Value>>,
    parameters: Option<Map<String, Value>>,
    notes: Vec<String>,
    clock_offset: Option<i64>,
}

impl XapiRead {
    /// SystemStatus is required: any status but 2xx, or a body that is not an object, fails
    /// the read.
    pub(crate) fn from_system_status(answer: &Answer) -> Result<XapiRead, ReadError> {
        let endpoint = endpoint_name(SYSTEM_STATUS);
        check_status(answer, endpoint)?;
        Ok(XapiRead {
            system_status: parse_object(endpoint, &answer.body)?,
            license_status: None,
            parameters: None,
            notes: Vec::new(),
            clock_offset: crate::http::clock_offset(&answer.headers),
        })
    }

    /// LicenseStatus is optional (see [`optional_from`]).
    pub(crate) fn add_license_status(&mut self, answer: &Answer) -> Result<(), ReadError> {
        self.license_status = optional_from(LICENSE_STATUS, answer, &mut self.notes)?;
        Ok(())
    }

    /// The license parameters are optional (see [`optional_from`]).
    pub(crate) fn add_parameters(&mut self, answer: &Answer) -> Result<(), ReadError> {
        self.parameters = optional_from(PARAMETERS, answer, &mut self.notes)?;
        Ok(())
    }

    /// Whether the PBX's version flags AI agents (so their count is wanted).
    pub(crate) fn has_ai_agents(&self) -> Result<bool, ReadError> {
        let version = Fields::new("SystemStatus", &self.system_status).text("Version")?;
        Ok(xapi::has_ai_agents(version.as_deref()))
    }

    /// The AI agents counted from the listed users' flags; `None` (with a note) when the PBX
    /// would not list them.
    pub(crate) fn ai_flags_from(&mut self, answer: &Answer) -> Result<Option<u32>, ReadError> {
        let Some(page) = optional_from(AI_FLAGS, answer, &mut self.notes)? else {
            return Ok(None);
        };
        xapi::count_ai_flags(&page).map(Some)
    }

    /// The reading, with the license rules applied.
    pub(crate) fn into_reading(self, ai_users: Option<u32>) -> Result<LicenseReading, ReadError> {
        let pbx = xapi::license_from(
            &self.system_status,
            self.license_status.as_ref(),
            self.parameters.as_ref(),
            ai_users,
        )?;
        let raw = json!({
            "SystemStatus": self.system_status,
            "LicenseStatus": self.license_status,
            "LicenseParameters": self.parameters,
            "AIAgents": ai_users,
        });
        Ok(LicenseReading {
            facts: LicenseFacts::from_pbx(pbx),
            api: Api::Xapi,
            raw,
            notes: self.notes,
            clock_offset: self.clock_offset,
        })
    }
}

/// The AI agents a filtered `$count` answer reports; `None` when it reports no count (the
/// read then counts the flags of listed users instead).
pub(crate) fn ai_count_from(answer: &Answer) -> Result<Option<u32>, ReadError> {
    Ok(optional_from(AI_AGENTS, answer, &mut Vec::new())?
        .map(|page| Fields::new("Users", &page).count("@odata.count"))
        .transpose()?
        .flatten())
}

/// A legacy read from its SystemStatus answer.
pub(crate) fn legacy_reading_from(answer: &Answer) -> Result<LicenseReading, ReadError> {
    let endpoint = endpoint_name(LEGACY_SYSTEM_STATUS);
    check_status(answer, endpoint)?;
    let status = parse_object(endpoint, &answer.body)?;
    let pbx: PbxLicense = legacy::license_from(&status)?;
    let raw = json!({ "SystemStatus": status });
    Ok(LicenseReading {
        facts: LicenseFacts::from_pbx(pbx),
        api: Api::Legacy,
        raw,
        notes: Vec::new(),
        clock_offset: crate::http::clock_offset(&answer.headers),
    })
}

/// An optional answer: a status the PBX may legitimately give (404, 400, 403, 5xx) becomes a
/// note; an odd body still fails the read.
fn optional_from(
    path: &str,
    answer: &Answer,
    notes: &mut Vec<String>,
) -> Result<Option<Map<String, Value>>, ReadError> {
    let endpoint = endpoint_name(path);
    match check_status(answer, endpoint) {
        Ok(()) => parse_object(endpoint, &answer.body).map(Some),
        Err(
            err @ (ReadError::UnexpectedAnswer { .. }
            | ReadError::Forbidden { .. }
            | ReadError::ServerError { .. }
            | ReadError::LoginRejected { .. }),
        ) => {
            notes.push(format!("{endpoint}: {err}"));
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

fn endpoint_name(path: &str) -> &str {
    let path = path.split('?').next().unwrap_or(path);
    path.strip_prefix("xapi/v1/")
        .or_else(|| path.strip_prefix("api/"))
        .unwrap_or(path)
}

fn bearer_from(endpoint: &str, object: &Map<String, Value>) -> Result<Auth, ReadError> {
    let fields = Fields::new(endpoint, object);
    let token = fields
        .text("access_token")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ReadError::unexpected(endpoint, "no access_token in the token answer"))?;
    // `expires_in` was minutes up to 20.0.8 and seconds since: reading it as seconds renews
    // early on old PBXs, never late.
    let lifetime = Duration::from_secs(u64::from(fields.count("expires_in")?.unwrap_or(60)));
    let renew_at = Instant::now() + lifetime * TOKEN_RENEW_AFTER_QUARTERS / 4;
    Ok(Auth::Bearer {
        token: Secret::new(token),
        renew_at,
    })
}

/// The session an API client's token answer gives, or why it gives none.
pub(crate) fn api_client_auth_from(answer: &Answer) -> Result<Auth, ReadError> {
    match answer.status {
        StatusCode::OK => bearer_from(
            API_CLIENT_LOGIN,
            &parse_object(API_CLIENT_LOGIN, &answer.body)?,
        ),
        StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => Err(ReadError::LoginRejected {
            detail: "the PBX refused the API client id or secret. Check them — and note that \
                     API client login needs an Enterprise/AI license; on other editions use \
                     an admin user login"
                .to_owned(),
        }),
        StatusCode::FORBIDDEN if mentions_license(&answer.body) => Err(ReadError::ApiNotLicensed),
        StatusCode::NOT_FOUND => Err(ReadError::unexpected(
            API_CLIENT_LOGIN,
            format!("{NOT_FOUND}: this PBX has no v20 API client login; use the admin user login"),
        )),
        _ => check_status(answer, API_CLIENT_LOGIN).and_then(|()| {
            Err(ReadError::unexpected(
                API_CLIENT_LOGIN,
                format!("HTTP {}", answer.status),
            ))
        }),
    }
}

/// The session a legacy login's answer gives: its cookies after the exact body `AuthSuccess`.
pub(crate) fn legacy_auth_from(answer: &Answer) -> Result<Auth, ReadError> {
    if answer.status == StatusCode::NOT_FOUND {
        return Err(ReadError::unexpected(
            LEGACY_LOGIN,
            format!("{NOT_FOUND}: no legacy login here"),
        ));
    }
    if answer.status == StatusCode::UNAUTHORIZED || answer.status == StatusCode::FORBIDDEN {
        return Err(rejected_credentials(&format!("HTTP {}", answer.status)));
    }
    check_status(answer, LEGACY_LOGIN)?;
    let text = String::from_utf8_lossy(&answer.body);
    if text.trim().trim_matches('"') != "AuthSuccess" {
        return Err(rejected_credentials(&format!(
            "the PBX answered {}",
            describe_body(&answer.body)
        )));
    }
    let cookie = answer
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .filter(|pair| pair.contains('='))
        .collect::<Vec<_>>()
        .join("; ");
    if cookie.is_empty() {
        return Err(ReadError::unexpected(
            LEGACY_LOGIN,
            "AuthSuccess without a session cookie",
        ));
    }
    Ok(Auth::Cookie {
        cookie: Secret::new(cookie),
    })
}

/// The session a v20 web-client login's answer gives, or why it gives none.
pub(crate) fn user_auth_from(answer: &Answer, has_totp: bool) -> Result<Auth, ReadError> {
    const ENDPOINT: &str = "/webclient/api/Login/GetAccessToken";
    if answer.status == StatusCode::UNAUTHORIZED || answer.status == StatusCode::FORBIDDEN {
        return Err(rejected_credentials(&format!("HTTP {}", answer.status)));
    }
    check_status(answer, ENDPOINT)?;
    let object = parse_object(ENDPOINT, &answer.body)?;
    let fields = Fields::new(ENDPOINT, &object);
    let status = fields.text("Status")?.unwrap_or_default();
    if status == "AuthSuccess" {
        let Some(Value::Object(token)) = object.get("Token") else {
            return Err(ReadError::unexpected(
                ENDPOINT,
                "AuthSuccess without a Token",
            ));
        };
        return bearer_from(ENDPOINT, token);
    }
    let said = status_word(&status);
    let asks_for_code = !has_totp
        && (status.to_ascii_lowercase().contains("two")
            || status.to_ascii_lowercase().contains("code")
            || status.to_ascii_lowercase().contains("mfa")
            || object.get("TwoFactorAuth").is_some_and(|v| !v.is_null()));
    let detail = if asks_for_code {
        format!(
            "the PBX answered {said}: this account has two-factor authentication on — add its \
             TOTP secret to the instance"
        )
    } else if has_totp {
        format!(
            "the PBX answered {said}: check the username, password and TOTP secret (and that \
             this server's clock is right)"
        )
    } else {
        format!("the PBX answered {said}: check the username and password")
    };
    Err(ReadError::LoginRejected { detail })
}

/// A login's `Status` as an error may name it. 3CX's statuses are single words
/// (`AuthFailed`); any other text came from something else at the PBX's address, and error
/// texts (shown to every user of the tenant) never carry what another service said.
fn status_word(status: &str) -> String {
    if status.is_empty() {
        "no status".to_owned()
    } else if status.len() <= 40 && status.bytes().all(|b| b.is_ascii_alphabetic()) {
        format!("{status:?}")
    } else {
        "a status that is not one of 3CX's words".to_owned()
    }
}

/// Maps an answer's status to the error it means; 2xx is fine.
pub(crate) fn check_status(answer: &Answer, endpoint: &str) -> Result<(), ReadError> {
    let status = answer.status;
    match status.as_u16() {
        200..=299 => Ok(()),
        300..=399 => {
            // Only where it points (scheme, host, port): never its path or query.
            let to = answer
                .headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| url::Url::parse(v).ok())
                .filter(|url| url.host_str().is_some())
                .map_or_else(
                    || "another address".to_owned(),
                    |url| url.origin().ascii_serialization(),
                );
            Err(ReadError::unexpected(
                endpoint,
                format!("redirected ({status}) to {to}: use that address as the PBX's base URL"),
            ))
        }
        401 => Err(ReadError::LoginRejected {
            detail: format!("the PBX refused a fresh access token on {endpoint}"),
        }),
        403 if mentions_license(&answer.body) => Err(ReadError::ApiNotLicensed),
        403 => Err(ReadError::Forbidden {
            what: endpoint.to_owned(),
        }),
        404 => Err(ReadError::unexpected(
            endpoint,
            format!("{NOT_FOUND}: check that the base URL is the PBX's web address"),
        )),
        400 => Err(ReadError::unexpected(
            endpoint,
            "the PBX refused the request (400): this PBX may not support this version of the \
             request",
        )),
        408 | 429 | 500..=599 => Err(ReadError::ServerError {
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
        }),
        _ => Err(ReadError::unexpected(endpoint, format!("HTTP {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, location: Option<&str>, body: &[u8]) -> Answer {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(location) = location {
            headers.insert(reqwest::header::LOCATION, location.parse().unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.to_vec(),
        }
    }

    #[test]
    fn errors_name_where_a_redirect_points_but_quote_nothing_the_server_said() {
        let redirect = answer(
            302,
            Some("https://portal.example.com:8443/login?session=s3cr3t#x"),
            b"",
        );
        let err = check_status(&redirect, "/xapi/v1/Defs")
            .unwrap_err()
            .to_string();
        assert!(err.contains("https://portal.example.com:8443"), "{err}");
        assert!(!err.contains("session") && !err.contains("login?"), "{err}");
        let relative = answer(301, Some("/elsewhere?token=abc"), b"");
        let err = check_status(&relative, "/xapi/v1/Defs")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("another address") && !err.contains("token"),
            "{err}"
        );
        let refused = answer(
            400,
            None,
            br#"{"error":{"message":"internal host db-01 said no"}}"#,
        );
        let err = check_status(&refused, "/xapi/v1/Defs")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("db-01"), "{err}");
    }
}
