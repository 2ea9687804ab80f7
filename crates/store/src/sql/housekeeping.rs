//! [`Housekeeping`]: deleting history older than each tenant's retention.

use async_trait::async_trait;
use jiff::Timestamp;

use super::SqlStore;
use super::db::Sql;
use super::rows::seconds;
use crate::audit::Pruned;
use crate::error::Result;
use crate::store::Housekeeping;

/// Rows deleted per statement: each batch is its own short write, so polls wait little.
const BATCH: i64 = 5000;

/// Seconds in a retention day.
const DAY: i64 = 86_400;

impl SqlStore {
    /// Deletes, batch by batch, the rows of `table` that `old` (a condition on the row `x`
    /// joined to its tenant `t`) selects; returns how many.
    async fn prune(&self, table: &str, old: &str, now: Timestamp) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let batch = self
                .db
                .write(
                    Sql::new(format!(
                        "DELETE FROM {table} WHERE id IN (SELECT x.id FROM {table} x \
                         JOIN tenants t ON t.id = x.tenant_id WHERE {old} LIMIT $2)"
                    ))
                    .bind(seconds(now))
                    .bind(BATCH),
                )
                .await?;
            deleted += batch;
            if batch < u64::try_from(BATCH).unwrap_or(u64::MAX) {
                return Ok(deleted);
            }
        }
    }
}

#[async_trait]
impl Housekeeping for SqlStore {
    async fn prune_history(&self, now: Timestamp) -> Result<Pruned> {
        let history = format!("$1 - t.history_retention_days * {DAY}");
        let attempts = format!("x.started_at < $1 - t.attempt_retention_days * {DAY}");
        Ok(Pruned {
            attempts: self.prune("poll_attempts", &attempts, now).await?,
            events: self
                .prune("instance_events", &format!("x.at < {history}"), now)
                .await?,
            readings: self
                .prune(
                    "license_readings",
                    &format!(
                        "COALESCE(x.last_read_at, x.read_at) < {history} AND NOT EXISTS \
                         (SELECT 1 FROM current_licenses cl WHERE cl.tenant_id = x.tenant_id \
                         AND cl.instance_id = x.instance_id AND cl.reading_id = x.id)"
                    ),
                    now,
                )
                .await?,
            audit_entries: self
                .prune("audit_log", &format!("x.at < {history}"), now)
                .await?,
        })
    }
}
