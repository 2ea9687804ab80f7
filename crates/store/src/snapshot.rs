//! Looking at a database without opening it as a store, for `runway backup`, `restore` and
//! `doctor`: which schema it is at, which release wrote it, whether a key opens it — and, for
//! SQLite, an online snapshot.
//!
//! None of this migrates, and none of it takes the SQLite node lock: a running node keeps the
//! database, and these read it beside it. SQLite is read through a read-only connection, so the
//! file is never written; WAL lets that reader see the last commit while the node writes.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::error::{Result, StoreError};
use crate::migrations::{WRITTEN_BY, WrittenBy};
use crate::secret_key::{SealedFor, SecretKey};
use crate::sql::db::{Db, Sql};
use crate::{Backend, backend_for_url};

/// What a database says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Its backend.
    pub backend: Backend,
    /// The newest schema step applied (0 for an empty database).
    pub schema: i64,
    /// The release that brought it to that schema, if it recorded itself.
    pub written_by: Option<WrittenBy>,
    /// Whether the key given to [`inspect`] opens its key check value; `None` when no key was
    /// given or the database has none yet (it was never opened as a store).
    pub key_opens: Option<bool>,
    /// SQLite's journal mode (`wal` for every database Runway made); `None` on PostgreSQL.
    pub journal_mode: Option<String>,
    /// How many tenants it holds.
    pub tenants: i64,
    /// How many instances it holds, across tenants.
    pub instances: i64,
    /// The PBXs' clocks against this host's over the recent reads, when they said.
    pub clock_offset: Option<ClockOffset>,
}

/// The PBXs' clocks minus the host's, over the last reads whose answers carried a `Date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffset {
    /// The median offset in seconds: one PBX with a wrong clock does not move it.
    pub median_secs: i64,
    /// How many reads it was taken over.
    pub reads: usize,
}

/// Reads whose offsets are compared: the most recent, within the last week.
const OFFSET_READS: i64 = 200;
const OFFSET_WINDOW_SECS: i64 = 7 * 86_400;

impl Inspection {
    /// Whether this build can open it: its schema is not newer than the newest this build knows.
    pub fn is_supported(&self) -> bool {
        self.schema <= crate::migrations::latest()
    }
}

/// Inspects the database `url` names, read-only. A missing SQLite file is an error, not a new
/// database.
pub async fn inspect(url: &str, key: Option<&SecretKey>) -> Result<Inspection> {
    let url = url.trim();
    let backend = backend_for_url(url)?;
    let db = connect(url, backend).await?;
    let inspected = inspect_db(&db, backend, key).await;
    db.close().await;
    inspected
}

/// Opens the database `url` names as a store that only reads, for `runway status` and
/// `runway calendar` beside a running node: no node lock, no migrations, no writes (a SQLite
/// file is opened read-only). The database must be at this release's schema and `key` must open
/// it; anything else is refused with what to do. Calls that write fail.
pub async fn open_read_only(url: &str, key: SecretKey) -> Result<Arc<dyn crate::Store>> {
    let url = url.trim();
    let backend = backend_for_url(url)?;
    let db = connect(url, backend).await?;
    let refusal = match inspect_db(&db, backend, Some(&key)).await {
        Err(err) => Some(err),
        Ok(found) if found.schema == 0 => Some(StoreError::invalid(
            "the database is empty: `runway serve` (or `runway admin init`) sets it up",
        )),
        Ok(found) if found.schema > crate::migrations::latest() => Some(StoreError::NewerSchema {
            written_by: found
                .written_by
                .map_or_else(|| "a newer release".to_owned(), |w| w.release),
            schema: found.schema,
            this: crate::migrations::RELEASE,
            known: crate::migrations::latest(),
        }),
        Ok(found) if found.schema < crate::migrations::latest() => {
            Some(StoreError::invalid(format!(
                "the database is at schema {}, older than this release's {}: start `runway \
                 serve` of this release once to migrate it, then try again",
                found.schema,
                crate::migrations::latest()
            )))
        }
        Ok(found) if found.key_opens == Some(false) => Some(StoreError::Crypto),
        Ok(_) => None,
    };
    if let Some(err) = refusal {
        db.close().await;
        return Err(err);
    }
    Ok(Arc::new(crate::sql::SqlStore::new(db, key, None)))
}

/// Writes a consistent copy of the SQLite database `url` to `dest` (which must not exist) with
/// `VACUUM INTO`, while a Runway node may be running on it, and inspects the copy. The copy is
/// a complete database in one file, with no `-wal` file beside it to lose.
pub async fn snapshot_sqlite(
    url: &str,
    dest: &Path,
    key: Option<&SecretKey>,
) -> Result<Inspection> {
    let url = url.trim();
    if backend_for_url(url)? != Backend::Sqlite {
        return Err(StoreError::invalid(
            "an online snapshot is for SQLite; back PostgreSQL up with pg_dump",
        ));
    }
    if dest.exists() {
        return Err(StoreError::invalid(format!(
            "{} already exists; the snapshot is written to a new file",
            dest.display()
        )));
    }
    let dest_text = dest
        .to_str()
        .ok_or_else(|| StoreError::invalid(format!("{} is not a UTF-8 path", dest.display())))?;
    let db = connect(url, Backend::Sqlite).await?;
    let written = db
        .write(Sql::new("VACUUM INTO $1").bind(dest_text.to_owned()))
        .await;
    db.close().await;
    written.map_err(|err| {
        StoreError::backend(format!(
            "cannot write the snapshot {}: {err}",
            dest.display()
        ))
    })?;
    release_leases(dest).await?;
    inspect(&format!("sqlite://{dest_text}"), key).await
}

