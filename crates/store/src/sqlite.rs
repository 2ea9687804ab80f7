//! The SQLite backend: the default, one file, one node.
//!
//! Opening a file database takes the node lock ([`crate::node_lock`]) before anything else, then
//! connects with WAL journaling (readers never block the writer), `synchronous = NORMAL` (durable
//! across a crash of the process; a power cut may lose the last commits but never corrupts),
//! foreign keys on, and a busy timeout. The database and its directory are created if missing,
//! and `migrations/sqlite` is applied. Writes go through a single writer connection and reads
//! through a small pool of read-only connections (see [`crate::sql::db`]).
//!
//! `sqlite::memory:` (tests, demos) uses one connection for everything: every connection to an
//! in-memory database would otherwise see its own, empty database. It takes no node lock.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::OpenOptions;
use crate::error::{Result, StoreError};
use crate::node_lock::NodeLock;
use crate::sql::SqlStore;
use crate::sql::db::Db;

/// Picks and marks due instances (see [`crate::Leasing::lease_due`]). SQLite has one writer at a
/// time, so the statement alone is atomic. `$1` node, `$2` lease end, `$3` now, `$4` limit.
/// Claims due outbox rows (see `sql/delivery.rs`): pending, due, not leased, and not behind an
/// earlier pending row of the same channel and series, so a resolve never overtakes its
/// trigger. SQLite's single writer serialises concurrent claims.
pub(crate) const CLAIM_DELIVERIES: &str = "UPDATE deliveries SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (SELECT d.id FROM deliveries d \
         WHERE d.state = 'pending' AND d.not_before <= $3 \
         AND (d.lease_until IS NULL OR d.lease_until <= $3) \
         AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.tenant_id = d.tenant_id \
             AND e.channel_id = d.channel_id AND e.series_key = d.series_key AND e.id < d.id \
             AND e.state = 'pending' AND e.escalation_level IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.tenant_id = d.tenant_id \
             AND c.id = d.channel_id AND c.paused_at IS NOT NULL) \
         ORDER BY d.not_before, d.id LIMIT $4) \
     RETURNING id";

pub(crate) const LEASE_DUE: &str = "UPDATE instances SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM instances \
         WHERE enabled AND login_kind <> 'manual' AND next_poll_at <= $3 \
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $3) \
         ORDER BY next_poll_at, id LIMIT $4) \
     RETURNING id";

/// Whether the URL names an in-memory database.
fn is_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

/// Opens (creating if needed), locks and migrates a SQLite database.
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<SqlStore> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(|err| StoreError::invalid(format!("the SQLite database URL is not valid: {err}")))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout)
        // sqlx hands rows from its SQLite thread to ours through a channel of this size; at the
        // default 50 a 5,000-row fleet query spends most of its time switching threads.
        .row_buffer_size(4096);

    if is_memory(url) {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        crate::migrations::sqlite().run(&pool).await?;
        let db = Db::Sqlite {
            readers: pool.clone(),
            writer: pool,
            generations: Arc::default(),
        };
        return Ok(SqlStore::new(db, options.secret_key.clone(), None));
    }

    let path = connect.get_filename().to_owned();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| {
            StoreError::backend(format!(
                "cannot create the directory {}: {err}",
                dir.display()
            ))
        })?;
    }
    let lock = NodeLock::acquire(&path)?;
    // A local file needs no ping before each use (sqlx's default): it would cost a hand-off to
    // the connection's thread per transaction, and a broken connection fails its statement.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(connect.clone().create_if_missing(true))
        .await?;
    if let Err(err) = crate::migrations::sqlite().run(&writer).await {
        let written_by = written_by(&writer).await;
        writer.close().await;
        return Err(crate::migrations::refusal(err, written_by.as_deref()));
    }
    let readers = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .test_before_acquire(false)
        .connect_with(connect.read_only(true))
        .await?;
    tracing::info!(path = %path.display(), "opened the SQLite database");
    Ok(SqlStore::new(
        Db::Sqlite {
            readers,
            writer,
            generations: Arc::default(),
        },
        options.secret_key.clone(),
        Some(lock),
    ))
}

/// The database's `store_meta` row naming the release that wrote it, if it can be read.
pub(crate) async fn written_by(pool: &sqlx::SqlitePool) -> Option<Vec<u8>> {
    sqlx::query_scalar("SELECT value FROM store_meta WHERE name = $1")
        .bind(crate::migrations::WRITTEN_BY)
        .fetch_optional(pool)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_memory("sqlite::memory:"));
        assert!(is_memory("sqlite://:memory:"));
        assert!(is_memory("sqlite://?mode=memory&cache=shared"));
        assert!(!is_memory("sqlite://data/runway.db"));
        assert!(!is_memory("sqlite:runway.db?mode=rwc"));
    }
}
