//! Test harness: start a simulator from TOML text, typed request helpers.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::{Client, Response, StatusCode};
use runway_sim::{Clock, Scenario, ScenarioFormat, SimHandle, SimOptions, SimServer};
use serde_json::Value;

/// The instant every test pretends it is.
pub(crate) fn now() -> Timestamp {
    "2026-11-29T12:00:00Z".parse().unwrap()
}

/// A running simulator plus an HTTP client that trusts its CA.
pub(crate) struct TestSim {
    pub(crate) handle: SimHandle,
    pub(crate) client: Client,
}

pub(crate) fn install_crypto() {
    // reqwest is built with `rustls-no-provider`: use ring, like the rest of the workspace.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client trusting the simulator's CA, with a request timeout.
pub(crate) fn client_for(handle: &SimHandle, timeout: Duration) -> Client {
    install_crypto();
    let ca = reqwest::Certificate::from_pem(handle.ca_pem().as_bytes()).unwrap();
    Client::builder()
        .tls_certs_only([ca])
        .timeout(timeout)
        .build()
        .unwrap()
}

pub(crate) async fn start(toml: &str) -> TestSim {
    start_with(toml, SimOptions::default()).await
}

pub(crate) async fn start_with(toml: &str, options: SimOptions) -> TestSim {
    let scenario = Scenario::parse(toml, ScenarioFormat::Toml, "test.toml", now()).unwrap();
    let options = SimOptions {
        clock: Clock::Fixed(now()),
        ..options
    };
    let handle = SimServer::start(scenario, options).await.unwrap();
    let client = client_for(&handle, Duration::from_secs(10));
    TestSim { handle, client }
}

/// One v20 PBX with an API client login, plus extra TOML lines.
pub(crate) fn cc_pbx(id: &str, version: &str, extra: &str) -> String {
    format!(
        r#"
[[pbx]]
id = "{id}"
customer = "Test Customer"
version = "{version}"
login = {{ kind = "client_credentials", client_id = "runway", client_secret = "secret-{id}" }}
{extra}
"#
    )
}

impl TestSim {
    pub(crate) fn url(&self, id: &str, path: &str) -> String {
        format!("{}{path}", self.handle.http_url(id).unwrap())
    }

    pub(crate) fn control(&self, path: &str) -> String {
        format!("{}{path}", self.handle.control_url())
    }

    /// `POST /connect/token` with a form body.
    pub(crate) async fn token_response(&self, id: &str, secret: &str) -> Response {
        self.client
            .post(self.url(id, "/connect/token"))
            .form(&[
                ("client_id", "runway"),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in with the PBX's API client and returns the whole token body.
    pub(crate) async fn token_body(&self, id: &str) -> Value {
        let response = self.token_response(id, &format!("secret-{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Logs in with the PBX's API client and returns the access token.
    pub(crate) async fn token(&self, id: &str) -> String {
        self.token_body(id).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET` an XAPI path with a bearer token.
    pub(crate) async fn get(&self, id: &str, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(id, path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `GET` an XAPI path and parse the JSON (asserting 200).
    pub(crate) async fn get_json(&self, id: &str, path: &str, token: &str) -> Value {
        let response = self.get(id, path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// `POST …/Pbx.RefreshLicenseStatus`.
    pub(crate) async fn refresh(&self, id: &str, token: &str) -> Response {
        self.client
            .post(self.url(id, "/xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `POST /webclient/api/Login/GetAccessToken`.
    pub(crate) async fn user_login(
        &self,
        id: &str,
        user: &str,
        password: &str,
        code: &str,
    ) -> Value {
        let response = self
            .client
            .post(self.url(id, "/webclient/api/Login/GetAccessToken"))
            .json(&serde_json::json!({ "Username": user, "Password": password, "SecurityCode": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub(crate) async fn control_json(&self, path: &str) -> Value {
        let response = self.client.get(self.control(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }
}

/// The keys of a JSON object, in order.
pub(crate) fn keys(value: &Value) -> Vec<String> {
    value.as_object().unwrap().keys().cloned().collect()
}
