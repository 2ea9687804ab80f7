//! First-run setup, signing in and out.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{Caller, Via, password, session};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::setup::{InitError, init_tenant};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    csrf: String,
    email: String,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub(crate) struct SetupPage {
    csrf: String,
    tenant_name: String,
    zone: String,
    email: String,
    errors: FieldErrors,
}

/// A public page with a fresh pre-session CSRF cookie.
fn with_presession<T: IntoResponse>(
    state: &AppState,
    make: impl FnOnce(String) -> T,
) -> Result<Response, WebError> {
    let (secret, cookie) = session::presession(state)?;
    let mut response = make(secret).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn no_tenant_yet(state: &AppState) -> Result<bool, WebError> {
    Ok(state.store.tenants().await?.is_empty())
}

pub(crate) async fn login_page(State(state): State<AppState>) -> Result<Response, WebError> {
    if no_tenant_yet(&state).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    with_presession(&state, |csrf| LoginPage {
        csrf,
        email: String::new(),
        message: String::new(),
    })
}

/// The client's IP address, for throttling ("unknown" when served without connect info).
pub(crate) struct ClientAddress(String);

impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &AppState,
    ) -> Result<ClientAddress, std::convert::Infallible> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string()),
        ))
    }
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    form: FormData,
) -> Result<Response, WebError> {
    let email = form.get("email");
    let pw = form.raw("password").to_owned();
    let now = state.now();
    if let Some(retry_after_secs) = state.throttle.blocked(&email, &address, now) {
        return Err(WebError::Throttled { retry_after_secs });
    }
    let user = state.store.user_by_email(&email).await?;
    let verified = if let Some(user) = &user {
        password::verify_password(&pw, &user.password_hash) && !user.disabled
    } else {
        password::verify_nothing(&pw);
        false
    };
    match user {
        Some(user) if verified => {
            state.throttle.succeeded(&email);
            let (_, cookie) = session::start(&state, &user).await?;
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        _ => {
            state.throttle.failed(&email, &address, now);
            let mut response = with_presession(&state, |csrf| LoginPage {
                csrf,
                email,
                message: "the email address or password is wrong".into(),
            })?;
            *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(response)
        }
    }
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, WebError> {
    let Via::Session { id, .. } = caller.via else {
        return Err(WebError::Invalid(
            "API tokens do not sign out; revoke them instead".into(),
        ));
    };
    let cookie = session::end(&state, caller.tenant.id, id).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

pub(crate) async fn setup_page(State(state): State<AppState>) -> Result<Response, WebError> {
    if !no_tenant_yet(&state).await? {
        return Err(WebError::NotFound);
    }
    with_presession(&state, |csrf| SetupPage {
        csrf,
        tenant_name: String::new(),
        zone: "UTC".into(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

pub(crate) async fn setup(
    State(state): State<AppState>,
    form: FormData,
) -> Result<Response, WebError> {
    let _one_at_a_time = state.setup_lock.lock().await;
    if !no_tenant_yet(&state).await? {
        return Err(WebError::NotFound);
    }
    let (tenant_name, zone, email) = (form.get("tenant_name"), form.get("zone"), form.get("email"));
    let mut errors = FieldErrors::default();
    if form.raw("password") == form.raw("password_again") {
        match init_tenant(
            &state.store,
            &tenant_name,
            &zone,
            &email,
            form.raw("password"),
        )
        .await
        {
            Ok((_, user)) => {
                let (_, cookie) = session::start(&state, &user).await?;
                let mut response = Redirect::to("/").into_response();
                response.headers_mut().append(header::SET_COOKIE, cookie);
                return Ok(response);
            }
            Err(InitError::Invalid { field, message }) => errors.add(field, message),
            Err(InitError::Store(err)) => return Err(err.into()),
            Err(InitError::Web(err)) => return Err(err),
        }
    } else {
        errors.add("password_again", "the two passwords differ");
    }
    let mut response = with_presession(&state, |csrf| SetupPage {
        csrf,
        tenant_name,
        zone,
        email,
        errors,
    })?;
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
