//! The one web error type, and how it becomes an answer.
//!
//! Handlers return [`WebError`] (pages) or [`ApiError`] (the JSON API); both map every variant
//! to its status in one exhaustive match ([`WebError::status`]). Client errors carry a sentence
//! for the user; an internal error's cause is logged and the client gets a generic sentence.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use runway_engine::EngineError;
use runway_store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Nobody is signed in (pages redirect to the sign-in page; the API answers 401).
    #[error("sign in first")]
    Unauthenticated,
    /// The caller's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A form or API call without a valid CSRF token.
    #[error("the form has expired or did not come from Runway; reload the page and try again")]
    Csrf,
    /// No such thing for this tenant (another tenant's ids land here too).
    #[error("not found")]
    NotFound,
    /// The input is not acceptable; the sentence says why.
    #[error("{0}")]
    Invalid(String),
    /// The change clashes with what exists; the sentence says how.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins; try again later.
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until attempts are accepted again.
        retry_after_secs: u64,
    },
    /// The instance is being read elsewhere right now.
    #[error("{0}")]
    Busy(String),
    /// Something broke inside; the cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl WebError {
    /// The status of each variant.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthenticated => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Conflict(_) | WebError::Busy(_) => StatusCode::CONFLICT,
            WebError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The sentence shown to the client (generic for internal errors, whose cause is logged).
    pub fn public_message(&self) -> String {
        match self {
            WebError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error while answering a request");
                "something went wrong inside Runway; the cause has been logged".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// A forbidden error for an action the role may not take.
    pub(crate) fn forbidden(action: &str) -> WebError {
        WebError::Forbidden(format!("your role does not allow you to {action}"))
    }
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> WebError {
        match err {
            StoreError::NotFound { .. } => WebError::NotFound,
            StoreError::Conflict { what } => WebError::Conflict(what),
            StoreError::Invalid { what } => WebError::Invalid(what),
            err @ (StoreError::Crypto
            | StoreError::NodeLocked { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Backend { .. }) => WebError::Internal(err.to_string()),
        }
    }
}

impl From<EngineError> for WebError {
    fn from(err: EngineError) -> WebError {
        match err {
            EngineError::Store(err) => WebError::from(err),
            err @ (EngineError::Manual | EngineError::NotManual) => {
                WebError::Invalid(err.to_string())
            }
            err @ EngineError::Busy => WebError::Busy(err.to_string()),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: String,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if matches!(self, WebError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let status = self.status();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.public_message(),
        };
        let mut response = (status, page).into_response();
        add_retry_after(&self, &mut response);
        response
    }
}

fn add_retry_after(err: &WebError, response: &mut Response) {
    if let WebError::Throttled { retry_after_secs } = err
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
}

/// A [`WebError`] answered as JSON: `{ "error": "…" }` with the variant's status.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(err: E) -> ApiError {
        ApiError(err.into())
    }
}

/// The body of every JSON error.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, as a sentence.
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = ErrorBody {
            error: self.0.public_message(),
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self.0, WebError::Unauthenticated) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"runway\""),
            );
        }
        add_retry_after(&self.0, &mut response);
        response
    }
}
