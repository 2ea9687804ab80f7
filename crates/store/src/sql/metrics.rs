//! Counts for the Prometheus metrics: each one statement over the tenant's whole fleet, never
//! one per instance, so a scrape of a large fleet costs a few queries.

use async_trait::async_trait;
use jiff::Timestamp;
use runway_core::FailureKind;

use super::SqlStore;
use super::db::Sql;
use super::rows::seconds;
use crate::delivery::DeliveryState;
use crate::error::Result;
use crate::ids::{InstanceId, TenantId};
use crate::metrics::{DeliveryCounts, ReadFailureCount};
use crate::store::Metrics;

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

#[async_trait]
impl Metrics for SqlStore {
    async fn read_failure_counts(&self, tenant: TenantId) -> Result<Vec<ReadFailureCount>> {
        let rows: Vec<(i64, String, i64)> = self
            .db
            .read_all(
                Sql::new(
                    "SELECT instance_id, error_kind, COUNT(*) FROM poll_attempts \
                     WHERE tenant_id = $1 AND outcome = 'error' \
                     GROUP BY instance_id, error_kind ORDER BY instance_id, error_kind",
                )
                .bind(tenant.0),
            )
            .await?;
        // Kinds a newer Runway stored read back as `Unknown`: several of them add up.
        let mut counts: Vec<ReadFailureCount> = Vec::with_capacity(rows.len());
        for (instance, kind, n) in rows {
            let (instance, kind) = (InstanceId(instance), FailureKind::from_stored(&kind));
            match counts
                .iter_mut()
                .find(|c| c.instance == instance && c.kind == kind)
            {
                Some(existing) => existing.count += count(n),
                None => counts.push(ReadFailureCount {
                    instance,
                    kind,
                    count: count(n),
                }),
            }
        }
        Ok(counts)
    }

    async fn instances_due(&self, tenant: TenantId, now: Timestamp) -> Result<u64> {
        let (due,): (i64,) = self
            .db
            .read_optional(
                Sql::new(
                    "SELECT COUNT(*) FROM instances \
                     WHERE tenant_id = $1 AND enabled AND login_kind <> 'manual' \
                     AND next_poll_at <= $2 \
                     AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $2)",
                )
                .bind(tenant.0)
                .bind(seconds(now)),
            )
            .await?
            .unwrap_or((0,));
        Ok(count(due))
    }

    async fn delivery_counts(&self, tenant: TenantId) -> Result<DeliveryCounts> {
        let rows: Vec<(String, i64)> = self
            .db
            .read_all(
                Sql::new(
                    "SELECT state, COUNT(*) FROM deliveries WHERE tenant_id = $1 GROUP BY state",
                )
                .bind(tenant.0),
            )
            .await?;
        let mut counts = DeliveryCounts::default();
        for (state, n) in rows {
            // The schema's CHECK allows only the known states.
            let Ok(state) = state.parse::<DeliveryState>() else {
                continue;
            };
            let slot = match state {
                DeliveryState::Pending => &mut counts.pending,
                DeliveryState::Sent => &mut counts.sent,
                DeliveryState::Failed => &mut counts.failed,
                DeliveryState::Cancelled => &mut counts.cancelled,
            };
            *slot += count(n);
        }
        Ok(counts)
    }
}
