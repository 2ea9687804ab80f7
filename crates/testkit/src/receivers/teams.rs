//! A Microsoft Teams Workflows ("When a Teams webhook request is received") webhook
//! (CHANNELS.md §3).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Accepted, Channel, Incoming, Outcome, Rejection, Reply, Server, common_methods, hex,
    random_bytes, random_string,
};

/// The largest body accepted, in bytes: "about 28 KB" [MS-conn], read as 28,000 (the stricter
/// of 28,000 and 28,672).
pub(super) const MAX_BODY_BYTES: usize = 28_000;

const SIG_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// Adaptive Card elements up to version 1.4 (§3 check 3: "elements with known `type`s").
const ELEMENT_TYPES: &[&str] = &[
    "TextBlock",
    "RichTextBlock",
    "Image",
    "ImageSet",
    "Media",
    "Container",
    "ColumnSet",
    "FactSet",
    "ActionSet",
    "Input.Text",
    "Input.Number",
    "Input.Date",
    "Input.Time",
    "Input.Toggle",
    "Input.ChoiceSet",
];

/// Adaptive Card actions up to version 1.4.
const ACTION_TYPES: &[&str] = &[
    "Action.OpenUrl",
    "Action.Submit",
    "Action.ShowCard",
    "Action.ToggleVisibility",
    "Action.Execute",
];

/// A Teams Workflows webhook that checks every card (see [`crate::receivers`]).
///
/// Success is `202` with an empty body \[GTN\]. A malformed request gets `404` (another path),
/// `401`/`403` (missing/wrong `sig`), `413` (over 28 KB) or `400`; the error bodies are this
/// fake's own `{"error":{"code":…,"message":…}}`, as the real service queues a bad card with 202
/// and fails only inside the flow run (§3 "Responses").
pub struct TeamsReceiver {
    server: Server<Teams>,
}

impl std::fmt::Debug for TeamsReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamsReceiver")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl TeamsReceiver {
    /// Starts a workflow at `/workflows/<guid>/triggers/manual/paths/invoke` with a fresh
    /// random `sig` (registered as a secret for the scan).
    pub async fn start() -> TeamsReceiver {
        let sig = random_string(SIG_ALPHABET, 43);
        crate::secrets::used(&sig);
        let g = hex(&random_bytes::<16>());
        let guid = format!(
            "{}-{}-{}-{}-{}",
            &g[..8],
            &g[8..12],
            &g[12..16],
            &g[16..20],
            &g[20..]
        );
        let channel = Teams {
            path: format!("/workflows/{guid}/triggers/manual/paths/invoke"),
            sig: sig.clone(),
            messages: Mutex::new(Vec::new()),
        };
        TeamsReceiver {
            server: Server::start(channel, vec![sig]).await,
        }
    }

    /// The full workflow URL with its query and `sig` (a secret, like the real one).
    pub fn url(&self) -> String {
        format!(
            "{}{}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={}",
            self.server.base_url(),
            self.server.channel.path,
            self.server.channel.sig
        )
    }

    /// The messages (Adaptive Card envelopes) posted, parsed, in order.
    pub fn messages(&self) -> Vec<Value> {
        self.server
            .channel
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `n` messages were posted and returns them all.
    ///
    /// # Panics
    /// After `timeout`, listing every request received.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        self.server
            .core
            .wait_processed("the Teams receiver", n, timeout)
            .await;
        self.messages()
    }

    common_methods!("the Teams receiver");
}

struct Teams {
    path: String,
    sig: String,
    messages: Mutex<Vec<Value>>,
}

fn reject(status: u16, code: &str, why: impl Into<String>) -> Rejection {
    let why = why.into();
    Rejection {
        reply: Reply::json(status, &json!({"error": {"code": code, "message": why}})),
        error: format!("{status} {code}: {why}"),
    }
}

fn bad(why: impl Into<String>) -> Rejection {
    reject(400, "InvalidRequestContent", why)
}

impl Channel for Teams {
    type Valid = Value;

    fn check(&self, request: &Incoming) -> Result<Value, Rejection> {
        // §3 check 1: this workflow's `/workflows/<guid>/triggers/manual/paths/invoke`, and a
        // `sig=` in the query: missing gets 401, wrong 403 [GTN].
        if request.path() != self.path {
            return Err(reject(
                404,
                "WorkflowNotFound",
                "not this workflow's /workflows/<guid>/triggers/manual/paths/invoke path",
            ));
        }
        let sig = request.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == "sig")
                .map(|(_, value)| value.into_owned())
        });
        match sig {
            None => {
                return Err(reject(
                    401,
                    "DirectApiAuthorizationRequired",
                    "no sig= in the query",
                ));
            }
            Some(sig) if sig != self.sig => {
                return Err(reject(
                    403,
                    "DirectApiInvalidAuthorizationSignature",
                    "the sig= of the query is not this workflow's",
                ));
            }
            Some(_) => {}
        }
        if !request.is_post() {
            return Err(reject(
                405,
                "MethodNotAllowed",
                format!("method {} (a card is POSTed)", request.method),
            ));
        }
        // §3 check 4: the serialized body is at most 28 KB [MS-conn].
        if request.body.len() > MAX_BODY_BYTES {
            return Err(reject(
                413,
                "RequestEntityTooLarge",
                format!(
                    "the body is {} bytes (at most {MAX_BODY_BYTES})",
                    request.body.len()
                ),
            ));
        }
        // §3 check 2: a JSON body.
        if !request.is_json() {
            return Err(bad("Content-Type is not application/json"));
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|err| bad(format!("the body is not JSON: {err}")))?;
        // §3 check 2: the envelope — `type` "message", a non-empty `attachments` array, each
        // with the exact `contentType` [MS-using] (without `attachments` the flow run fails
        // [MS-11302]).
        if body.get("type").and_then(Value::as_str) != Some("message") {
            return Err(bad("`type` is not \"message\""));
        }
        let Some(attachments) = body
            .get("attachments")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        else {
            return Err(bad("`attachments` is not a non-empty array"));
        };
        for (i, attachment) in attachments.iter().enumerate() {
            let at = format!("attachments[{i}]");
            if attachment.get("contentType").and_then(Value::as_str) != Some(CARD_CONTENT_TYPE) {
                return Err(bad(format!("{at}.contentType is not {CARD_CONTENT_TYPE}")));
            }
            let Some(card) = attachment.get("content") else {
                return Err(bad(format!("{at}.content (the card) is missing")));
            };
            check_card(card, &format!("{at}.content"))?;
        }
        Ok(body)
    }

    fn accept(&self, _request: &Incoming, message: Value) -> Accepted {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message);
        // §3 check 5: 202 with an empty body [GTN].
        Accepted {
            outcome: Outcome::Processed,
            reply: Reply::new(202),
        }
    }
}

