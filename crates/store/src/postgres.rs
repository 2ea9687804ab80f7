//! The PostgreSQL backend: for large fleets and several Runway nodes.
//!
//! Connects with a pool, applies `migrations/postgres` (sqlx takes an advisory lock, so nodes
//! starting together migrate once), and leases due polls with `FOR UPDATE SKIP LOCKED`: two
//! nodes asking at the same moment get disjoint sets of instances without waiting on each other.
//! Connection errors never repeat the URL, which may hold a password.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::OpenOptions;
use crate::error::{Result, StoreError};
use crate::sql::SqlStore;
use crate::sql::db::Db;

/// Picks and marks due instances (see [`crate::Leasing::lease_due`]). The locking CTE runs once;
/// rows another node holds locked are skipped. `$1` node, `$2` lease end, `$3` now, `$4` limit.
pub(crate) const LEASE_DUE: &str = "WITH due AS (SELECT id FROM instances \
         WHERE enabled AND login_kind <> 'manual' AND next_poll_at <= $3 \
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $3) \
         ORDER BY next_poll_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
     UPDATE instances SET lease_owner = $1, lease_until = $2 FROM due \
     WHERE instances.id = due.id RETURNING instances.id";

/// Connects to and migrates a PostgreSQL database.
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<SqlStore> {
    let connect = PgConnectOptions::from_str(url).map_err(|_| {
        StoreError::invalid(
            "the PostgreSQL database URL is not valid; expected \
             postgres://user:password@host:port/database",
        )
    })?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .connect_with(connect)
        .await
        .map_err(|err| StoreError::backend(format!("cannot connect to PostgreSQL: {err}")))?;
    crate::migrations::postgres().run(&pool).await?;
    tracing::info!("opened the PostgreSQL database");
    Ok(SqlStore::new(
        Db::Postgres(pool),
        options.secret_key.clone(),
        None,
    ))
}
