//! The authorization matrix: every route of the router's own route table
//! ([`runway_web::route_table`]) against every role and a signed-out caller, with an id of the
//! caller's own tenant and one of another tenant, signed in with a session cookie and with an
//! API token — each cell with the status it must answer.
//!
//! The rows are data: one per route, with the least role that may use it (roles nest: a viewer
//! reads — alerts, channels, routing rules and escalation policies included; a technician also
//! refreshes licenses, reads PBXs now, acknowledges alerts and retries failed deliveries; an
//! admin also changes customers, instances, tenant settings, channels, routing rules and
//! escalation policies, makes and revokes the calendar feed's URL, sends test notifications,
//! and reads the audit log; an owner also
//! manages users and sees every API token). A route without a row fails the test, and so does a row without a route. Another
//! tenant's ids are never answered with success: the types below can only expect a refusal
//! for them (403 below the route's role, else 404 — or 422 where the id is a field of the
//! submitted input), and a cell that answers one with success is named as such.
//!
//! Signed-out callers present a session cookie or an API token that opens nothing (with the
//! CSRF token the cookie implies), so that unsafe requests reach the authentication check
//! rather than stopping at the CSRF check.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use runway_core::Secret;
use runway_store::{
    AttemptOutcome, ChannelId, ChannelKind, ChannelSettings, CustomerDraft, CustomerId,
    DeliveryFilter, DeliveryState, EscalationLevel, Login, NewChannel, NewEscalation, NewInstance,
    NewRoute, NewUser, Role, TenantId, UserId,
};
use runway_testkit::Backend;
use runway_web::auth::csrf::{CSRF_HEADER, token_for_session};
use runway_web::auth::tokens::token_hash;
use serde_json::{Value, json};

use crate::helpers::{App, Options, PASSWORD, other_tenant, spawn_with};

use Role::{Admin, Owner, Technician, Viewer};

/// The roles, least first.
const ROLES: [Role; 4] = [Viewer, Technician, Admin, Owner];

fn rank(role: Role) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or(0)
}

/// Who may use a route.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, signed in or not (sign-in, first-run setup, static files, the OpenAPI
    /// document): every cell answers the same.
    Public,
    /// Users of at least this role.
    AtLeast(Role),
}

/// How a signed-in user below the route's role is refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// 403: the role may not do this.
    Forbidden,
    /// 404: the thing is not shown to the role at all (another user's API token).
    Hidden,
}

/// How another tenant's id is refused to a role that may use the route.
#[derive(Debug, Clone, Copy)]
enum Foreign {
    /// 404, like an id that does not exist.
    NotFound,
    /// 422: the id is a field of the submitted input, checked like any other field ("choose
    /// one of your customers").
    InvalidInput,
}

/// What the route's id names: in the path (`{id}`) or in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// No id: the route has no foreign-tenant cells.
    Nothing,
    /// The PBX-backed instance that every read goes to (nothing destructive is done to it).
    Instance,
    /// A manual instance made for the cell, to be changed or deleted.
    NewInstance,
    /// The customer of the PBX-backed instance.
    Customer,
    /// A customer made for the cell.
    NewCustomer,
    /// A viewer made for the cell.
    NewUser,
    /// An API token made for the cell, of a user who is none of the callers.
    OthersToken,
    /// An open reminder alert of a manual instance made for the cell.
    Alert,
    /// A channel (to Runway's log, so a test notification reaches no network) made for the
    /// cell.
    Channel,
    /// A routing rule made for the cell.
    Route,
    /// An escalation policy made for the cell.
    Escalation,
    /// A delivery made for the cell that was refused for good (so it may be retried).
    Delivery,
}

/// What a cell sends besides its credentials.
#[derive(Debug, Default)]
struct Request {
    /// Appended to the path (with its `?`).
    query: String,
    body: Body,
}

