//! A Slack incoming webhook (CHANNELS.md §2).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

use super::{
    Accepted, Channel, Incoming, Outcome, Rejection, Reply, Server, common_methods, random_string,
};

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Block types of Block Kit (§2 check 3: "every `type` known") [SL-blocks].
const BLOCK_TYPES: &[&str] = &[
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
];

/// A Slack incoming webhook that checks every message (see [`crate::receivers`]).
///
/// Success is `200 ok` (text/plain). A malformed request gets Slack's documented plain-text
/// errors: `400 invalid_payload` (not POST, not JSON, bad structure, bad colour), `400 no_text`
/// (nothing to post, or blocks without the fallback `text`), `400 invalid_blocks` (block
/// limits), `404 no_service` (a path other than this hook's).
pub struct SlackReceiver {
    server: Server<Slack>,
}

impl std::fmt::Debug for SlackReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackReceiver")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl SlackReceiver {
    /// Starts a hook at `/services/T…/B…/<token>` with a fresh random token (registered as a
    /// secret for the scan).
    pub async fn start() -> SlackReceiver {
        let token = random_string(ALNUM, 24);
        crate::secrets::used(&token);
        let path = format!(
            "/services/T{}/B{}/{token}",
            random_string(UPPER_ALNUM, 10),
            random_string(UPPER_ALNUM, 10)
        );
        let channel = Slack {
            path,
            messages: Mutex::new(Vec::new()),
        };
        SlackReceiver {
            server: Server::start(channel, vec![token]).await,
        }
    }

    /// The full webhook URL (a secret: the token is its last segment).
    pub fn url(&self) -> String {
        format!("{}{}", self.server.base_url(), self.server.channel.path)
    }

    /// The messages posted, parsed, in order.
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
            .wait_processed("the Slack receiver", n, timeout)
            .await;
        self.messages()
    }

    /// The most requests (of any outcome) that arrived within any one second: Slack allows
    /// "1 per second" with short bursts (§2 check 5) [SL-rate].
    pub fn max_requests_per_second(&self) -> usize {
        let times: Vec<_> = self.requests().iter().map(|r| r.at).collect();
        times
            .iter()
            .enumerate()
            .map(|(i, start)| {
                times[i..]
                    .iter()
                    .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    common_methods!("the Slack receiver");
}

struct Slack {
    path: String,
    messages: Mutex<Vec<Value>>,
}

fn reject(status: u16, code: &str, why: impl std::fmt::Display) -> Rejection {
    Rejection {
        reply: Reply::text(status, code),
        error: format!("{status} {code}: {why}"),
    }
}

fn invalid_payload(why: impl std::fmt::Display) -> Rejection {
    reject(400, "invalid_payload", why)
}

fn invalid_blocks(why: impl std::fmt::Display) -> Rejection {
    reject(400, "invalid_blocks", why)
}

impl Channel for Slack {
    type Valid = Value;

    fn check(&self, request: &Incoming) -> Result<Value, Rejection> {
        // §2 check 1: the hook's own `/services/<T>/<B>/<token>` path. Another path is a hook
        // that does not exist: `no_service` (a string clients map; its 404 is [unverified]).
        if request.path() != self.path {
            return Err(reject(
                404,
                "no_service",
                "not this hook's /services/T…/B…/token path",
            ));
        }
        // §2 check 1: POST with `Content-Type: application/json`, and JSON that parses;
        // otherwise 400 `invalid_payload` [SL-err].
        if !request.is_post() {
            return Err(invalid_payload(format!(
                "method {} (a message is POSTed)",
                request.method
            )));
        }
        if !request.is_json() {
            return Err(invalid_payload("Content-Type is not application/json"));
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|err| invalid_payload(format!("the body is not JSON: {err}")))?;
        let Some(message) = body.as_object() else {
            return Err(invalid_payload("the body is not a JSON object"));
        };

        // §2 check 2: something to post; with `blocks`, the top-level `text` too (mobile
        // notifications show only that) [SL-notif].
        let text = message.get("text");
        if text.is_some_and(|t| !t.is_string()) {
            return Err(invalid_payload("`text` is not a string"));
        }
        let has_text = text
            .and_then(Value::as_str)
            .is_some_and(|t| !t.trim().is_empty());
        if !has_text && !message.contains_key("blocks") && !message.contains_key("attachments") {
            return Err(reject(
                400,
                "no_text",
                "none of `text`, `blocks`, `attachments`",
            ));
        }
        if message.contains_key("blocks") && !has_text {
            return Err(reject(
                400,
                "no_text",
                "`blocks` without a top-level `text` (the notification fallback)",
            ));
        }

        // §2 check 3: Block Kit limits.
        if let Some(blocks) = message.get("blocks") {
            check_blocks(blocks, "blocks")?;
        }

        // §2 check 4: attachments, their colours, and the blocks they carry.
        if let Some(attachments) = message.get("attachments") {
            let Some(attachments) = attachments.as_array() else {
                return Err(invalid_payload("`attachments` is not an array"));
            };
            // 100 per message is [unverified] (third-party clients only), kept as the
            // stricter reading.
            if attachments.len() > 100 {
                return Err(reject(400, "too_many_attachments", "more than 100"));
            }
            for (i, attachment) in attachments.iter().enumerate() {
                let Some(attachment) = attachment.as_object() else {
                    return Err(invalid_payload(format!(
                        "attachments[{i}] is not an object"
                    )));
                };
                // `color` is good|warning|danger or a hex colour #RRGGBB [SL-attach].
                if let Some(color) = attachment.get("color")
                    && !color.as_str().is_some_and(valid_color)
                {
                    return Err(invalid_payload(format!(
                        "attachments[{i}].color {color} is not good|warning|danger|#RRGGBB"
                    )));
                }
                if let Some(blocks) = attachment.get("blocks") {
                    check_blocks(blocks, &format!("attachments[{i}].blocks"))?;
                }
            }
        }
        Ok(body)
    }

    fn accept(&self, _request: &Incoming, message: Value) -> Accepted {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message);
        // §2 check 5: success is `200 ok`, text/plain [SL-pysdk].
        Accepted {
            outcome: Outcome::Processed,
            reply: Reply::text(200, "ok"),
        }
    }
}

/// `good|warning|danger|#RRGGBB` (§2 check 4) [SL-attach].
fn valid_color(color: &str) -> bool {
    matches!(color, "good" | "warning" | "danger")
        || color
            .strip_prefix('#')
            .is_some_and(|hex| hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// §2 check 3: at most 50 blocks, every `type` known, `block_id` ≤ 255, `section.text` ≤ 3000,
/// at most 10 `section.fields` of ≤ 2000 each, `header.text` plain_text ≤ 150
/// [SL-blocks] [SL-section] [SL-header].
fn check_blocks(blocks: &Value, at: &str) -> Result<(), Rejection> {
    let Some(blocks) = blocks.as_array() else {
        return Err(invalid_blocks(format!("`{at}` is not an array")));
    };
    if blocks.len() > 50 {
        return Err(invalid_blocks(format!(
            "`{at}` has {} blocks (at most 50)",
            blocks.len()
        )));
    }
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        if !BLOCK_TYPES.contains(&kind) {
            return Err(invalid_blocks(format!(
                "{at}.type {kind:?} is not a block type"
            )));
        }
        if let Some(id) = block.get("block_id")
            && id.as_str().is_none_or(|id| id.chars().count() > 255)
        {
            return Err(invalid_blocks(format!(
                "{at}.block_id is not a string of at most 255 characters"
            )));
        }
        match kind {
            "section" => {
                let text = block.get("text");
                let fields = block.get("fields");
                if text.is_none() && fields.is_none() {
                    return Err(invalid_blocks(format!(
                        "{at}: a section needs `text` or `fields`"
                    )));
                }
                if let Some(text) = text {
                    check_text(text, &format!("{at}.text"), 3000, false)?;
                }
                if let Some(fields) = fields {
                    let Some(fields) = fields.as_array().filter(|f| f.len() <= 10) else {
                        return Err(invalid_blocks(format!(
                            "{at}.fields is not an array of at most 10"
                        )));
                    };
                    for (j, field) in fields.iter().enumerate() {
                        check_text(field, &format!("{at}.fields[{j}]"), 2000, false)?;
                    }
                }
            }
            "header" => {
                let Some(text) = block.get("text") else {
                    return Err(invalid_blocks(format!("{at}: a header needs `text`")));
                };
                check_text(text, &format!("{at}.text"), 150, true)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A text object: `type` plain_text or mrkdwn (plain_text only if `plain_only`), a non-empty
/// `text` of at most `max` characters [SL-section] [SL-header].
fn check_text(text: &Value, at: &str, max: usize, plain_only: bool) -> Result<(), Rejection> {
    let kind = text.get("type").and_then(Value::as_str);
    let kind_ok = match kind {
        Some("plain_text") => true,
        Some("mrkdwn") => !plain_only,
        _ => false,
    };
    if !kind_ok {
        let expected = if plain_only {
            "plain_text"
        } else {
            "plain_text or mrkdwn"
        };
        return Err(invalid_blocks(format!(
            "{at}.type is {kind:?}, not {expected}"
        )));
    }
    let Some(content) = text.get("text").and_then(Value::as_str) else {
        return Err(invalid_blocks(format!(
            "{at}.text is missing or not a string"
        )));
    };
    let chars = content.chars().count();
    if chars == 0 || chars > max {
        return Err(invalid_blocks(format!(
            "{at}.text has {chars} characters (1 to {max})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_color;

    #[test]
    fn colours_are_the_named_three_or_six_hex_digits() {
        for ok in ["good", "warning", "danger", "#439FE0", "#00ff00"] {
            assert!(valid_color(ok), "{ok}");
        }
        for bad in ["red", "#FFF", "#GGGGGG", "439FE0", "#439FE00", ""] {
            assert!(!valid_color(bad), "{bad}");
        }
    }
}
