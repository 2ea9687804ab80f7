//! The PagerDuty Events API v2 (CHANNELS.md §4).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{
    Accepted, Channel, Incoming, Outcome, Rejection, Reply, Server, common_methods, hex,
    random_bytes,
};

/// The largest body accepted, in bytes: 512 KB [PD-over].
pub(super) const MAX_BODY_BYTES: usize = 512 * 1024;

/// What an event did to the modelled alerts (§4 "De-duplication rules") [PD-send].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerDutyEffect {
    /// A `trigger` opened a new alert.
    Opened,
    /// A `trigger` for an alert already open: absorbed by it.
    Absorbed,
    /// An `acknowledge` of an open alert.
    Acknowledged,
    /// A `resolve` closed an open alert.
    Resolved,
    /// An `acknowledge` or `resolve` with no open alert for its (routing key, dedup key):
    /// accepted and dropped.
    Dropped,
}

/// One event accepted (202).
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyEvent {
    /// `routing_key`.
    pub routing_key: String,
    /// `event_action`: `trigger`, `acknowledge` or `resolve`.
    pub action: String,
    /// The `dedup_key` sent, or the one generated for a `trigger` without one.
    pub dedup_key: String,
    /// What it did.
    pub effect: PagerDutyEffect,
    /// The whole event, parsed.
    pub body: Value,
}

/// An open alert: triggered and not yet resolved through the same routing key.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAlert {
    /// The routing key it was triggered through.
    pub routing_key: String,
    /// Its dedup key.
    pub dedup_key: String,
    /// `payload.summary` of the trigger that opened it.
    pub summary: String,
    /// `payload.severity` of the trigger that opened it.
    pub severity: String,
    /// Whether an `acknowledge` reached it.
    pub acknowledged: bool,
    /// How many `trigger`s it absorbed after the one that opened it.
    pub absorbed: usize,
}

/// A fake `https://events.pagerduty.com` that checks every event and models the open alerts
/// (see [`crate::receivers`]).
///
/// Success is `202 {"status":"success","message":"Event processed","dedup_key":…}`; anything
/// malformed gets `400` with the documented error body `{"status","message","errors"}`
/// [PD-oas] [PD-over].
pub struct PagerDutyReceiver {
    server: Server<PagerDuty>,
}

impl std::fmt::Debug for PagerDutyReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDutyReceiver")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl PagerDutyReceiver {
    /// Starts the fake Events API. Any 32-character routing key is accepted; register the one
    /// the test uses with [`crate::secrets::used`].
    pub async fn start() -> PagerDutyReceiver {
        PagerDutyReceiver {
            server: Server::start(PagerDuty::default(), Vec::new()).await,
        }
    }

    /// The events endpoint, `http://127.0.0.1:PORT/v2/enqueue`.
    pub fn url(&self) -> String {
        format!("{}/v2/enqueue", self.server.base_url())
    }

    /// The events accepted, in order, with what each did.
    pub fn events(&self) -> Vec<PagerDutyEvent> {
        self.server.channel.lock().events.clone()
    }

    /// The alerts open now, in the order they were opened.
    pub fn open_alerts(&self) -> Vec<OpenAlert> {
        self.server.channel.lock().open.clone()
    }

    /// Waits until `n` events were accepted and returns them all.
    ///
    /// # Panics
    /// After `timeout`, listing every request received.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<PagerDutyEvent> {
        self.server
            .core
            .wait_processed("the PagerDuty receiver", n, timeout)
            .await;
        self.events()
    }

    common_methods!("the PagerDuty receiver");
}

#[derive(Default)]
struct PdState {
    events: Vec<PagerDutyEvent>,
    open: Vec<OpenAlert>,
}

#[derive(Default)]
struct PagerDuty {
    state: Mutex<PdState>,
}

impl PagerDuty {
    fn lock(&self) -> MutexGuard<'_, PdState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The documented example error body, for a request that is not a JSON event [PD-oas].
fn unrecognized(why: impl Into<String>) -> Rejection {
    Rejection {
        reply: Reply::json(
            400,
            &json!({
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"],
            }),
        ),
        error: why.into(),
    }
}

/// The same error shape for an event that parses but breaks a field rule [PD-oas].
fn invalid(why: impl Into<String>) -> Rejection {
    let why = why.into();
    Rejection {
        reply: Reply::json(
            400,
            &json!({
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": [why],
            }),
        ),
        error: why,
    }
}

/// A string field, when present: `Ok(None)` absent, `Err` present but not a string.
fn string_field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, Rejection> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("'{at}{key}' is not a string"))),
    }
}

fn non_blank<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, Rejection> {
    string_field(object, key, at)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid(format!("'{at}{key}' is missing or blank")))
}

struct Event {
    routing_key: String,
    action: String,
    dedup_key: Option<String>,
    summary: String,
    severity: String,
    body: Value,
}

impl Channel for PagerDuty {
    type Valid = Event;

