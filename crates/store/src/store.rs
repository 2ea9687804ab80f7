//! The [`Store`] trait: every operation Runway performs on its data, as the sum of one
//! capability trait per area — [`Tenants`], [`Users`], [`WebAccess`], [`Customers`],
//! [`Instances`], [`Licenses`], [`Leasing`], [`Imports`], [`Metrics`] — each implemented by the SQL store in its own
//! `sql/<area>.rs`. Code that needs one capability can take just that trait; the engine and the
//! web layer hold the whole `Arc<dyn Store>`, which answers every capability's calls.
//!
//! # Tenant scoping
//! Every operation on tenant data takes the caller's [`TenantId`] first, and every statement it
//! runs matches `tenant_id` as well as the row id. A row of another tenant is therefore
//! indistinguishable from a missing one: the answer is [`StoreError::NotFound`] (or an empty
//! list), never the row. Below that, the schema makes cross-tenant references impossible: every
//! table carries `tenant_id`, and references are composite foreign keys such as
//! `(tenant_id, customer_id) → customers (tenant_id, id)`, so even a buggy statement cannot make
//! an instance point at another tenant's customer.
//!
//! These operations are deliberately not scoped to a tenant, and say so in their docs:
//!
//! - [`Users::users_by_email`] and [`Users::user_by_email`]: signing in starts from an address,
//!   not a tenant;
//! - [`WebAccess::session_by_token`], [`WebAccess::use_api_token`] and
//!   [`WebAccess::calendar_feed_by_token`]: a browser, script or calendar app presents a
//!   secret, and the secret is how its tenant is found;
//! - [`WebAccess::delete_expired_sessions`]: housekeeping of every tenant's ended sessions;
//! - [`SignInThrottle`]: failed sign-ins are counted per account and client address before
//!   anyone is signed in, so before any tenant is known;
//! - [`Tenants::create_tenant`] and [`Tenants::tenants`]: making a tenant, and the list of
//!   tenants, for installation admins and the first-run setup;
//! - [`Alerts::evaluate_alerts`]: the periodic tick, over every tenant's instances;
//! - [`Housekeeping::prune_history`]: deletes every tenant's history older than that tenant's
//!   retention;
//! - [`Leasing::lease_due`] and [`Leasing::finish_lease`]: the scheduler, which reads every
//!   tenant's PBXs (a lease is taken and released by instance id, and an instance belongs to
//!   exactly one tenant).
//!
//! Everything else takes the caller's [`TenantId`]. ([`Leasing::lease_instance`] and
//! [`Leasing::request_poll_now`], for reads a user asked for, are scoped.)
//!
//! # Why a trait object
//! The backend is chosen at run time from the database URL, so callers hold an
//! `Arc<dyn Store>` (from [`crate::open`]) rather than being generic over the backend: the engine
//! and the web layer compile once, not once per backend, and test doubles slot in the same way.
//! The cost — one boxed future per call — is nothing next to a database round trip.
//!
//! # Clock
//! Instants that drive scheduling (`now`, `next_poll_at`, `read_at`, …) are always parameters,
//! so the engine's clock rules. Only audit stamps (`created_at` of tenants, users and
//! customers) use the wall clock. Instants are stored to the second (sub-second parts are
//! dropped); durations of attempts to the millisecond.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::Credentials;
use crate::access::{ApiToken, Authenticated, CalendarFeed, NewApiToken, Session};
use crate::alert::{Alert, AlertEvent, AlertFilter, AlertsChanged};
use crate::audit::{AuditEntry, NewAuditEntry, Pruned};
use crate::customer::{Customer, CustomerDraft};
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::history::{
    Attempt, AttemptError, Event, FleetRow, LicenseState, NewAttempt, NewEvent, NewReading, Reading,
};
use crate::ids::{ApiTokenId, CustomerId, InstanceId, ReadingId, SessionId, TenantId, UserId};
use crate::import::{ImportItem, Imported};
use crate::instance::{Instance, InstanceUpdate, NewInstance};
use crate::tenant::{Tenant, TenantSettings};
use crate::user::{NewUser, User, UserUpdate};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// One SQLite file (single node).
    Sqlite,
    /// PostgreSQL (one or more nodes).
    Postgres,
}

