//! Tenants: one MSP each, with the settings every rule of `runway-core` needs about it.

use jiff::Timestamp;
use runway_core::{ReminderPolicy, RenewalTemplate, Retention, Zone};

use crate::ids::TenantId;

/// Hours without a successful read before the "not read" alert, unless the tenant says
/// otherwise.
pub const DEFAULT_NOT_READ_AFTER_HOURS: u32 = 24;

/// Checks the hours a tenant allows without a successful read before "not read": 1 to 8760
/// (a year). The refusal says so.
pub fn check_not_read_after_hours(hours: u32) -> Result<u32, String> {
    if (1..=8760).contains(&hours) {
        Ok(hours)
    } else {
        Err(format!(
            "raise \"not read\" after 1 to 8760 hours, not {hours}"
        ))
    }
}

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
    /// How long license history, read attempts and the audit log are kept.
    pub retention: Retention,
    /// Hours without a successful read before an instance raises the "not read" alert
    /// (1–8760; default 24).
    pub not_read_after_hours: u32,
    /// Raise a "capacity" alert while an instance uses 90% or more of its licensed seats
    /// (off by default: the dashboard shows headroom).
    pub capacity_alerts: bool,
    /// Run a reminder series on each license's maintenance date too (off by default).
    pub maintenance_reminders: bool,
}

impl TenantSettings {
    /// Settings with the product's defaults: UTC, 10/3/1-day reminders, the 3CX portal link,
    /// 400 days of history and 30 of read attempts.
    pub fn new(name: impl Into<String>) -> TenantSettings {
        TenantSettings {
            name: name.into(),
            zone: Zone::utc(),
            reminders: ReminderPolicy::default(),
            renewal_template: RenewalTemplate::default(),
            retention: Retention::default(),
            not_read_after_hours: DEFAULT_NOT_READ_AFTER_HOURS,
            capacity_alerts: false,
            maintenance_reminders: false,
        }
    }
}
