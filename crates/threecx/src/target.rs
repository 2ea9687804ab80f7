//! What it takes to reach one PBX: its address, how to log in, and how to trust its certificate.

use std::fmt;
use std::time::Duration;

use url::Url;

use runway_core::Secret;

/// How Runway logs into a PBX.
#[derive(Clone, PartialEq, Eq)]
pub enum Login {
    /// v20 XAPI with an API client (OAuth2 client credentials). Needs Enterprise/AI.
    ApiClient {
        /// The API client's id.
        client_id: String,
        /// The API client's secret key.
        secret: Secret,
    },
    /// v20 web-client login with an admin user (every edition). Falls back to the legacy API
    /// on a PBX that has no web-client login (v16/v18).
    User {
        /// Extension number or e-mail.
        username: String,
        /// The password.
        password: Secret,
        /// Base32 TOTP secret when the account has MFA on.
        totp_secret: Option<Secret>,
    },
    /// The v16/v18 API (`/api/login` + cookie). Falls back to the v20 web-client login on a
    /// PBX that has been upgraded.
    Legacy {
        /// The admin username.
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Login {
    /// The login kind's name as stored and shown: `api_client`, `user` or `legacy`.
    pub fn kind(&self) -> &'static str {
        match self {
            Login::ApiClient { .. } => "api_client",
            Login::User { .. } => "user",
            Login::Legacy { .. } => "legacy",
        }
    }

    /// Every secret this login carries, so error texts can be checked against them.
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            Login::ApiClient { secret, .. } => vec![secret],
            Login::User {
                password,
                totp_secret,
                ..
            } => std::iter::once(password)
                .chain(totp_secret.as_ref())
                .collect(),
            Login::Legacy { password, .. } => vec![password],
        }
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::ApiClient { client_id, .. } => f
                .debug_struct("ApiClient")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Login::User {
                username,
                totp_secret,
                ..
            } => f
                .debug_struct("User")
                .field("username", username)
                .field("mfa", &totp_secret.is_some())
                .finish_non_exhaustive(),
            Login::Legacy { username, .. } => f
                .debug_struct("Legacy")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// How to trust a PBX's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// A PEM CA certificate (or bundle) to trust besides the system's roots.
    pub custom_ca_pem: Option<String>,
    /// Accept any certificate, for self-signed on-prem PBXs. Off unless an operator turns it on.
    pub accept_invalid_certs: bool,
}

/// One PBX to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxTarget {
    /// The PBX's web address, e.g. `https://pbx.example.com:5001` (a path prefix is kept).
    pub base_url: Url,
    /// How to log in.
    pub login: Login,
    /// How to trust its certificate.
    pub tls: TlsOptions,
}

/// Limits every read obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most one whole read (login included) may take.
    pub timeout: Duration,
    /// The largest response body accepted.
    pub max_body_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            timeout: Duration::from_secs(20),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A base URL that cannot be a PBX's address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a PBX address: {reason}")]
pub struct BadBaseUrl {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses a PBX base URL: http(s), a host, no credentials, query or fragment. A missing scheme
/// means https.
pub fn parse_base_url(input: &str) -> Result<Url, BadBaseUrl> {
    let bad = |reason| BadBaseUrl {
        input: without_userinfo(input),
        reason,
    };
    let trimmed = input.trim();
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
    // Joining relative API paths needs a trailing slash on the base.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The input with any `user:password@` part removed, so an error can quote it safely.
fn without_userinfo(input: &str) -> String {
    let Some(scheme_end) = input.find("://").map(|i| i + 3) else {
        return input.to_owned();
    };
    let authority_end = input[scheme_end..]
        .find('/')
        .map_or(input.len(), |i| scheme_end + i);
    match input[scheme_end..authority_end].rfind('@') {
        Some(at) => format!(
            "{}***@{}",
            &input[..scheme_end],
            &input[scheme_end + at + 1..]
        ),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_get_https_and_a_trailing_slash_and_keep_ports_and_prefixes() {
        let url = |s| parse_base_url(s).unwrap().to_string();
        assert_eq!(url("pbx.example.com:5001"), "https://pbx.example.com:5001/");
        assert_eq!(
            url("http://127.0.0.1:8080/acme-hq"),
            "http://127.0.0.1:8080/acme-hq/"
        );
        assert_eq!(
            url(" https://pbx.example.com/ "),
            "https://pbx.example.com/"
        );
    }

    #[test]
    fn bad_base_urls_say_why() {
        for (input, reason) in [
            ("ftp://pbx.example.com", "only http"),
            ("https://admin:pw@pbx.example.com", "credentials"),
            ("https://pbx.example.com/?x=1", "query"),
            ("https://", "not a valid URL"),
        ] {
            let err = parse_base_url(input).unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
        }
        let err = parse_base_url("https://admin:s3cret@pbx.example.com").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn debug_output_of_a_login_shows_no_secret() {
        let login = Login::User {
            username: "100".into(),
            password: Secret::new("pa55word"),
            totp_secret: Some(Secret::new("JBSWY3DPEHPK3PXP")),
        };
        let shown = format!("{login:?}");
        assert!(
            !shown.contains("pa55word") && !shown.contains("JBSWY3DP"),
            "{shown}"
        );
    }
}