/// Everything Runway stores: the sum of its capabilities; see the module docs for tenant
/// scoping.
#[async_trait]
pub trait Store:
    Tenants
    + Users
    + WebAccess
    + SignInThrottle
    + Customers
    + Instances
    + Licenses
    + Leasing
    + Audit
    + Housekeeping
    + Alerts
    + Deliveries
    + Imports
    + Metrics
{
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// A key for one purpose, derived from the installation's secret key (see
    /// `SecretKey::derive`): the same on every node, never the secret key itself.
    fn derived_key(&self, purpose: &str) -> [u8; 32];

    /// Closes every connection and releases the SQLite node lock.
    async fn close(&self);

    /// Asks the database a question, for readiness: the schema version it holds and the one
    /// this build expects (`(applied, expected)`); an error when it cannot be reached.
    async fn schema_version(&self) -> Result<(i64, i64)>;
}

/// Tenants (one per MSP) and their settings.
///
/// Implemented by the SQL store in `sql/tenants.rs`.
#[async_trait]
pub trait Tenants: Send + Sync {
    /// Creates a tenant; a name already taken is a `Conflict`.
    async fn create_tenant(&self, settings: &TenantSettings) -> Result<Tenant>;

    /// Creates a tenant and its first owner in one transaction, so nothing is half-created.
    /// With `first_run` (the first-run setup page) it succeeds only on an installation without
    /// tenants, once: of two setups racing on any nodes, one wins and the other is a
    /// `Conflict`.
    async fn create_tenant_with_owner(
        &self,
        settings: &TenantSettings,
        owner: &NewUser,
        first_run: bool,
    ) -> Result<(Tenant, User)>;

    /// One tenant.
    async fn tenant(&self, tenant: TenantId) -> Result<Tenant>;

    /// Replaces a tenant's settings.
    async fn update_tenant(&self, tenant: TenantId, settings: &TenantSettings) -> Result<Tenant>;

    /// Every tenant, by name (unscoped: for the scheduler and installation admins).
    async fn tenants(&self) -> Result<Vec<Tenant>>;
}

/// Users of a tenant.
///
/// Implemented by the SQL store in `sql/users.rs`.
#[async_trait]
pub trait Users: Send + Sync {
    /// Creates a user; an email already used in the same tenant is a `Conflict`. Other tenants'
    /// users play no part, so creating a user reveals nothing about them.
    async fn create_user(&self, tenant: TenantId, user: &NewUser) -> Result<User>;

    /// Every user with `email` (case-insensitive), whatever their tenant, oldest first and at
    /// most a few: unscoped by design, as signing in is how the tenant is found (the password
    /// tells which account is meant).
    async fn users_by_email(&self, email: &str) -> Result<Vec<User>>;

    /// The one user with `email` in the whole installation (unscoped, for `runway admin`);
    /// a `Conflict` when several tenants have one.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;

    /// One user of the tenant.
    async fn user(&self, tenant: TenantId, user: UserId) -> Result<User>;

    /// The tenant's users, by email.
    async fn users(&self, tenant: TenantId) -> Result<Vec<User>>;

    /// Changes a user's display name, role, disabled flag or password hash.
    async fn update_user(
        &self,
        tenant: TenantId,
        user: UserId,
        update: &UserUpdate,
    ) -> Result<User>;

    /// Deletes a user.
    async fn delete_user(&self, tenant: TenantId, user: UserId) -> Result<()>;
}

