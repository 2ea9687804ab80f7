//! What an instance (one 3CX PBX) is set up with: its address, how Runway logs in, how its
//! certificate is trusted, and how often it is read.
//!
//! Each rule has one owner here, so the form that takes the settings, the store that keeps
//! them, the client that uses them and the page that shows them cannot disagree:
//!
//! - [`BaseUrl`]: the PBX's address, parsed and normalised once (a missing scheme means
//!   `https://`; no credentials, query or fragment). It is stored and shown in its normal form.
//! - [`Credentials`] and their [`LoginKind`]: an XAPI client, an admin user (optionally with
//!   TOTP), or the legacy API — or no login at all for a manual instance.
//! - [`TlsOptions`] with the one check of a custom CA certificate ([`check_ca_pem`]).
//! - [`PollInterval`]: between one minute and thirty days.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;

/// A PBX's web address, e.g. `https://pbx.example.com:5001`, parsed and normalised.
///
/// Displayed (and stored) without a trailing slash, with the scheme and host in lower case
/// and a default port dropped: `PBX.example.com:443/` is `https://pbx.example.com`. A path
/// prefix (a PBX behind a reverse proxy) is kept.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(Url);

/// A text that cannot be a PBX's address, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a PBX address: {reason}")]
pub struct BadBaseUrl {
    /// What was given, with any `user:password@` part masked.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl BaseUrl {
    /// Parses an address: http(s), a host, no credentials, query or fragment. A missing scheme
    /// means https.
    pub fn parse(input: &str) -> Result<BaseUrl, BadBaseUrl> {
        let bad = |reason| BadBaseUrl {
            input: without_userinfo(input.trim()),
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it must not contain spaces"));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|_| bad("not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http:// and https:// are supported"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it has no host name"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials belong in the login settings, not in the URL",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it must not have a query (?) or fragment (#)"));
        }
        // Joining relative API paths needs a trailing slash on the base: exactly one, as more
        // would not survive the normal form (shown and stored without them).
        let path = format!("{}/", url.path().trim_end_matches('/'));
        if path != url.path() {
            url.set_path(&path);
        }
        Ok(BaseUrl(url))
    }

    /// The URL to join the PBX's API paths to (it ends with `/`).
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The host name (or IP address), e.g. `pbx.example.com`.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Whether both addresses reach the same server: the same scheme, host and port (a path
    /// prefix may differ). Stored secrets are only ever sent where they were entered for, so
    /// an address that fails this test needs its secrets entered again.
    pub fn same_server(&self, other: &BaseUrl) -> bool {
        self.0.scheme() == other.0.scheme()
            && self.0.host() == other.0.host()
            && self.0.port_or_known_default() == other.0.port_or_known_default()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({self})")
    }
}

impl FromStr for BaseUrl {
    type Err = BadBaseUrl;
    fn from_str(text: &str) -> Result<BaseUrl, BadBaseUrl> {
        BaseUrl::parse(text)
    }
}

/// The input with anything that may be a `user:password@` part masked, so an error can quote
/// it safely: everything from after the scheme (or the start) to the last `@`. It errs towards
/// masking: a password may hold `/`, `?`, `#` or even `://`, and the input may have no scheme.
fn without_userinfo(input: &str) -> String {
    let start = match input.split_once("://") {
        Some((scheme, _)) if is_scheme(scheme) => scheme.len() + 3,
        _ => input.len() - input.trim_start_matches(['/', '\\']).len(),
    };
    match input[start..].rfind('@') {
        Some(at) => format!("{}***@{}", &input[..start], &input[start + at + 1..]),
        None => input.to_owned(),
    }
}

/// Whether a text is a URL scheme (`https`, `ftp`, `svn+ssh`).
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// How Runway reads an instance's license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginKind {
    /// 3CX v20 XAPI with an API client (client credentials).
    ApiClient,
    /// 3CX v20 web-client login of an admin user (password, optional TOTP).
    User,
    /// 3CX v16/v18 legacy API.
    Legacy,
    /// No API access: facts typed in or imported.
    Manual,
}

