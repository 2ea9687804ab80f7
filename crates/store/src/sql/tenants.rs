//! Tenants: create, read, update settings, list.

use async_trait::async_trait;
use jiff::Timestamp;

use super::db::{Sql, Tx, Violation};
use super::rows::{TENANT_COLUMNS, TenantRow, seconds};
use super::users::insert_user;
use super::{OnViolation, SqlStore, missing};
use crate::error::{Result, StoreError};
use crate::ids::TenantId;
use crate::store::Tenants;
use crate::tenant::{Tenant, TenantSettings};
use crate::user::{NewUser, User};
use crate::validate;

/// A tenant's settings as column values, validated.
struct Columns {
    name: String,
    name_key: String,
    zone: String,
    milestones: String,
    lapse_alert: bool,
    template: String,
    history_days: i64,
    attempt_days: i64,
    not_read_hours: i64,
    capacity_alerts: bool,
    maintenance_reminders: bool,
}

fn columns(settings: &TenantSettings) -> Result<Columns> {
    let name = validate::name(&settings.name, "tenant name", 200)?;
    crate::tenant::check_not_read_after_hours(settings.not_read_after_hours)
        .map_err(StoreError::invalid)?;
    Ok(Columns {
        name_key: validate::name_key(&name),
        name,
        zone: settings.zone.name().to_owned(),
        milestones: serde_json::to_string(settings.reminders.milestones())
            .map_err(StoreError::backend)?,
        lapse_alert: settings.reminders.lapse_alert(),
        template: settings.renewal_template.as_str().to_owned(),
        history_days: i64::from(settings.retention.history_days()),
        attempt_days: i64::from(settings.retention.attempt_days()),
        not_read_hours: i64::from(settings.not_read_after_hours),
        capacity_alerts: settings.capacity_alerts,
        maintenance_reminders: settings.maintenance_reminders,
    })
}

fn name_taken(name: &str) -> impl FnOnce(Violation) -> Option<StoreError> + '_ {
    move |v| {
        (v == Violation::Unique)
            .then(|| StoreError::conflict(format!("a tenant named {name:?} already exists")))
    }
}

/// Inserts a tenant inside a transaction.
async fn insert_tenant(tx: &mut Tx, settings: &TenantSettings) -> Result<Tenant> {
    let c = columns(settings)?;
    let row: TenantRow = tx
        .one(
            Sql::new(format!(
                "INSERT INTO tenants (name, name_key, time_zone, reminder_milestones, \
                 lapse_alert, renewal_template, created_at, history_retention_days, \
                 attempt_retention_days, not_read_after_hours, capacity_alerts, \
                 maintenance_reminders) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 RETURNING {TENANT_COLUMNS}"
            ))
            .bind(&c.name)
            .bind(c.name_key)
            .bind(c.zone)
            .bind(c.milestones)
            .bind(c.lapse_alert)
            .bind(c.template)
            .bind(seconds(Timestamp::now()))
            .bind(c.history_days)
            .bind(c.attempt_days)
            .bind(c.not_read_hours)
            .bind(c.capacity_alerts)
            .bind(c.maintenance_reminders),
        )
        .await
        .on_violation(name_taken(&c.name))?;
    Tenant::try_from(row)
}

#[async_trait]
impl Tenants for SqlStore {
    async fn create_tenant(&self, settings: &TenantSettings) -> Result<Tenant> {
        let mut tx = self.db.begin().await?;
        let tenant = insert_tenant(&mut tx, settings).await?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn create_tenant_with_owner(
        &self,
        settings: &TenantSettings,
        owner: &NewUser,
        first_run: bool,
    ) -> Result<(Tenant, User)> {
        let mut tx = self.db.begin().await?;
        if first_run {
            // The marker's primary key lets one first-run setup win, on any node.
            let (tenants,): (i64,) = tx.one(Sql::new("SELECT COUNT(*) FROM tenants")).await?;
            let already = || StoreError::conflict("Runway is already set up: sign in instead");
            if tenants > 0 {
                return Err(already());
            }
            tx.execute(
                Sql::new("INSERT INTO store_meta (name, value) VALUES ('first_run_setup', $1)")
                    .bind(b"done".to_vec()),
            )
            .await
            .on_violation(|v| (v == Violation::Unique).then(already))?;
        }
        let tenant = insert_tenant(&mut tx, settings).await?;
        let user = insert_user(&mut tx, tenant.id, owner).await?;
        tx.commit().await?;
        Ok((tenant, user))
    }

    async fn tenant(&self, tenant: TenantId) -> Result<Tenant> {
        let row: Option<TenantRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"
                ))
                .bind(tenant.0),
            )
            .await?;
        Tenant::try_from(row.ok_or_else(|| missing("tenant", tenant))?)
    }

    async fn update_tenant(&self, tenant: TenantId, settings: &TenantSettings) -> Result<Tenant> {
        let c = columns(settings)?;
        let mut tx = self.db.begin().await?;
        let row: Option<TenantRow> = tx
            .optional(
                Sql::new(format!(
                    "UPDATE tenants SET name = $2, name_key = $3, time_zone = $4, \
                     reminder_milestones = $5, lapse_alert = $6, renewal_template = $7, \
                     history_retention_days = $8, attempt_retention_days = $9, \
                     not_read_after_hours = $10, capacity_alerts = $11, \
                     maintenance_reminders = $12 WHERE id = $1 RETURNING {TENANT_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(&c.name)
                .bind(c.name_key)
                .bind(c.zone)
                .bind(c.milestones)
                .bind(c.lapse_alert)
                .bind(c.template)
                .bind(c.history_days)
                .bind(c.attempt_days)
                .bind(c.not_read_hours)
                .bind(c.capacity_alerts)
                .bind(c.maintenance_reminders),
            )
            .await
            .on_violation(name_taken(&c.name))?;
        tx.commit().await?;
        Tenant::try_from(row.ok_or_else(|| missing("tenant", tenant))?)
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<TenantRow> = self
            .db
            .read_all(Sql::new(format!(
                "SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name_key, id"
            )))
            .await?;
        rows.into_iter().map(Tenant::try_from).collect()
    }
}
