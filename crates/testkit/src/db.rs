//! A fresh database per test.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use runway_store::{OpenOptions, SecretKey, Store};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A new database on `RUNWAY_TEST_POSTGRES_URL`'s server.
    Postgres,
}

/// The PostgreSQL admin URL from `RUNWAY_TEST_POSTGRES_URL`, or `None` when it is not set.
///
/// # Panics
/// When it is not set but `RUNWAY_REQUIRE_SERVICES=1` (CI): a missing service must fail the
/// run, never skip it.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("RUNWAY_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("RUNWAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "RUNWAY_REQUIRE_SERVICES=1 but RUNWAY_TEST_POSTGRES_URL is not set: the \
                 PostgreSQL tests cannot run (scripts/test starts a throwaway cluster)"
            );
            eprintln!("skipped: set RUNWAY_TEST_POSTGRES_URL to run the PostgreSQL tests");
            None
        }
    }
}

/// A store on a fresh database, removed when dropped.
pub struct TestDb {
    /// The store, open.
    pub store: Arc<dyn Store>,
    /// The database URL (to open a second store on the same database, as another node would).
    pub url: String,
    /// The key the store was opened with.
    pub key: SecretKey,
    /// Which backend.
    pub backend: Backend,
    dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A fresh database on `backend`; `None` when PostgreSQL is asked for but not configured
    /// (see [`postgres_admin_url`]).
    ///
    /// # Panics
    /// When the database cannot be created or opened: a test cannot go on without it.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        TestDb::with_key(backend, crate::secrets::secret_key()).await
    }

    /// [`TestDb::new`] sealed with a key the test chose (e.g. one it also hands to a command).
    ///
    /// # Panics
    /// As [`TestDb::new`].
    pub async fn with_key(backend: Backend, key: runway_store::SecretKey) -> Option<TestDb> {
        crate::logs::init();
        let (url, dir, postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("runway.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let admin = postgres_admin_url()?;
                let name = database_name();
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .expect("connect to RUNWAY_TEST_POSTGRES_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .expect("create a test database");
                pool.close().await;
                let mut url = url::Url::parse(&admin).expect("RUNWAY_TEST_POSTGRES_URL is a URL");
                url.set_path(&format!("/{name}"));
                (url.to_string(), None, Some((admin, name)))
            }
        };
        let store = runway_store::open(&url, OpenOptions::new(key.clone()))
            .await
            .expect("open the test database");
        Some(TestDb {
            store,
            url,
            key,
            backend,
            dir,
            postgres,
        })
    }

    /// Opens another store on the same database (another node). SQLite refuses: one node only.
    pub async fn open_again(&self) -> runway_store::Result<Arc<dyn Store>> {
        runway_store::open(&self.url, OpenOptions::new(self.key.clone())).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async (and maybe while a test panics): drop the database from a
        // thread of its own with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&pool)
                .await
                .map_err(std::io::Error::other)?;
                pool.close().await;
                Ok::<(), std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop a test database: {dropped:?}");
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
