//! First-run setup, signing in and out.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{Caller, Via, password, session, throttle};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::setup::{InitError, create_tenant_and_owner};
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

/// The client's IP address, for throttling: the peer, or what a trusted proxy reports (see
/// `auth::throttle`); "unknown" when served without connect info.
pub(crate) struct ClientAddress(String);

impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<ClientAddress, std::convert::Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let address =
            throttle::client_address(peer, &parts.headers, &state.settings.trusted_proxies);
        Ok(ClientAddress(
            address.map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
        ))
    }
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    audit: Option<axum::Extension<crate::audit::AuditSlot>>,
    form: FormData,
) -> Result<Response, WebError> {
    let email = form.get("email");
    let pw = form.raw("password").to_owned();
    let now = state.now();
    let settings = &state.settings;
    let window = settings.throttle_window;
    // Counted before the password is checked (and forgiven if it proves right), so guesses
    // sent at once cannot all pass while their hashes are computed.
    let account = throttle::account_key(&email, &address);
    let from_address = throttle::address_key(&address);
    let account_failures = state
        .store
        .count_sign_in_failure(&account, now, window)
        .await?;
    let address_failures = state
        .store
        .count_sign_in_failure(&from_address, now, window)
        .await?;
    if account_failures > settings.max_failed_logins {
        return Err(WebError::Throttled {
            retry_after_secs: window.as_secs(),
        });
    }
    let delay = throttle::address_delay(address_failures, settings.throttle_step);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // Several MSPs may each have a user with this address; the password tells which is meant
    // (the oldest account wins if it opens more than one).
    let candidates = state.store.users_by_email(&email).await?;
    let audit = audit.map(|axum::Extension(slot)| slot);
    let mut signed_in = None;
    if candidates.is_empty() {
        password::verify_off_the_workers(&state.password_checks, pw.clone(), None).await?;
    }
    for candidate in &candidates {
        let hash = Some(candidate.password_hash.clone());
        let verified =
            password::verify_off_the_workers(&state.password_checks, pw.clone(), hash).await?;
        if verified && !candidate.disabled && signed_in.is_none() {
            signed_in = Some(candidate.clone());
        }
    }
    let verified = signed_in.is_some();
    let user = signed_in.or_else(|| candidates.into_iter().next());
    if let (Some(user), Some(slot)) = (&user, &audit) {
        slot.set(crate::audit::Actor {
            tenant: user.tenant_id,
            user: Some(user.id),
            name: user.email.clone(),
            via: runway_store::AuditVia::SignIn,
        });
    }
    match user {
        Some(user) if verified => {
            state.store.clear_sign_in_failures(&account).await?;
            state.store.forgive_sign_in_failure(&from_address).await?;
            let (_, cookie) = session::start(&state, &user).await?;
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        _ => {
            let mut response = with_presession(&state, |csrf| LoginPage {
                csrf,
                email,
                message: "the email address or password is wrong".into(),
            })?;
            *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            let note = crate::audit::AuditNote {
                action: Some(crate::audit::SIGN_IN_FAILED),
                ..crate::audit::AuditNote::default()
            };
            Ok(note.on(response))
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
    audit: Option<axum::Extension<crate::audit::AuditSlot>>,
    form: FormData,
) -> Result<Response, WebError> {
    let _one_at_a_time = state.setup_lock.lock().await;
    if !no_tenant_yet(&state).await? {
        return Err(WebError::NotFound);
    }
    let (tenant_name, zone, email) = (form.get("tenant_name"), form.get("zone"), form.get("email"));
    let mut errors = FieldErrors::default();
    if form.raw("password") == form.raw("password_again") {
        match create_tenant_and_owner(
            &state.store,
            &tenant_name,
            &zone,
            &email,
            form.raw("password"),
            true,
        )
        .await
        {
            Ok((tenant, user)) => {
                if let Some(axum::Extension(slot)) = audit {
                    slot.set(crate::audit::Actor {
                        tenant: tenant.id,
                        user: Some(user.id),
                        name: user.email.clone(),
                        via: runway_store::AuditVia::SignIn,
                    });
                }
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
