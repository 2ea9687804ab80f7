//! The HTML pages: one file per page or form, all under the same top bar ([`Chrome`]).

mod customers;
mod instance;
mod instance_form;
mod login;
mod password;
mod settings;
mod status;
mod tokens;
mod users;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::{get, post};

use crate::auth::{Action, Caller};
use crate::state::AppState;

/// What the top bar shows: tenant, user, and which links the role gets.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The tenant's name.
    pub tenant_name: String,
    /// The user's display name.
    pub user_name: String,
    /// The user's role.
    pub role: String,
    /// The CSRF token for forms.
    pub csrf: String,
    /// Whether the role may refresh and read PBXs.
    pub may_read: bool,
    /// Whether the role may edit.
    pub may_edit: bool,
    /// Whether the role may manage users.
    pub may_manage_users: bool,
}

impl Chrome {
    /// The top bar for a caller.
    pub fn of(caller: &Caller) -> Chrome {
        Chrome {
            tenant_name: caller.tenant.settings.name.clone(),
            user_name: caller.user.display_name.clone(),
            role: caller.user.role.to_string(),
            csrf: caller.csrf().to_owned(),
            may_read: caller.may(Action::Read),
            may_edit: caller.may(Action::Edit),
            may_manage_users: caller.may(Action::ManageUsers),
        }
    }
}

pub(crate) use tokens::visible as visible_tokens;

/// Answers a re-shown form with 422 (see [`unprocessable`]).
pub(crate) trait Refused: axum::response::IntoResponse + Sized {
    /// This page, with status 422.
    fn refused(self) -> axum::response::Response {
        unprocessable(self)
    }
}

impl<T: axum::response::IntoResponse> Refused for T {}

/// A form shown again because of bad input: 422, so scripts and tests see the refusal.
pub(crate) fn unprocessable(page: impl axum::response::IntoResponse) -> axum::response::Response {
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(status::page))
        .route("/refresh", post(instance::bulk))
        .route("/setup", get(login::setup_page).post(login::setup))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route(
            "/instances/new",
            get(instance_form::new_page).post(instance_form::create),
        )
        .route("/instances/test", post(instance_form::test_connection))
        .route("/instances/{id}", get(instance::page))
        .route("/instances/{id}/refresh", post(instance::refresh))
        .route("/instances/{id}/read-now", post(instance::read_now))
        .route(
            "/instances/{id}/edit",
            get(instance_form::edit_page).post(instance_form::update),
        )
        .route("/instances/{id}/enable", post(instance_form::enable))
        .route("/instances/{id}/disable", post(instance_form::disable))
        .route("/instances/{id}/delete", post(instance_form::delete))
        .route("/customers", get(customers::page).post(customers::create))
        .route(
            "/customers/{id}/edit",
            get(customers::edit_page).post(customers::update),
        )
        .route("/customers/{id}/delete", post(customers::delete))
        .route("/settings", get(settings::page).post(settings::update))
        .route("/users", get(users::page).post(users::create))
        .route("/users/{id}", post(users::update))
        .route("/users/{id}/delete", post(users::delete))
        .route("/tokens", get(tokens::page).post(tokens::create))
        .route(
            "/account/password",
            get(password::page).post(password::change),
        )
        .route("/tokens/{id}/revoke", post(tokens::revoke))
}
