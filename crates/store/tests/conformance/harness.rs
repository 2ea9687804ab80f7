//! The harness: a fresh database per test on each backend, plus fixtures and raw SQL access.
//!
//! Every conformance test is an `async fn(Harness)` written once against `&dyn Store`;
//! [`conformance!`] turns a list of them into one `#[tokio::test]` per backend:
//!
//! - **SQLite**, always: a new file in a temporary directory.
//! - **PostgreSQL**, when `RUNWAY_TEST_POSTGRES_URL` points at a server (an admin URL such as
//!   `postgres://postgres@127.0.0.1:5432/postgres`): each test creates a database with a random
//!   name and drops it afterwards, even when the test fails. Without the variable the PostgreSQL
//!   tests skip — unless `RUNWAY_REQUIRE_SERVICES=1`, when they fail.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use runway_core::{BaseUrl, LicenseFacts, PbxLicense, Secret, Timestamp};
use runway_store::{
    Credentials, CustomerDraft, CustomerId, Instance, Login, NewAttempt, NewInstance, NewReading,
    OpenOptions, ReadingSource, SecretKey, Store, StoreError, TenantId, TenantSettings, Trigger,
};
use sqlx::{PgPool, SqlitePool};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// What a test gets: an open store on a fresh database, and ways to look underneath it.
pub(crate) struct Harness {
    /// The store under test.
    pub(crate) store: Arc<dyn Store>,
    /// The backend.
    pub(crate) kind: Kind,
    /// The database URL.
    pub(crate) url: String,
    /// The key the store was opened with.
    pub(crate) key: SecretKey,
    _dir: Option<tempfile::TempDir>,
}

/// Turns a list of `async fn(Harness)` into a test per backend.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run(crate::harness::Kind::Sqlite, super::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run(crate::harness::Kind::Postgres, super::$name).await;
                }
            )+
        }
    };
}

/// Runs one test on one backend.
pub(crate) async fn run<F, Fut>(kind: Kind, test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    runway_testkit::logs::init();
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("runway.db").display());
            let harness = Harness::open(kind, url, Some(dir)).await;
            finish(tokio::spawn(test(harness)).await);
        }
        Kind::Postgres => {
            let Some(admin) = postgres_admin_url() else {
                return;
            };
            let name = database_name();
            let admin_pool = PgPool::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin_pool)
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            let harness = Harness::open(kind, url.to_string(), None).await;
            let outcome = tokio::spawn(test(harness)).await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin_pool)
            .await
            .unwrap();
            admin_pool.close().await;
            finish(outcome);
        }
    }
}

fn finish(outcome: Result<(), tokio::task::JoinError>) {
    match outcome {
        Ok(()) => {}
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => panic!("test task failed: {err}"),
    }
}

/// The PostgreSQL admin URL, or `None` to skip (panics when services are required).
pub(crate) fn postgres_admin_url() -> Option<String> {
    match std::env::var("RUNWAY_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("RUNWAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "RUNWAY_REQUIRE_SERVICES=1 but RUNWAY_TEST_POSTGRES_URL is not set: the PostgreSQL \
                 conformance tests cannot run (scripts/test starts a throwaway cluster)"
            );
            eprintln!(
                "skipped: set RUNWAY_TEST_POSTGRES_URL to run the PostgreSQL conformance tests"
            );
            None
        }
    }
}

fn database_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "runway_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Harness {
    async fn open(kind: Kind, url: String, dir: Option<tempfile::TempDir>) -> Harness {
        let key = key();
        let store = runway_store::open(&url, OpenOptions::new(key.clone()))
            .await
            .unwrap();
        Harness {
            store,
            kind,
            url,
            key,
            _dir: dir,
        }
    }

    /// The store under test.
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Closes the store and opens the same database again with `key`. The test must not hold
    /// other handles to the old store (SQLite's node lock would refuse the reopen).
    pub(crate) async fn reopen(&mut self, key: SecretKey) -> Result<(), StoreError> {
        self.store.close().await;
        let store = runway_store::open(&self.url, OpenOptions::new(key.clone())).await?;
        self.store = store;
        self.key = key;
        Ok(())
    }

    /// A second node on the same database: a new store on PostgreSQL; on SQLite (single node)
    /// the same store, shared.
    pub(crate) async fn second_node(&self) -> Arc<dyn Store> {
        match self.kind {
            Kind::Sqlite => Arc::clone(&self.store),
            Kind::Postgres => runway_store::open(&self.url, OpenOptions::new(self.key.clone()))
                .await
                .unwrap(),
        }
    }

    /// Raw access to the database, bypassing the store.
    pub(crate) async fn raw(&self) -> Raw {
        match self.kind {
            Kind::Sqlite => Raw::Sqlite(SqlitePool::connect(&self.url).await.unwrap()),
            Kind::Postgres => Raw::Postgres(PgPool::connect(&self.url).await.unwrap()),
        }
    }
}

