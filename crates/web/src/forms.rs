//! HTML form bodies as name/value pairs.
//!
//! Forms are read as a list of pairs rather than into a struct, so a missing or malformed
//! field becomes a message next to that field (not a 422 from a deserializer), and repeated
//! fields such as the bulk-refresh checkboxes come through whole.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use crate::error::WebError;
use crate::state::AppState;

/// A submitted form.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    /// Reads a urlencoded body; anything else is a 422 naming no detail of it.
    pub(crate) fn parse(body: &[u8]) -> Result<FormData, WebError> {
        serde_urlencoded::from_bytes(body)
            .map(FormData)
            .map_err(|_| WebError::Invalid("the form is not a valid form submission".into()))
    }

    /// The first value of a field, trimmed ("" when absent).
    pub(crate) fn get(&self, name: &str) -> String {
        self.raw(name).trim().to_owned()
    }

    /// The first value of a field as sent (passwords are not trimmed).
    pub(crate) fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Whether a checkbox was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|(key, value)| key == name && !value.is_empty() && value != "false")
    }

    /// Every value of a repeated field.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<FormData, WebError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| WebError::Invalid("the form could not be read".into()))?;
        FormData::parse(&bytes)
    }
}

/// Messages next to form fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// Adds a message for a field.
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    /// The message for a field ("" when none).
    pub(crate) fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map_or("", |(_, m)| m.as_str())
    }

    /// Every message as one sentence: `name: …; base_url: …`.
    pub(crate) fn sentence(&self) -> String {
        self.0
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Every field with its message, in the order added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// Whether any field has a message.
    pub(crate) fn any(&self) -> bool {
        !self.0.is_empty()
    }
}
