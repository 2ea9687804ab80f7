//! A simulated PBX's license: what it serves, the edition rules it derives from the product
//! code, and changes to it (control API, pending upstream renewals).

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::dates::{DateSpec, ServedDate};
use crate::latency::{duration_from_value, format_duration};

/// The license a PBX reports. Everything here can change while the simulator runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is a separate field a PBX reports"
)]
pub struct License {
    /// `ProductCode`, e.g. `3CXPSPROFENTSPLA`.
    pub product_code: Option<String>,
    /// `LicenseKey`.
    pub license_key: Option<String>,
    /// `ExpirationDate`.
    pub expiry: ServedDate,
    /// `MaintenanceExpiresAt`.
    pub maintenance_expiry: ServedDate,
    /// `LicenseActive`.
    pub license_active: bool,
    /// `Activated`.
    pub activated: bool,
    /// `Support`; `None` = derived (maintenance date in the future).
    pub support: Option<bool>,
    /// Legacy `IsSpla`; `None` = derived (product code ends with `SPLA`).
    pub is_spla: Option<bool>,
    /// `ResellerName`.
    pub reseller_name: Option<String>,
    /// `MaxSimCalls`.
    pub max_sim_calls: u32,
    /// Human user extensions (`UserExtensions` from 20.0.9).
    pub users: u32,
    /// `MaxUserExtensions`; `None` = the fair-use table for the call limit.
    pub max_users: Option<u32>,
    /// Users that are AI agents (`AIAgent: true` from 20.0.9).
    pub ai_agents: u32,
    /// `ExtensionsTotal`; `None` = users + AI agents + 4 system extensions.
    pub extensions_total: Option<u32>,
    /// Whether an API client (`/connect/token`) may log in (Enterprise/AI editions).
    pub api_client_licensed: bool,
}

/// 3CX's fair-use cap on user extensions per simultaneous-call tier (from April 2026).
const FAIR_USE: [(u32, u32); 12] = [
    (8, 40),
    (16, 80),
    (24, 132),
    (32, 176),
    (48, 288),
    (64, 384),
    (96, 576),
    (128, 768),
    (192, 1152),
    (256, 1536),
    (512, 3072),
    (1024, 6144),
];

/// True for Enterprise/AI product codes (`…PROFENT…`).
pub fn code_is_enterprise(product_code: &str) -> bool {
    product_code.to_ascii_uppercase().contains("PROFENT")
}

/// True for Professional-or-better product codes (`…PROF…`).
pub fn code_is_professional(product_code: &str) -> bool {
    product_code.to_ascii_uppercase().contains("PROF")
}

/// True for annual/subscription product codes (trailing `SPLA`).
pub fn code_is_spla(product_code: &str) -> bool {
    product_code.to_ascii_uppercase().ends_with("SPLA")
}

/// The fair-use user cap for a call limit (first tier at or above it).
pub fn fair_use_max_users(max_sim_calls: u32) -> u32 {
    FAIR_USE
        .iter()
        .find(|(calls, _)| *calls >= max_sim_calls)
        .map_or(max_sim_calls.saturating_mul(6), |(_, users)| *users)
}

impl License {
    /// `IsEnterprise`.
    pub fn is_enterprise(&self) -> bool {
        self.product_code.as_deref().is_some_and(code_is_enterprise)
    }

    /// `IsProfessional` (also true for Enterprise, which includes Professional).
    pub fn is_professional(&self) -> bool {
        self.product_code
            .as_deref()
            .is_some_and(code_is_professional)
    }

    /// Legacy `IsSpla`.
    pub fn is_spla(&self) -> bool {
        self.is_spla
            .unwrap_or_else(|| self.product_code.as_deref().is_some_and(code_is_spla))
    }

    /// `MaxUserExtensions`.
    pub fn max_user_extensions(&self) -> u32 {
        self.max_users
            .unwrap_or_else(|| fair_use_max_users(self.max_sim_calls))
    }

    /// `ExtensionsTotal`.
    pub fn extensions_total(&self) -> u32 {
        self.extensions_total
            .unwrap_or_else(|| self.users + self.ai_agents + 4)
    }

