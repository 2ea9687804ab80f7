//! # runway-store: where Runway keeps the fleet
//!
//! Everything Runway knows lives behind the [`Store`] trait: tenants (one per MSP) and their
//! settings, users, customers, instances (PBXs) with their sealed credentials, every license
//! reading as history, the current license of each instance, poll attempts, an event log per
//! instance, and the leases that share polling between nodes.
//!
//! [`open`] picks the backend from the database URL's scheme:
//!
//! | URL | backend |
//! |---|---|
//! | `sqlite://path/runway.db`, `sqlite:runway.db`, `sqlite::memory:` | [`sqlite`](crate::Backend::Sqlite): one file, one node (the default) |
//! | `postgres://…`, `postgresql://…` | [`postgres`](crate::Backend::Postgres): one or more nodes |
//!
//! Each backend applies its own migrations (`migrations/sqlite`, `migrations/postgres`) when
//! opened. Both run the same store logic (`sql`), so they behave the same; the conformance suite
//! in `tests/conformance` holds both to it.
//!
//! ## Tenant scoping
//! Every operation on tenant data takes the caller's [`TenantId`] and matches it in SQL next to
//! the row id: another tenant's row is [`StoreError::NotFound`], never returned. Composite
//! foreign keys `(tenant_id, …) → (tenant_id, id)` make cross-tenant references impossible in
//! the schema itself. The [`store`](crate::Store) module docs list the calls that are
//! deliberately not scoped to a tenant, and why.
//!
//! ## Capabilities
//! [`Store`] is the sum of one trait per area — [`Tenants`], [`Users`], [`WebAccess`],
//! [`SignInThrottle`], [`Customers`], [`Instances`], [`Licenses`], [`Leasing`] — each implemented in its own
//! `sql/<area>.rs`. An `Arc<dyn Store>` answers every capability's calls.
//!
//! ## Web access
//! Sign-in sessions and API tokens ([`Session`], [`ApiToken`]) are stored as hashes of their
//! secrets; see [`WebAccess::session_by_token`] and [`WebAccess::use_api_token`].
//!
//! ## Secrets
//! PBX credentials are sealed with XChaCha20-Poly1305 under the installation's [`SecretKey`]
//! and bound to their row; only [`Instances::credentials`] opens them. A wrong key is detected when
//! the store opens ([`StoreError::Crypto`]).

#[macro_use]
mod names;

mod access;
mod alert;
mod audit;
mod customer;
mod delivery;
mod error;
mod history;
mod ids;
mod import;
mod instance;
mod metrics;
mod migrations;
mod node_lock;
mod postgres;
mod psa;
mod secret_key;
mod snapshot;
mod sql;
mod sqlite;
mod store;
mod tenant;
mod user;
mod validate;

use std::sync::Arc;
use std::time::Duration;

pub use access::{ApiToken, Authenticated, CalendarFeed, NewApiToken, Session};
pub use alert::{
    Alert, AlertBadge, AlertEvent, AlertFilter, AlertKind, AlertResolution, AlertState,
    AlertsChanged, parse_stage, stage_text,
};
pub use audit::{AuditEntry, AuditVia, NewAuditEntry, Pruned};
pub use customer::{Customer, CustomerDraft};
pub use delivery::{
    AttemptOutcome, Channel, ChannelKind, ChannelSettings, ChannelTarget, Delivery, DeliveryFilter,
    DeliveryState, DueDelivery, Escalation, EscalationLevel, NewChannel, NewEscalation, NewRoute,
    Notice, NoticeAction, OutboxDepth, Route, SmtpTls,
};
pub use error::{Result, StoreError};
pub use history::{
    Attempt, AttemptError, Event, EventKind, FleetInstance, FleetRow, GoodLicense, LastAttempt,
    LicenseState, NewAttempt, NewEvent, NewReading, Reading, ReadingSource, Trigger,
};
pub use ids::{
    AlertId, ApiTokenId, AttemptId, AuditEntryId, ChannelId, CustomerId, DeliveryId, EscalationId,
    EventId, InstanceId, ReadingId, RouteId, SessionId, TenantId, UserId,
};
pub use import::{ImportItem, ImportLicense, ImportTarget, Imported};
pub use instance::{Instance, InstanceUpdate, Login, NewInstance, Schedule};
pub use metrics::{DeliveryCounts, ReadFailureCount};
pub use migrations::{RELEASE, WrittenBy, latest as latest_schema};
pub use node_lock::NodeLock;
pub use psa::{CompanyMapping, PsaChoice, PsaSettings, TicketLink, TicketState};
/// The settings' types are `runway-core`'s (shared with the PBX client), named here too for
/// the store's callers.
pub use runway_core::{BaseUrl, Credentials, FailureKind, LoginKind, PollInterval, TlsOptions};
pub use secret_key::{KeyError, SECRET_KEY_ENV, SECRET_KEY_FILE, SecretKey};
pub use snapshot::{ClockOffset, Inspection, inspect, open_read_only, snapshot_sqlite};
pub use store::{
    Alerts, Audit, Backend, Customers, Deliveries, Housekeeping, Imports, Instances, Leasing,
    Licenses, Metrics, SignInThrottle, Store, Tenants, Users, WebAccess,
};

/// The store's capability traits, to call them on an `Arc<dyn Store>`:
pub use tenant::{
    DEFAULT_NOT_READ_AFTER_HOURS, Tenant, TenantSettings, check_not_read_after_hours,
};
pub use user::{NewUser, Role, User, UserUpdate};
pub use validate::{
    customer_name as check_customer_name, instance_name as check_instance_name, name_key,
};

/// How to open a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The key credentials are sealed with.
    pub secret_key: SecretKey,
    /// Connections in the pool (PostgreSQL) or read connections (SQLite). Default 8.
    pub max_connections: u32,
    /// How long SQLite waits for a lock before giving up. Default 5 s.
    pub busy_timeout: Duration,
}

impl OpenOptions {
    /// Default options with the given key.
    pub fn new(secret_key: SecretKey) -> OpenOptions {
        OpenOptions {
            secret_key,
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Which backend a database URL names, without opening it. The error never repeats the URL
/// (it may contain a password).
pub fn backend_for_url(url: &str) -> Result<Backend> {
    let url = url.trim();
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        let scheme = if scheme.len() <= 20 && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
            scheme
        } else {
            "?"
        };
        Err(StoreError::invalid(format!(
            "unsupported database URL scheme {scheme:?}: use sqlite://PATH (the default) or \
             postgres://user:password@host/database"
        )))
    }
}

/// Opens the database the URL names, applies its migrations and checks the secret key.
///
/// SQLite files are created if missing and locked to this process; a second process gets
/// [`StoreError::NodeLocked`]. A key other than the one the database was first opened with is
/// [`StoreError::Crypto`].
pub async fn open(url: &str, options: OpenOptions) -> Result<Arc<dyn Store>> {
    let url = url.trim();
    let store = match backend_for_url(url)? {
        Backend::Sqlite => sqlite::open(url, &options).await?,
        Backend::Postgres => postgres::open(url, &options).await?,
    };
    let checked = match store.verify_key().await {
        Ok(()) => store.record_release().await,
        Err(err) => Err(err),
    };
    if let Err(err) = checked {
        store.close().await;
        return Err(err);
    }
    Ok(Arc::new(store))
}
