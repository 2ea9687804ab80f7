//! Leasing due instances to poller nodes: across tenants, by design (this is the scheduler).
//!
//! A lease is `lease_owner` + `lease_until` on the instance row. `lease_due`
//! marks due rows leased and returns them in one transaction; the statement that picks and marks
//! them is the backend's own (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent nodes skip
//! each other's rows instead of waiting; SQLite's single writer serialises it). A node that dies
//! mid-read simply lets its leases lapse, and the rows become due for another node.

use async_trait::async_trait;
use std::time::Duration;

use jiff::Timestamp;

use super::db::{Db, Sql, params};
use super::rows::{INSTANCE_COLUMNS, INSTANCE_FROM, InstanceRow, duration_secs, seconds};
use super::{SqlStore, missing};
use crate::error::{Result, StoreError};
use crate::ids::{InstanceId, TenantId};
use crate::instance::Instance;
use crate::store::{Instances as _, Leasing};
use crate::validate;

/// The most instances one `lease_due` call hands out.
const MAX_LEASE_BATCH: u32 = 1000;

#[async_trait]
impl Leasing for SqlStore {
    async fn lease_due(
        &self,
        now: Timestamp,
        node: &str,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Instance>> {
        let node = validate::name(node, "node id", 200)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        if lease_for.is_zero() {
            return Err(StoreError::invalid("a lease must last at least a second"));
        }
        let now = seconds(now);
        let until = now.saturating_add(duration_secs(lease_for).max(1));
        let statement = match self.db {
            Db::Sqlite { .. } => crate::sqlite::LEASE_DUE,
            Db::Postgres(_) => crate::postgres::LEASE_DUE,
        };
        let mut tx = self.db.begin().await?;
        let leased: Vec<(i64,)> = tx
            .all(
                Sql::new(statement)
                    .bind(node)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit.min(MAX_LEASE_BATCH))),
            )
            .await?;
        if leased.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let select = Sql::new(format!(
            "SELECT {INSTANCE_COLUMNS} FROM {INSTANCE_FROM} WHERE i.id IN ({}) \
             ORDER BY i.next_poll_at, i.id",
            params(1, leased.len())
        ))
        .bind_all(leased.into_iter().map(|(id,)| id));
        let rows: Vec<InstanceRow> = tx.all(select).await?;
        tx.commit().await?;
        rows.into_iter().map(Instance::try_from).collect()
    }

    async fn lease_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        node: &str,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Option<Instance>> {
        let node = validate::name(node, "node id", 200)?;
        if lease_for.is_zero() {
            return Err(StoreError::invalid("a lease must last at least a second"));
        }
        let now = seconds(now);
        let until = now.saturating_add(duration_secs(lease_for).max(1));
        // One statement: the row lock (PostgreSQL) or the single writer (SQLite) makes taking
        // a free lease atomic, so two nodes never both win it.
        let taken = self
            .db
            .write(
                Sql::new(
                    "UPDATE instances SET lease_owner = $3, lease_until = $4 \
                     WHERE tenant_id = $1 AND id = $2 \
                     AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $5)",
                )
                .bind(tenant.0)
                .bind(instance.0)
                .bind(node)
                .bind(until)
                .bind(now),
            )
            .await?;
        // Read the row either way: it tells a missing instance from one being read.
        let found = self.instance(tenant, instance).await?;
        Ok((taken > 0).then_some(found))
    }

    async fn finish_lease(
        &self,
        instance: InstanceId,
        node: &str,
        next_poll_at: Timestamp,
    ) -> Result<bool> {
        let released = self
            .db
            .write(
                Sql::new(
                    "UPDATE instances SET lease_owner = NULL, lease_until = NULL, \
                     next_poll_at = $3 WHERE id = $1 AND lease_owner = $2",
                )
                .bind(instance.0)
                .bind(node)
                .bind(seconds(next_poll_at)),
            )
            .await?;
        Ok(released > 0)
    }

    async fn request_poll_now(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        now: Timestamp,
    ) -> Result<()> {
        let changed = self
            .db
            .write(
                Sql::new(
                    "UPDATE instances \
                     SET next_poll_at = CASE WHEN next_poll_at > $3 THEN $3 ELSE next_poll_at END \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(instance.0)
                .bind(seconds(now)),
            )
            .await?;
        if changed == 0 {
            return Err(missing("instance", instance));
        }
        Ok(())
    }
}
