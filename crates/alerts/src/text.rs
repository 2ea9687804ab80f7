//! Small text rules every channel shares: cutting to a limit, hiding secrets, escaping for
//! HTML and Slack's mrkdwn, and which links are safe to render.

use sha2::{Digest as _, Sha256};
use url::Url;

/// How much of a receiver's answer goes into an error.
pub(crate) const ANSWER_CHARS: usize = 300;

/// What a secret is replaced with in error texts.
const REDACTED: &str = "[redacted]";

/// `text` cut to at most `max` characters; a cut text ends with `…`.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` on one line: runs of whitespace (newlines included) become one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) use runway_core::hex;

/// Lower-case hex SHA-256 of `text`.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` escaped for Slack's mrkdwn: only `&`, `<` and `>` are control characters there.
pub(crate) fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The renewal link, when it is an absolute http(s) URL: anything else (a `javascript:` link, a
/// relative path) is not rendered as a link by any channel.
pub(crate) fn safe_link(url: Option<&str>) -> Option<Url> {
    let url = Url::parse(url?.trim()).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then_some(url)
        .filter(reqwest::Url::has_host)
}

/// Replaces every secret in a text with `[redacted]`, so that no error text a receiver or a
/// transport produced can carry a credential into the outbox, a log or a page.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Hides `secret` and, for a secret URL (Slack's, Teams'), the parts that are credentials
    /// on their own: its path and query, and each long path segment and query value.
    pub(crate) fn with(mut self, secret: &str) -> Redactor {
        let secret = secret.trim();
        if secret.is_empty() {
            return self;
        }
        self.secrets.push(secret.to_owned());
        if let Ok(url) = Url::parse(secret) {
            self.secrets.push(url.as_str().to_owned());
            self.secrets.push(url.path().to_owned());
            if let Some(query) = url.query() {
                self.secrets.push(query.to_owned());
            }
            let segments = url.path_segments().into_iter().flatten();
            let values = url.query_pairs().map(|(_, value)| value.into_owned());
            for part in segments.map(str::to_owned).chain(values) {
                // Short parts are words ("services", "manual"), not credentials.
                if part.chars().count() >= 16 {
                    self.secrets.push(part);
                }
            }
        }
        self.secrets.retain(|s| s.len() > 1);
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self.secrets.dedup();
        self
    }

    /// `text` with every secret replaced.
    pub(crate) fn apply(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, REDACTED)
        })
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("ääääääääääää", 5), "ääää…");
        assert_eq!(truncate("ääääääääääää", 5).chars().count(), 5);
    }

    #[test]
    fn html_and_mrkdwn_escaping_cover_their_control_characters() {
        assert_eq!(
            html_escape(r#"<b>"Smith" & 'Sons'</b>"#),
            "&lt;b&gt;&quot;Smith&quot; &amp; &#39;Sons&#39;&lt;/b&gt;"
        );
        assert_eq!(slack_escape("a & <b>"), "a &amp; &lt;b&gt;");
    }

    #[test]
    fn only_absolute_http_links_are_safe() {
        assert!(safe_link(Some("https://www.3cx.com/renew?key=1")).is_some());
        assert!(safe_link(Some("javascript:alert(1)")).is_none());
        assert!(safe_link(Some("/renew")).is_none());
        assert!(safe_link(None).is_none());
    }

    #[test]
    fn a_secret_url_is_hidden_whole_and_in_parts() {
        let url = "https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnopqrstuvwx";
        let redactor = Redactor::default().with(url);
        assert_eq!(
            redactor.apply(&format!("posting {url} failed")),
            "posting [redacted] failed"
        );
        assert_eq!(
            redactor.apply("token abcdefghijklmnopqrstuvwx rejected"),
            "token [redacted] rejected"
        );
        let teams = "https://x.logic.azure.com/workflows/0f8f/triggers/manual/paths/invoke?api-version=2016-06-01&sig=AbCdEfGhIjKlMnOpQrStUv";
        let redactor = Redactor::default().with(teams);
        assert_eq!(
            redactor.apply("bad sig AbCdEfGhIjKlMnOpQrStUv"),
            "bad sig [redacted]"
        );
    }
}
