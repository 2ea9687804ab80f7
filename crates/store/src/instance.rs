//! Instances: one 3CX PBX each, how to log in to it, and when it is read next.
//!
//! How Runway logs in ([`Login`]) is either PBX credentials ([`Credentials`]: an XAPI client, an
//! admin user with optional TOTP, or the legacy v16/v18 API) or, for a PBX Runway cannot reach,
//! **manual** license facts typed in by an operator. Credentials are sealed at rest (see
//! [`crate::SecretKey`]); an [`Instance`] never carries them — only
//! [`crate::Store::credentials`] opens them, for the code that logs in to the PBX.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use runway_core::{LicenseFacts, Secret};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, InstanceId, TenantId};

/// How often an instance is read unless configured otherwise: every 6 hours.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_hours(6);

/// The shortest poll interval accepted: one minute.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_mins(1);

/// The longest poll interval accepted: 30 days.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_hours(30 * 24);

/// How Runway reads an instance's license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginKind {
    /// 3CX v20 XAPI with an API client (client credentials).
    ApiClient,
    /// 3CX v20 web-client login of an admin user (password, optional TOTP).
    User,
    /// 3CX v16/v18 legacy API.
    Legacy,
    /// No API access: facts typed in or imported.
    Manual,
}

impl LoginKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginKind::ApiClient => "api_client",
            LoginKind::User => "user",
            LoginKind::Legacy => "legacy",
            LoginKind::Manual => "manual",
        }
    }
}

impl fmt::Display for LoginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LoginKind {
    type Err = String;
    fn from_str(text: &str) -> Result<LoginKind, String> {
        match text {
            "api_client" => Ok(LoginKind::ApiClient),
            "user" => Ok(LoginKind::User),
            "legacy" => Ok(LoginKind::Legacy),
            "manual" => Ok(LoginKind::Manual),
            other => Err(format!("unknown login kind {other:?}")),
        }
    }
}

/// What logs in to a PBX. Its `Debug` shows identities, never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An XAPI client.
    ApiClient {
        /// The client id (not secret).
        client_id: String,
        /// The client secret.
        client_secret: Secret,
    },
    /// An admin user of the v20 web client.
    User {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: Secret,
        /// The TOTP seed (base32), for accounts with MFA.
        totp_secret: Option<Secret>,
    },
    /// The v16/v18 legacy API.
    Legacy {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Credentials {
    /// The kind of login these credentials are for.
    pub fn kind(&self) -> LoginKind {
        match self {
            Credentials::ApiClient { .. } => LoginKind::ApiClient,
            Credentials::User { .. } => LoginKind::User,
            Credentials::Legacy { .. } => LoginKind::Legacy,
        }
    }

    /// The non-secret identity: client id or user name.
    pub fn identity(&self) -> &str {
        match self {
            Credentials::ApiClient { client_id, .. } => client_id,
            Credentials::User { username, .. } | Credentials::Legacy { username, .. } => username,
        }
    }
}

/// How an instance's license gets into Runway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Read from the PBX with these credentials.
    Pbx(Credentials),
    /// Typed in by an operator: these facts become the current license (a reading whose source
    /// is `manual`).
    Manual(Box<LicenseFacts>),
}

impl Login {
    /// The login kind.
    pub fn kind(&self) -> LoginKind {
        match self {
            Login::Pbx(credentials) => credentials.kind(),
            Login::Manual(_) => LoginKind::Manual,
        }
    }
}

/// TLS settings for on-premises PBXs with their own certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A CA certificate (PEM) to trust for this PBX only.
    pub custom_ca_pem: Option<String>,
    /// Accept any certificate (self-signed PBXs); shown as a warning in the UI.
    pub accept_invalid_certs: bool,
}

/// An instance to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// The customer it belongs to (of the same tenant).
    pub customer_id: CustomerId,
    /// Its name, unique per customer (case-insensitively).
    pub name: String,
    /// The PBX's address, e.g. `https://pbx.example.com:5001` (may be empty for manual ones).
    pub base_url: String,
    /// How its license is read.
    pub login: Login,
    /// How often it is read.
    pub poll_interval: Duration,
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
        base_url: impl Into<String>,
        login: Login,
    ) -> NewInstance {
        NewInstance {
            customer_id,
            name: name.into(),
            base_url: base_url.into(),
            login,
            poll_interval: DEFAULT_POLL_INTERVAL,
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
    /// The PBX's address.
    pub base_url: String,
    /// New login settings, or `None` to keep the stored ones.
    pub login: Option<Login>,
    /// How often it is read.
    pub poll_interval: Duration,
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
    /// The PBX's address.
    pub base_url: String,
    /// How its license is read.
    pub login_kind: LoginKind,
    /// The client id or user name (not secret); `None` for manual instances.
    pub login_identity: Option<String>,
    /// Whether a TOTP seed is stored.
    pub has_totp: bool,
    /// How often it is read.
    pub poll_interval: Duration,
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