/// Web access: sign-in sessions and API tokens, kept as hashes of their secrets (see `crate::access`).
///
/// Implemented by the SQL store in `sql/access.rs`.
#[async_trait]
pub trait WebAccess: Send + Sync {
    /// Starts a session for a user of the tenant; `token_hash` is the hash of the cookie's
    /// secret. A hash already in use is a `Conflict`.
    async fn create_session(
        &self,
        tenant: TenantId,
        user: UserId,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Session>;

    /// The session whose secret hashes to `token_hash`, with its user — unscoped by design, as
    /// the secret is how the tenant is found. Expired sessions and those of disabled users are
    /// `None`.
    async fn session_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated<Session>>>;

    /// Ends one session (signing out).
    async fn delete_session(&self, tenant: TenantId, session: SessionId) -> Result<()>;

    /// Ends every session of a user (password changed, user disabled); returns how many.
    async fn delete_user_sessions(&self, tenant: TenantId, user: UserId) -> Result<u64>;

    /// Deletes sessions that ended before `now`, across tenants (housekeeping); returns how
    /// many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64>;

    /// Creates an API token for a user of the tenant.
    async fn create_api_token(
        &self,
        tenant: TenantId,
        token: &NewApiToken,
        now: Timestamp,
    ) -> Result<ApiToken>;

    /// The tenant's API tokens, revoked ones included, newest first.
    async fn api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>>;

    /// Revokes a token at `now` (revoking a revoked one keeps its first revocation time).
    async fn revoke_api_token(
        &self,
        tenant: TenantId,
        token: ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken>;

    /// The live token whose secret hashes to `token_hash`, with its user, stamped as used at
    /// `now` — unscoped by design, like [`WebAccess::session_by_token`]. Revoked tokens and those of
    /// disabled users are `None`.
    async fn use_api_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated<ApiToken>>>;

    /// Makes the tenant's calendar feed answer at the secret hashing to `token_hash`, replacing
    /// any earlier one (whose URL then finds nothing). A hash already in use is a `Conflict`.
    async fn set_calendar_feed(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<CalendarFeed>;

    /// The tenant's calendar feed, if it has one.
    async fn calendar_feed(&self, tenant: TenantId) -> Result<Option<CalendarFeed>>;

    /// Deletes the tenant's calendar feed; whether there was one.
    async fn revoke_calendar_feed(&self, tenant: TenantId) -> Result<bool>;

    /// The calendar feed whose secret hashes to `token_hash` — unscoped by design, like
    /// [`WebAccess::session_by_token`]: a calendar app presents only the URL, and the feed
    /// names the tenant it lists.
    async fn calendar_feed_by_token(&self, token_hash: &str) -> Result<Option<CalendarFeed>>;
}

/// Failed sign-ins, counted per key in fixed windows and shared by every node — unscoped by
/// design: a sign-in is throttled before its tenant is known. A key names what is counted, such
/// as an account together with the client address it was tried from.
///
/// Implemented by the SQL store in `sql/throttle.rs`.
#[async_trait]
pub trait SignInThrottle: Send + Sync {
    /// Counts one failure for `key` and returns the failures in its current window, which
    /// began at the first failure and lasts `window` (a lapsed window starts again at 1).
    async fn count_sign_in_failure(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<u32>;

    /// Forgets `key`'s failures (an account's, after it signed in).
    async fn clear_sign_in_failures(&self, key: &str) -> Result<()>;

    /// Takes back one failure counted for `key` (an attempt counted before its password was
    /// checked, which proved right); never below zero.
    async fn forgive_sign_in_failure(&self, key: &str) -> Result<()>;

    /// Deletes windows that began before `before` (housekeeping); returns how many.
    async fn purge_sign_in_failures(&self, before: Timestamp) -> Result<u64>;
}

/// Customers: an MSP's client companies.
///
/// Implemented by the SQL store in `sql/customers.rs`.
#[async_trait]
pub trait Customers: Send + Sync {
    /// Creates a customer; a name the tenant already uses is a `Conflict`.
    async fn create_customer(&self, tenant: TenantId, draft: &CustomerDraft) -> Result<Customer>;

    /// One customer.
    async fn customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Customer>;

    /// The tenant's customers, by name.
    async fn customers(&self, tenant: TenantId) -> Result<Vec<Customer>>;

    /// Renames a customer and replaces its notes.
    async fn update_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        draft: &CustomerDraft,
    ) -> Result<Customer>;

    /// Deletes a customer. One that still has instances is a `Conflict` unless `cascade`, which
    /// deletes its instances and their history too.
    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        cascade: bool,
    ) -> Result<()>;
}

/// Instances (one PBX each), their settings and sealed credentials.
///
/// Implemented by the SQL store in `sql/instances.rs`.
#[async_trait]
pub trait Instances: Send + Sync {
    /// Creates an instance, due for its first read at `now`. Its license comes in only through
    /// [`Licenses::record_reading`] (a read, or the facts typed in for a manual one).
    async fn create_instance(
        &self,
        tenant: TenantId,
        instance: &NewInstance,
        now: Timestamp,
    ) -> Result<Instance>;

    /// One instance.
    async fn instance(&self, tenant: TenantId, instance: InstanceId) -> Result<Instance>;

    /// The tenant's instances with their customer names, by customer then name.
    async fn instances(&self, tenant: TenantId) -> Result<Vec<Instance>>;

    /// Replaces an instance's settings (credentials only when `update.login` is set; turning it
    /// manual drops its credentials and lease). Writes no license: a license changes only
    /// through [`Licenses::record_reading`].
    async fn update_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        update: &InstanceUpdate,
        now: Timestamp,
    ) -> Result<Instance>;

    /// Enables or disables polling; enabling makes the instance due at `now`.
    async fn set_instance_enabled(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        enabled: bool,
        now: Timestamp,
    ) -> Result<Instance>;

    /// Deletes an instance with all its history.
    async fn delete_instance(&self, tenant: TenantId, instance: InstanceId) -> Result<()>;

    /// The instance's decrypted credentials — only for the code that logs in to the PBX. A manual
    /// instance has none (`Invalid`); a wrong key is `Crypto`.
    async fn credentials(&self, tenant: TenantId, instance: InstanceId) -> Result<Credentials>;
}

/// Imports: a whole CSV file of customers and instances in one transaction.
///
/// Implemented by the SQL store in `sql/import.rs`.
#[async_trait]
pub trait Imports: Send + Sync {
    /// Writes every item in one transaction, in order: customers by name (the missing ones
    /// created), instances created or updated, manual licenses recorded exactly as
    /// [`Licenses::record_reading`] records them (events and alert decisions included).
    /// Nothing is written if any item fails; the error names the item's customer and instance.
    ///
    /// Like `record_reading`, this is the store's half of the engine's recording path
    /// (`runway_engine`'s `import_instances` works out the events); call it through that path.
    async fn import_instances(
        &self,
        tenant: TenantId,
        items: &[ImportItem],
        now: Timestamp,
    ) -> Result<Imported>;
}

/// Licenses: where a license enters the store (a reading, or a failed attempt), each instance's
/// current license, the fleet, and history.
///
/// Implemented by the SQL store in `sql/history.rs`.
#[async_trait]
pub trait Licenses: Send + Sync {
    /// Records a license in one transaction: the history row, the current license and the
    /// events, and for a read of the PBX (`attempt` is `Some`) the attempt and the reset of the
    /// failure count. Nothing is written if any part fails. A `manual` reading is refused for an
    /// instance read from its PBX, and a PBX reading for a manual instance.
    ///
    /// This is the store's half of the engine's one recording path (`runway_engine`'s
    /// `record_license`), which works out the events; call it through that path.
    async fn record_reading(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        reading: &NewReading,
        attempt: Option<&NewAttempt>,
        events: &[NewEvent],
    ) -> Result<ReadingId>;

