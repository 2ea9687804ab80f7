//! [`Audit`]: a tenant's audit log.

use async_trait::async_trait;

use super::db::Sql;
use super::rows::{instant, parse, seconds};
use super::{SqlStore, limit};
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::error::Result;
use crate::ids::{AuditEntryId, TenantId, UserId};
use crate::store::Audit;
use crate::validate::truncate;

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    user_id: Option<i64>,
    via: String,
    address: String,
    action: String,
    target: String,
    detail: String,
}

const AUDIT_COLUMNS: &str = "id, at, actor, user_id, via, address, action, target, detail";

impl TryFrom<AuditRow> for AuditEntry {
    type Error = crate::StoreError;
    fn try_from(row: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: AuditEntryId(row.id),
            at: instant(row.at)?,
            actor: row.actor,
            user_id: row.user_id.map(UserId),
            via: parse(&row.via, "audit entry", row.id)?,
            address: row.address,
            action: row.action,
            target: row.target,
            detail: row.detail,
        })
    }
}

#[async_trait]
impl Audit for SqlStore {
    async fn record_audit(&self, tenant: TenantId, entry: &NewAuditEntry) -> Result<()> {
        self.db
            .write(
                Sql::new(
                    "INSERT INTO audit_log (tenant_id, at, actor, user_id, via, address, action, \
                     target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(tenant.0)
                .bind(seconds(entry.at))
                .bind(truncate(&entry.actor, 320))
                .bind(entry.user_id.map(|u| u.0))
                .bind(entry.via.as_str())
                .bind(truncate(&entry.address, 100))
                .bind(truncate(&entry.action, 64))
                .bind(truncate(&entry.target, 500))
                .bind(truncate(&entry.detail, 4000)),
            )
            .await?;
        Ok(())
    }

    async fn audit_log(
        &self,
        tenant: TenantId,
        max: u32,
        before: Option<AuditEntryId>,
    ) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND id < $2 \
                     ORDER BY id DESC LIMIT $3"
                ))
                .bind(tenant.0)
                .bind(before.map_or(i64::MAX, |b| b.0))
                .bind(limit(max)),
            )
            .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}
