//! Users (owners only): add, change role, disable, delete.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use runway_store::{NewUser, Role, User, UserId, UserUpdate};

use super::{Chrome, Refused as _};
use crate::auth::{Action, Caller, password};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub(crate) struct UsersPage {
    chrome: Chrome,
    users: Vec<User>,
    me: UserId,
    email: String,
    display_name: String,
    role: String,
    errors: FieldErrors,
    message: String,
}

const ROLES: [&str; 4] = ["viewer", "technician", "admin", "owner"];

async fn list(
    state: &AppState,
    caller: &Caller,
    form: Option<&FormData>,
    errors: FieldErrors,
    message: String,
) -> Result<UsersPage, WebError> {
    Ok(UsersPage {
        chrome: Chrome::of(caller),
        users: state.store.users(caller.tenant.id).await?,
        me: caller.user.id,
        email: form.map(|f| f.get("email")).unwrap_or_default(),
        display_name: form.map(|f| f.get("display_name")).unwrap_or_default(),
        role: form.map_or_else(|| "viewer".to_owned(), |f| f.get("role")),
        errors,
        message,
    })
}

// Askama calls these as methods on the page, so they take `&self`.
#[allow(clippy::unused_self)]
impl UsersPage {
    fn roles(&self) -> [&'static str; 4] {
        ROLES
    }

    fn same(&self, a: &str, b: &str) -> bool {
        a == b
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<UsersPage, WebError> {
    caller.require(Action::ManageUsers)?;
    list(&state, &caller, None, FieldErrors::default(), String::new()).await
}

pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::ManageUsers)?;
    let mut errors = FieldErrors::default();
    let role: Option<Role> = form.get("role").parse().ok();
    if role.is_none() {
        errors.add("role", "choose a role");
    }
    let pw = form.raw("password");
    if let Err(err) = password::check_new_password(pw) {
        errors.add("password", err.to_string());
    }
    let email = form.get("email");
    if email.is_empty() {
        errors.add("email", "enter an email address");
    }
    if let (Some(role), false) = (role, errors.any()) {
        let user = NewUser {
            email,
            display_name: match form.get("display_name") {
                name if name.is_empty() => form.get("email"),
                name => name,
            },
            role,
            password_hash: password::hash_password(pw)?,
        };
        match state.store.create_user(caller.tenant.id, &user).await {
            Ok(_) => return Ok(Redirect::to("/users").into_response()),
            Err(err) => match WebError::from(err) {
                WebError::Invalid(m) | WebError::Conflict(m) => errors.add("email", m),
                other => return Err(other),
            },
        }
    }
    Ok(list(&state, &caller, Some(&form), errors, String::new())
        .await?
        .refused())
}

fn user_id(id: &str) -> Result<UserId, WebError> {
    id.trim()
        .parse()
        .map(UserId)
        .map_err(|_| WebError::NotFound)
}

pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::ManageUsers)?;
    let id = user_id(&id)?;
    let role: Option<Role> = form.get("role").parse().ok();
    if id == caller.user.id && (role.is_some_and(|r| r != Role::Owner) || form.checked("disabled"))
    {
        let message = "you cannot demote or disable yourself; ask another owner".to_owned();
        return Ok(list(&state, &caller, None, FieldErrors::default(), message)
            .await?
            .into_response());
    }
    let password_hash = match form.raw("password") {
        "" => None,
        pw => {
            if let Err(err) = password::check_new_password(pw) {
                return Ok(list(
                    &state,
                    &caller,
                    None,
                    FieldErrors::default(),
                    err.to_string(),
                )
                .await?
                .into_response());
            }
            Some(password::hash_password(pw)?)
        }
    };
    let changed_password = password_hash.is_some();
    let update = UserUpdate {
        display_name: None,
        role,
        disabled: Some(form.checked("disabled")),
        password_hash,
    };
    let updated = state
        .store
        .update_user(caller.tenant.id, id, &update)
        .await?;
    let mut said = vec![
        format!("role {}", updated.role),
        if updated.disabled {
            "disabled"
        } else {
            "enabled"
        }
        .to_owned(),
    ];
    if changed_password {
        said.push("password set".to_owned());
    }
    let note = crate::audit::AuditNote {
        target: Some(format!("user {} ({})", updated.id, updated.email)),
        detail: said.join(", "),
        ..crate::audit::AuditNote::default()
    };
    let mut response = note.on(Redirect::to("/users").into_response());
    if changed_password {
        // A new password signs the user out everywhere; an owner changing their own keeps
        // this browser, with a fresh session.
        state
            .store
            .delete_user_sessions(caller.tenant.id, id)
            .await?;
        if id == caller.user.id {
            let (_, cookie) = crate::auth::session::start(&state, &updated).await?;
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, cookie);
        }
    }
    Ok(response)
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    caller.require(Action::ManageUsers)?;
    let id = user_id(&id)?;
    if id == caller.user.id {
        let message = "you cannot delete yourself".to_owned();
        return Ok(list(&state, &caller, None, FieldErrors::default(), message)
            .await?
            .into_response());
    }
    state.store.delete_user(caller.tenant.id, id).await?;
    Ok(Redirect::to("/users").into_response())
}
