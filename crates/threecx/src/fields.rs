//! Reading a PBX's JSON tolerantly.
//!
//! Every 3CX field is nullable and fields arrive by version, so a missing or `null` field is
//! simply "not reported". Unknown fields are ignored. Numbers and booleans written as strings
//! (`"16"`, `"true"`) are accepted. A field of the wrong kind altogether (`"MaxSimCalls":
//! "sixteen"`) is an unexpected answer naming the endpoint and the field: storing half a
//! license would be worse than keeping the last good one.

use jiff::Timestamp;
use runway_core::parse_pbx_instant;
use serde_json::{Map, Value};

use crate::error::ReadError;

/// The fields of one JSON object answered by one endpoint.
pub(crate) struct Fields<'a> {
    endpoint: &'a str,
    object: &'a Map<String, Value>,
}

/// Parses a body as a JSON object. OData functions sometimes wrap their result in `"value"`;
/// such a wrapper is unwrapped.
pub(crate) fn parse_object(endpoint: &str, body: &[u8]) -> Result<Map<String, Value>, ReadError> {
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        ReadError::unexpected(
            endpoint,
            format!(
                "the body is not JSON ({err}): it is {}",
                describe_body(body)
            ),
        )
    })?;
    match value {
        Value::Object(mut object) => match object.remove("value") {
            Some(Value::Object(inner)) if object.keys().all(|k| k.starts_with('@')) => Ok(inner),
            Some(other) => {
                object.insert("value".to_owned(), other);
                Ok(object)
            }
            None => Ok(object),
        },
        other => Err(ReadError::unexpected(
            endpoint,
            format!("expected a JSON object, got {}", kind_of(&other)),
        )),
    }
}

impl<'a> Fields<'a> {
    pub(crate) fn new(endpoint: &'a str, object: &'a Map<String, Value>) -> Fields<'a> {
        Fields { endpoint, object }
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, value: &Value, expected: &str) -> ReadError {
        ReadError::unexpected(
            self.endpoint,
            format!("{key} is {}, expected {expected}", kind_of(value)),
        )
    }

    /// A text field; numbers are taken as their text.
    pub(crate) fn text(&self, key: &str) -> Result<Option<String>, ReadError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong(key, other, "text")),
        }
    }

    /// A non-negative whole number.
    pub(crate) fn count(&self, key: &str) -> Result<Option<u32>, ReadError> {
        match self.present(key) {
            None => Ok(None),
            Some(value @ Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong(key, value, "a whole number")),
            Some(value @ Value::String(s)) => s
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| self.wrong(key, value, "a whole number")),
            Some(other) => Err(self.wrong(key, other, "a whole number")),
        }
    }

    /// A flag.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, ReadError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(value @ Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(self.wrong(key, value, "true or false")),
            },
            Some(other) => Err(self.wrong(key, other, "true or false")),
        }
    }

    /// An instant; `null` and .NET's minimum date are "no date".
    pub(crate) fn instant(&self, key: &str) -> Result<Option<Timestamp>, ReadError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => parse_pbx_instant(s).map_err(|_| {
                ReadError::unexpected(
                    self.endpoint,
                    format!("{key} is not a date (expected RFC 3339)"),
                )
            }),
            Some(other) => Err(self.wrong(key, other, "a date")),
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a body is — its kind and size, never its content. A body comes from whatever answers
/// at the PBX's address (which may not be a PBX at all), and error texts are shown to every
/// user of the tenant, so they must not carry what some other service said.
pub(crate) fn describe_body(body: &[u8]) -> String {
    if body.is_empty() {
        return "an empty body".to_owned();
    }
    let start = String::from_utf8_lossy(&body[..body.len().min(256)])
        .trim_start()
        .to_ascii_lowercase();
    let kind = if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "an HTML page"
    } else if start.starts_with('<') {
        "an XML document"
    } else if start.starts_with('{') || start.starts_with('[') {
        "JSON"
    } else if std::str::from_utf8(body).is_ok() {
        "plain text"
    } else {
        "binary data"
    };
    format!("{kind} of {} bytes", body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: &str) -> Map<String, Value> {
        parse_object("SystemStatus", json.as_bytes()).unwrap()
    }

    #[test]
    fn missing_null_and_unknown_fields_are_not_reported_rather_than_errors() {
        let o = object(r#"{"MaxSimCalls":null,"SomethingNew":{"a":1}}"#);
        let f = Fields::new("SystemStatus", &o);
        assert_eq!(f.count("MaxSimCalls").unwrap(), None);
        assert_eq!(f.count("UserExtensions").unwrap(), None);
        assert_eq!(f.instant("ExpirationDate").unwrap(), None);
    }

    #[test]
    fn numbers_and_flags_written_as_strings_are_accepted() {
        let o = object(r#"{"MaxSimCalls":"16","LicenseActive":"True","LicenseKey":12345}"#);
        let f = Fields::new("SystemStatus", &o);
        assert_eq!(f.count("MaxSimCalls").unwrap(), Some(16));
        assert_eq!(f.flag("LicenseActive").unwrap(), Some(true));
        assert_eq!(f.text("LicenseKey").unwrap().as_deref(), Some("12345"));
    }

    #[test]
    fn wrong_kinds_name_the_endpoint_field_and_value() {
        let o = object(r#"{"MaxSimCalls":"sixteen","ExpirationDate":"soon","LicenseActive":3}"#);
        let f = Fields::new("SystemStatus", &o);
        let err = f.count("MaxSimCalls").unwrap_err().to_string();
        assert_eq!(
            err,
            "unexpected answer from SystemStatus: MaxSimCalls is a string, expected a whole number"
        );
        let err = f.instant("ExpirationDate").unwrap_err().to_string();
        assert!(err.contains("ExpirationDate is not a date"), "{err}");
        assert!(!err.contains("soon"), "no fragment of the answer: {err}");
        assert!(f.flag("LicenseActive").is_err());
        assert!(
            Fields::new("x", &object(r#"{"MaxSimCalls":-1}"#))
                .count("MaxSimCalls")
                .is_err()
        );
    }

    #[test]
    fn non_json_and_non_object_bodies_are_described_never_quoted() {
        let err =
            parse_object("SystemStatus", b"<html><body>Bad gateway</body></html>").unwrap_err();
        assert!(
            err.to_string().contains("an HTML page of 37 bytes"),
            "{err}"
        );
        assert!(!err.to_string().contains("Bad gateway"), "{err}");
        let secret = b"ami-id: i-0abc; AccessKeyId: AKIAEXAMPLE";
        let err = parse_object("SystemStatus", secret)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plain text of 40 bytes") && !err.contains("AKIA"),
            "{err}"
        );
        let err = parse_object("SystemStatus", b"[1,2]").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a JSON object, got an array"),
            "{err}"
        );
        let err = parse_object("SystemStatus", b"").unwrap_err();
        assert!(err.to_string().contains("an empty body"), "{err}");
    }

    #[test]
    fn an_odata_value_wrapper_is_unwrapped() {
        let o = object(r#"{"@odata.context":"x","value":{"ProductCode":"3CXPSPROF"}}"#);
        assert_eq!(
            Fields::new("x", &o).text("ProductCode").unwrap().as_deref(),
            Some("3CXPSPROF")
        );
    }
}
