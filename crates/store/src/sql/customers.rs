//! Customers: create, read, list, rename, delete (with or without their instances).

use async_trait::async_trait;
use jiff::Timestamp;

use super::db::{Sql, Violation};
use super::rows::{CUSTOMER_COLUMNS, CustomerRow, seconds};
use super::{OnViolation, SqlStore, missing};
use crate::customer::{Customer, CustomerDraft};
use crate::error::{Result, StoreError};
use crate::ids::{CustomerId, TenantId};
use crate::store::Customers;
use crate::validate;

fn name_taken(name: &str) -> impl FnOnce(Violation) -> Option<StoreError> + '_ {
    move |v| {
        (v == Violation::Unique)
            .then(|| StoreError::conflict(format!("a customer named {name:?} already exists")))
    }
}

#[async_trait]
impl Customers for SqlStore {
    async fn create_customer(&self, tenant: TenantId, draft: &CustomerDraft) -> Result<Customer> {
        let name = validate::customer_name(&draft.name)?;
        let notes = validate::text(&draft.notes, "customer notes", 10_000)?;
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = tx
            .one(
                Sql::new(
                    "INSERT INTO customers (tenant_id, name, name_key, notes, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(tenant.0)
                .bind(&name)
                .bind(validate::name_key(&name))
                .bind(notes)
                .bind(seconds(Timestamp::now())),
            )
            .await
            .on_violation(|v| match v {
                Violation::ForeignKey => Some(missing("tenant", tenant)),
                other => name_taken(&name)(other),
            })?;
        let customer = customer_in(&mut tx, tenant, CustomerId(id)).await?;
        tx.commit().await?;
        Ok(customer)
    }

    async fn customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Customer> {
        let row: Option<CustomerRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {CUSTOMER_COLUMNS} FROM customers c \
                     WHERE c.tenant_id = $1 AND c.id = $2"
                ))
                .bind(tenant.0)
                .bind(customer.0),
            )
            .await?;
        Customer::try_from(row.ok_or_else(|| missing("customer", customer))?)
    }

    async fn customers(&self, tenant: TenantId) -> Result<Vec<Customer>> {
        let rows: Vec<CustomerRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.tenant_id = $1 \
                     ORDER BY c.name_key, c.id"
                ))
                .bind(tenant.0),
            )
            .await?;
        rows.into_iter().map(Customer::try_from).collect()
    }

    async fn update_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        draft: &CustomerDraft,
    ) -> Result<Customer> {
        let name = validate::customer_name(&draft.name)?;
        let notes = validate::text(&draft.notes, "customer notes", 10_000)?;
        let mut tx = self.db.begin().await?;
        let updated = tx
            .execute(
                Sql::new(
                    "UPDATE customers SET name = $3, name_key = $4, notes = $5 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(customer.0)
                .bind(&name)
                .bind(validate::name_key(&name))
                .bind(notes),
            )
            .await
            .on_violation(name_taken(&name))?;
        if updated == 0 {
            return Err(missing("customer", customer));
        }
        let customer = customer_in(&mut tx, tenant, customer).await?;
        // The fleet shows each instance's customer name.
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(customer)
    }

    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        cascade: bool,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let found = customer_in(&mut tx, tenant, customer).await?;
        if found.instance_count > 0 {
            if !cascade {
                let count = found.instance_count;
                let noun = if count == 1 { "instance" } else { "instances" };
                return Err(StoreError::conflict(format!(
                    "the customer {:?} still has {count} {noun}: delete them first, or delete the \
                     customer together with its instances",
                    found.name
                )));
            }
            tx.execute(
                Sql::new("DELETE FROM instances WHERE tenant_id = $1 AND customer_id = $2")
                    .bind(tenant.0)
                    .bind(customer.0),
            )
            .await?;
            tx.fleet_changed(tenant);
        }
        tx.execute(
            Sql::new("DELETE FROM customers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(customer.0),
        )
        .await
        .on_violation(|v| {
            (v == Violation::ForeignKey).then(|| {
                StoreError::conflict(format!(
                    "the customer {:?} gained instances while being deleted; try again",
                    found.name
                ))
            })
        })?;
        tx.commit().await?;
        Ok(())
    }
}

/// One customer, read inside a transaction.
async fn customer_in(
    tx: &mut super::db::Tx,
    tenant: TenantId,
    customer: CustomerId,
) -> Result<Customer> {
    let row: Option<CustomerRow> = tx
        .optional(
            Sql::new(format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.tenant_id = $1 AND c.id = $2"
            ))
            .bind(tenant.0)
            .bind(customer.0),
        )
        .await?;
    Customer::try_from(row.ok_or_else(|| missing("customer", customer))?)
}