impl LoginKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginKind::ApiClient => "api_client",
            LoginKind::User => "user",
            LoginKind::Legacy => "legacy",
            LoginKind::Manual => "manual",
        }
    }
}

impl fmt::Display for LoginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LoginKind {
    type Err = String;
    fn from_str(text: &str) -> Result<LoginKind, String> {
        match text {
            "api_client" => Ok(LoginKind::ApiClient),
            "user" => Ok(LoginKind::User),
            "legacy" => Ok(LoginKind::Legacy),
            "manual" => Ok(LoginKind::Manual),
            other => Err(format!("unknown login kind {other:?}")),
        }
    }
}

/// What logs in to a PBX. Its `Debug` shows identities, never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// v20 XAPI with an API client (OAuth2 client credentials). Needs Enterprise/AI.
    ApiClient {
        /// The client id (not secret).
        client_id: String,
        /// The client secret.
        client_secret: Secret,
    },
    /// v20 web-client login of an admin user (every edition). The client falls back to the
    /// legacy API on a PBX that has no web-client login (v16/v18).
    User {
        /// Extension number or e-mail (not secret).
        username: String,
        /// The password.
        password: Secret,
        /// The TOTP seed (base32), for accounts with MFA.
        totp_secret: Option<Secret>,
    },
    /// The v16/v18 legacy API (`/api/login` + cookie). The client falls back to the v20
    /// web-client login on a PBX that has been upgraded.
    Legacy {
        /// The admin user name (not secret).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Credentials {
    /// The kind of login these credentials are for.
    pub fn kind(&self) -> LoginKind {
        match self {
            Credentials::ApiClient { .. } => LoginKind::ApiClient,
            Credentials::User { .. } => LoginKind::User,
            Credentials::Legacy { .. } => LoginKind::Legacy,
        }
    }

    /// The non-secret identity: client id or user name.
    pub fn identity(&self) -> &str {
        match self {
            Credentials::ApiClient { client_id, .. } => client_id,
            Credentials::User { username, .. } | Credentials::Legacy { username, .. } => username,
        }
    }

    /// The client secret or password.
    pub fn secret(&self) -> &Secret {
        match self {
            Credentials::ApiClient { client_secret, .. } => client_secret,
            Credentials::User { password, .. } | Credentials::Legacy { password, .. } => password,
        }
    }

    /// The TOTP seed, for a user with MFA.
    pub fn totp_secret(&self) -> Option<&Secret> {
        match self {
            Credentials::User { totp_secret, .. } => totp_secret.as_ref(),
            Credentials::ApiClient { .. } | Credentials::Legacy { .. } => None,
        }
    }

    /// Every secret these credentials carry, so error texts can be scrubbed of them.
    pub fn secrets(&self) -> Vec<&Secret> {
        std::iter::once(self.secret())
            .chain(self.totp_secret())
            .collect()
    }
}

/// The largest custom CA bundle accepted.
pub const MAX_CA_PEM_BYTES: usize = 64 * 1024;

/// How to trust a PBX's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// A CA certificate (or bundle), PEM, to trust for this PBX besides the system's roots;
    /// checked by [`check_ca_pem`].
    pub custom_ca_pem: Option<String>,
    /// Accept any certificate, for self-signed on-premises PBXs; shown as a warning.
    pub accept_invalid_certs: bool,
}

/// A custom CA that is not one or more PEM certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadCaPem {
    /// Not `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----` blocks of base64.
    #[error(
        "the custom CA must be one or more PEM certificates (-----BEGIN CERTIFICATE----- … \
         -----END CERTIFICATE-----)"
    )]
    NotPem,
    /// Larger than [`MAX_CA_PEM_BYTES`].
    #[error("the custom CA is larger than 64 KB")]
    TooLarge,
}

