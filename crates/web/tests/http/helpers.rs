//! `spawn_app()`: Runway's web app on `127.0.0.1:0` with a fresh database (SQLite, or
//! PostgreSQL when `RUNWAY_TEST_POSTGRES_URL` is set), a tenant with one user per role, and a
//! small simulated fleet read through the real engine. Clients are typed helpers over reqwest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use runway_clock::ManualClock;
use runway_core::Zone;
use runway_engine::{Engine, EngineConfig, SchedulePolicy};
use runway_sim::{Scenario, ScenarioFormat, Scheme, SimHandle, SimOptions, SimServer};
use runway_sim_fleet::load_sim_fleet;
use runway_store::{InstanceId, NewUser, Role, Store, TenantId, TenantSettings, Trigger};
use runway_testkit::{Backend, TestDb};
use runway_threecx::ReadLimits;
use runway_web::{AppState, WebSettings};

/// Every test user's password.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// The tenant's zone: no daylight saving, so "+N days" of the simulator is N calendar days.
pub(crate) const ZONE: &str = "Asia/Tokyo";

/// A small fleet: one PBX per band, one without dates, one with a pending renewal.
pub(crate) const FLEET: &str = r#"
[defaults]
latency = "1..5"
date_style = "z"

[[pbx]]
id = "overdue"
customer = "Bravo Clinic"
name = "Bravo Main"
fqdn = "bravo.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-overdue" }
product_code = "3CXPSPROFENTSPLA"
expiry = "-3d"
max_sim_calls = 16
users = 20

[[pbx]]
id = "tomorrow"
customer = "Alpha Dental"
name = "Alpha North"
fqdn = "alpha-north.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-tomorrow" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+1d"
max_sim_calls = 8
users = 38
ai_agents = 2

[[pbx]]
id = "renewing"
customer = "Alpha Dental"
name = "Alpha Main"
fqdn = "alpha-main.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-renewing" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+12d"
max_sim_calls = 16
users = 72
renewal = { expiry = "+377d" }

[[pbx]]
id = "warning"
customer = "Charlie Legal"
name = "Charlie HQ"
fqdn = "charlie.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-warning" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+45d"
max_sim_calls = 16
users = 10

[[pbx]]
id = "active"
customer = "Charlie Legal"
name = "Charlie Branch"
fqdn = "charlie-branch.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-active" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+200d"
max_sim_calls = 16
users = 10

[[pbx]]
id = "nodate"
customer = "Bravo Clinic"
name = "Bravo Annex"
fqdn = "bravo-annex.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-nodate" }
product_code = "3CXPSPROFENTSPLA"
expiry = "none"
max_sim_calls = 16
users = 5
"#;

/// A running app.
pub(crate) struct App {
    pub(crate) base: String,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) tenant: TenantId,
    pub(crate) now: Timestamp,
    /// Scenario PBX id → instance.
    pub(crate) ids: HashMap<String, InstanceId>,
    pub(crate) engine: Engine,
    pub(crate) sim: SimHandle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: TestDb,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Options for [`spawn_with`].
#[derive(Default)]
pub(crate) struct Options {
    /// Leave the database empty (no tenant, no users, no fleet).
    pub(crate) empty: bool,
    /// Cookies marked `Secure`.
    pub(crate) secure_cookies: bool,
    /// Reverse proxies to trust (the tests' client is the proxy when this holds 127.0.0.1).
    pub(crate) trusted_proxies: Vec<runway_core::Cidr>,
}

/// The app on SQLite with the tenant, its users and the fleet read once.
pub(crate) async fn spawn_app() -> App {
    spawn_with(Backend::Sqlite, Options::default())
        .await
        .unwrap()
}

