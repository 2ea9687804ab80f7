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
/// Claims due outbox rows (see `sql/delivery.rs` and the SQLite twin): `FOR UPDATE SKIP
/// LOCKED`, so nodes claiming at once split the rows instead of waiting on each other.
pub(crate) const CLAIM_DELIVERIES: &str = "WITH due AS (SELECT d.id FROM deliveries d \
         WHERE d.state = 'pending' AND d.not_before <= $3 \
         AND (d.lease_until IS NULL OR d.lease_until <= $3) \
         AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.tenant_id = d.tenant_id \
             AND e.channel_id = d.channel_id AND e.series_key = d.series_key AND e.id < d.id \
             AND e.state = 'pending' AND e.escalation_level IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.tenant_id = d.tenant_id \
             AND c.id = d.channel_id AND c.paused_at IS NOT NULL) \
         ORDER BY d.not_before, d.id LIMIT $4 FOR UPDATE OF d SKIP LOCKED) \
     UPDATE deliveries SET lease_owner = $1, lease_until = $2 FROM due \
     WHERE deliveries.id = due.id RETURNING deliveries.id";

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
    if let Err(err) = crate::migrations::postgres().run(&pool).await {
        let written_by: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT value FROM store_meta WHERE name = $1")
                .bind(crate::migrations::WRITTEN_BY)
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
        pool.close().await;
        return Err(crate::migrations::refusal(err, written_by.as_deref()));
    }
    tracing::info!("opened the PostgreSQL database");
    Ok(SqlStore::new(
        Db::Postgres(pool),
        options.secret_key.clone(),
        None,
    ))
}
