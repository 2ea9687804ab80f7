//! A small plain-HTTP/1.1 client for loopback only: how the testkit reads the services it runs
//! ([`crate::Alertmanager`]) and how tests hand-write requests to the fake receivers
//! ([`crate::receivers`]) byte for byte.
//!
//! It refuses any host but `127.0.0.1`, `localhost` and `::1`: tests never leave the machine.

use std::time::Duration;

use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long one request may take, connection included, before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response body read, in bytes.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A request that could not be sent or answered.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {message}")]
pub struct HttpError {
    method: String,
    url: String,
    message: String,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends one request to a loopback `url` with exactly these headers and body bytes.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Result<Response, HttpError> {
    let fail = |message: String| HttpError {
        method: method.to_owned(),
        url: url.to_owned(),
        message,
    };
    let parsed = url::Url::parse(url).map_err(|err| fail(err.to_string()))?;
    if parsed.scheme() != "http" {
        return Err(fail("only plain http:// is supported".into()));
    }
    match parsed.host() {
        Some(url::Host::Domain("localhost")) => {}
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => {}
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => {}
        _ => return Err(fail("tests only talk to loopback addresses".into())),
    }
    let mut builder = axum::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Body::from(body.into()))
        .map_err(|err| fail(err.to_string()))?;
    let client: Client<HttpConnector, Body> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|err| fail(format!("{err:?}")))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_BODY)
            .await
            .map_err(|err| fail(format!("reading the body: {err}")))?;
        Ok(Response {
            status,
            headers,
            body: body.to_vec(),
        })
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| fail(format!("no answer within {TIMEOUT:?}")))?
}

/// `GET url`.
pub async fn get(url: &str) -> Result<Response, HttpError> {
    request("GET", url, &[], Vec::new()).await
}

/// `POST url` with `Content-Type: application/json` and `body` serialised compactly.
pub async fn post_json(url: &str, body: &serde_json::Value) -> Result<Response, HttpError> {
    request(
        "POST",
        url,
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await
}