    /// Records a failed read in one transaction: the attempt, the events, the last-attempt error
    /// — the last good license stays as it was. Returns the consecutive failures so far.
    async fn record_failure(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        attempt: &NewAttempt,
        error: &AttemptError,
        events: &[NewEvent],
    ) -> Result<u32>;

    /// One instance's current license.
    async fn license(&self, tenant: TenantId, instance: InstanceId) -> Result<LicenseState>;

    /// Every instance of the tenant with its customer and current license, in one query, by
    /// customer then name (the License Status page sorts with `runway_core::fleet_order`).
    /// The rows are shared: the store answers again from its last query for the tenant until
    /// something the fleet shows changes for that tenant (on PostgreSQL, by any node). Leases
    /// and schedules are not part of the fleet ([`FleetRow`] carries none).
    async fn fleet(&self, tenant: TenantId) -> Result<Arc<[FleetRow]>>;

    /// The instance's readings, newest first.
    async fn readings(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        limit: u32,
    ) -> Result<Vec<Reading>>;

    /// The instance's events, newest first.
    async fn events(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        limit: u32,
    ) -> Result<Vec<Event>>;

    /// The instance's poll attempts, newest first.
    async fn attempts(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        limit: u32,
    ) -> Result<Vec<Attempt>>;
}

/// Leasing due reads to poller nodes — across tenants by design: this is the scheduler.
///
/// Implemented by the SQL store in `sql/leasing.rs`.
#[async_trait]
pub trait Leasing: Send + Sync {
    /// Leases up to `limit` (at most 1,000) due instances to `node` until `now + lease_for`,
    /// soonest due first: enabled, not manual, `next_poll_at <= now`, and not leased (or the
    /// lease lapsed). No instance is ever leased to two nodes at once.
    async fn lease_due(
        &self,
        now: Timestamp,
        node: &str,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Instance>>;

    /// Leases one instance of the tenant to `node` until `now + lease_for`, due or not, for a
    /// read a user asked for. `None` when another read holds its lease (this node's scheduler
    /// included); another tenant's instance is `NotFound`.
    async fn lease_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        node: &str,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Option<Instance>>;

    /// Releases `node`'s lease on an instance and schedules its next read. Does nothing (and
    /// returns `false`) if the lease is no longer `node`'s.
    async fn finish_lease(
        &self,
        instance: InstanceId,
        node: &str,
        next_poll_at: Timestamp,
    ) -> Result<bool>;

    /// Makes an instance due at `now` ("read now"); one already due stays as it is. An instance
    /// being read at this moment is not read again: the read in progress answers the request.
    async fn request_poll_now(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        now: Timestamp,
    ) -> Result<()>;
}

/// A tenant's audit log.
///
/// Implemented by the SQL store in `sql/audit.rs`.
#[async_trait]
pub trait Audit: Send + Sync {
    /// Appends an entry (over-long fields are cut short, so an entry is never lost to its size).
    async fn record_audit(&self, tenant: TenantId, entry: &NewAuditEntry) -> Result<()>;

