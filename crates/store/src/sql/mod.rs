//! The [`Store`] implementation both backends share.
//!
//! SQLite and PostgreSQL run the same statements (see [`db`] for the common dialect), so the
//! store's logic — validation, tenant scoping, transactions, sealing of credentials — is written
//! once here, and cannot drift between backends. Each file implements one capability trait of
//! the store directly: `tenants.rs` [`crate::Tenants`], `users.rs` [`crate::Users`],
//! `access.rs` [`crate::WebAccess`], `throttle.rs` [`crate::SignInThrottle`], `customers.rs` [`crate::Customers`], `instances.rs`
//! [`crate::Instances`], `history.rs` [`crate::Licenses`], `leasing.rs` [`crate::Leasing`], `audit.rs`
//! [`crate::Audit`], `housekeeping.rs` [`crate::Housekeeping`], `alerts.rs` [`crate::Alerts`],
//! `delivery.rs` [`crate::Deliveries`], `import.rs` [`crate::Imports`], `metrics.rs`
//! [`crate::Metrics`];
//! this file adds [`Store`] itself (backend and close). What differs lives in the
//! backend modules: connecting, migrations, the SQLite node lock ([`crate::sqlite`]) and the
//! leasing statement with `FOR UPDATE SKIP LOCKED` ([`crate::postgres`]). The conformance suite
//! (`tests/conformance`) runs every behaviour against both.
//!
//! Every statement on tenant data matches `tenant_id = $1` together with the row id; the
//! composite foreign keys of the schema back this up (see [`crate::store`]).

pub(crate) mod db;
mod rows;

mod access;
mod alerts;
mod audit;
mod customers;
mod delivery;
mod history;
mod housekeeping;
mod import;
mod instances;
mod leasing;
mod metrics;
mod tenants;
mod throttle;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Result, StoreError};
use crate::history::FleetRow;
use crate::ids::TenantId;
use crate::node_lock::NodeLock;
use crate::secret_key::{SealedFor, SecretKey};
use crate::store::{Backend, Store};
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

impl SqlStore {
    /// Records this release as the database's writer when it brought the schema forward (or
    /// nothing was recorded yet), so that an older release refusing it can say which one did.
    pub(crate) async fn record_release(&self) -> Result<()> {
        let read = Sql::new("SELECT value FROM store_meta WHERE name = $1")
            .bind(crate::migrations::WRITTEN_BY);
        let mut tx = self.db.begin().await?;
        let stored: Option<(Vec<u8>,)> = tx.optional(read).await?;
        let known = crate::migrations::WrittenBy::parse(stored.as_ref().map(|s| s.0.as_slice()));
        let this = crate::migrations::WrittenBy::this_build();
        if known.is_none_or(|w| w.schema < this.schema) {
            let value = serde_json::to_vec(&this).map_err(StoreError::backend)?;
            tx.execute(
                Sql::new(
                    "INSERT INTO store_meta (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(crate::migrations::WRITTEN_BY)
                .bind(value),
            )
            .await?;
        }
        tx.commit().await?;
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

    async fn schema_version(&self) -> Result<(i64, i64)> {
        let row: Option<(i64,)> = self
            .db
            .read_optional(Sql::new(
                "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
            ))
            .await?;
        Ok((row.map_or(0, |r| r.0), crate::migrations::latest()))
    }

    fn derived_key(&self, purpose: &str) -> [u8; 32] {
        self.key.derive(purpose)
    }

    async fn close(&self) {
        self.db.close().await;
        let lock = match self.node_lock.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        drop(lock);
    }
}