/// The app on a backend (`None`: PostgreSQL not configured).
pub(crate) async fn spawn_with(backend: Backend, options: Options) -> Option<App> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDb::new(backend).await?;
    let store = Arc::clone(&db.store);
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let config = EngineConfig {
        node_id: "web-test".into(),
        concurrency: 4,
        read_limits: ReadLimits {
            timeout: Duration::from_millis(1500),
            ..ReadLimits::default()
        },
        schedule: SchedulePolicy {
            jitter: 0.0,
            ..SchedulePolicy::default()
        },
        network: runway_threecx::NetworkPolicy::allowing_loopback(),
        ..EngineConfig::default()
    };
    let engine = Engine::new(Arc::clone(&store), clock.clone(), config);
    let scenario = Scenario::parse(FLEET, ScenarioFormat::Toml, "web-test.toml", now).unwrap();
    secrets::setup(&scenario);
    let sim = SimServer::start(
        scenario.clone(),
        SimOptions {
            https: None,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let mut tenant = TenantId(0);
    let mut ids = HashMap::new();
    if !options.empty {
        let (t, _) =
            runway_web::init_tenant(&store, "Acme MSP", ZONE, "owner@acme.example", PASSWORD)
                .await
                .unwrap();
        tenant = t.id;
        for role in [Role::Admin, Role::Technician, Role::Viewer] {
            add_user(&*store, tenant, &format!("{role}@acme.example"), role).await;
        }
        let loaded = load_sim_fleet(&*store, tenant, &sim, &scenario, Scheme::Http, now)
            .await
            .unwrap();
        let instances: Vec<InstanceId> = loaded.iter().map(|p| p.instance).collect();
        for (_, result) in engine
            .read_instances(tenant, &instances, Trigger::ReadNow)
            .await
        {
            assert!(result.unwrap().error.is_none(), "the fleet reads cleanly");
        }
        ids = loaded.into_iter().map(|p| (p.pbx_id, p.instance)).collect();
    }
    let settings = WebSettings {
        secure_cookies: options.secure_cookies,
        trusted_proxies: options.trusted_proxies,
        // A failing address waits 1 ms, then 2, 4…: the rule, without slow tests.
        throttle_step: Duration::from_millis(1),
        ..WebSettings::default()
    };
    let state = AppState::new(engine.clone(), settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(runway_web::serve(listener, state, async move {
        let _ = rx.await;
    }));
    Some(App {
        base,
        store,
        clock,
        tenant,
        now,
        ids,
        engine,
        sim,
        shutdown: Some(tx),
        _db: db,
    })
}

/// Adds a user with [`PASSWORD`].
pub(crate) async fn add_user(store: &dyn Store, tenant: TenantId, email: &str, role: Role) {
    store
        .create_user(
            tenant,
            &NewUser {
                email: email.into(),
                display_name: email.split('@').next().unwrap().into(),
                role,
                password_hash: runway_web::auth::password::hash_password(PASSWORD).unwrap(),
            },
        )
        .await
        .unwrap();
}

/// A second tenant with an owner `owner@other.example`.
pub(crate) async fn other_tenant(app: &App) -> TenantId {
    let mut settings = TenantSettings::new("Other MSP");
    settings.zone = Zone::parse("Europe/Berlin").unwrap();
    let t = app.store.create_tenant(&settings).await.unwrap().id;
    add_user(&*app.store, t, "owner@other.example", Role::Owner).await;
    t
}

/// A browser: its own cookie jar, no automatic redirects.
pub(crate) struct Browser {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    /// The session's CSRF token, once signed in.
    pub(crate) csrf: String,
}

/// What came back.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The value of the first hidden `csrf` field.
    pub(crate) fn form_csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

pub(crate) async fn reply(response: reqwest::Response) -> Reply {
    let reply = Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    };
    secrets::received(&reply);
    reply
}

impl App {
    /// A browser with no session.
    pub(crate) fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
            csrf: String::new(),
        }
    }

    /// A browser signed in as `email`.
    pub(crate) async fn signed_in(&self, email: &str) -> Browser {
        let mut browser = self.browser();
        let reply = browser.login(email, PASSWORD).await;
        assert_eq!(reply.status, 303, "sign-in of {email}: {}", reply.body);
        let me = browser.get("/api/v1/me").await;
        me.json()["csrf_token"]
            .as_str()
            .unwrap()
            .clone_into(&mut browser.csrf);
        browser
    }

    /// A client sending `Authorization: Bearer token`.
    pub(crate) fn bearer(&self, token: &str) -> Browser {
        runway_testkit::secrets::used(token);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        Browser {
            client: reqwest::Client::builder()
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
            csrf: String::new(),
        }
    }

    pub(crate) fn id(&self, pbx: &str) -> InstanceId {
        self.ids[pbx]
    }
}