    /// Up to `max` entries, newest first, older than the entry `before` when given (to page).
    async fn audit_log(
        &self,
        tenant: TenantId,
        max: u32,
        before: Option<crate::ids::AuditEntryId>,
    ) -> Result<Vec<AuditEntry>>;
}

/// Keeping the database to its retention periods.
///
/// Implemented by the SQL store in `sql/housekeeping.rs`.
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Deletes, for every tenant (unscoped: housekeeping), license readings, events and audit
    /// entries older than its history retention and read attempts older than its attempt
    /// retention, as of `now`. The reading an instance's current license comes from is kept
    /// however old it is. Works in small batches, so polls are never held up for long.
    async fn prune_history(&self, now: Timestamp) -> Result<Pruned>;
}

/// Alerts: reminder series and "not read" alerts (see `crate::alert`).
///
/// Implemented by the SQL store in `sql/alerts.rs`. Recording a reading or a failed read
/// ([`Licenses::record_reading`], [`Licenses::record_failure`]) evaluates the instance's alerts
/// in the same transaction.
#[async_trait]
pub trait Alerts: Send + Sync {
    /// The periodic tick (unscoped): evaluates every tenant's instances as of `now`, so the
    /// day rolling over in a tenant's zone fires the next milestone and a PBX that went blind
    /// raises "not read" without waiting for a poll.
    async fn evaluate_alerts(&self, now: Timestamp) -> Result<AlertsChanged>;

