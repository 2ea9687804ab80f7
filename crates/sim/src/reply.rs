//! What a simulated endpoint answers, before faults and before it becomes an HTTP response.
//!
//! Handlers build a [`Reply`]; the fault layer ([`crate::faults`]) may then garble, bloat or
//! bend its body. JSON objects are kept as ordered key lists so bodies come out in the order a
//! PBX writes them (`@odata.context` first) without turning on serde_json's global
//! `preserve_order` feature for the whole workspace.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// A JSON object whose keys keep their insertion order.
pub(crate) type JsonObject = Vec<(String, Value)>;

/// Serialises a [`JsonObject`] in order.
pub(crate) struct Ordered<'a>(pub(crate) &'a JsonObject);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Builds a [`JsonObject`] from `(key, value)` pairs.
pub(crate) fn object<const N: usize>(pairs: [(&str, Value); N]) -> JsonObject {
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// The body of a [`Reply`].
pub(crate) enum ReplyBody {
    /// A JSON object (faults can transform it).
    Json(JsonObject),
    /// Plain text with its content type.
    Text {
        /// `Content-Type` to send.
        content_type: &'static str,
        /// The text.
        text: String,
    },
    /// No body.
    Empty,
    /// A ready response (streams; nothing more to transform).
    Ready(Box<Response>),
}

/// An endpoint's answer.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: ReplyBody,
}

impl Reply {
    /// `status` with a JSON object.
    pub(crate) fn json(status: StatusCode, body: JsonObject) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body),
        }
    }

    /// 200 with a JSON object.
    pub(crate) fn ok(body: JsonObject) -> Reply {
        Reply::json(StatusCode::OK, body)
    }

    /// `status` with a text body.
    pub(crate) fn text(status: StatusCode, content_type: &'static str, text: String) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Text { content_type, text },
        }
    }

    /// `status` with no body.
    pub(crate) fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    /// 401 with `WWW-Authenticate: Bearer` and an empty body: what XAPI answers to a missing,
    /// bad, expired or revoked token.
    pub(crate) fn bearer_unauthorized() -> Reply {
        Reply::empty(StatusCode::UNAUTHORIZED)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// An OData error envelope `{"error":{"code":…,"message":…,"details":[]}}`.
    pub(crate) fn odata_error(status: StatusCode, code: &str, message: &str) -> Reply {
        let error = serde_json::json!({ "code": code, "message": message, "details": [] });
        Reply::json(status, vec![("error".to_owned(), error)])
    }

    /// 404 with an empty body (unknown path, or an API this version does not have).
    pub(crate) fn not_found() -> Reply {
        Reply::empty(StatusCode::NOT_FOUND)
    }

    /// Adds a response header.
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// True when the reply is a success carrying a body faults can act on.
    pub(crate) fn has_transformable_body(&self) -> bool {
        self.status.is_success() && matches!(self.body, ReplyBody::Json(_) | ReplyBody::Text { .. })
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            ReplyBody::Json(object) => match serde_json::to_vec(&Ordered(&object)) {
                Ok(bytes) => {
                    with_content_type(Body::from(bytes), "application/json; charset=utf-8")
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            ReplyBody::Text { content_type, text } => {
                with_content_type(Body::from(text), content_type)
            }
            ReplyBody::Empty => Response::new(Body::empty()),
            ReplyBody::Ready(response) => *response,
        };
        if response.status() == StatusCode::OK {
            *response.status_mut() = self.status;
        }
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

fn with_content_type(body: Body, content_type: &'static str) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