    /// `Support` at `now`.
    pub fn support_at(&self, now: Timestamp) -> bool {
        self.support.unwrap_or_else(|| {
            self.maintenance_expiry
                .instant()
                .or_else(|| self.expiry.instant())
                .is_some_and(|until| until > now)
        })
    }

    /// `IsMaintainceExpired` at `now`.
    pub fn maintenance_expired_at(&self, now: Timestamp) -> bool {
        self.maintenance_expiry
            .instant()
            .or_else(|| self.expiry.instant())
            .is_some_and(|until| until <= now)
    }

    /// Applies a change; a new product code re-derives `api_client_licensed` unless the change
    /// sets it.
    pub fn apply(&mut self, change: &LicenseChange) {
        if let Some(code) = &change.product_code {
            self.product_code = Some(code.clone());
            self.api_client_licensed = code_is_enterprise(code);
        }
        if let Some(key) = &change.license_key {
            self.license_key = Some(key.clone());
        }
        if let Some(expiry) = &change.expiry {
            self.expiry = expiry.clone();
        }
        if let Some(maintenance) = &change.maintenance_expiry {
            self.maintenance_expiry = maintenance.clone();
        }
        macro_rules! copy {
            ($($field:ident),*) => { $( if let Some(value) = change.$field { self.$field = value; } )* };
        }
        copy!(
            license_active,
            activated,
            max_sim_calls,
            users,
            ai_agents,
            api_client_licensed
        );
        if let Some(support) = change.support {
            self.support = Some(support);
        }
        if let Some(is_spla) = change.is_spla {
            self.is_spla = Some(is_spla);
        }
        if let Some(reseller) = &change.reseller_name {
            self.reseller_name = Some(reseller.clone());
        }
        if let Some(max_users) = change.max_users {
            self.max_users = Some(max_users);
        }
        if let Some(total) = change.extensions_total {
            self.extensions_total = Some(total);
        }
    }
}

/// A change to some license fields (`None` = unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "each field mirrors the License field of the same name"
)]
pub struct LicenseChange {
    pub product_code: Option<String>,
    pub license_key: Option<String>,
    pub expiry: Option<ServedDate>,
    pub maintenance_expiry: Option<ServedDate>,
    pub license_active: Option<bool>,
    pub activated: Option<bool>,
    pub support: Option<bool>,
    pub is_spla: Option<bool>,
    pub reseller_name: Option<String>,
    pub max_sim_calls: Option<u32>,
    pub users: Option<u32>,
    pub max_users: Option<u32>,
    pub ai_agents: Option<u32>,
    pub extensions_total: Option<u32>,
    pub api_client_licensed: Option<bool>,
}

/// A renewal bought upstream that 3CX's license server holds but the PBX does not show yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// What changes when it arrives.
    pub change: LicenseChange,
    /// Arrives on its own this long after it was set (simulator start for scenario renewals).
    pub after: Option<Duration>,
    /// Arrives when `Pbx.RefreshLicenseStatus` is called (default true).
    pub on_refresh: bool,
}

/// Keeps JSON `null` as `Some(Value::Null)` (plain `Option<Value>` would turn it into `None`).
pub(crate) fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A license change as written in a scenario (`renewal = { … }`) or sent to the control API.
/// Dates are strings (`"+365d"`, RFC 3339, `"none"`, `"null"`) resolved against "now".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    missing_docs,
    reason = "each field mirrors the License field of the same name"
)]
pub struct RawLicenseChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_key: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub maintenance_expiry: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_spla: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sim_calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_agents: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions_total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_client_licensed: Option<bool>,
    /// Renewals only: arrive on their own after this long (`"30s"`, `"10m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Renewals only: arrive when `Pbx.RefreshLicenseStatus` is called (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_refresh: Option<bool>,
}