/// A plain sqlx pool on the test database.
pub(crate) enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Raw {
    /// Rows in a table.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    /// A sealed column of an instance (`secret_sealed` or `totp_sealed`).
    pub(crate) async fn sealed(&self, column: &str, instance: i64) -> Vec<u8> {
        let sql = format!("SELECT {column} FROM instances WHERE id = $1");
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(instance)
                .fetch_one(pool)
                .await
                .unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(instance)
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    /// Overwrites an instance's sealed secret, as an attacker with database access could.
    pub(crate) async fn set_sealed_secret(&self, instance: i64, sealed: Vec<u8>) {
        let sql = "UPDATE instances SET secret_sealed = $1 WHERE id = $2";
        match self {
            Raw::Sqlite(pool) => {
                sqlx::query(sql)
                    .bind(sealed)
                    .bind(instance)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Raw::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(sealed)
                    .bind(instance)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }

    /// The names of the user tables.
    pub(crate) async fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(
                "SELECT table_name::TEXT FROM information_schema.tables \
                 WHERE table_schema = 'public'",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        names.sort();
        names
    }

    /// Runs a statement that takes no parameters.
    pub(crate) async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
            Raw::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        }
    }

    /// Closes the pool.
    pub(crate) async fn close(self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}

// --- fixtures ------------------------------------------------------------------------------------

/// A fresh installation key, registered for the secrets scan (`runway_testkit::secrets`);
/// the test's logs start here too, for tests that open stores without a [`Harness`].
pub(crate) fn key() -> SecretKey {
    runway_testkit::logs::init();
    runway_testkit::secrets::secret_key()
}

/// An instant from RFC 3339 text.
pub(crate) fn at(text: &str) -> Timestamp {
    Timestamp::from_str(text).unwrap()
}

/// A tenant with default settings.
pub(crate) async fn tenant(store: &dyn Store, name: &str) -> TenantId {
    store
        .create_tenant(&TenantSettings::new(name))
        .await
        .unwrap()
        .id
}

/// A customer.
pub(crate) async fn customer(store: &dyn Store, tenant: TenantId, name: &str) -> CustomerId {
    store
        .create_customer(tenant, &CustomerDraft::named(name))
        .await
        .unwrap()
        .id
}

/// XAPI client credentials whose secret is `secret`.
pub(crate) fn api_client(secret: &str) -> Credentials {
    runway_testkit::secrets::used(secret);
    Credentials::ApiClient {
        client_id: "runway".into(),
        client_secret: Secret::new(secret),
    }
}

/// An XAPI instance due at `now`.
pub(crate) async fn instance(
    store: &dyn Store,
    tenant: TenantId,
    customer: CustomerId,
    name: &str,
    now: Timestamp,
) -> Instance {
    let new = NewInstance::new(
        customer,
        name,
        Some(BaseUrl::parse(&format!("https://{name}.example.com:5001")).unwrap()),
        Login::Pbx(api_client(&format!("secret-of-{name}"))),
    );
    store.create_instance(tenant, &new, now).await.unwrap()
}

/// License facts with a key and an expiry.
pub(crate) fn facts(key: &str, expiry: &str) -> LicenseFacts {
    LicenseFacts::from_pbx(PbxLicense {
        license_key: Some(key.into()),
        product_code: Some("3CXPSPROFSPLA".into()),
        expiry: Some(at(expiry)),
        max_sim_calls: Some(16),
        users_used: Some(30),
        version: Some("20.0.10.1015".into()),
        ..PbxLicense::default()
    })
}

/// A successful XAPI reading at `read_at`.
pub(crate) fn reading(read_at: &str, facts: LicenseFacts) -> NewReading {
    NewReading {
        read_at: at(read_at),
        source: ReadingSource::Xapi,
        facts,
        raw_body: Some(r#"{"LicenseKey":"raw"}"#.into()),
    }
}

/// Facts typed in for a manual instance at `read_at`.
pub(crate) fn manual_reading(read_at: &str, facts: LicenseFacts) -> NewReading {
    NewReading {
        read_at: at(read_at),
        source: ReadingSource::Manual,
        facts,
        raw_body: None,
    }
}

/// A scheduled attempt that started at `started_at` and took 1.5 s.
pub(crate) fn attempt(started_at: &str) -> NewAttempt {
    NewAttempt {
        started_at: at(started_at),
        duration: Duration::from_millis(1500),
        trigger: Trigger::Schedule,
        clock_offset: None,
    }
}

/// Asserts a `NotFound`.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Asserts a `Conflict` whose message contains `text`.
#[track_caller]
pub(crate) fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, text: &str) {
    match result {
        Err(err @ StoreError::Conflict { .. }) => {
            assert!(
                err.to_string().contains(text),
                "{err} does not say {text:?}"
            );
        }
        other => panic!("expected Conflict saying {text:?}, got {other:?}"),
    }
}

/// Asserts an `Invalid` whose message contains `text`.
#[track_caller]
pub(crate) fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, text: &str) {
    match result {
        Err(err @ StoreError::Invalid { .. }) => {
            assert!(
                err.to_string().contains(text),
                "{err} does not say {text:?}"
            );
        }
        other => panic!("expected Invalid saying {text:?}, got {other:?}"),
    }
}
