//! The v16/v18 legacy API's license fields (`/api/SystemStatus`).
//!
//! Perpetual keys report `ExpirationDate: null`; `IsSpla` tells an annual (hosted) license;
//! the user cap is never reported, so it comes from the fair-use table.

use runway_core::PbxLicense;
use serde_json::{Map, Value};

use crate::error::ReadError;
use crate::fields::Fields;

/// The license as a legacy SystemStatus reports it.
pub(crate) fn license_from(status: &Map<String, Value>) -> Result<PbxLicense, ReadError> {
    let f = Fields::new("SystemStatus", status);
    Ok(PbxLicense {
        fqdn: f.text("FQDN")?,
        version: f.text("Version")?,
        license_key: f.text("LicenseKey")?,
        product_code: f.text("ProductCode")?,
        expiry: f.instant("ExpirationDate")?,
        maintenance_expiry: f.instant("MaintenanceExpiresAt")?,
        license_active: f.flag("LicenseActive")?,
        max_sim_calls: f.count("MaxSimCalls")?,
        users_used: f.count("ExtensionsTotal")?,
        max_user_extensions: None,
        ai_users: None,
        reseller: f.text("ResellerName")?,
        is_spla: f.flag("IsSpla")?,
        is_professional: None,
        is_enterprise: None,
        maintenance_expired: None,
    })
}
