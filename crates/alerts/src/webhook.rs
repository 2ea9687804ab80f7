//! A generic webhook signed per [Standard Webhooks]: a JSON POST to the customer's URL with
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
//!
//! - **Body**: `{"type": …, "timestamp": …, "data": <the Notice>}`, serialized once; the
//!   signature covers exactly the bytes sent. `type` is `alert.triggered`, `alert.resolved` or
//!   `alert.test`; `data.kind` says what the alert is about (`license_expiry`, `not_read`).
//!   `timestamp` is when the alert was decided (RFC 3339).
//! - **`webhook-id`**: `msg_` and the first 128 bits of the SHA-256 of the notice's
//!   idempotency key in hex: the same for every retry of one notification, so the consumer can
//!   drop duplicates, and free of `.` as the spec requires.
//! - **`webhook-timestamp`**: this attempt's Unix seconds, from the notifier's clock; every
//!   retry is signed again.
//! - **`webhook-signature`**: `v1,` and the standard-base64 HMAC-SHA256 of `id.timestamp.body`,
//!   keyed with the base64-decoded bytes after `whsec_`. The channel's secret may hold several
//!   secrets separated by spaces while one is rotated; each signs, space-separated.
//!
//! Redirects are not followed (a 3xx is a permanent failure: the URL needs updating), 410 is
//! permanent, 429 and 5xx are retried — see [`crate::classify`].
//!
//! [Standard Webhooks]: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use jiff::Timestamp;
use runway_clock::Clock;
use runway_store::{ChannelKind, ChannelSettings, Notice, NoticeAction};
use serde::Serialize;
use url::Url;

use crate::notifier::{Attempt, ChannelError, Notifier, parse_public_url, send};
use crate::text::{Redactor, sha256_hex};

/// The prefix of a Standard Webhooks signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The fewest and most key bytes a signing secret may decode to (the spec's 24–64).
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Standard base64 that accepts a secret with or without its `=` padding, as the Python
/// reference library does.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One HMAC key, decoded from a `whsec_` secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Decodes `whsec_<base64 of 24–64 bytes>`.
    pub fn parse(secret: &str) -> Result<SigningKey, ChannelError> {
        let invalid =
            |problem: &str| ChannelError::invalid(ChannelKind::Webhook, "signing secret", problem);
        let encoded = secret
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| invalid("it must start with whsec_"))?;
        let key = LENIENT
            .decode(encoded)
            .map_err(|_| invalid("the part after whsec_ is not base64"))?;
        if !KEY_BYTES.contains(&key.len()) {
            return Err(invalid(&format!(
                "it decodes to {} bytes; it must be 24 to 64",
                key.len()
            )));
        }
        Ok(SigningKey(key))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// One signature, `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