/// Checks a custom CA as typed or pasted: `None` when empty, otherwise the trimmed PEM text
/// of one or more certificates.
pub fn check_ca_pem(text: &str) -> Result<Option<String>, BadCaPem> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_CA_PEM_BYTES {
        return Err(BadCaPem::TooLarge);
    }
    let mut rest = text;
    let mut certificates = 0;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).ok_or(BadCaPem::NotPem)?;
        let body = &after[..end];
        let base64 = body
            .chars()
            .filter(|c| !c.is_whitespace())
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
        if !base64 || body.trim().is_empty() {
            return Err(BadCaPem::NotPem);
        }
        certificates += 1;
        rest = &after[end + END.len()..];
    }
    if certificates == 0 {
        return Err(BadCaPem::NotPem);
    }
    Ok(Some(text.to_owned()))
}

/// How often an instance is read: between [`PollInterval::MIN`] and [`PollInterval::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PollInterval(Duration);

/// A poll interval out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("read every 1 minute to 30 days (43200 minutes)")]
pub struct BadPollInterval;

impl PollInterval {
    /// The shortest: one minute.
    pub const MIN: PollInterval = PollInterval(Duration::from_mins(1));
    /// The longest: thirty days.
    pub const MAX: PollInterval = PollInterval(Duration::from_hours(30 * 24));
    /// Unless configured otherwise: every six hours.
    pub const DEFAULT: PollInterval = PollInterval(Duration::from_hours(6));

    /// An interval, if within bounds.
    pub fn new(interval: Duration) -> Result<PollInterval, BadPollInterval> {
        if (PollInterval::MIN.0..=PollInterval::MAX.0).contains(&interval) {
            Ok(PollInterval(interval))
        } else {
            Err(BadPollInterval)
        }
    }

    /// An interval of whole minutes, if within bounds.
    pub fn from_minutes(minutes: u64) -> Result<PollInterval, BadPollInterval> {
        PollInterval::new(Duration::from_secs(minutes.saturating_mul(60)))
    }

    /// The interval.
    pub fn get(self) -> Duration {
        self.0
    }

    /// The interval in whole minutes.
    pub fn minutes(self) -> u64 {
        self.0.as_secs() / 60
    }
}

