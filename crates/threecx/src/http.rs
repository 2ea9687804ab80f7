//! HTTP to PBXs: one shared client per TLS setting, bounded bodies, typed transport errors.
//!
//! Building a TLS client loads the system's root certificates, which costs far more than a
//! request, so [`Connector`] keeps one `reqwest::Client` (and its connection pool) per distinct
//! [`TlsOptions`] and hands it to every PBX that trusts the same way. Redirects are not
//! followed: a PBX that redirects is reported with the address to use instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};

use crate::client::PbxClient;
use crate::error::ReadError;
use crate::network::{NetworkPolicy, PolicyResolver};
use crate::target::{PbxTarget, ReadLimits};
use runway_core::TlsOptions;

/// The most HTTP clients kept for distinct TLS settings.
const MAX_CACHED_CLIENTS: usize = 64;

/// A PBX's settings that cannot work, caught before any request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The custom CA certificate does not parse.
    #[error("the custom CA certificate is not a valid PEM certificate")]
    BadCaCertificate,
    /// The HTTP client could not be built.
    #[error("cannot set up HTTPS for this PBX: {0}")]
    Client(String),
}

/// Makes [`PbxClient`]s, sharing HTTP clients between PBXs with the same TLS settings.
#[derive(Debug, Clone)]
pub struct Connector {
    limits: ReadLimits,
    policy: Arc<NetworkPolicy>,
    clients: Arc<Mutex<HashMap<TlsOptions, reqwest::Client>>>,
}

impl Connector {
    /// A connector whose clients obey `limits`.
    ///
    /// The process must have installed its rustls crypto provider (the `runway` binary installs
    /// ring's in `main`); without one, every client fails to build with [`TargetError::Client`].
    ///
    /// Reads connect only to addresses `policy` permits (see [`crate::NetworkPolicy`]).
    pub fn new(limits: ReadLimits, policy: NetworkPolicy) -> Connector {
        Connector {
            limits,
            policy: Arc::new(policy),
            clients: Arc::default(),
        }
    }

    /// The limits every read obeys.
    pub fn limits(&self) -> ReadLimits {
        self.limits
    }

    /// A client for one PBX. Keep it for as long as the PBX's settings do not change: it holds
    /// the PBX's token and its login backoff.
    pub fn client(&self, target: PbxTarget) -> Result<PbxClient, TargetError> {
        let http = self.http_for(&target.tls)?;
        Ok(PbxClient::new(
            target,
            http,
            self.limits,
            Arc::clone(&self.policy),
        ))
    }

    fn http_for(&self, tls: &TlsOptions) -> Result<reqwest::Client, TargetError> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(tls) {
            return Ok(client.clone());
        }
        // One entry per distinct CA bundle; edited instances leave old ones behind. Past a
        // bound, start afresh (clients in use keep their own handle).
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("Runway/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.limits.timeout.min(Duration::from_secs(10)))
            .timeout(self.limits.timeout)
            .pool_idle_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(1)
            .dns_resolver(PolicyResolver {
                policy: Arc::clone(&self.policy),
            });
        if let Some(pem) = &tls.custom_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|_| TargetError::BadCaCertificate)?;
            if certs.is_empty() {
                return Err(TargetError::BadCaCertificate);
            }
            builder = builder.tls_certs_merge(certs);
        }
        if tls.accept_invalid_certs {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|err| TargetError::Client(err.to_string()))?;
        clients.insert(tls.clone(), client.clone());
        Ok(client)
    }
}

/// A PBX's answer, with its body read up to the size limit.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// The answering server's clock minus this host's, in whole seconds, from its `Date` header
/// (an HTTP date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`); `None` without a readable one. The
/// header has one-second resolution, so an offset of ±1 s is noise.
pub(crate) fn clock_offset(headers: &HeaderMap) -> Option<i64> {
    let date = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let theirs = jiff::fmt::rfc2822::parse(date).ok()?.timestamp();
    Some(theirs.as_second() - jiff::Timestamp::now().as_second())
}

/// Sends a request and reads the answer, refusing bodies over the limit without reading them.
pub(crate) async fn send(
    request: RequestBuilder,
    endpoint: &str,
    limits: ReadLimits,
) -> Result<Answer, ReadError> {
    let mut response = request
        .send()
        .await
        .map_err(|err| ReadError::from_transport(&err, limits.timeout))?;
    let too_big = || {
        ReadError::unexpected(
            endpoint,
            format!(
                "the body is larger than the {} MiB limit",
                limits.max_body_bytes / (1024 * 1024)
            ),
        )
    };
    if response
        .content_length()
        .is_some_and(|n| n > limits.max_body_bytes as u64)
    {
        return Err(too_big());
    }
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| ReadError::from_transport(&err, limits.timeout))?
    {
        if body.len() + chunk.len() > limits.max_body_bytes {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_header_gives_the_servers_clock_offset() {
        let mut headers = HeaderMap::new();
        assert_eq!(clock_offset(&headers), None);
        let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10);
        let text = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&ahead)
            .unwrap();
        headers.insert(reqwest::header::DATE, text.parse().unwrap());
        let offset = clock_offset(&headers).unwrap();
        assert!((599..=600).contains(&offset), "{offset} for {text}");
        headers.insert(reqwest::header::DATE, "yesterday".parse().unwrap());
        assert_eq!(clock_offset(&headers), None);
    }

    /// Each CA bundle an instance ever had was kept for good; the cache now stays bounded.
    #[tokio::test]
    async fn the_clients_kept_per_tls_setting_stay_bounded() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let toml = r#"
            [[pbx]]
            id = "one"
            customer = "Acme"
            name = "One"
            version = "20.0.10.1109"
            login = { kind = "client_credentials", client_id = "runway", client_secret = "s" }
            product_code = "3CXPSPROFENTSPLA"
            expiry = "+30d"
        "#;
        let scenario = runway_sim::Scenario::parse(
            toml,
            runway_sim::ScenarioFormat::Toml,
            "cache.toml",
            jiff::Timestamp::now(),
        )
        .unwrap();
        let sim = runway_sim::SimServer::start(scenario, runway_sim::SimOptions::default())
            .await
            .unwrap();
        let connector = Connector::new(ReadLimits::default(), crate::NetworkPolicy::default());
        for n in 0..(MAX_CACHED_CLIENTS * 2) {
            // The same CA with a different comment: a distinct setting to the cache.
            let tls = TlsOptions {
                custom_ca_pem: Some(format!("# bundle {n}\n{}", sim.ca_pem())),
                accept_invalid_certs: false,
            };
            connector.http_for(&tls).unwrap();
            let kept = connector.clients.lock().unwrap().len();
            assert!(kept <= MAX_CACHED_CLIENTS, "{kept} clients kept");
        }
        sim.shutdown().await;
    }
}
