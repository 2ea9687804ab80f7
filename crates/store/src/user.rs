//! Users: who signs in, for which tenant, with which role.
//!
//! The password hash is a PHC string computed by the web layer (argon2id); the store only keeps
//! it, wrapped in [`Secret`] so it never reaches a log line. Email addresses are unique across
//! the whole installation, case-insensitively, so that signing in can find the user (and with it
//! the tenant) from the address alone.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use runway_core::Secret;
use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, UserId};

/// What a user may do within their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything an admin does, and manages users (roles, passwords, disabling).
    Owner,
    /// Changes customers, instances and tenant settings, and does what a technician does.
    Admin,
    /// Refreshes licenses and reads PBXs now; changes no settings.
    Technician,
    /// Reads the dashboard, calendar and history; changes nothing and reads no PBX.
    Viewer,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Technician => "technician",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "technician" => Ok(Role::Technician),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// The address it signs in with, as typed.
    pub email: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// The PHC password hash.
    pub password_hash: Secret,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The sign-in address.
    pub email: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// The PHC password hash computed by the caller.
    pub password_hash: Secret,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// Disable or re-enable.
    pub disabled: Option<bool>,
    /// A new password hash.
    pub password_hash: Option<Secret>,
}