#[derive(Debug, Default)]
enum Body {
    #[default]
    Empty,
    Form(Vec<(&'static str, String)>),
    Json(Value),
    /// A `text/csv` body.
    Csv(String),
    /// A multipart form (a file upload); the CSRF token goes in the header.
    Multipart(Vec<(&'static str, String)>),
}

fn form<const N: usize>(fields: [(&'static str, String); N]) -> Request {
    Request {
        query: String::new(),
        body: Body::Form(fields.into()),
    }
}

fn json_body(value: Value) -> Request {
    Request {
        query: String::new(),
        body: Body::Json(value),
    }
}

/// One route's expectations.
struct Row {
    method: &'static str,
    path: &'static str,
    access: Access,
    /// What a user allowed to use it gets: with a session cookie, and with an API token.
    allowed: (u16, u16),
    /// Where a successful 303 leads (`*` at the end: any path starting so).
    redirect: Option<&'static str>,
    refusal: Refusal,
    target: Target,
    foreign: Foreign,
    request: fn(&Cell<'_>) -> Request,
}

fn no_request(_: &Cell<'_>) -> Request {
    Request::default()
}

/// A route for users of at least `role`, answering `status` to them.
fn signed(method: &'static str, path: &'static str, role: Role, status: u16) -> Row {
    Row {
        method,
        path,
        access: Access::AtLeast(role),
        allowed: (status, status),
        redirect: None,
        refusal: Refusal::Forbidden,
        target: Target::Nothing,
        foreign: Foreign::NotFound,
        request: no_request,
    }
}

/// A route for anyone, answering `status` to everyone.
fn public(method: &'static str, path: &'static str, status: u16) -> Row {
    Row {
        access: Access::Public,
        ..signed(method, path, Viewer, status)
    }
}

impl Row {
    fn on(self, target: Target) -> Row {
        Row { target, ..self }
    }

    fn sends(self, request: fn(&Cell<'_>) -> Request) -> Row {
        Row { request, ..self }
    }

    fn redirects_to(self, location: &'static str) -> Row {
        Row {
            redirect: Some(location),
            ..self
        }
    }

    fn by_token(self, status: u16) -> Row {
        Row {
            allowed: (self.allowed.0, status),
            ..self
        }
    }

    fn refused(self, refusal: Refusal) -> Row {
        Row { refusal, ..self }
    }

    fn foreign(self, foreign: Foreign) -> Row {
        Row { foreign, ..self }
    }

    /// Whether a signed-out caller is answered 401 rather than sent to sign in: the JSON API,
    /// and `/metrics`, which scrapers fetch.
    fn api(&self) -> bool {
        self.path.starts_with("/api/") || self.path == "/metrics"
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Every route's row.
fn rows() -> Vec<Row> {
    use Target::{
        Alert, Channel, Customer, Delivery, Escalation, Instance, NewCustomer, NewInstance,
        NewUser, OthersToken, Route,
    };
    vec![
        // Pages.
        signed("GET", "/", Viewer, 200),
        signed("POST", "/refresh", Technician, 200)
            .on(Instance)
            .sends(|c| form([("instance", c.id())])),
        public("GET", "/setup", 404),
        public("POST", "/setup", 404).sends(|c| {
            form([
                ("tenant_name", format!("Intruder {}", c.n)),
                ("zone", "UTC".into()),
                ("email", format!("setup{}@intruder.example", c.n)),
                ("password", PASSWORD.into()),
                ("password_again", PASSWORD.into()),
            ])
        }),
        public("GET", "/login", 200),
        public("GET", "/healthz", 200),
        public("GET", "/readyz", 503),
        // Metrics are for scrapers: an API token of any role, never a browser session.
        signed("GET", "/metrics", Viewer, 401).by_token(200),
        public("POST", "/login", 303).redirects_to("/").sends(|_| {
            form([
                ("email", "viewer@acme.example".into()),
                ("password", PASSWORD.into()),
            ])
        }),
        signed("POST", "/logout", Viewer, 303)
            .redirects_to("/login")
            .by_token(422),
        signed("GET", "/import", Admin, 200),
        signed("POST", "/import", Admin, 200).sends(|c| Request {
            query: String::new(),
            body: Body::Multipart(vec![(
                "text",
                format!(
                    "customer,instance,expiry\nMatrix,Upload {},2027-01-31\n",
                    c.n
                ),
            )]),
        }),
        // A sealed preview that is not one: refused as a page, never written.
        signed("POST", "/import/commit", Admin, 422).sends(|_| Request {
            query: String::new(),
            body: Body::Multipart(vec![("sealed", "not-a-sealed-file".into())]),
        }),
        signed("GET", "/instances/new", Admin, 200),
        signed("POST", "/instances/new", Admin, 303)
            .redirects_to("/instances/*")
            .on(Customer)
            .foreign(Foreign::InvalidInput)
            .sends(|c| {
                form([
                    ("customer_id", c.id()),
                    ("name", format!("Matrix {}", c.n)),
                    ("login_kind", "manual".into()),
                ])
            }),
        signed("POST", "/instances/test", Admin, 200)
            .on(Instance)
            .sends(|c| {
                form([
                    ("instance_id", c.id()),
                    ("base_url", c.fixtures.pbx_url.clone()),
                    ("login_kind", "api_client".into()),
                    ("identity", "runway".into()),
                ])
            }),
        signed("GET", "/instances/{id}", Viewer, 200).on(Instance),
        signed("POST", "/instances/{id}/refresh", Technician, 200).on(Instance),
        signed("POST", "/instances/{id}/read-now", Technician, 200).on(Instance),
        signed("GET", "/instances/{id}/edit", Admin, 200).on(Instance),
        signed("POST", "/instances/{id}/edit", Admin, 303)
            .redirects_to("/instances/{id}")
            .on(NewInstance)
            .sends(|c| {
                form([
                    ("customer_id", c.fixtures.customer.0.to_string()),
                    ("name", format!("Renamed {}", c.n)),
                    ("login_kind", "manual".into()),
                ])
            }),
        signed("POST", "/instances/{id}/enable", Admin, 303)
            .redirects_to("/instances/{id}")
            .on(NewInstance),
        signed("POST", "/instances/{id}/disable", Admin, 303)
            .redirects_to("/instances/{id}")
            .on(NewInstance),
        signed("POST", "/instances/{id}/delete", Admin, 303)
            .redirects_to("/")
            .on(NewInstance),
        signed("GET", "/customers", Viewer, 200),
        signed("POST", "/customers", Admin, 303)
            .redirects_to("/customers")
            .sends(|c| form([("name", format!("Matrix customer {}", c.n))])),
        signed("GET", "/customers/{id}/edit", Admin, 200).on(Customer),
        signed("POST", "/customers/{id}/edit", Admin, 303)
            .redirects_to("/customers")
            .on(NewCustomer)
            .sends(|c| form([("name", format!("Renamed customer {}", c.n))])),
        signed("POST", "/customers/{id}/delete", Admin, 303)
            .redirects_to("/customers")
            .on(NewCustomer),
        signed("GET", "/settings", Viewer, 200),
        signed("POST", "/settings", Admin, 303)
            .redirects_to("/settings?saved=1")
            .sends(|c| {
                let s = &c.fixtures.settings;
                form([
                    ("name", s.name.clone()),
                    ("zone", s.zone.clone()),
                    ("milestones", s.milestones.clone()),
                    ("lapse_alert", s.lapse_alert.to_string()),
                    ("renewal_template", s.renewal_template.clone()),
                ])
            }),
        // Admins make (and remake) the calendar feed's URL, shown once on the settings page,
        // and revoke it. The feed itself needs no sign-in: a token that is no feed's is a 404
        // to everyone.
        signed("POST", "/calendar-feed", Admin, 200),
        signed("POST", "/calendar-feed/revoke", Admin, 303)
            .redirects_to("/settings?feed=revoked#calendar-feed"),
        public("GET", "/calendar/{token}", 404),
        signed("GET", "/users", Owner, 200),
        signed("POST", "/users", Owner, 303)
            .redirects_to("/users")
            .sends(|c| {
                form([
                    ("email", format!("added{}@acme.example", c.n)),
                    ("display_name", format!("Added {}", c.n)),
                    ("role", "viewer".into()),
                    ("password", PASSWORD.into()),
                ])
            }),
        signed("POST", "/users/{id}", Owner, 303)
            .redirects_to("/users")
            .on(NewUser)
            .sends(|_| form([("role", "technician".into())])),
        signed("POST", "/users/{id}/delete", Owner, 303)
            .redirects_to("/users")
            .on(NewUser),
        signed("GET", "/tokens", Viewer, 200),
        signed("POST", "/tokens", Viewer, 200).sends(|c| form([("name", format!("ci {}", c.n))])),
        signed("GET", "/account/password", Viewer, 200),
        signed("POST", "/account/password", Viewer, 303)
            .redirects_to("/account/password?changed=1")
            .sends(|_| {
                form([
                    ("current_password", PASSWORD.into()),
                    ("new_password", PASSWORD.into()),
                    ("new_password_again", PASSWORD.into()),
                ])
            }),
        // Everyone revokes their own tokens; only owners see — and revoke — anyone else's.
        signed("POST", "/tokens/{id}/revoke", Owner, 303)
            .redirects_to("/tokens")
            .on(OthersToken)
            .refused(Refusal::Hidden),
        signed("GET", "/audit", Admin, 200),
        signed("GET", "/alerts", Viewer, 200),
        signed("GET", "/alerts/{id}", Viewer, 200).on(Alert),
        signed("POST", "/alerts/{id}/acknowledge", Technician, 303)
            .on(Alert)
            .redirects_to("/alerts/{id}"),
        // Retrying a failed delivery shows its alert again.
        signed("POST", "/deliveries/{id}/retry", Technician, 303)
            .on(Delivery)
            .redirects_to("/alerts/*"),
        // Everyone signed in sees where alerts go; admins change it and send test
        // notifications.
        signed("GET", "/channels", Viewer, 200),
        signed("POST", "/channels", Admin, 303)
            .redirects_to("/channels")
            .sends(|c| {
                form([
                    ("kind", "log".into()),
                    ("name", format!("Matrix page channel {}", c.n)),
                ])
            }),
        signed("POST", "/channels/{id}/test", Admin, 200).on(Channel),
        signed("POST", "/channels/{id}/delete", Admin, 303)
            .redirects_to("/channels")
            .on(Channel),
        // The channel is a field of the form: another tenant's is refused with the form.
        signed("POST", "/routes", Admin, 303)
            .redirects_to("/channels")
            .on(Channel)
            .foreign(Foreign::InvalidInput)
            .sends(|c| {
                form([
                    ("kind", "license_expiry".into()),
                    ("min_severity", "WARNING".into()),
                    ("channel_id", c.id()),
                ])
            }),
        signed("POST", "/routes/{id}/delete", Admin, 303)
            .redirects_to("/channels")
            .on(Route),
        signed("POST", "/escalations", Admin, 303)
            .redirects_to("/channels")
            .on(Channel)
            .foreign(Foreign::InvalidInput)
            .sends(|c| {
                form([
                    ("name", format!("Matrix policy {}", c.n)),
                    ("min_severity", "CRITICAL".into()),
                    ("wait_1", "30".into()),
                    ("channel_1", c.id()),
                ])
            }),
        signed("POST", "/escalations/{id}/delete", Admin, 303)
            .redirects_to("/channels")
            .on(Escalation),
        // Static files.
        public("GET", "/static/style.css", 200),
        public("GET", "/static/app.js", 200),
        public("GET", "/favicon.svg", 200),
        // The JSON API.
        public("GET", "/api/v1/openapi.json", 200),
        signed("GET", "/api/v1/licenses", Viewer, 200),
        signed("GET", "/api/v1/calendar", Viewer, 200),
        signed("GET", "/api/v1/licenses/export", Viewer, 200),
        signed("POST", "/api/v1/import", Admin, 200).sends(|c| Request {
            query: format!("?dry_run={}", c.n % 2 == 0),
            body: Body::Csv(format!(
                "customer,instance,expiry\nMatrix,Api import {},2027-01-31\n",
                c.n
            )),
        }),
        signed("GET", "/api/v1/customers", Viewer, 200),
        signed("POST", "/api/v1/customers", Admin, 201)
            .sends(|c| json_body(json!({"name": format!("Api customer {}", c.n)}))),
        signed("GET", "/api/v1/customers/{id}", Viewer, 200).on(Customer),
        signed("PUT", "/api/v1/customers/{id}", Admin, 200)
            .on(NewCustomer)
            .sends(|c| json_body(json!({"name": format!("Api renamed {}", c.n)}))),
        signed("DELETE", "/api/v1/customers/{id}", Admin, 204).on(NewCustomer),
        signed("GET", "/api/v1/instances", Viewer, 200),
        signed("POST", "/api/v1/instances", Admin, 201)
            .on(Customer)
            .foreign(Foreign::InvalidInput)
            .sends(|c| {
                json_body(json!({
                    "customer_id": c.id,
                    "name": format!("Api {}", c.n),
                    "login_kind": "manual",
                }))
            }),
        signed("GET", "/api/v1/instances/{id}", Viewer, 200).on(Instance),
        signed("PUT", "/api/v1/instances/{id}", Admin, 200)
            .on(NewInstance)
            .sends(|c| {
                json_body(json!({
                    "customer_id": c.fixtures.customer.0,
                    "name": format!("Api renamed {}", c.n),
                    "login_kind": "manual",
                }))
            }),
        signed("DELETE", "/api/v1/instances/{id}", Admin, 204).on(NewInstance),
        signed("POST", "/api/v1/instances/{id}/refresh", Technician, 200).on(Instance),
        signed("POST", "/api/v1/instances/{id}/read-now", Technician, 200).on(Instance),
        signed("POST", "/api/v1/refresh", Technician, 200)
            .on(Instance)
            .sends(|c| json_body(json!({"instances": [c.id]}))),
        signed("POST", "/api/v1/instances/test-connection", Admin, 200)
            .on(Instance)
            .sends(|c| Request {
                query: format!("?instance_id={}", c.id()),
                body: Body::Json(json!({
                    "base_url": c.fixtures.pbx_url,
                    "login_kind": "api_client",
                    "identity": "runway",
                })),
            }),
        signed("GET", "/api/v1/instances/{id}/readings", Viewer, 200).on(Instance),
        signed("GET", "/api/v1/instances/{id}/events", Viewer, 200).on(Instance),
        signed("GET", "/api/v1/instances/{id}/attempts", Viewer, 200).on(Instance),
        signed("GET", "/api/v1/me", Viewer, 200),
        signed("GET", "/api/v1/settings", Viewer, 200),
        signed("PUT", "/api/v1/settings", Admin, 200).sends(|c| {
            let s = &c.fixtures.settings;
            json_body(json!({
                "name": s.name,
                "zone": s.zone,
                "milestones": s.milestones,
                "lapse_alert": s.lapse_alert,
                "renewal_template": s.renewal_template,
            }))
        }),
        signed("GET", "/api/v1/calendar-feed", Viewer, 200),
        signed("POST", "/api/v1/calendar-feed", Admin, 201),
        signed("DELETE", "/api/v1/calendar-feed", Admin, 204),
        signed("GET", "/api/v1/tokens", Viewer, 200),
        signed("POST", "/api/v1/tokens", Viewer, 201)
            .sends(|c| json_body(json!({"name": format!("api ci {}", c.n)}))),
        signed("DELETE", "/api/v1/tokens/{id}", Owner, 200)
            .on(OthersToken)
            .refused(Refusal::Hidden),
        signed("GET", "/api/v1/audit", Admin, 200),
        signed("GET", "/api/v1/alerts", Viewer, 200),
        signed("GET", "/api/v1/alerts/{id}", Viewer, 200).on(Alert),
        signed("POST", "/api/v1/alerts/{id}/acknowledge", Technician, 200).on(Alert),
        signed("POST", "/api/v1/deliveries/{id}/retry", Technician, 200).on(Delivery),
        signed("GET", "/api/v1/channels", Viewer, 200),
        signed("POST", "/api/v1/channels", Admin, 201).sends(|c| {
            json_body(json!({"kind": "log", "name": format!("Matrix api channel {}", c.n)}))
        }),
        signed("DELETE", "/api/v1/channels/{id}", Admin, 204).on(Channel),
        signed("POST", "/api/v1/channels/{id}/test", Admin, 200).on(Channel),
        signed("GET", "/api/v1/routes", Viewer, 200),
        signed("POST", "/api/v1/routes", Admin, 201)
            .on(Channel)
            .sends(|c| json_body(json!({"min_severity": "CRITICAL", "channel_id": c.id}))),
        signed("DELETE", "/api/v1/routes/{id}", Admin, 204).on(Route),
        signed("GET", "/api/v1/escalations", Viewer, 200),
        signed("POST", "/api/v1/escalations", Admin, 201)
            .on(Channel)
            .sends(|c| {
                json_body(json!({
                    "name": format!("Matrix api policy {}", c.n),
                    "levels": [{"after_minutes": 15, "channel_id": c.id}],
                }))
            }),
        signed("DELETE", "/api/v1/escalations/{id}", Admin, 204).on(Escalation),
    ]
}

/// The tenant settings as submitted back unchanged.
struct SettingsForm {
    name: String,
    zone: String,
    milestones: String,
    lapse_alert: bool,
    renewal_template: String,
}

/// What every cell shares.
struct Fixtures {
    /// The own tenant's customer of the PBX-backed instance.
    customer: CustomerId,
    /// The PBX-backed instance's address.
    pbx_url: String,
    settings: SettingsForm,
    /// A password hash for the users made for cells (hashing is slow).
    password_hash: Secret,
    /// A user of the own tenant who is none of the callers: the owner of [`Target::OthersToken`].
    bystander: UserId,
}

/// The ids of another tenant, one per kind of target.
struct ForeignIds {
    tenant: TenantId,
    instance: i64,
    customer: i64,
    user: i64,
    token: i64,
    alert: i64,
    channel: i64,
    route: i64,
    escalation: i64,
    delivery: i64,
}

/// A channel to Runway's log: a test notification to it is sent without any network.
async fn log_channel(app: &App, tenant: TenantId, name: &str) -> ChannelId {
    let new = NewChannel {
        name: name.to_owned(),
        kind: ChannelKind::Log,
        settings: ChannelSettings::default(),
        secret: None,
    };
    app.store
        .create_channel(tenant, &new, app.now)
        .await
        .unwrap()
        .id
}

/// A routing rule sending every alert to `channel`.
async fn route_to(app: &App, tenant: TenantId, channel: ChannelId) -> i64 {
    let new = NewRoute {
        kind: None,
        min_severity: runway_core::Severity::Info,
        customer_id: None,
        channel_id: channel,
    };
    app.store
        .create_route(tenant, &new, app.now)
        .await
        .unwrap()
        .id
        .0
}

/// An escalation policy notifying `channel` after half an hour.
async fn escalation_to(app: &App, tenant: TenantId, channel: ChannelId, name: &str) -> i64 {
    let new = NewEscalation {
        name: name.to_owned(),
        min_severity: runway_core::Severity::Critical,
        levels: vec![EscalationLevel {
            after_minutes: 30,
            channel_id: channel,
        }],
    };
    app.store
        .create_escalation(tenant, &new, app.now)
        .await
        .unwrap()
        .id
        .0
}

/// A delivery refused for good: a new channel with a rule routing every alert to it, an
/// alert on a new manual instance of `customer`, and every notification due then recorded as
/// refused (as the worker would after a 4xx). Returns the delivery to the new channel.
async fn failed_delivery(app: &App, tenant: TenantId, customer: CustomerId, n: usize) -> i64 {
    let channel = log_channel(app, tenant, &format!("Refusing {n}")).await;
    route_to(app, tenant, channel).await;
    let new = NewInstance::new(customer, format!("Undelivered {n}"), None, Login::Manual);
    let instance = app
        .store
        .create_instance(tenant, &new, app.now)
        .await
        .unwrap();
    let alert = alert_on(app, tenant, instance.id).await;
    let due = app
        .store
        .claim_deliveries(app.now, "matrix", std::time::Duration::from_mins(1), 1000)
        .await
        .unwrap();
    let refused = AttemptOutcome::Failed {
        error: "410 Gone".into(),
    };
    for row in &due {
        app.store
            .finish_delivery(&row.delivery, &refused, app.now)
            .await
            .unwrap();
    }
    let filter = DeliveryFilter {
        alert: Some(runway_store::AlertId(alert)),
        state: Some(DeliveryState::Failed),
    };
    let deliveries = app.store.deliveries(tenant, &filter, 100).await.unwrap();
    deliveries
        .iter()
        .find(|d| d.channel_id == channel)
        .unwrap_or_else(|| panic!("a failed delivery to the new channel: {deliveries:?}"))
        .id
        .0
}

/// Records a license expiring in five days on a manual instance: the recording path raises
/// its 10-day reminder. Returns the alert's id.
async fn alert_on(app: &App, tenant: TenantId, instance: runway_store::InstanceId) -> i64 {
    let facts = runway_core::LicenseFacts::from_pbx(runway_core::PbxLicense {
        license_key: Some("MANUAL-KEY".into()),
        expiry: Some(app.now + std::time::Duration::from_hours(5 * 24)),
        ..runway_core::PbxLicense::default()
    });
    let reading = runway_store::NewReading {
        read_at: app.now,
        source: runway_store::ReadingSource::Manual,
        facts,
        raw_body: None,
    };
    app.store
        .record_reading(tenant, instance, &reading, None, &[])
        .await
        .unwrap();
    let filter = runway_store::AlertFilter {
        instance: Some(instance),
        ..runway_store::AlertFilter::default()
    };
    app.store.alerts(tenant, &filter, 1).await.unwrap()[0].id.0
}

/// One cell's inputs.
struct Cell<'a> {
    /// The id the row's target names (own or foreign), if it has one.
    id: Option<i64>,
    /// A number unique to the cell, for names and emails.
    n: usize,
    fixtures: &'a Fixtures,
}

impl Cell<'_> {
    fn id(&self) -> String {
        self.id.map(|id| id.to_string()).unwrap_or_default()
    }
}

/// How a caller signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// A session cookie, with its CSRF token on unsafe requests.
    Session,
    /// `Authorization: Bearer` with an API token.
    Token,
}

/// Whose id a cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tenancy {
    Own,
    Foreign,
}

/// What a cell must answer: a status, and for a 303 where it leads.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    status: u16,
    location: Option<String>,
}

fn expected(row: &Row, caller: Option<Role>, transport: Transport, tenancy: Tenancy) -> Expected {
    let plain = |status| Expected {
        status,
        location: None,
    };
    let min = match row.access {
        Access::Public => {
            return Expected {
                status: row.allowed.0,
                location: row.redirect.map(str::to_owned),
            };
        }
        Access::AtLeast(min) => min,
    };
    let Some(role) = caller else {
        // Signed out: the API answers 401, pages send the browser to sign in.
        return if row.api() {
            plain(401)
        } else {
            Expected {
                status: 303,
                location: Some("/login".into()),
            }
        };
    };
    if rank(role) < rank(min) {
        return plain(match row.refusal {
            Refusal::Forbidden => 403,
            Refusal::Hidden => 404,
        });
    }
    if tenancy == Tenancy::Foreign {
        return plain(match row.foreign {
            Foreign::NotFound => 404,
            Foreign::InvalidInput => 422,
        });
    }
    let status = match transport {
        Transport::Session => row.allowed.0,
        Transport::Token => row.allowed.1,
    };
    Expected {
        status,
        location: (status == 303).then(|| row.redirect.unwrap_or_default().to_owned()),
    }
}

/// The rows are well formed: no route twice, an id wherever the path has one, every 303 with
/// where it leads, and nothing public that names a resource.
fn check_rows(rows: &[Row]) {
    let mut seen = BTreeSet::new();
    for row in rows {
        assert!(seen.insert(row.name()), "{} has two rows", row.name());
        if row.path.contains("{id}") {
            assert_ne!(
                row.target,
                Target::Nothing,
                "{} names no target",
                row.name()
            );
        }
        if matches!(row.access, Access::Public) {
            assert_eq!(row.target, Target::Nothing, "{} is public", row.name());
        }
        if row.allowed.0 == 303 || row.allowed.1 == 303 {
            assert!(
                row.redirect.is_some(),
                "{}: where does it lead?",
                row.name()
            );
        }
    }
}

/// Rows and the route table hold the same routes.
fn check_rows_match_the_route_table(rows: &[Row]) {
    let table: BTreeSet<String> = runway_web::route_table()
        .iter()
        .map(ToString::to_string)
        .collect();
    let listed: BTreeSet<String> = rows.iter().map(Row::name).collect();
    let without_row: Vec<&String> = table.difference(&listed).collect();
    let without_route: Vec<&String> = listed.difference(&table).collect();
    assert!(
        without_row.is_empty() && without_route.is_empty(),
        "the authorization matrix and the router disagree.\n\
         Routes without a row (add one to rows() in authz_matrix.rs, with the least role that \
         may use the route): {without_row:?}\n\
         Rows without a route (remove them): {without_route:?}"
    );
}

async fn fixtures(app: &App) -> Fixtures {
    let instance = app
        .store
        .instance(app.tenant, app.id("warning"))
        .await
        .unwrap();
    let owner = app.signed_in("owner@acme.example").await;
    let settings = owner.get("/api/v1/settings").await.json();
    let text = |key: &str| settings[key].as_str().unwrap().to_owned();
    let milestones: Vec<String> = settings["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let password_hash = runway_web::auth::password::hash_password(PASSWORD).unwrap();
    let bystander = app
        .store
        .create_user(
            app.tenant,
            &NewUser {
                email: "bystander@acme.example".into(),
                display_name: "Bystander".into(),
                role: Viewer,
                password_hash: password_hash.clone(),
            },
        )
        .await
        .unwrap()
        .id;
    Fixtures {
        customer: instance.customer_id,
        pbx_url: instance.base_url.unwrap().to_string(),
        settings: SettingsForm {
            name: text("name"),
            zone: text("zone"),
            milestones: milestones.join(", "),
            lapse_alert: settings["lapse_alert"].as_bool().unwrap(),
            renewal_template: text("renewal_template"),
        },
        password_hash,
        bystander,
    }
}

/// Another tenant with a customer, a manual instance and an API token of its owner.
async fn foreign_ids(app: &App) -> ForeignIds {
    let tenant = other_tenant(app).await;
    let customer = app
        .store
        .create_customer(
            tenant,
            &CustomerDraft {
                name: "Other Customer".into(),
                notes: String::new(),
            },
        )
        .await
        .unwrap();
    let instance = app
        .store
        .create_instance(
            tenant,
            &NewInstance::new(customer.id, "Other PBX", None, Login::Manual),
            app.now,
        )
        .await
        .unwrap();
    let user = app
        .store
        .user_by_email("owner@other.example")
        .await
        .unwrap()
        .unwrap();
    let (_, token) = runway_web::create_api_token(&app.store, tenant, user.id, "other", app.now)
        .await
        .unwrap();
    let alert = alert_on(app, tenant, instance.id).await;
    let channel = log_channel(app, tenant, "Other channel").await;
    let route = route_to(app, tenant, channel).await;
    let escalation = escalation_to(app, tenant, channel, "Other policy").await;
    let delivery = failed_delivery(app, tenant, customer.id, 0).await;
    ForeignIds {
        alert,
        tenant,
        instance: instance.id.0,
        customer: customer.id.0,
        user: user.id.0,
        token: token.id.0,
        channel: channel.0,
        route,
        escalation,
        delivery,
    }
}

/// Everything of a tenant the matrix could touch, to show afterwards that nothing changed.
async fn snapshot(app: &App, tenant: TenantId) -> String {
    let store = &app.store;
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store
            .alerts(tenant, &runway_store::AlertFilter::default(), 100)
            .await
            .unwrap(),
        store.channels(tenant).await.unwrap(),
        store.routes(tenant).await.unwrap(),
        store.escalations(tenant).await.unwrap(),
        store
            .deliveries(tenant, &DeliveryFilter::default(), 100)
            .await
            .unwrap(),
        store.tenant(tenant).await.unwrap(),
        store.customers(tenant).await.unwrap(),
        store.instances(tenant).await.unwrap(),
        store.users(tenant).await.unwrap(),
        store.api_tokens(tenant).await.unwrap(),
    )
}

/// The own-tenant id a cell acts on, made for the cell when the target is a throwaway.
async fn own_id(app: &App, fixtures: &Fixtures, target: Target, n: usize) -> Option<i64> {
    let store = &app.store;
    Some(match target {
        Target::Nothing => return None,
        Target::Instance => app.id("warning").0,
        Target::Customer => fixtures.customer.0,
        Target::NewInstance => {
            let new = NewInstance::new(
                fixtures.customer,
                format!("Throwaway {n}"),
                None,
                Login::Manual,
            );
            store
                .create_instance(app.tenant, &new, app.now)
                .await
                .unwrap()
                .id
                .0
        }
        Target::NewCustomer => {
            let draft = CustomerDraft {
                name: format!("Throwaway customer {n}"),
                notes: String::new(),
            };
            store
                .create_customer(app.tenant, &draft)
                .await
                .unwrap()
                .id
                .0
        }
        Target::NewUser => {
            let user = NewUser {
                email: format!("throwaway{n}@acme.example"),
                display_name: format!("Throwaway {n}"),
                role: Viewer,
                password_hash: fixtures.password_hash.clone(),
            };
            store.create_user(app.tenant, &user).await.unwrap().id.0
        }
        Target::OthersToken => {
            let (_, token) = runway_web::create_api_token(
                store,
                app.tenant,
                fixtures.bystander,
                &format!("throwaway {n}"),
                app.now,
            )
            .await
            .unwrap();
            token.id.0
        }
        Target::Alert => {
            let new = NewInstance::new(
                fixtures.customer,
                format!("Alerting {n}"),
                None,
                Login::Manual,
            );
            let instance = store
                .create_instance(app.tenant, &new, app.now)
                .await
                .unwrap();
            alert_on(app, app.tenant, instance.id).await
        }
        Target::Channel => {
            log_channel(app, app.tenant, &format!("Throwaway channel {n}"))
                .await
                .0
        }
        Target::Route => {
            let channel = log_channel(app, app.tenant, &format!("Routed {n}")).await;
            route_to(app, app.tenant, channel).await
        }
        Target::Escalation => {
            let channel = log_channel(app, app.tenant, &format!("Escalated {n}")).await;
            escalation_to(app, app.tenant, channel, &format!("Throwaway policy {n}")).await
        }
        Target::Delivery => failed_delivery(app, app.tenant, fixtures.customer, n).await,
    })
}

fn foreign_id(ids: &ForeignIds, target: Target) -> Option<i64> {
    match target {
        Target::Nothing => None,
        Target::Instance | Target::NewInstance => Some(ids.instance),
        Target::Customer | Target::NewCustomer => Some(ids.customer),
        Target::NewUser => Some(ids.user),
        Target::OthersToken => Some(ids.token),
        Target::Alert => Some(ids.alert),
        Target::Channel => Some(ids.channel),
        Target::Route => Some(ids.route),
        Target::Escalation => Some(ids.escalation),
        Target::Delivery => Some(ids.delivery),
    }
}

/// A caller's credentials for one cell.
enum Credentials {
    /// A session cookie's secret.
    Session(String),
    /// An API token.
    Token(String),
}

/// Fresh credentials: a new session for every session cell (signing out and changing the
/// password end sessions), the caller's API token otherwise. Signed-out callers present a
/// session that does not exist — with the CSRF token it implies, so the cell tests
/// authentication, not CSRF — or a token that does not exist.
async fn credentials(
    app: &App,
    caller: Option<(Role, UserId, &str)>,
    transport: Transport,
    n: usize,
) -> Credentials {
    match (caller, transport) {
        (None, Transport::Session) => Credentials::Session(format!("signed-out-{n}")),
        (None, Transport::Token) => Credentials::Token(format!("rw_{}", "0".repeat(64))),
        (Some((_, user, _)), Transport::Session) => {
            let secret = format!("matrix-session-{n}");
            app.store
                .create_session(
                    app.tenant,
                    user,
                    &token_hash(&secret),
                    app.now,
                    app.now + std::time::Duration::from_hours(1),
                )
                .await
                .unwrap();
            Credentials::Session(secret)
        }
        (Some((_, _, token)), Transport::Token) => Credentials::Token(token.to_owned()),
    }
}

/// Sends one cell's request; returns its status and `Location`.
async fn send(
    client: &reqwest::Client,
    base: &str,
    row: &Row,
    cell: &Cell<'_>,
    credentials: &Credentials,
) -> (u16, String) {
    let request = (row.request)(cell);
    let path = row.path.replace("{id}", &cell.id());
    let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
    let safe = matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
    let mut builder = client.request(method, format!("{base}{path}{}", request.query));
    builder = match credentials {
        Credentials::Session(secret) => {
            let builder = builder.header("cookie", format!("runway_session={secret}"));
            if safe {
                builder
            } else {
                builder.header(CSRF_HEADER, token_for_session(secret))
            }
        }
        Credentials::Token(token) => builder.header("authorization", format!("Bearer {token}")),
    };
    builder = match request.body {
        Body::Empty => builder,
        Body::Form(fields) => builder.form(&fields),
        Body::Json(value) => builder.json(&value),
        Body::Csv(text) => builder.header("content-type", "text/csv").body(text),
        Body::Multipart(fields) => {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in fields {
                form = form.text(name, value);
            }
            builder.multipart(form)
        }
    };
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location)
}

fn location_matches(expected: &str, actual: &str, id: &str) -> bool {
    let expected = expected.replace("{id}", id);
    match expected.strip_suffix('*') {
        Some(prefix) => actual.starts_with(prefix) && actual.len() > prefix.len(),
        None => actual == expected,
    }
}

/// A route without a row, or a row without a route, fails here (no database needed).
#[test]
fn every_route_of_the_route_table_has_a_row_and_every_row_a_route() {
    let rows = rows();
    check_rows(&rows);
    check_rows_match_the_route_table(&rows);
}

async fn every_route_answers_every_caller_as_its_row_says(backend: Backend) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    let rows = rows();
    check_rows(&rows);
    let fixtures = fixtures(&app).await;
    let foreign = foreign_ids(&app).await;
    let foreign_before = snapshot(&app, foreign.tenant).await;
    let mut callers: Vec<Option<(Role, UserId, String)>> = vec![None];
    for role in ROLES {
        let user = app
            .store
            .user_by_email(&format!("{role}@acme.example"))
            .await
            .unwrap()
            .unwrap();
        let (token, _) =
            runway_web::create_api_token(&app.store, app.tenant, user.id, "matrix", app.now)
                .await
                .unwrap();
        callers.push(Some((role, user.id, token.expose().to_owned())));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let mut failures = String::new();
    let mut n = 0;
    for row in &rows {
        for caller in &callers {
            let caller = caller.as_ref().map(|(r, u, t)| (*r, *u, t.as_str()));
            let role = caller.map(|(role, _, _)| role);
            for tenancy in [Tenancy::Own, Tenancy::Foreign] {
                if tenancy == Tenancy::Foreign && row.target == Target::Nothing {
                    continue;
                }
                for transport in [Transport::Session, Transport::Token] {
                    n += 1;
                    let id = match tenancy {
                        Tenancy::Own => own_id(&app, &fixtures, row.target, n).await,
                        Tenancy::Foreign => foreign_id(&foreign, row.target),
                    };
                    let cell = Cell {
                        id,
                        n,
                        fixtures: &fixtures,
                    };
                    let credentials = credentials(&app, caller, transport, n).await;
                    let want = expected(row, role, transport, tenancy);
                    let (status, location) =
                        send(&client, &app.base, row, &cell, &credentials).await;
                    let location_ok = want
                        .location
                        .as_deref()
                        .is_none_or(|w| location_matches(w, &location, &cell.id()));
                    if status == want.status && location_ok {
                        continue;
                    }
                    let who = role.map_or_else(|| "signed out".to_owned(), |r| r.to_string());
                    let leak = tenancy == Tenancy::Foreign
                        && role.is_some()
                        && (200..400).contains(&status);
                    let _ = writeln!(
                        failures,
                        "{}{} as {who} ({transport:?}, {tenancy:?} tenant's id {}): \
                         expected {}{}, got {status}{}",
                        if leak {
                            "ANOTHER TENANT'S ID ANSWERED: "
                        } else {
                            ""
                        },
                        row.name(),
                        cell.id(),
                        want.status,
                        want.location
                            .map(|l| format!(" to {l}"))
                            .unwrap_or_default(),
                        if location.is_empty() {
                            String::new()
                        } else {
                            format!(" to {location}")
                        },
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "cells answering other than their row says:\n{failures}"
    );
    assert_eq!(
        snapshot(&app, foreign.tenant).await,
        foreign_before,
        "nothing of the other tenant changed"
    );
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_route_answers_every_caller_as_its_row_says() {
        super::every_route_answers_every_caller_as_its_row_says(runway_testkit::Backend::Sqlite)
            .await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_route_answers_every_caller_as_its_row_says() {
        super::every_route_answers_every_caller_as_its_row_says(runway_testkit::Backend::Postgres)
            .await;
    }
}
