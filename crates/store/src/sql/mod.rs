//! The [`Store`] implementation both backends share.
//!
//! SQLite and PostgreSQL run the same statements (see [`db`] for the common dialect), so the
//! store's logic — validation, tenant scoping, transactions, sealing of credentials — is written
//! once here, one file per concept, and cannot drift between backends. What differs lives in the
//! backend modules: connecting, migrations, the SQLite node lock ([`crate::sqlite`]) and the
//! leasing statement with `FOR UPDATE SKIP LOCKED` ([`crate::postgres`]). The conformance suite
//! (`tests/conformance`) runs every behaviour against both.
//!
//! Every statement on tenant data matches `tenant_id = $1` together with the row id; the
//! composite foreign keys of the schema back this up (see [`crate::store`]).

pub(crate) mod db;
mod rows;

mod access;
mod customers;
mod history;
mod instances;
mod leasing;
mod tenants;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use runway_core::LicenseFacts;

use crate::access::{ApiToken, Authenticated, NewApiToken, Session};
use crate::customer::{Customer, CustomerDraft};
use crate::error::{Result, StoreError};
use crate::history::{
    Attempt, AttemptError, Event, FleetRow, LicenseState, NewAttempt, NewEvent, NewReading, Reading,
};
use crate::ids::{ApiTokenId, CustomerId, InstanceId, ReadingId, SessionId, TenantId, UserId};
use crate::instance::{Credentials, Instance, InstanceUpdate, NewInstance};
use crate::node_lock::NodeLock;
use crate::secret_key::{SealedFor, SecretKey};
use crate::store::{Backend, Store};
use crate::tenant::{Tenant, TenantSettings};
use crate::user::{NewUser, User, UserUpdate};
use db::{Db, Sql, Violation, violation};

/// The store over either database.
pub(crate) struct SqlStore {
    db: Db,
    key: SecretKey,
    /// SQLite only: held while the store is open.
    node_lock: Mutex<Option<NodeLock>>,
    /// Each tenant's last fleet, with the write generation it was read at.
    fleet_cache: Mutex<HashMap<TenantId, CachedFleet>>,
}

/// A tenant's fleet as read at a write generation.
type CachedFleet = (u64, Arc<[FleetRow]>);

impl SqlStore {
    /// Wraps open, migrated pools.
    pub(crate) fn new(db: Db, key: SecretKey, node_lock: Option<NodeLock>) -> SqlStore {
        SqlStore {
            db,
            key,
            node_lock: Mutex::new(node_lock),
            fleet_cache: Mutex::default(),
        }
    }

    /// Checks that the key opens what this database was sealed with; stores a check value on
    /// first start. A wrong key fails here, at start, rather than at the first poll.
    pub(crate) async fn verify_key(&self) -> Result<()> {
        let read = || Sql::new("SELECT value FROM store_meta WHERE name = 'key_check'");
        // Read on the writer (inside a transaction) so a check value just written is seen.
        let existing: Option<(Vec<u8>,)> = {
            let mut tx = self.db.begin().await?;
            let found = tx.optional(read()).await?;
            tx.commit().await?;
            found
        };
        if let Some((sealed,)) = existing {
            self.key.open(&sealed, &SealedFor::KeyCheck)?;
            return Ok(());
        }
        let sealed = self.key.seal("runway", &SealedFor::KeyCheck)?;
        self.db
            .write(
                Sql::new(
                    "INSERT INTO store_meta (name, value) VALUES ('key_check', $1) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(sealed),
            )
            .await?;
        // Another node may have won the race with its own key: check what is stored now.
        let mut tx = self.db.begin().await?;
        let (sealed,): (Vec<u8>,) = tx.one(read()).await?;
        tx.commit().await?;
        self.key.open(&sealed, &SealedFor::KeyCheck)?;
        Ok(())
    }
}

/// Maps constraint violations of a statement to the caller's own words.
trait OnViolation<T> {
    /// `map` returns the error to report for a violation, or `None` for the generic mapping.
    fn on_violation(self, map: impl FnOnce(Violation) -> Option<StoreError>) -> Result<T>;
}

impl<T> OnViolation<T> for std::result::Result<T, sqlx::Error> {
    fn on_violation(self, map: impl FnOnce(Violation) -> Option<StoreError>) -> Result<T> {
        self.map_err(|err| match violation(&err).and_then(map) {
            Some(mapped) => mapped,
            None => StoreError::from(err),
        })
    }
}

/// `NotFound` for a tenant-scoped row.
fn missing(what: &str, id: impl std::fmt::Display) -> StoreError {
    StoreError::not_found(format!("{what} {id}"))
}

/// A list limit as SQL wants it.
fn limit(limit: u32) -> i64 {
    i64::from(limit.min(10_000))
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    async fn close(&self) {
        self.db.close().await;
        let lock = match self.node_lock.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        drop(lock);
    }

    async fn create_tenant(&self, settings: &TenantSettings) -> Result<Tenant> {
        self.create_tenant_impl(settings).await
    }

    async fn tenant(&self, tenant: TenantId) -> Result<Tenant> {
        self.tenant_impl(tenant).await
    }

    async fn update_tenant(&self, tenant: TenantId, settings: &TenantSettings) -> Result<Tenant> {
        self.update_tenant_impl(tenant, settings).await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        self.tenants_impl().await
    }

    async fn create_user(&self, tenant: TenantId, user: &NewUser) -> Result<User> {
        self.create_user_impl(tenant, user).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.user_by_email_impl(email).await
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<User> {
        self.user_impl(tenant, user).await
    }

    async fn users(&self, tenant: TenantId) -> Result<Vec<User>> {
        self.users_impl(tenant).await
    }

    async fn update_user(
        &self,
        tenant: TenantId,
        user: UserId,
        update: &UserUpdate,
    ) -> Result<User> {
        self.update_user_impl(tenant, user, update).await
    }

    async fn delete_user(&self, tenant: TenantId, user: UserId) -> Result<()> {
        self.delete_user_impl(tenant, user).await
    }

    async fn create_session(
        &self,
        tenant: TenantId,
        user: UserId,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Session> {
        self.create_session_impl(tenant, user, token_hash, now, expires_at)
            .await
    }

    async fn session_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated<Session>>> {
        self.session_by_token_impl(token_hash, now).await
    }

    async fn delete_session(&self, tenant: TenantId, session: SessionId) -> Result<()> {
        self.delete_session_impl(tenant, session).await
    }

    async fn delete_user_sessions(&self, tenant: TenantId, user: UserId) -> Result<u64> {
        self.delete_user_sessions_impl(tenant, user).await
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        self.delete_expired_sessions_impl(now).await
    }

    async fn create_api_token(
        &self,
        tenant: TenantId,
        token: &NewApiToken,
        now: Timestamp,
    ) -> Result<ApiToken> {
        self.create_api_token_impl(tenant, token, now).await
    }

    async fn api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        self.api_tokens_impl(tenant).await
    }

    async fn revoke_api_token(
        &self,
        tenant: TenantId,
        token: ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        self.revoke_api_token_impl(tenant, token, now).await
    }

    async fn use_api_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated<ApiToken>>> {
        self.use_api_token_impl(token_hash, now).await
    }

    async fn create_customer(&self, tenant: TenantId, draft: &CustomerDraft) -> Result<Customer> {
        self.create_customer_impl(tenant, draft).await
    }

    async fn customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Customer> {
        self.customer_impl(tenant, customer).await
    }

    async fn customers(&self, tenant: TenantId) -> Result<Vec<Customer>> {
        self.customers_impl(tenant).await
    }

    async fn update_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        draft: &CustomerDraft,
    ) -> Result<Customer> {
        self.update_customer_impl(tenant, customer, draft).await
    }

    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        cascade: bool,
    ) -> Result<()> {
        self.delete_customer_impl(tenant, customer, cascade).await
    }

