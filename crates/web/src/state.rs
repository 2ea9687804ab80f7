//! What every handler shares: the store, the engine, the clock and the web settings.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use runway_clock::Clock;
use runway_engine::Engine;
use runway_store::Store;

use crate::auth::throttle::LoginThrottle;

/// How the web layer behaves; [`WebSettings::default`] suits `runway serve` on localhost.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies `Secure` (set when Runway is served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_lifetime: Duration,
    /// Failed sign-ins per email address within [`WebSettings::throttle_window`] before further
    /// attempts are refused until the window has passed.
    pub max_failed_logins: u32,
    /// The window failed sign-ins are counted in.
    pub throttle_window: Duration,
}

impl Default for WebSettings {
    fn default() -> WebSettings {
        WebSettings {
            secure_cookies: false,
            session_lifetime: Duration::from_hours(12),
            max_failed_logins: 5,
            throttle_window: Duration::from_mins(15),
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
    pub(crate) throttle: Arc<LoginThrottle>,
    /// Serialises first-run setup so two browsers cannot both create the first tenant.
    pub(crate) setup_lock: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for an engine: its store and clock are the web layer's too.
    pub fn new(engine: Engine, settings: WebSettings) -> AppState {
        AppState {
            store: Arc::clone(engine.store()),
            clock: Arc::clone(engine.clock()),
            engine,
            throttle: Arc::new(LoginThrottle::new(
                settings.max_failed_logins,
                settings.throttle_window,
            )),
            settings,
            setup_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The current instant, from the clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
