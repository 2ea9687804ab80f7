//! A Standard Webhooks consumer (CHANNELS.md §1).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use runway_clock::{Clock, SystemClock};

use super::{Accepted, Channel, Incoming, Outcome, Rejection, Reply, Server, common_methods};

/// How far `webhook-timestamp` may be from the receiver's clock, either way: 5 minutes, as both
/// official libraries do (§1 "Timestamp tolerance").
pub(super) const TOLERANCE_SECONDS: i64 = 5 * 60;

/// One event the receiver processed (a `webhook-id` seen for the first time and accepted).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp` of the attempt that was processed.
    pub timestamp: i64,
    /// The body, parsed.
    pub payload: serde_json::Value,
    /// The body exactly as received.
    pub raw: Vec<u8>,
}

/// A Standard Webhooks endpoint that verifies every request (see [`crate::receivers`]).
///
/// Successful and duplicate deliveries get `200` with an empty body. A malformed request gets
/// `400` (method, body, headers, timestamp) or `401` (no matching signature): the spec leaves a
/// consumer's error codes open, and a sender retries both (§1 "Responses, retries").
pub struct WebhookReceiver {
    server: Server<Webhook>,
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl WebhookReceiver {
    /// Starts a receiver that verifies signatures with `secret` (`whsec_` + base64 of the key
    /// bytes) against the system clock.
    ///
    /// # Panics
    /// When `secret` is not `whsec_` followed by padded standard base64.
    pub async fn start(secret: &str) -> WebhookReceiver {
        Self::start_with_clock(secret, Arc::new(SystemClock)).await
    }

    /// Like [`WebhookReceiver::start`], checking timestamps against `clock` (a `ManualClock`
    /// lets fixed test vectors verify).
    ///
    /// # Panics
    /// When `secret` is not `whsec_` followed by padded standard base64.
    pub async fn start_with_clock(secret: &str, clock: Arc<dyn Clock>) -> WebhookReceiver {
        crate::secrets::used(secret);
        let key = decode_secret(secret)
            .unwrap_or_else(|| panic!("a webhook secret is `whsec_` + padded standard base64"));
        let channel = Webhook {
            key,
            clock,
            state: Mutex::new(WebhookState::default()),
        };
        WebhookReceiver {
            server: Server::start(channel, vec![secret.to_owned()]).await,
        }
    }

    /// The URL to register with the sender.
    pub fn url(&self) -> String {
        format!("{}/webhook", self.server.base_url())
    }

    /// The processed events, in order: each `webhook-id` once, however often it was delivered.
    pub fn received(&self) -> Vec<WebhookEvent> {
        self.server.channel.lock().events.clone()
    }

    /// Waits until `n` events were processed and returns them all.
    ///
    /// # Panics
    /// After `timeout`, listing every request received.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<WebhookEvent> {
        self.server
            .core
            .wait_processed("the webhook receiver", n, timeout)
            .await;
        self.received()
    }

    common_methods!("the webhook receiver");
}

/// The HMAC key of a `whsec_` secret: the base64-decoded bytes after the prefix, not its text
/// (§1 "Headers and signature"; the Rust library decodes with padded `STANDARD`).
fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix("whsec_")?).ok()
}

#[derive(Default)]
struct WebhookState {
    events: Vec<WebhookEvent>,
    seen: HashSet<String>,
}

struct Webhook {
    key: Vec<u8>,
    clock: Arc<dyn Clock>,
    state: Mutex<WebhookState>,
}

impl Webhook {
    fn lock(&self) -> std::sync::MutexGuard<'_, WebhookState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Verified {
    id: String,
    timestamp: i64,
    payload: serde_json::Value,
}

fn bad_request(error: impl Into<String>) -> Rejection {
    let error = error.into();
    Rejection {
        reply: Reply::text(400, &error),
        error,
    }
}

impl Channel for Webhook {
    type Valid = Verified;

    fn check(&self, request: &Incoming) -> Result<Verified, Rejection> {
        // §1 check 1: POST, and a JSON body. Only the raw bytes are verified below; they are
        // parsed here only to check that they are JSON.
        if !request.is_post() {
            return Err(bad_request(format!(
                "method {} (a webhook is POSTed)",
                request.method
            )));
        }
        if !request.is_json() {
            return Err(bad_request(
                "Content-Type is not application/json (§1: the payload is JSON)",
            ));
        }
        let payload: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|err| bad_request(format!("the body is not JSON: {err}")))?;

        // §1 check 2: all three headers (HeaderMap looks names up case-insensitively).
        let header = |name: &str| {
            request
                .header(name)
                .ok_or_else(|| bad_request(format!("missing header {name}")))
        };
        let id = header("webhook-id")?;
        let timestamp = header("webhook-timestamp")?;
        let signatures = header("webhook-signature")?;
        // §1 "Headers and signature": the id and timestamp must not contain `.` (they are
        // joined with full stops into the signed content).
        if id.is_empty() || id.contains('.') {
            return Err(bad_request("webhook-id is empty or contains '.'"));
        }

        // §1 check 3: an integer within ±300 s of the receiver's clock.
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| bad_request("webhook-timestamp is not an integer"))?;
        let now = self.clock.now().as_second();
        if now - ts > TOLERANCE_SECONDS {
            return Err(bad_request(format!(
                "webhook-timestamp is too old: {}s behind the receiver's clock",
                now - ts
            )));
        }
        if ts - now > TOLERANCE_SECONDS {
            return Err(bad_request(format!(
                "webhook-timestamp is too far in the future: {}s ahead of the receiver's clock",
                ts - now
            )));
        }

        // §1 check 4: some `v1,` entry is the HMAC-SHA256 of `id.ts.body`, compared in
        // constant time (`verify_slice`), full length only: an empty or truncated value does
        // not match. Entries of other versions are skipped, as both libraries do.
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(&request.body);
        let mut v1_entries = 0;
        let matched = signatures.split_whitespace().any(|entry| {
            let Some(("v1", signature)) = entry.split_once(',') else {
                return false;
            };
            v1_entries += 1;
            STANDARD
                .decode(signature)
                .is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
        });
        if !matched {
            let error = if v1_entries == 0 {
                "webhook-signature has no v1 entry".to_owned()
            } else {
                format!("none of the {v1_entries} v1 signature(s) matches")
            };
            return Err(Rejection {
                reply: Reply::text(401, &error),
                error,
            });
        }
        Ok(Verified {
            id: id.to_owned(),
            timestamp: ts,
            payload,
        })
    }

    fn accept(&self, request: &Incoming, valid: Verified) -> Accepted {
        // §1 check 5: `webhook-id` is the idempotency key. A duplicate is acknowledged with a
        // 2xx and not processed twice.
        let mut state = self.lock();
        if !state.seen.insert(valid.id.clone()) {
            return Accepted {
                outcome: Outcome::Duplicate,
                reply: Reply::new(200),
            };
        }
        state.events.push(WebhookEvent {
            id: valid.id,
            timestamp: valid.timestamp,
            payload: valid.payload,
            raw: request.body.to_vec(),
        });
        Accepted {
            outcome: Outcome::Processed,
            reply: Reply::new(200),
        }
    }
}