/// §3 check 2: `type` "AdaptiveCard" and a `version` of at most 1.4 [MS-using] [AC-8965];
/// §3 check 3: `body` an array of known elements [MS-using].
fn check_card(card: &Value, at: &str) -> Result<(), Rejection> {
    if card.get("type").and_then(Value::as_str) != Some("AdaptiveCard") {
        return Err(bad(format!("{at}.type is not \"AdaptiveCard\"")));
    }
    let version = card.get("version").and_then(Value::as_str);
    match version.and_then(parse_version) {
        Some(v) if ((1, 0)..=(1, 4)).contains(&v) => {}
        _ => {
            return Err(bad(format!(
                "{at}.version {version:?} is not a version from 1.0 to 1.4 (Workflows render ≤ 1.4)"
            )));
        }
    }
    let Some(body) = card.get("body").and_then(Value::as_array) else {
        return Err(bad(format!("{at}.body is not an array")));
    };
    check_elements(body, &format!("{at}.body"))?;
    if let Some(actions) = card.get("actions") {
        check_actions(actions, &format!("{at}.actions"))?;
    }
    Ok(())
}

/// `"1.4"` → `(1, 4)`.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// §3 check 3: every element a known type; text lives in `TextBlock.text`; containers are
/// checked all the way down.
fn check_elements(elements: &[Value], at: &str) -> Result<(), Rejection> {
    for (i, element) in elements.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let kind = element.get("type").and_then(Value::as_str).unwrap_or("");
        if !ELEMENT_TYPES.contains(&kind) {
            return Err(bad(format!(
                "{at}.type {kind:?} is not an Adaptive Card 1.4 element"
            )));
        }
        let items = |key: &str| {
            element
                .get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("{at}.{key} is not an array")))
        };
        match kind {
            "TextBlock" if !element.get("text").is_some_and(Value::is_string) => {
                return Err(bad(format!("{at}: a TextBlock needs a string `text`")));
            }
            "Container" => check_elements(items("items")?, &format!("{at}.items"))?,
            "ColumnSet" => {
                if let Some(columns) = element.get("columns") {
                    let Some(columns) = columns.as_array() else {
                        return Err(bad(format!("{at}.columns is not an array")));
                    };
                    for (j, column) in columns.iter().enumerate() {
                        if let Some(items) = column.get("items") {
                            let Some(items) = items.as_array() else {
                                return Err(bad(format!(
                                    "{at}.columns[{j}].items is not an array"
                                )));
                            };
                            check_elements(items, &format!("{at}.columns[{j}].items"))?;
                        }
                    }
                }
            }
            "FactSet" => {
                for (j, fact) in items("facts")?.iter().enumerate() {
                    if !(fact.get("title").is_some_and(Value::is_string)
                        && fact.get("value").is_some_and(Value::is_string))
                    {
                        return Err(bad(format!(
                            "{at}.facts[{j}] needs string `title` and `value`"
                        )));
                    }
                }
            }
            "Image" if !element.get("url").is_some_and(Value::is_string) => {
                return Err(bad(format!("{at}: an Image needs a string `url`")));
            }
            "ImageSet" => check_elements(items("images")?, &format!("{at}.images"))?,
            "ActionSet" => check_actions(&Value::Array(items("actions")?.clone()), &at)?,
            _ => {}
        }
    }
    Ok(())
}

fn check_actions(actions: &Value, at: &str) -> Result<(), Rejection> {
    let Some(actions) = actions.as_array() else {
        return Err(bad(format!("{at} is not an array")));
    };
    for (i, action) in actions.iter().enumerate() {
        let kind = action.get("type").and_then(Value::as_str).unwrap_or("");
        if !ACTION_TYPES.contains(&kind) {
            return Err(bad(format!(
                "{at}[{i}].type {kind:?} is not an Adaptive Card 1.4 action"
            )));
        }
        if kind == "Action.OpenUrl" && !action.get("url").is_some_and(Value::is_string) {
            return Err(bad(format!(
                "{at}[{i}]: Action.OpenUrl needs a string `url`"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(parse_version("1.4"), Some((1, 4)));
        assert!(parse_version("1.10").is_some_and(|v| v > (1, 4)));
        assert_eq!(parse_version("1"), None);
        assert_eq!(parse_version("x.y"), None);
    }
}