    fn check(&self, request: &Incoming) -> Result<Event, Rejection> {
        // §4 check 1: POST to /v2/enqueue with JSON that parses; anything else gets 400 with
        // the error body [PD-oas].
        if request.path() != "/v2/enqueue" {
            return Err(unrecognized(format!(
                "path {} (events go to /v2/enqueue)",
                request.path()
            )));
        }
        if !request.is_post() {
            return Err(unrecognized(format!(
                "method {} (events are POSTed)",
                request.method
            )));
        }
        // §4 check 3: at most 512 KB [PD-over].
        if request.body.len() > MAX_BODY_BYTES {
            return Err(invalid(format!(
                "the body is {} bytes (at most {MAX_BODY_BYTES})",
                request.body.len()
            )));
        }
        if !request.is_json() {
            return Err(unrecognized("Content-Type is not application/json"));
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|err| unrecognized(format!("the body is not JSON: {err}")))?;
        let Some(event) = body.as_object() else {
            return Err(unrecognized("the body is not a JSON object"));
        };

        // §4 check 2: a 32-character routing key, an action from the enum, a dedup key of at
        // most 255 characters that ack and resolve must carry [PD-send] [PD-oas].
        let routing_key = non_blank(event, "routing_key", "")?;
        if routing_key.chars().count() != 32 {
            return Err(invalid("'routing_key' is not 32 characters"));
        }
        let action = non_blank(event, "event_action", "")?;
        if !matches!(action, "trigger" | "acknowledge" | "resolve") {
            return Err(invalid(format!(
                "'event_action' {action:?} is not trigger, acknowledge or resolve"
            )));
        }
        let dedup_key = string_field(event, "dedup_key", "")?;
        if dedup_key.is_some_and(|k| k.chars().count() > 255) {
            return Err(invalid("'dedup_key' is longer than 255 characters"));
        }
        if action != "trigger" && dedup_key.is_none_or(str::is_empty) {
            return Err(invalid(format!("'dedup_key' is required for {action}")));
        }

        // §4 check 2: a trigger's payload: summary (≤ 1024), source, severity (enum)
        // [PD-send]; the optional fields have their documented types [PD-send] [PD-over].
        let (summary, severity) = if action == "trigger" {
            trigger_payload(event)?
        } else {
            (String::new(), String::new())
        };
        for key in ["client", "client_url"] {
            string_field(event, key, "")?;
        }

        // §4 check 3: every link has an `href`, every image an https `src` [PD-send].
        for (key, required) in [("links", "href"), ("images", "src")] {
            let Some(items) = event.get(key) else {
                continue;
            };
            let Some(items) = items.as_array() else {
                return Err(invalid(format!("'{key}' is not an array")));
            };
            for (i, item) in items.iter().enumerate() {
                let Some(item) = item.as_object() else {
                    return Err(invalid(format!("'{key}[{i}]' is not an object")));
                };
                let value = non_blank(item, required, &format!("{key}[{i}]."))?;
                if key == "images" && !value.starts_with("https://") {
                    return Err(invalid(format!("'images[{i}].src' does not use https")));
                }
            }
        }
        Ok(Event {
            routing_key: routing_key.to_owned(),
            action: action.to_owned(),
            dedup_key: dedup_key.map(str::to_owned),
            summary,
            severity,
            body,
        })
    }

    fn accept(&self, _request: &Incoming, event: Event) -> Accepted {
        // §4 check 4: an open alert per (routing_key, dedup_key); a trigger without a key gets
        // a random one and opens a new alert; ack/resolve of no open alert are dropped
        // [PD-send].
        let dedup_key = event
            .dedup_key
            .unwrap_or_else(|| hex(&random_bytes::<16>()));
        let mut state = self.lock();
        let open = state
            .open
            .iter()
            .position(|a| a.routing_key == event.routing_key && a.dedup_key == dedup_key);
        let effect = match (event.action.as_str(), open) {
            ("trigger", Some(i)) => {
                state.open[i].absorbed += 1;
                PagerDutyEffect::Absorbed
            }
            ("trigger", None) => {
                state.open.push(OpenAlert {
                    routing_key: event.routing_key.clone(),
                    dedup_key: dedup_key.clone(),
                    summary: event.summary,
                    severity: event.severity,
                    acknowledged: false,
                    absorbed: 0,
                });
                PagerDutyEffect::Opened
            }
            ("acknowledge", Some(i)) => {
                state.open[i].acknowledged = true;
                PagerDutyEffect::Acknowledged
            }
            ("resolve", Some(i)) => {
                state.open.remove(i);
                PagerDutyEffect::Resolved
            }
            _ => PagerDutyEffect::Dropped,
        };
        state.events.push(PagerDutyEvent {
            routing_key: event.routing_key,
            action: event.action,
            dedup_key: dedup_key.clone(),
            effect,
            body: event.body,
        });
        // §4 check 5: 202 with the echoed or generated dedup key [PD-oas].
        Accepted {
            outcome: Outcome::Processed,
            reply: Reply::json(
                202,
                &json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key}),
            ),
        }
    }
}

/// A trigger's payload: summary (≤ 1024), source, severity (enum) [PD-send]; the optional
/// fields have their documented types [PD-send] [PD-over]. Returns the summary and severity.
fn trigger_payload(event: &Map<String, Value>) -> Result<(String, String), Rejection> {
    let Some(payload) = event.get("payload").and_then(Value::as_object) else {
        return Err(invalid("'payload' is missing or not an object"));
    };
    let s = non_blank(payload, "summary", "payload.")?;
    if s.chars().count() > 1024 {
        return Err(invalid("'payload.summary' is longer than 1024 characters"));
    }
    non_blank(payload, "source", "payload.")?;
    let sev = non_blank(payload, "severity", "payload.")?;
    if !matches!(sev, "critical" | "error" | "warning" | "info") {
        return Err(invalid(format!(
            "'payload.severity' {sev:?} is not critical, error, warning or info"
        )));
    }
    for key in ["component", "group", "class"] {
        string_field(payload, key, "payload.")?;
    }
    if let Some(ts) = string_field(payload, "timestamp", "payload.")?
        && ts.parse::<jiff::Timestamp>().is_err()
    {
        return Err(invalid(format!(
            "'payload.timestamp' {ts:?} is not an ISO 8601 timestamp"
        )));
    }
    if payload
        .get("custom_details")
        .is_some_and(|d| !d.is_object())
    {
        return Err(invalid("'payload.custom_details' is not an object"));
    }
    Ok((s.to_owned(), sev.to_owned()))
}
