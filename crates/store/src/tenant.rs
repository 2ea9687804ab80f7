//! Tenants: one MSP each, with the settings every rule of `runway-core` needs about it.

use jiff::Timestamp;
use runway_core::{ReminderPolicy, RenewalTemplate, Zone};

use crate::ids::TenantId;

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its settings.
    pub settings: TenantSettings,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What an MSP configures about itself; used to create a tenant and to update it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    /// The MSP's name, unique across the installation (case-insensitively).
    pub name: String,
    /// The IANA zone its calendar days are counted in.
    pub zone: Zone,
    /// Reminder milestones and the lapse alert switch.
    pub reminders: ReminderPolicy,
    /// Where "Renew / buy" links go.
    pub renewal_template: RenewalTemplate,
}

impl TenantSettings {
    /// Settings with the product's defaults: UTC, 10/3/1-day reminders, the 3CX portal link.
    pub fn new(name: impl Into<String>) -> TenantSettings {
        TenantSettings {
            name: name.into(),
            zone: Zone::utc(),
            reminders: ReminderPolicy::default(),
            renewal_template: RenewalTemplate::default(),
        }
    }
}