    /// The tenant's alerts that match `filter`: unresolved before resolved, the most severe
    /// first, then the most recently changed.
    async fn alerts(&self, tenant: TenantId, filter: &AlertFilter, max: u32) -> Result<Vec<Alert>>;

    /// Every instance of the tenant with unresolved alerts: how many, and the most severe.
    async fn alert_badges(&self, tenant: TenantId) -> Result<Vec<crate::alert::AlertBadge>>;

    /// One alert with its timeline, oldest step first.
    async fn alert(
        &self,
        tenant: TenantId,
        alert: crate::ids::AlertId,
    ) -> Result<(Alert, Vec<AlertEvent>)>;

    /// Acknowledges an open alert (`by` names who); an acknowledged or resolved one is left
    /// as it is. Returns the alert.
    async fn acknowledge_alert(
        &self,
        tenant: TenantId,
        alert: crate::ids::AlertId,
        by: &str,
        now: Timestamp,
    ) -> Result<Alert>;
}

/// Delivery: channels, routing rules, escalation policies and the outbox (see
/// `crate::delivery`).
///
/// Implemented by the SQL store in `sql/delivery.rs`. Notifications are queued by the
/// transaction that decides an alert ([`Alerts`]); the worker in `runway-alerts` claims and
/// sends them.
#[async_trait]
pub trait Deliveries: Send + Sync {
    /// Creates a channel; its secret is sealed and never shown again.
    async fn create_channel(
        &self,
        tenant: TenantId,
        new: &crate::delivery::NewChannel,
        now: Timestamp,
    ) -> Result<crate::delivery::Channel>;

    /// The tenant's channels, by name.
    async fn channels(&self, tenant: TenantId) -> Result<Vec<crate::delivery::Channel>>;

    /// One channel with its secret opened: for a test notification.
    async fn channel_target(
        &self,
        tenant: TenantId,
        channel: crate::ids::ChannelId,
    ) -> Result<crate::delivery::ChannelTarget>;

    /// Deletes a channel, its routing rules and its queued deliveries.
    async fn delete_channel(&self, tenant: TenantId, channel: crate::ids::ChannelId) -> Result<()>;

    /// Saves a channel's settings (its name and kind stay), and its secret when `secret` is
    /// given (else the stored one stays). Saving lifts a pause: the deliveries that waited go.
    async fn update_channel(
        &self,
        tenant: TenantId,
        channel: crate::ids::ChannelId,
        settings: &crate::delivery::ChannelSettings,
        secret: Option<&str>,
    ) -> Result<crate::delivery::Channel>;

    /// Pauses a channel whose receiver rejected its credentials: its outbox rows wait until
    /// it is saved again or resumed. In the same transaction `problem` (a notice of the
    /// [`crate::NoticeAction::Problem`] action) is queued to every other enabled, unpaused
    /// channel of the tenant that is not a PSA, so people hear of it. A channel already paused
    /// stays paused and queues nothing again. Returns whether it was paused now.
    async fn pause_channel(
        &self,
        tenant: TenantId,
        channel: crate::ids::ChannelId,
        reason: &str,
        problem: &crate::delivery::Notice,
        now: Timestamp,
    ) -> Result<bool>;

    /// Lifts a channel's pause: its waiting deliveries go.
    async fn resume_channel(&self, tenant: TenantId, channel: crate::ids::ChannelId) -> Result<()>;

