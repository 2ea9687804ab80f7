//! Every user's own password: changed with the current one, and the change signs the user out
//! everywhere else (this browser gets a fresh session).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use runway_store::UserUpdate;

use super::{Chrome, Refused as _};
use crate::auth::{Caller, password, session};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
pub(crate) struct PasswordPage {
    chrome: Chrome,
    errors: FieldErrors,
    message: String,
}

/// `?changed=1` after a change (the page is shown again with the new session's token).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Shown {
    #[serde(default)]
    changed: Option<String>,
}

pub(crate) async fn page(caller: Caller, Query(shown): Query<Shown>) -> PasswordPage {
    PasswordPage {
        chrome: Chrome::of(&caller),
        errors: FieldErrors::default(),
        message: if shown.changed.is_some() {
            "Your password is changed; every other session is signed out.".into()
        } else {
            String::new()
        },
    }
}

pub(crate) async fn change(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    let new = form.raw("new_password");
    if let Err(err) = password::check_new_password(new) {
        errors.add("new_password", err.to_string());
    } else if new != form.raw("new_password_again") {
        errors.add("new_password_again", "the two passwords differ");
    }
    let current = password::verify_off_the_workers(
        &state.password_checks,
        form.raw("current_password").to_owned(),
        Some(caller.user.password_hash.clone()),
    )
    .await?;
    if !current {
        errors.add("current_password", "this is not your current password");
    }
    if errors.any() {
        return Ok(PasswordPage {
            chrome: Chrome::of(&caller),
            errors,
            message: String::new(),
        }
        .refused());
    }
    let (tenant, user) = (caller.tenant.id, caller.user.id);
    let update = UserUpdate {
        password_hash: Some(password::hash_password(new)?),
        ..UserUpdate::default()
    };
    let updated = state.store.update_user(tenant, user, &update).await?;
    // Every session of the user ends — a stolen one included — and this browser starts anew.
    state.store.delete_user_sessions(tenant, user).await?;
    let (_, cookie) = session::start(&state, &updated).await?;
    let mut response = Redirect::to("/account/password?changed=1").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