/// Clears the leases the running node held in a snapshot: they name that node and its reads in
/// flight, and a restored database would otherwise wait for them to run out before reading
/// those PBXs or sending those notifications.
async fn release_leases(snapshot: &Path) -> Result<()> {
    use sqlx::Connection as _;
    let options = SqliteConnectOptions::new().filename(snapshot);
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(StoreError::backend)?;
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name IN ('instances', 'deliveries')",
    )
    .fetch_all(&mut db)
    .await?;
    for (table,) in tables {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner IS NOT NULL"
        )))
        .execute(&mut db)
        .await?;
    }
    db.close().await.map_err(StoreError::backend)?;
    Ok(())
}

/// A read-only connection: one SQLite connection that may not write, or one PostgreSQL
/// connection.
async fn connect(url: &str, backend: Backend) -> Result<Db> {
    match backend {
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|err| {
                    StoreError::invalid(format!("the SQLite database URL is not valid: {err}"))
                })?
                .read_only(true)
                .create_if_missing(false);
            let path = options.get_filename().to_owned();
            if !path.is_file() {
                return Err(StoreError::invalid(format!(
                    "there is no database at {}",
                    path.display()
                )));
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(|err| {
                    StoreError::backend(format!("cannot read {}: {err}", path.display()))
                })?;
            Ok(Db::Sqlite {
                readers: pool.clone(),
                writer: pool,
                generations: Arc::default(),
            })
        }
        Backend::Postgres => {
            let options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(|_| {
                StoreError::invalid(
                    "the PostgreSQL database URL is not valid; expected \
                     postgres://user:password@host:port/database",
                )
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(std::time::Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(|err| {
                    StoreError::backend(format!("cannot connect to PostgreSQL: {err}"))
                })?;
            Ok(Db::Postgres(pool))
        }
    }
}

async fn inspect_db(db: &Db, backend: Backend, key: Option<&SecretKey>) -> Result<Inspection> {
    let has_migrations: Option<(i64,)> = db
        .read_optional(Sql::new(match backend {
            Backend::Sqlite => {
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT 1::BIGINT WHERE to_regclass('_sqlx_migrations') IS NOT NULL"
            }
        }))
        .await?;
    let journal_mode = match backend {
        Backend::Sqlite => db
            .read_optional::<(String,)>(Sql::new("PRAGMA journal_mode"))
            .await?
            .map(|(mode,)| mode.to_ascii_lowercase()),
        Backend::Postgres => None,
    };
    if has_migrations.is_none() {
        return Ok(Inspection {
            backend,
            schema: 0,
            written_by: None,
            key_opens: None,
            journal_mode,
            tenants: 0,
            instances: 0,
            clock_offset: None,
        });
    }
    let (schema,): (i64,) = db
        .read_optional(Sql::new(
            "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
        ))
        .await?
        .unwrap_or((0,));
    let meta =
        |name: &'static str| Sql::new("SELECT value FROM store_meta WHERE name = $1").bind(name);
    let written: Option<(Vec<u8>,)> = db.read_optional(meta(WRITTEN_BY)).await?;
    let check: Option<(Vec<u8>,)> = db.read_optional(meta("key_check")).await?;
    let key_opens = match (key, check) {
        (Some(key), Some((sealed,))) => Some(key.open(&sealed, &SealedFor::KeyCheck).is_ok()),
        _ => None,
    };
    let count = |table: &'static str| Sql::new(format!("SELECT COUNT(*) FROM {table}"));
    let (tenants,): (i64,) = db.read_optional(count("tenants")).await?.unwrap_or((0,));
    let (instances,): (i64,) = db.read_optional(count("instances")).await?.unwrap_or((0,));
    let clock_offset = if schema >= 12 {
        let since = jiff::Timestamp::now().as_second() - OFFSET_WINDOW_SECS;
        let mut offsets: Vec<i64> = db
            .read_all::<(i64,)>(
                Sql::new(
                    "SELECT clock_offset_secs FROM poll_attempts \
                     WHERE clock_offset_secs IS NOT NULL AND started_at >= $1 \
                     ORDER BY started_at DESC LIMIT $2",
                )
                .bind(since)
                .bind(OFFSET_READS),
            )
            .await?
            .into_iter()
            .map(|(offset,)| offset)
            .collect();
        offsets.sort_unstable();
        offsets
            .get(offsets.len() / 2)
            .map(|&median_secs| ClockOffset {
                median_secs,
                reads: offsets.len(),
            })
    } else {
        None
    };
    Ok(Inspection {
        clock_offset,
        backend,
        schema,
        tenants,
        instances,
        written_by: WrittenBy::parse(written.as_ref().map(|w| w.0.as_slice())),
        key_opens,
        journal_mode,
    })
}