    /// The tenant's routing rules; none means every alert goes to every channel.
    async fn routes(&self, tenant: TenantId) -> Result<Vec<crate::delivery::Route>>;

    /// Adds a routing rule.
    async fn create_route(
        &self,
        tenant: TenantId,
        new: &crate::delivery::NewRoute,
        now: Timestamp,
    ) -> Result<crate::delivery::Route>;

    /// Deletes a routing rule.
    async fn delete_route(&self, tenant: TenantId, route: crate::ids::RouteId) -> Result<()>;

    /// The tenant's escalation policies.
    async fn escalations(&self, tenant: TenantId) -> Result<Vec<crate::delivery::Escalation>>;

    /// Adds an escalation policy.
    async fn create_escalation(
        &self,
        tenant: TenantId,
        new: &crate::delivery::NewEscalation,
        now: Timestamp,
    ) -> Result<crate::delivery::Escalation>;

    /// Deletes an escalation policy (levels already queued stay queued).
    async fn delete_escalation(
        &self,
        tenant: TenantId,
        escalation: crate::ids::EscalationId,
    ) -> Result<()>;

    /// The worker's claim (unscoped): up to `max` due outbox rows, leased to `node` for
    /// `lease_for`, at most one per (channel, series) and in order within it.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        node: &str,
        lease_for: std::time::Duration,
        max: u32,
    ) -> Result<Vec<crate::delivery::DueDelivery>>;

    /// The worker's re-send claim (unscoped), for channels of `kind` that forget a firing
    /// alert unless told again (Alertmanager): up to `max` sent triggers whose alert is not
    /// resolved, that are the last trigger sent to their channel for that alert, and that were
    /// sent or last re-sent at or before `now - every`. Each is marked re-sent at `now` as it is
    /// claimed, so nodes do not re-send the same one at once. Its row stays sent.
    async fn claim_resends(
        &self,
        now: Timestamp,
        kind: crate::delivery::ChannelKind,
        every: std::time::Duration,
        max: u32,
    ) -> Result<Vec<crate::delivery::DueDelivery>>;

    /// Records the outcome of one attempt at a claimed row (after the attempt).
    async fn finish_delivery(
        &self,
        delivery: &crate::delivery::Delivery,
        outcome: &crate::delivery::AttemptOutcome,
        now: Timestamp,
    ) -> Result<()>;

    /// The tenant's deliveries that match `filter`, newest first.
    async fn deliveries(
        &self,
        tenant: TenantId,
        filter: &crate::delivery::DeliveryFilter,
        max: u32,
    ) -> Result<Vec<crate::delivery::Delivery>>;

    /// Queues a failed delivery again, now.
    async fn retry_delivery(
        &self,
        tenant: TenantId,
        delivery: crate::ids::DeliveryId,
        now: Timestamp,
    ) -> Result<crate::delivery::Delivery>;

    /// How many outbox rows wait (unscoped, for health and metrics).
    async fn outbox_depth(&self, now: Timestamp) -> Result<crate::delivery::OutboxDepth>;
}

/// Counts for the Prometheus metrics that the fleet does not carry, each one statement over the
/// tenant's whole fleet (never one per instance). A node-wide figure is the sum over tenants.
///
/// Implemented by the SQL store in `sql/metrics.rs`.
#[async_trait]
pub trait Metrics: Send + Sync {
    /// The tenant's stored failed read attempts, per instance and failure kind (instances
    /// without failures are left out). Attempts past the tenant's retention are pruned, so a
    /// count can fall.
    async fn read_failure_counts(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<crate::metrics::ReadFailureCount>>;

    /// The tenant's instances whose next read is due at `now` and that no read holds: enabled,
    /// not manual, as the scheduler would lease them.
    async fn instances_due(&self, tenant: TenantId, now: Timestamp) -> Result<u64>;

    /// The tenant's outbox rows by state.
    async fn delivery_counts(&self, tenant: TenantId) -> Result<crate::metrics::DeliveryCounts>;
}