impl Browser {
    pub(crate) async fn get(&self, path: &str) -> Reply {
        reply(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a form; the session's CSRF token is added unless the form has one.
    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            fields.push(("csrf", &self.csrf));
        }
        secrets::in_form(&fields);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        reply(response).await
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub(crate) async fn post_raw_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        secrets::in_form(form);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        reply(response).await
    }

    /// Sends JSON with the session's CSRF header (when signed in with a session).
    pub(crate) async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Reply {
        secrets::in_json(body);
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(body);
        if !self.csrf.is_empty() {
            request = request.header("x-csrf-token", &self.csrf);
        }
        reply(request.send().await.unwrap()).await
    }

    pub(crate) async fn post_json(&self, path: &str, body: &serde_json::Value) -> Reply {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// Posts a multipart form (a file upload) with the session's CSRF token as its first field,
    /// as the Import page's form sends it.
    pub(crate) async fn post_multipart(&self, path: &str, parts: &[(&str, &str)]) -> Reply {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (name, value) in parts {
            form = if *name == "file" {
                form.part(
                    "file",
                    reqwest::multipart::Part::bytes(value.as_bytes().to_vec())
                        .file_name("fleet.csv")
                        .mime_str("text/csv")
                        .unwrap(),
                )
            } else {
                form.text(name.to_string(), value.to_string())
            };
        }
        reply(
            self.client
                .post(format!("{}{path}", self.base))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a CSV body (with the session's CSRF header when signed in with a session).
    pub(crate) async fn post_csv(&self, path: &str, csv: &[u8]) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_vec());
        if !self.csrf.is_empty() {
            request = request.header("x-csrf-token", &self.csrf);
        }
        reply(request.send().await.unwrap()).await
    }

    /// Signs in through the login form.
    pub(crate) async fn login(&mut self, email: &str, password: &str) -> Reply {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.form_csrf();
        self.post_raw_form(
            "/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }
}

/// The secrets scan (`runway_testkit::secrets`): every secret these helpers set up, send or
/// receive is registered, so `scripts/scan-secrets` fails the run if any reaches a log.
mod secrets {
    use runway_testkit::secrets::used;

    /// The users' password and the fleet's PBX secrets.
    pub(super) fn setup(scenario: &runway_sim::Scenario) {
        used(super::PASSWORD);
        runway_testkit::secrets::scenario(scenario);
    }

    /// Whether a form field or JSON key holds a secret: passwords, PBX secrets and TOTP seeds,
    /// API tokens and CSRF tokens.
    fn is_secret(name: &str) -> bool {
        name.contains("password")
            || name.contains("secret")
            || matches!(name, "token" | "csrf" | "csrf_token")
    }

    pub(super) fn in_form(fields: &[(&str, &str)]) {
        for (name, value) in fields {
            if is_secret(name) {
                used(value);
            }
        }
    }

    pub(super) fn in_json(value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(text) if is_secret(key) => used(text),
                        other => in_json(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(in_json),
            _ => {}
        }
    }

    /// Cookie values the server set (sessions, pre-session tokens) and secrets in a JSON body
    /// (a new API token, the session's CSRF token).
    pub(super) fn received(reply: &super::Reply) {
        for cookie in reply.headers.get_all("set-cookie") {
            let pair = cookie
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("");
            if let Some((_, value)) = pair.split_once('=') {
                used(value);
            }
        }
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&reply.body) {
            in_json(&json);
        }
    }
}
