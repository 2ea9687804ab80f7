//! The HTML pages: one file per page or form, all under the same top bar ([`Chrome`]).

mod alerts;
mod audit;
mod channels;
mod customers;
mod import;
mod instance;
mod instance_form;
mod login;
mod password;
mod settings;
mod status;
mod tokens;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::response::IntoResponse as _;
use axum::routing::{self, MethodRouter};

use crate::Route;
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

pub(crate) use import::MAX_UPLOAD_BYTES;
pub(crate) use settings::describe_settings;
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

/// A router built route by route, each route recorded as it is added, so that the route table
/// lists exactly what the router answers (see [`crate::route_table`]). The pages and the static
/// files are built with it.
pub(crate) struct RouteTable {
    router: Router<AppState>,
    routes: Vec<Route>,
}

impl RouteTable {
    /// An empty table.
    pub(crate) fn new() -> RouteTable {
        RouteTable {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// Answers `GET` (and `HEAD`) on `path` with `handler`.
    pub(crate) fn get<H, T>(self, path: &'static str, handler: H) -> RouteTable
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, routing::get(handler))
    }

    /// Answers `POST` on `path` with `handler`.
    pub(crate) fn post<H, T>(self, path: &'static str, handler: H) -> RouteTable
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, routing::post(handler))
    }

    /// Adds one method of one path; axum merges the methods of a path into one route.
    fn add(
        mut self,
        method: Method,
        path: &'static str,
        handler: MethodRouter<AppState>,
    ) -> RouteTable {
        self.routes.push(Route::new(method, path));
        self.router = self.router.route(path, handler);
        self
    }

    /// The router answering every route of the table.
    pub(crate) fn into_router(self) -> Router<AppState> {
        self.router
    }

    /// Every route of the table, in the order added.
    pub(crate) fn into_routes(self) -> Vec<Route> {
        self.routes
    }
}

/// The pages' route table.
pub(crate) fn table() -> RouteTable {
    RouteTable::new()
        .get("/", status::page)
        .post("/refresh", instance::bulk)
        .get("/setup", login::setup_page)
        .post("/setup", login::setup)
        .get("/login", login::login_page)
        .post("/login", login::login)
        .post("/logout", login::logout)
        .get("/instances/new", instance_form::new_page)
        .post("/instances/new", instance_form::create)
        .post("/instances/test", instance_form::test_connection)
        .get("/instances/{id}", instance::page)
        .post("/instances/{id}/refresh", instance::refresh)
        .post("/instances/{id}/read-now", instance::read_now)
        .get("/instances/{id}/edit", instance_form::edit_page)
        .post("/instances/{id}/edit", instance_form::update)
        .post("/instances/{id}/enable", instance_form::enable)
        .post("/instances/{id}/disable", instance_form::disable)
        .post("/instances/{id}/delete", instance_form::delete)
        .get("/import", import::page)
        .post(
            "/import",
            import::upload.layer(DefaultBodyLimit::max(import::MAX_UPLOAD_BYTES)),
        )
        .post(
            "/import/commit",
            import::commit.layer(DefaultBodyLimit::max(import::MAX_UPLOAD_BYTES)),
        )
        .get("/customers", customers::page)
        .post("/customers", customers::create)
        .get("/customers/{id}/edit", customers::edit_page)
        .post("/customers/{id}/edit", customers::update)
        .post("/customers/{id}/delete", customers::delete)
        .get("/settings", settings::page)
        .post("/settings", settings::update)
        .post("/calendar-feed", settings::create_feed)
        .post("/calendar-feed/revoke", settings::revoke_feed)
        .get("/calendar/{token}", crate::calendar_feed::serve)
        .get("/users", users::page)
        .post("/users", users::create)
        .post("/users/{id}", users::update)
        .post("/users/{id}/delete", users::delete)
        .get("/tokens", tokens::page)
        .post("/tokens", tokens::create)
        .get("/account/password", password::page)
        .post("/account/password", password::change)
        .post("/tokens/{id}/revoke", tokens::revoke)
        .get("/audit", audit::page)
        .get("/alerts", alerts::page)
        .get("/alerts/{id}", alerts::detail)
        .post("/alerts/{id}/acknowledge", alerts::acknowledge)
        .post("/deliveries/{id}/retry", alerts::retry)
        .get("/channels", channels::page)
        .post("/channels", channels::create)
        .post("/channels/{id}/test", channels::test)
        .post("/channels/{id}/delete", channels::delete)
        .post("/routes", channels::create_route)
        .post("/routes/{id}/delete", channels::delete_route)
        .post("/escalations", channels::create_escalation)
        .post("/escalations/{id}/delete", channels::delete_escalation)
}

pub(crate) fn router() -> Router<AppState> {
    table().into_router()
}