/// A field-level problem: (field name, message).
pub type FieldError = (&'static str, String);

impl RawLicenseChange {
    /// Resolves the change against `now` (renewal-only fields are rejected).
    pub fn resolve_change(&self, now: Timestamp) -> Result<LicenseChange, FieldError> {
        if self.after.is_some() {
            return Err((
                "after",
                "`after` only applies to a pending renewal".to_owned(),
            ));
        }
        if self.on_refresh.is_some() {
            return Err((
                "on_refresh",
                "`on_refresh` only applies to a pending renewal".to_owned(),
            ));
        }
        self.change(now)
    }

    /// Resolves it as a pending renewal.
    pub fn resolve_renewal(&self, now: Timestamp) -> Result<Renewal, FieldError> {
        let after = self
            .after
            .as_ref()
            .map(duration_from_value)
            .transpose()
            .map_err(|e| ("after", e))?;
        let on_refresh = self.on_refresh.unwrap_or(true);
        if after.is_none() && !on_refresh {
            return Err((
                "on_refresh",
                "a renewal with `on_refresh = false` needs `after`, or it never arrives".to_owned(),
            ));
        }
        Ok(Renewal {
            change: self.change(now)?,
            after,
            on_refresh,
        })
    }

    fn change(&self, now: Timestamp) -> Result<LicenseChange, FieldError> {
        let date = |field: &'static str, value: &Option<Value>| {
            value
                .as_ref()
                .map(|v| DateSpec::from_value(v).map(|spec| spec.resolve(now)))
                .transpose()
                .map_err(|e| (field, e))
        };
        Ok(LicenseChange {
            product_code: self.product_code.clone(),
            license_key: self.license_key.clone(),
            expiry: date("expiry", &self.expiry)?,
            maintenance_expiry: date("maintenance_expiry", &self.maintenance_expiry)?,
            license_active: self.license_active,
            activated: self.activated,
            support: self.support,
            is_spla: self.is_spla,
            reseller_name: self.reseller.clone(),
            max_sim_calls: self.max_sim_calls,
            users: self.users,
            max_users: self.max_users,
            ai_agents: self.ai_agents,
            extensions_total: self.extensions_total,
            api_client_licensed: self.api_client_licensed,
        })
    }
}

impl Renewal {
    /// The renewal written back as its raw form (dates as served, for listings).
    pub fn to_raw(&self) -> RawLicenseChange {
        let c = &self.change;
        RawLicenseChange {
            product_code: c.product_code.clone(),
            license_key: c.license_key.clone(),
            expiry: c.expiry.as_ref().map(|d| Value::from(d.describe())),
            maintenance_expiry: c
                .maintenance_expiry
                .as_ref()
                .map(|d| Value::from(d.describe())),
            license_active: c.license_active,
            activated: c.activated,
            support: c.support,
            is_spla: c.is_spla,
            reseller: c.reseller_name.clone(),
            max_sim_calls: c.max_sim_calls,
            users: c.users,
            max_users: c.max_users,
            ai_agents: c.ai_agents,
            extensions_total: c.extensions_total,
            api_client_licensed: c.api_client_licensed,
            after: self.after.map(|d| Value::from(format_duration(d))),
            on_refresh: Some(self.on_refresh),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edition_rules_follow_the_product_code() {
        assert!(code_is_enterprise("3CXPSPROFENTSPLA"));
        assert!(!code_is_enterprise("3CXPSPROFSPLA"));
        assert!(code_is_professional("3CXPSPROF"));
        assert!(!code_is_professional("3CXPSSPLA"));
        assert!(code_is_spla("3CXPSSPLA"));
        assert!(!code_is_spla("3CXPSPROFENT"));
        assert_eq!(fair_use_max_users(16), 80);
        assert_eq!(fair_use_max_users(10), 80);
        assert_eq!(fair_use_max_users(4), 40);
        assert_eq!(fair_use_max_users(2048), 12_288);
    }

    #[test]
    fn a_null_expiry_in_a_change_is_kept_apart_from_no_change() {
        let set_null: RawLicenseChange = serde_json::from_str(r#"{"expiry":null}"#).unwrap();
        assert_eq!(set_null.expiry, Some(Value::Null));
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            set_null.resolve_change(now).unwrap().expiry,
            Some(ServedDate::Null)
        );
        let unchanged: RawLicenseChange = serde_json::from_str("{}").unwrap();
        assert_eq!(unchanged.resolve_change(now).unwrap().expiry, None);
    }
}
