//! A running Runway, worked through its JSON API instead of the local database: `--url`
//! (`RUNWAY_URL`) and an API token, `--token` (`RUNWAY_TOKEN`). The token is sent as
//! `Authorization: Bearer …` and never printed.

use anyhow::{Context as _, bail};
use clap::Args;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

/// Where a remote Runway is.
#[derive(Debug, Clone, Args)]
pub(crate) struct RemoteArgs {
    /// Work through a running Runway's API at this address (such as `https://runway.example.com`)
    /// instead of the local database.
    #[arg(long = "url", env = "RUNWAY_URL", value_name = "URL")]
    url: Option<url::Url>,
    /// The API token for --url (from the API tokens page, or `runway admin token create`).
    #[arg(long, env = "RUNWAY_TOKEN", hide_env_values = true, requires = "url")]
    token: Option<String>,
}

/// A remote Runway to call.
pub(crate) struct Remote {
    base: url::Url,
    token: String,
    client: reqwest::Client,
}

impl RemoteArgs {
    /// The remote Runway, when `--url` is given (which needs a token).
    pub(crate) fn remote(&self) -> anyhow::Result<Option<Remote>> {
        let Some(base) = &self.url else {
            return Ok(None);
        };
        if !matches!(base.scheme(), "http" | "https") {
            bail!("--url must be an http:// or https:// address, not {base}");
        }
        let Some(token) = self
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            bail!("--url needs an API token: set RUNWAY_TOKEN (or pass --token)");
        };
        let client = reqwest::Client::builder()
            .user_agent(concat!("runway-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_mins(2))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Some(Remote {
            base: base.clone(),
            token: token.to_owned(),
            client,
        }))
    }
}

impl Remote {
    /// The address of an API path (`/api/v1/…`) with its query, under the base's own path.
    fn address(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<url::Url> {
        let mut base = self.base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let mut address = base
            .join(path.trim_start_matches('/'))
            .with_context(|| format!("{path} is not a path under {}", self.base))?;
        if !query.is_empty() {
            address
                .query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(address)
    }

    /// `GET path?query` as JSON.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let request = self.client.get(self.address(path, query)?);
        let (status, body) = self.send(request).await?;
        if !status.is_success() {
            bail!("{}", refusal(status, &body));
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("{} answered something that is not Runway's JSON", self.base))
    }

    /// `POST path?query` with a body; the status and the body of any answer the server gave.
    pub(crate) async fn post(
        &self,
        path: &str,
        query: &[(&str, String)],
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, Vec<u8>)> {
        let request = self
            .client
            .post(self.address(path, query)?)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(request).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<(StatusCode, Vec<u8>)> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach Runway at {}", self.base))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("the answer of {} was cut off", self.base))?;
        Ok((status, body.to_vec()))
    }
}

/// What a refused call says: the API's `{"error": …}`, or the status.
pub(crate) fn refusal(status: StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let said = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    match (status, said) {
        (StatusCode::UNAUTHORIZED, _) => {
            "the API token was refused (RUNWAY_TOKEN): it is wrong, revoked or expired".to_owned()
        }
        (StatusCode::FORBIDDEN, Some(said)) => format!("not allowed: {said}"),
        (_, Some(said)) => format!("Runway answered {status}: {said}"),
        (_, None) => format!("Runway answered {status}"),
    }
}
