//! Instances: one 3CX PBX each, how to log in to it, and when it is read next.
//!
//! How Runway logs in ([`Login`]) is either PBX credentials ([`Credentials`]: an XAPI client, an
//! admin user with optional TOTP, or the legacy v16/v18 API) or, for a PBX Runway cannot reach,
//! **manual**: license facts typed in by an operator, recorded as readings like any other. The
//! settings' types and rules ([`BaseUrl`], [`Credentials`], [`TlsOptions`], [`PollInterval`])
//! are `runway-core`'s, shared with the PBX client. Credentials are sealed at rest (see
//! [`crate::SecretKey`]); an [`Instance`] never carries them — only
//! [`crate::Instances::credentials`] opens them, for the code that logs in to the PBX.

use jiff::Timestamp;
use runway_core::{BaseUrl, Credentials, LoginKind, PollInterval, TlsOptions};

use crate::ids::{CustomerId, InstanceId, TenantId};

/// How an instance's license gets into Runway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Read from the PBX with these credentials.
    Pbx(Credentials),
    /// Typed in (or imported) by an operator and recorded as `manual` readings; the instance
    /// has no credentials and is never polled.
    Manual,
}

impl Login {
    /// The login kind.
    pub fn kind(&self) -> LoginKind {
        match self {
            Login::Pbx(credentials) => credentials.kind(),
            Login::Manual => LoginKind::Manual,
        }
    }
}

/// An instance to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// The customer it belongs to (of the same tenant).
    pub customer_id: CustomerId,
    /// Its name, unique per customer (case-insensitively).
    pub name: String,
    /// The PBX's address; `None` only for a manual instance.
    pub base_url: Option<BaseUrl>,
    /// How its license is read.
    pub login: Login,
    /// How often it is read.
    pub poll_interval: PollInterval,
    /// Whether it is read at all.
    pub enabled: bool,
    /// TLS settings.
    pub tls: TlsOptions,
}

impl NewInstance {
    /// An enabled instance read every 6 hours with default TLS settings.
    pub fn new(
        customer_id: CustomerId,
        name: impl Into<String>,
        base_url: Option<BaseUrl>,
        login: Login,
    ) -> NewInstance {
        NewInstance {
            customer_id,
            name: name.into(),
            base_url,
            login,
            poll_interval: PollInterval::DEFAULT,
            enabled: true,
            tls: TlsOptions::default(),
        }
    }
}

/// New settings for an instance. Credentials change only when `login` is `Some`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUpdate {
    /// The customer it belongs to (of the same tenant).
    pub customer_id: CustomerId,
    /// Its name.
    pub name: String,
    /// The PBX's address; `None` only for a manual instance.
    pub base_url: Option<BaseUrl>,
    /// New login settings, or `None` to keep the stored ones.
    pub login: Option<Login>,
    /// How often it is read.
    pub poll_interval: PollInterval,
    /// TLS settings.
    pub tls: TlsOptions,
}

impl InstanceUpdate {
    /// The update that changes nothing, to edit field by field.
    pub fn from_instance(instance: &Instance) -> InstanceUpdate {
        InstanceUpdate {
            customer_id: instance.customer_id,
            name: instance.name.clone(),
            base_url: instance.base_url.clone(),
            login: None,
            poll_interval: instance.poll_interval,
            tls: instance.tls.clone(),
        }
    }
}

/// An instance as stored, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its id.
    pub id: InstanceId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// That customer's name.
    pub customer_name: String,
    /// Its name.
    pub name: String,
    /// The PBX's address; `None` only for a manual instance without one.
    pub base_url: Option<BaseUrl>,
    /// How its license is read.
    pub login_kind: LoginKind,
    /// The client id or user name (not secret); `None` for manual instances.
    pub login_identity: Option<String>,
    /// Whether a TOTP seed is stored.
    pub has_totp: bool,
    /// How often it is read.
    pub poll_interval: PollInterval,
    /// Whether it is read at all.
    pub enabled: bool,
    /// TLS settings.
    pub tls: TlsOptions,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its settings last changed.
    pub updated_at: Timestamp,
    /// Where it stands in the poller's schedule.
    pub schedule: Schedule,
}

/// An instance's place in the poller's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// When it is due to be read.
    pub next_poll_at: Timestamp,
    /// The node holding the lease, while one is being read.
    pub lease_owner: Option<String>,
    /// When that lease lapses (another node may then take it over).
    pub lease_until: Option<Timestamp>,
    /// Failed reads since the last success (drives backoff).
    pub consecutive_failures: u32,
}