    async fn create_instance(
        &self,
        tenant: TenantId,
        instance: &NewInstance,
        now: Timestamp,
    ) -> Result<Instance> {
        self.create_instance_impl(tenant, instance, now).await
    }

    async fn instance(&self, tenant: TenantId, instance: InstanceId) -> Result<Instance> {
        self.instance_impl(tenant, instance).await
    }

    async fn instances(&self, tenant: TenantId) -> Result<Vec<Instance>> {
        self.instances_impl(tenant).await
    }

    async fn update_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        update: &InstanceUpdate,
        now: Timestamp,
    ) -> Result<Instance> {
        self.update_instance_impl(tenant, instance, update, now)
            .await
    }

    async fn set_instance_enabled(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        enabled: bool,
        now: Timestamp,
    ) -> Result<Instance> {
        self.set_instance_enabled_impl(tenant, instance, enabled, now)
            .await
    }

    async fn delete_instance(&self, tenant: TenantId, instance: InstanceId) -> Result<()> {
        self.delete_instance_impl(tenant, instance).await
    }

    async fn credentials(&self, tenant: TenantId, instance: InstanceId) -> Result<Credentials> {
        self.credentials_impl(tenant, instance).await
    }

    async fn set_manual_license(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        facts: &LicenseFacts,
        at: Timestamp,
        events: &[NewEvent],
    ) -> Result<ReadingId> {
        self.set_manual_license_impl(tenant, instance, facts, at, events)
            .await
    }

    async fn record_reading(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        reading: &NewReading,
        attempt: &NewAttempt,
        events: &[NewEvent],
    ) -> Result<ReadingId> {
        self.record_reading_impl(tenant, instance, reading, attempt, events)
            .await
    }

    async fn record_failure(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        attempt: &NewAttempt,
        error: &AttemptError,
        events: &[NewEvent],
    ) -> Result<u32> {
        self.record_failure_impl(tenant, instance, attempt, error, events)
            .await
    }

    async fn license(&self, tenant: TenantId, instance: InstanceId) -> Result<LicenseState> {
        self.license_impl(tenant, instance).await
    }

    async fn fleet(&self, tenant: TenantId) -> Result<Arc<[FleetRow]>> {
        self.fleet_impl(tenant).await
    }

    async fn readings(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        limit: u32,
    ) -> Result<Vec<Reading>> {
        self.readings_impl(tenant, instance, limit).await
    }

    async fn events(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        limit: u32,
    ) -> Result<Vec<Event>> {
        self.events_impl(tenant, instance, limit).await
    }

    async fn attempts(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        limit: u32,
    ) -> Result<Vec<Attempt>> {
        self.attempts_impl(tenant, instance, limit).await
    }

    async fn lease_due(
        &self,
        now: Timestamp,
        node: &str,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Instance>> {
        self.lease_due_impl(now, node, lease_for, limit).await
    }

    async fn lease_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        node: &str,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Option<Instance>> {
        self.lease_instance_impl(tenant, instance, node, now, lease_for)
            .await
    }

    async fn finish_lease(
        &self,
        instance: InstanceId,
        node: &str,
        next_poll_at: Timestamp,
    ) -> Result<bool> {
        self.finish_lease_impl(instance, node, next_poll_at).await
    }

    async fn request_poll_now(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        now: Timestamp,
    ) -> Result<()> {
        self.request_poll_now_impl(tenant, instance, now).await
    }
}