impl Default for PollInterval {
    fn default() -> PollInterval {
        PollInterval::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_get_https_and_keep_ports_and_prefixes_and_show_without_a_trailing_slash() {
        let url = |s| BaseUrl::parse(s).unwrap();
        assert_eq!(
            url("pbx.example.com:5001").url().as_str(),
            "https://pbx.example.com:5001/"
        );
        assert_eq!(
            url("pbx.example.com:5001").to_string(),
            "https://pbx.example.com:5001"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/acme-hq").to_string(),
            "http://127.0.0.1:8080/acme-hq"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/acme-hq").url().as_str(),
            "http://127.0.0.1:8080/acme-hq/"
        );
        assert_eq!(
            url(" HTTPS://PBX.Example.com:443/ ").to_string(),
            "https://pbx.example.com"
        );
        assert_eq!(
            url("https://pbx.example.com:5001/").host(),
            "pbx.example.com"
        );
        // Its normal form parses back to itself.
        let once = url("PBX.example.com:5001/x/");
        assert_eq!(url(&once.to_string()), once);
    }

    #[test]
    fn the_same_server_means_the_same_scheme_host_and_port() {
        let url = |s| BaseUrl::parse(s).unwrap();
        let pbx = url("https://pbx.example.com:5001");
        assert!(pbx.same_server(&url("HTTPS://PBX.example.com:5001/prefix")));
        assert!(url("https://pbx.example.com").same_server(&url("pbx.example.com:443")));
        for other in [
            "http://pbx.example.com:5001",
            "https://pbx.example.com:5002",
            "https://pbx.example.com.evil.example:5001",
            "https://127.0.0.1:5001",
        ] {
            assert!(!pbx.same_server(&url(other)), "{other}");
        }
    }

    #[test]
    fn bad_base_urls_say_why_and_never_repeat_a_password() {
        for (input, reason) in [
            ("ftp://pbx.example.com", "only http"),
            ("https://admin:pw@pbx.example.com", "credentials"),
            ("https://pbx.example.com/?x=1", "query"),
            ("https://", "not a valid URL"),
            ("", "empty"),
            ("https://pbx example.com", "spaces"),
        ] {
            let err = BaseUrl::parse(input).unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
        }
        let err = BaseUrl::parse("https://admin:s3cret@pbx.example.com").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    /// Found by fuzzing: a path ending in several slashes kept them all, while the normal
    /// form (stored and shown) drops them, so the address read back from the store was another
    /// address than the one first used.
    #[test]
    fn regression_trailing_slashes_collapse_so_the_normal_form_reads_back_to_itself() {
        for input in [
            "https:/0//",
            "pbx.example.com//",
            "https://pbx.example.com/acme//",
        ] {
            let url = BaseUrl::parse(input).unwrap();
            assert_eq!(BaseUrl::parse(&url.to_string()).unwrap(), url, "{input}");
            assert!(!url.url().path().ends_with("//"), "{input}: {url:?}");
        }
        assert_eq!(
            BaseUrl::parse("https://pbx.example.com/acme//")
                .unwrap()
                .url()
                .as_str(),
            "https://pbx.example.com/acme/"
        );
    }

    /// Found by fuzzing: the password was masked only after an explicit `scheme://`, so an
    /// address typed without one (as the form invites) repeated it in the error.
    #[test]
    fn regression_a_password_in_an_address_without_a_scheme_is_masked_too() {
        for input in [
            "admin:s3cret@pbx.example.com:5001",
            "//admin:s3cret@pbx.example.com",
            "admin:s3/cr?et@pbx.example.com",
            "admin:s3://cret@pbx.example.com",
            "https://admin:s3cr/et@pbx.example.com",
        ] {
            let err = BaseUrl::parse(input).unwrap_err().to_string();
            assert!(!err.contains("s3"), "{input}: {err}");
            assert!(err.contains("***@pbx.example.com"), "{input}: {err}");
        }
    }

    #[test]
    fn debug_output_of_credentials_shows_no_secret() {
        let credentials = Credentials::User {
            username: "100".into(),
            password: Secret::new("pa55word"),
            totp_secret: Some(Secret::new("JBSWY3DPEHPK3PXP")),
        };
        let shown = format!("{credentials:?}");
        assert!(
            !shown.contains("pa55word") && !shown.contains("JBSWY3DP"),
            "{shown}"
        );
        assert_eq!(credentials.secrets().len(), 2);
        assert_eq!(credentials.kind(), LoginKind::User);
    }

    #[test]
    fn a_custom_ca_must_be_pem_certificates() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
        assert_eq!(check_ca_pem(""), Ok(None));
        assert_eq!(check_ca_pem("  \n"), Ok(None));
        assert_eq!(
            check_ca_pem(&format!("\n{pem}\n{pem}\n")),
            Ok(Some(format!("{pem}\n{pem}")))
        );
        for bad in [
            "hello",
            "-----BEGIN CERTIFICATE-----\nMIIB",
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
        ] {
            assert_eq!(check_ca_pem(bad), Err(BadCaPem::NotPem), "{bad:?}");
        }
        let huge = format!("{pem}{}", "A".repeat(MAX_CA_PEM_BYTES));
        assert_eq!(check_ca_pem(&huge), Err(BadCaPem::TooLarge));
    }

    #[test]
    fn poll_intervals_run_from_a_minute_to_thirty_days() {
        assert_eq!(PollInterval::from_minutes(1), Ok(PollInterval::MIN));
        assert_eq!(PollInterval::from_minutes(43_200), Ok(PollInterval::MAX));
        assert_eq!(PollInterval::from_minutes(0), Err(BadPollInterval));
        assert_eq!(PollInterval::from_minutes(43_201), Err(BadPollInterval));
        assert_eq!(PollInterval::from_minutes(u64::MAX), Err(BadPollInterval));
        assert_eq!(
            PollInterval::new(Duration::from_secs(59)),
            Err(BadPollInterval)
        );
        assert_eq!(PollInterval::default().minutes(), 360);
    }
}
