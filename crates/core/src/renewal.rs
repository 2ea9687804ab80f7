//! The renewal link: where "Renew / buy" takes a technician for a given key.
//!
//! 3CX publishes no key-prefilled renewal URL, so each tenant keeps a template with `{key}` and
//! `{product_code}` placeholders, filled in URL-encoded. The default points at 3CX's partner
//! portal; MSPs usually point it at their distributor's shop. Runway never processes a purchase.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The template new tenants start with.
pub const DEFAULT_RENEWAL_TEMPLATE: &str = "https://portal.3cx.com/?license={key}";

/// A validated renewal-link template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RenewalTemplate(String);

/// Why a renewal-link template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenewalTemplateError {
    /// Not an http(s) URL.
    #[error("the renewal link must start with https:// or http://")]
    NotHttp,
    /// Spaces or control characters.
    #[error("the renewal link must not contain spaces or control characters")]
    Whitespace,
    /// A placeholder other than `{key}` and `{product_code}`, or a stray brace.
    #[error("unknown placeholder {0:?} in the renewal link: use {{key}} and {{product_code}}")]
    UnknownPlaceholder(String),
}

impl RenewalTemplate {
    /// Checks a template: an http(s) URL whose only placeholders are `{key}` and `{product_code}`.
    pub fn parse(text: &str) -> Result<RenewalTemplate, RenewalTemplateError> {
        let text = text.trim();
        let scheme_ok = ["https://", "http://"].iter().any(|s| {
            text.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        });
        if !scheme_ok || text.len() <= "https://".len() {
            return Err(RenewalTemplateError::NotHttp);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RenewalTemplateError::Whitespace);
        }
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            let tail = &rest[open..];
            let placeholder = ["{key}", "{product_code}"]
                .into_iter()
                .find(|p| tail.starts_with(p));
            let Some(placeholder) = placeholder else {
                let end = tail.find('}').map_or(tail.len(), |i| i + 1);
                return Err(RenewalTemplateError::UnknownPlaceholder(
                    tail[..end].to_owned(),
                ));
            };
            rest = &tail[placeholder.len()..];
        }
        Ok(RenewalTemplate(text.to_owned()))
    }

    /// The link for one license, with both placeholders URL-encoded.
    pub fn link(&self, key: &str, product_code: Option<&str>) -> String {
        self.0.replace("{key}", &url_encode(key)).replace(
            "{product_code}",
            &url_encode(product_code.unwrap_or_default()),
        )
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RenewalTemplate {
    fn default() -> RenewalTemplate {
        RenewalTemplate(DEFAULT_RENEWAL_TEMPLATE.to_owned())
    }
}

impl TryFrom<String> for RenewalTemplate {
    type Error = RenewalTemplateError;
    fn try_from(text: String) -> Result<RenewalTemplate, RenewalTemplateError> {
        RenewalTemplate::parse(&text)
    }
}

impl From<RenewalTemplate> for String {
    fn from(template: RenewalTemplate) -> String {
        template.0
    }
}

impl fmt::Display for RenewalTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_link_fills_key_and_product_code_url_encoded() {
        let template =
            RenewalTemplate::parse("https://shop.example/renew?k={key}&p={product_code}").unwrap();
        assert_eq!(
            template.link("AB CD/&=?#é", Some("3CXPSPROFSPLA")),
            "https://shop.example/renew?k=AB%20CD%2F%26%3D%3F%23%C3%A9&p=3CXPSPROFSPLA"
        );
        assert_eq!(
            template.link("K-1", None),
            "https://shop.example/renew?k=K-1&p="
        );
    }

    #[test]
    fn the_default_template_takes_the_key() {
        assert_eq!(
            RenewalTemplate::default().link("0123-4567", None),
            "https://portal.3cx.com/?license=0123-4567"
        );
        assert_eq!(
            RenewalTemplate::parse(DEFAULT_RENEWAL_TEMPLATE),
            Ok(RenewalTemplate::default())
        );
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert_eq!(
            RenewalTemplate::parse("javascript:alert(1)"),
            Err(RenewalTemplateError::NotHttp)
        );
        assert_eq!(
            RenewalTemplate::parse("https://"),
            Err(RenewalTemplateError::NotHttp)
        );
        assert_eq!(
            RenewalTemplate::parse("https://x.example/{licence}"),
            Err(RenewalTemplateError::UnknownPlaceholder("{licence}".into()))
        );
        assert_eq!(
            RenewalTemplate::parse("https://x.example/{key"),
            Err(RenewalTemplateError::UnknownPlaceholder("{key".into()))
        );
        assert_eq!(
            RenewalTemplate::parse("https://x.example/a b"),
            Err(RenewalTemplateError::Whitespace)
        );
    }
}
