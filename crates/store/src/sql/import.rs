//! An import: customers by name, instances created or updated, manual licenses recorded — in one
//! transaction, so a file that fails anywhere changes nothing.
//!
//! Each step is the statement the single-item operation runs (`insert_instance`,
//! `update_instance_in`, `record_reading_in`), so an imported instance is stored exactly as one
//! saved from the form.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;

use super::SqlStore;
use super::db::{Sql, Tx};
use super::history::record_reading_in;
use super::rows::seconds;
use crate::error::{Result, StoreError};
use crate::ids::{CustomerId, InstanceId, TenantId};
use crate::import::{ImportItem, ImportLicense, ImportTarget, Imported};
use crate::instance::{InstanceUpdate, NewInstance};
use crate::store::Imports;
use crate::validate;

/// On PostgreSQL, how many items an import writes between refreshing the planner's statistics.
const ANALYZE_EVERY: usize = 1_000;
/// The tables an import grows.
const ANALYZE_GROWING: &str = "ANALYZE customers, instances, license_readings, \
    current_licenses, instance_events, reminder_stages, alerts, alert_events, deliveries";

/// The tenant's customer named `name` (case-insensitively), created when there is none; whether
/// it was created.
async fn customer_named(tx: &mut Tx, tenant: TenantId, name: &str) -> Result<(CustomerId, bool)> {
    let name = validate::customer_name(name)?;
    let key = validate::name_key(&name);
    let inserted: Option<(i64,)> = tx
        .optional(
            Sql::new(
                "INSERT INTO customers (tenant_id, name, name_key, notes, created_at) \
                 VALUES ($1, $2, $3, '', $4) ON CONFLICT (tenant_id, name_key) DO NOTHING \
                 RETURNING id",
            )
            .bind(tenant.0)
            .bind(&name)
            .bind(key.clone())
            .bind(seconds(Timestamp::now())),
        )
        .await?;
    if let Some((id,)) = inserted {
        return Ok((CustomerId(id), true));
    }
    let (id,): (i64,) = tx
        .one(
            Sql::new("SELECT id FROM customers WHERE tenant_id = $1 AND name_key = $2")
                .bind(tenant.0)
                .bind(key),
        )
        .await?;
    Ok((CustomerId(id), false))
}

/// `Conflict` unless the instance's current reading is still the one the events were worked
/// out against.
async fn check_based_on(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    license: &ImportLicense,
) -> Result<()> {
    let current: Option<(Option<i64>,)> = tx
        .optional(
            Sql::new(
                "SELECT reading_id FROM current_licenses WHERE tenant_id = $1 \
                 AND instance_id = $2",
            )
            .bind(tenant.0)
            .bind(instance.0),
        )
        .await?;
    let current = current.and_then(|(id,)| id);
    if current != license.based_on.map(|r| r.0) {
        return Err(StoreError::conflict(format!(
            "the license of instance {instance} changed while the import was checked; check \
             the file again"
        )));
    }
    Ok(())
}

impl SqlStore {
    /// Writes one item inside `tx`; returns its instance and whether a reading was recorded.
    async fn import_item(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        customer: CustomerId,
        item: &ImportItem,
        now: Timestamp,
    ) -> Result<InstanceId> {
        let id = match item.target {
            ImportTarget::Create => {
                let login = item.login.clone().ok_or_else(|| {
                    StoreError::invalid(format!(
                        "the instance {:?} to create has no login settings",
                        item.name
                    ))
                })?;
                let mut new = NewInstance::new(customer, &item.name, item.base_url.clone(), login);
                new.poll_interval = item.poll_interval;
                new.tls = item.tls.clone();
                self.insert_instance(tx, tenant, &new, now).await?
            }
            ImportTarget::Update(id) => {
                let update = InstanceUpdate {
                    customer_id: customer,
                    name: item.name.clone(),
                    base_url: item.base_url.clone(),
                    login: item.login.clone(),
                    poll_interval: item.poll_interval,
                    tls: item.tls.clone(),
                };
                self.update_instance_in(tx, tenant, id, &update, now)
                    .await?;
                id
            }
            ImportTarget::Keep(id) => id,
        };
        if let Some(license) = &item.license {
            if item.target != ImportTarget::Create {
                check_based_on(tx, tenant, id, license).await?;
            }
            record_reading_in(tx, tenant, id, &license.reading, None, &license.events).await?;
        }
        Ok(id)
    }
}

#[async_trait]
impl Imports for SqlStore {
    async fn import_instances(
        &self,
        tenant: TenantId,
        items: &[ImportItem],
        now: Timestamp,
    ) -> Result<Imported> {
        let mut tx = self.db.begin().await?;
        let postgres = crate::Store::backend(self) == crate::Backend::Postgres;
        let mut customers: HashMap<String, CustomerId> = HashMap::new();
        let mut imported = Imported::default();
        for item in items {
            let key = validate::name_key(&item.customer);
            let customer = if let Some(id) = customers.get(&key) {
                *id
            } else {
                let (id, created) = customer_named(&mut tx, tenant, &item.customer).await?;
                if created {
                    imported
                        .customers_created
                        .push(item.customer.trim().to_owned());
                }
                customers.insert(key, id);
                id
            };
            // Say which instance failed: the file has many.
            let id = self
                .import_item(&mut tx, tenant, customer, item, now)
                .await
                .map_err(|err| err.about(&format!("{} / {}", item.customer.trim(), item.name)))?;
            imported.instances.push(id);
            // The tables grow by thousands of rows inside this one transaction, which the
            // planner's statistics (taken before it) do not know of; without new ones it plans
            // every statement for the tables it saw, and a 20,000-row file takes minutes.
            // ANALYZE inside a transaction counts the transaction's own rows.
            if postgres && imported.instances.len() % ANALYZE_EVERY == 0 {
                tx.execute(Sql::new(ANALYZE_GROWING)).await?;
            }
            imported.readings += usize::from(item.license.is_some());
        }
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(imported)
    }
}
