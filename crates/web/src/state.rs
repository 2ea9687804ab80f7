//! What every handler shares: the store, the engine, the clock and the web settings.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use runway_clock::Clock;
use runway_core::Cidr;
use runway_engine::Engine;
use runway_store::Store;

/// Argon2 verifications run at once (each takes tens of milliseconds of one core).
const PASSWORD_CHECKS: usize = 2;

/// How the web layer behaves; [`WebSettings::default`] suits `runway serve` on localhost.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies `Secure` (set when Runway is served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_lifetime: Duration,
    /// Failed sign-ins of one account from one client address within
    /// [`WebSettings::throttle_window`] before further attempts of that pair are refused until
    /// the window has passed (see `auth::throttle`).
    pub max_failed_logins: u32,
    /// The window failed sign-ins are counted in.
    pub throttle_window: Duration,
    /// The first wait of a client address that keeps failing; it doubles with each further
    /// failure (see `auth::throttle`).
    pub throttle_step: Duration,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the client's address
    /// (`runway serve --trusted-proxy`); from anyone else those headers are ignored.
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for WebSettings {
    fn default() -> WebSettings {
        WebSettings {
            secure_cookies: false,
            session_lifetime: Duration::from_hours(12),
            max_failed_logins: 5,
            throttle_window: Duration::from_mins(15),
            throttle_step: Duration::from_millis(250),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The state every handler gets; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The store (the engine's).
    pub store: Arc<dyn Store>,
    /// The engine: the one read path for refresh, read now and test connection.
    pub engine: Engine,
    /// The clock every instant is taken from (the engine's), so tests can pin time.
    pub clock: Arc<dyn Clock>,
    /// Web settings.
    pub settings: WebSettings,
    /// Password hashes checked at once: argon2 is slow on purpose, so it runs on blocking
    /// threads, a few at a time, never on the workers that serve requests.
    pub(crate) password_checks: Arc<tokio::sync::Semaphore>,
    /// Serialises first-run setup so two browsers cannot both create the first tenant.
    pub(crate) setup_lock: Arc<tokio::sync::Mutex<()>>,
    /// The key the pre-session CSRF token is signed with (derived from the installation's secret
    /// key, so every node shares it; see `auth::csrf`).
    pub(crate) presession_key: Arc<[u8; 32]>,
    /// The node's delivery worker, when it runs one (readiness watches its heartbeat).
    pub(crate) worker: Option<runway_alerts::Worker>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn engine_store_key(engine: &Engine) -> [u8; 32] {
    engine
        .store()
        .derived_key(crate::auth::csrf::PRESESSION_KEY_PURPOSE)
}

impl AppState {
    /// The state for an engine: its store and clock are the web layer's too.
    pub fn new(engine: Engine, settings: WebSettings) -> AppState {
        let presession_key = engine_store_key(&engine);
        AppState {
            store: Arc::clone(engine.store()),
            clock: Arc::clone(engine.clock()),
            engine,
            password_checks: Arc::new(tokio::sync::Semaphore::new(PASSWORD_CHECKS)),
            settings,
            setup_lock: Arc::new(tokio::sync::Mutex::new(())),
            presession_key: Arc::new(presession_key),
            worker: None,
        }
    }

    /// The state with the node's delivery worker, whose heartbeat readiness checks.
    #[must_use]
    pub fn with_worker(mut self, worker: runway_alerts::Worker) -> AppState {
        self.worker = Some(worker);
        self
    }

    /// The current instant, from the clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
