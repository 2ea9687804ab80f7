//! A fleet to poll: a database, a simulated fleet loaded into it, and an engine on a clock
//! that only moves when a test moves it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use runway_clock::ManualClock;
use runway_engine::{Engine, EngineConfig, SchedulePolicy};
use runway_sim::{Scenario, ScenarioFormat, Scheme, SimHandle, SimOptions, SimServer};
use runway_sim_fleet::load_sim_fleet;
use runway_store::{Attempt, InstanceId, LicenseState, Store, TenantId, TenantSettings};
use runway_testkit::{Backend, TestDb};
use runway_threecx::ReadLimits;

/// The read timeout of test engines: short, so hanging PBXs cost little.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(1500);

/// Runs one test body per backend.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(runway_testkit::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(runway_testkit::Backend::Postgres).await;
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;

pub(crate) struct Fleet {
    pub(crate) db: TestDb,
    pub(crate) sim: SimHandle,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) tenant: TenantId,
    /// Scenario PBX id → instance.
    pub(crate) ids: HashMap<String, InstanceId>,
}

impl Fleet {
    /// The scenario's PBXs as instances of one tenant, read over HTTPS. `None` when the
    /// backend is not available (PostgreSQL without `RUNWAY_TEST_POSTGRES_URL`).
    pub(crate) async fn start(backend: Backend, scenario_toml: &str) -> Option<Fleet> {
        let db = TestDb::new(backend).await?;
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let scenario =
            Scenario::parse(scenario_toml, ScenarioFormat::Toml, "test.toml", now).unwrap();
        // For the secrets scan: the PBX secrets the engine will log in with.
        runway_testkit::secrets::scenario(&scenario);
        // What the binary does in `main`: one TLS provider for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = SimServer::start(scenario.clone(), SimOptions::default())
            .await
            .unwrap();
        let mut settings = TenantSettings::new("Acme MSP");
        settings.zone = runway_core::Zone::parse("America/New_York").unwrap();
        let tenant = db.store.create_tenant(&settings).await.unwrap().id;
        let loaded = load_sim_fleet(&*db.store, tenant, &sim, &scenario, Scheme::Https, now)
            .await
            .unwrap();
        let ids = loaded
            .into_iter()
            .map(|pbx| (pbx.pbx_id, pbx.instance))
            .collect();
        Some(Fleet {
            db,
            sim,
            clock: Arc::new(ManualClock::new(now)),
            tenant,
            ids,
        })
    }

    pub(crate) fn store(&self) -> &dyn Store {
        &*self.db.store
    }

    pub(crate) fn clock_now(&self) -> Timestamp {
        use runway_clock::Clock as _;
        self.clock.now()
    }

    pub(crate) fn id(&self, pbx: &str) -> InstanceId {
        self.ids[pbx]
    }

    /// An engine on this fleet's store and clock.
    pub(crate) fn engine(&self, node: &str, concurrency: usize) -> Engine {
        self.engine_on(Arc::clone(&self.db.store), node, concurrency)
    }

    /// An engine on another store handle (another node's connection pool).
    pub(crate) fn engine_on(
        &self,
        store: Arc<dyn Store>,
        node: &str,
        concurrency: usize,
    ) -> Engine {
        let config = EngineConfig {
            node_id: node.to_owned(),
            concurrency,
            read_limits: ReadLimits {
                timeout: TIMEOUT,
                ..ReadLimits::default()
            },
            schedule: SchedulePolicy {
                jitter: 0.0,
                ..SchedulePolicy::default()
            },
            network: runway_threecx::NetworkPolicy::allowing_loopback(),
            ..EngineConfig::default()
        };
        Engine::new(store, self.clock.clone(), config)
    }

    pub(crate) async fn license(&self, pbx: &str) -> LicenseState {
        self.store()
            .license(self.tenant, self.id(pbx))
            .await
            .unwrap()
    }

    pub(crate) async fn attempts(&self, pbx: &str) -> Vec<Attempt> {
        self.store()
            .attempts(self.tenant, self.id(pbx), 1000)
            .await
            .unwrap()
    }

    /// The PBX's expiry as the simulator holds it now.
    pub(crate) fn sim_expiry(&self, pbx: &str) -> Option<Timestamp> {
        self.sim.pbx(pbx).unwrap().license().expiry.instant()
    }
}

/// A healthy v20 PBX of the scenario format.
pub(crate) fn pbx(id: &str, expiry: &str, extra: &str) -> String {
    let latency = if extra.contains("latency") {
        ""
    } else {
        r#"latency = "5..20""#
    };
    format!(
        r#"
[[pbx]]
id = "{id}"
customer = "Customer {id}"
name = "{id}"
version = "20.0.10.1109"
login = {{ kind = "client_credentials", client_id = "runway", client_secret = "secret-{id}" }}
product_code = "3CXPSPROFENTSPLA"
expiry = "{expiry}"
max_sim_calls = 16
users = 20
{latency}
{extra}
"#
    )
}