pub fn sign(key: &SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-id` of a notice: stable across its retries.
pub fn message_id(notice: &Notice) -> String {
    format!("msg_{}", &sha256_hex(&notice.idempotency_key)[..32])
}

/// The event type of a notice.
pub fn event_type(notice: &Notice) -> &'static str {
    match notice.action {
        NoticeAction::Trigger => "alert.triggered",
        NoticeAction::Resolve => "alert.resolved",
        NoticeAction::Test => "alert.test",
        NoticeAction::Problem => "channel.problem",
    }
}

/// The body: the bytes that are signed and sent.
pub fn body(notice: &Notice) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(Serialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        timestamp: Timestamp,
        data: &'a Notice,
    }
    serde_json::to_vec(&Envelope {
        kind: event_type(notice),
        timestamp: notice.at,
        data: notice,
    })
}

/// A webhook channel's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    url: Url,
    /// The current key first; more while a secret is rotated.
    keys: Vec<SigningKey>,
    /// Hides the secrets' text from error texts: a consumer holds the secret too, and may
    /// quote it in an answer ("no signature matches whsec_…").
    redactor: Redactor,
}

impl Config {
    /// The URL from the settings, the signing secret(s) from the secret.
    pub(crate) fn parse(
        settings: &ChannelSettings,
        secret: Option<&str>,
    ) -> Result<Config, ChannelError> {
        let url = parse_public_url(
            ChannelKind::Webhook,
            "URL",
            settings.url.as_deref().unwrap_or(""),
        )?;
        let secrets: Vec<&str> = secret.unwrap_or("").split_whitespace().collect();
        let keys = secrets
            .iter()
            .map(|secret| SigningKey::parse(secret))
            .collect::<Result<Vec<_>, _>>()?;
        // Each secret whole, and its key material without the prefix.
        let redactor = secrets
            .iter()
            .fold(Redactor::default(), |redactor, secret| {
                let material = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
                redactor.with(secret).with(material)
            });
        if keys.is_empty() {
            return Err(ChannelError::missing(
                ChannelKind::Webhook,
                "signing secret",
            ));
        }
        Ok(Config {
            url,
            keys,
            redactor,
        })
    }
}

/// Sends to a Standard Webhooks endpoint.
pub struct WebhookNotifier {
    config: Config,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl WebhookNotifier {
    /// A notifier for a checked configuration; `clock` dates each attempt.
    pub(crate) fn new(config: Config, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        WebhookNotifier {
            config,
            http,
            clock,
        }
    }

    /// The `webhook-signature` header for one attempt: one `v1,` entry per key.
    fn signatures(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        self.config
            .keys
            .iter()
            .map(|key| sign(key, id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("url", &self.config.url.as_str())
            .field("keys", &self.config.keys.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Webhook
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        let body = match body(notice) {
            Ok(body) => body,
            Err(err) => return Attempt::permanent(format!("cannot encode the notice: {err}")),
        };
        let id = message_id(notice);
        let timestamp = self.clock.now().as_second();
        let signature = self.signatures(&id, timestamp, &body);
        let request = self
            .http
            .post(self.config.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        match send(request, &self.config.redactor).await {
            Ok(answer) => answer.classify(),
            Err(attempt) => attempt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    const TIMESTAMP: i64 = 1_674_087_231;
    const BODY: &str = r#"{"type":"alert.firing","timestamp":"2023-01-19T00:13:51Z","data":{"alert_id":"disk-full-web-01","severity":"critical"}}"#;

    #[test]
    fn the_signature_matches_the_worked_example_of_channels_md() {
        let key = SigningKey::parse(SECRET).unwrap();
        assert_eq!(key.as_bytes().len(), 24);
        let signature = sign(&key, ID, TIMESTAMP, BODY.as_bytes());
        assert_eq!(signature, "v1,F8Nww++k1o2x8wZzOA7RHfe4aXwfSXq5xbctu3Vew2U=");
        for wrong in [
            // Keyed with the ASCII text after whsec_.
            "v1,uC6jfp5AcYMtmPoNEnehKEnjT+OmhZkKmO3CbXiJz3g=",
            // Keyed with the whole string.
            "v1,UpbDpNXxhG9AF75pVQK7bHELPKn4cyIcnAf9YtyBqRo=",
            // Over a re-serialised body.
            "v1,73P6wyopQM6Oy6rqlrZbzHdqyZStcUWW90kfMistsF8=",
        ] {
            assert_ne!(signature, wrong);
        }
    }

    #[test]
    fn the_signature_matches_the_reference_librarys_own_vector() {
        let key = SigningKey::parse(SECRET).unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let settings = ChannelSettings {
            url: Some("https://example.com/hook".to_owned()),
            ..ChannelSettings::default()
        };
        let secrets = format!("{SECRET} whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let config = Config::parse(&settings, Some(&secrets)).unwrap();
        // Nothing is sent, but a client needs the process's TLS provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let notifier = WebhookNotifier::new(
            config,
            crate::http_client().unwrap(),
            Arc::new(runway_clock::SystemClock),
        );
        assert_eq!(
            notifier.signatures(ID, TIMESTAMP, BODY.as_bytes()),
            "v1,F8Nww++k1o2x8wZzOA7RHfe4aXwfSXq5xbctu3Vew2U= \
             v1,/HsUdZQxkDNTYtgzIi9hNmjm+yejXhVzD0/AX3/WS4A="
        );
    }

    #[test]
    fn secrets_are_checked_for_prefix_encoding_and_length() {
        let problem = |secret: &str| SigningKey::parse(secret).unwrap_err().to_string();
        assert!(problem("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").contains("must start with whsec_"));
        assert!(problem("whsec_not base64!").contains("not base64"));
        assert!(problem("whsec_c2hvcnQ=").contains("decodes to 5 bytes"));
        // Unpadded is accepted, as the Python library does.
        assert!(SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(!problem("whsec_c2hvcnQ=").contains("c2hvcnQ"));
    }

    #[test]
    fn the_id_is_stable_per_notice_and_the_type_follows_the_action() {
        let trigger = fixtures::trigger();
        assert_eq!(message_id(&trigger), message_id(&trigger.clone()));
        assert_ne!(message_id(&trigger), message_id(&fixtures::resolve()));
        assert!(message_id(&trigger).starts_with("msg_"));
        assert!(!message_id(&trigger).contains('.'));
        assert_eq!(event_type(&trigger), "alert.triggered");
        assert_eq!(event_type(&fixtures::resolve()), "alert.resolved");
        assert_eq!(event_type(&fixtures::test()), "alert.test");
    }

    #[test]
    fn the_body_carries_type_timestamp_and_the_notice_as_data() {
        let notice = fixtures::trigger();
        let body: serde_json::Value = serde_json::from_slice(&body(&notice).unwrap()).unwrap();
        assert_eq!(body["type"], "alert.triggered");
        assert_eq!(body["timestamp"], "2026-11-28T08:00:00Z");
        let data: Notice = serde_json::from_value(body["data"].clone()).unwrap();
        assert_eq!(data, notice);
    }
}
