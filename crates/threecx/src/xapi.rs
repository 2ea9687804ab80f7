//! The v20 XAPI's license fields: SystemStatus, LicenseStatus, license parameters, AI agents.
//!
//! Fields arrive by version: `UserExtensions`/`MaxUserExtensions` and users' `AIAgent` flag from
//! 20.0.9, `IsProfessional`/`IsEnterprise` from 20.0.10. LicenseStatus is the license itself,
//! so its license fields win over SystemStatus's copies when both are present.

use runway_core::PbxLicense;
use serde_json::{Map, Value};

use crate::error::ReadError;
use crate::fields::Fields;

/// Whether a PBX of this version flags AI-agent users (20.0.9 and later; unknown → try).
pub(crate) fn has_ai_agents(version: Option<&str>) -> bool {
    let Some(version) = version else { return true };
    let parts: Vec<u32> = version
        .split('.')
        .map_while(|p| p.trim().parse().ok())
        .collect();
    match parts.as_slice() {
        [major, ..] if *major > 20 => true,
        [20, minor, ..] if *minor > 0 => true,
        [20, 0, patch, ..] => *patch >= 9,
        [20] | [20, 0] | [] => true,
        _ => false,
    }
}

/// The license as the XAPI's answers report it.
pub(crate) fn license_from(
    system_status: &Map<String, Value>,
    license_status: Option<&Map<String, Value>>,
    parameters: Option<&Map<String, Value>>,
    ai_users: Option<u32>,
) -> Result<PbxLicense, ReadError> {
    let ss = Fields::new("SystemStatus", system_status);
    let empty = Map::new();
    let ls = Fields::new("LicenseStatus", license_status.unwrap_or(&empty));
    let lp = Fields::new("Pbx.GetLicenseParameters", parameters.unwrap_or(&empty));
    Ok(PbxLicense {
        fqdn: ss.text("FQDN")?,
        version: ss.text("Version")?.or(ls.text("Version")?),
        license_key: ls.text("LicenseKey")?.or(ss.text("LicenseKey")?),
        product_code: ls
            .text("ProductCode")?
            .or(ss.text("ProductCode")?)
            .or(lp.text("ProductCode")?),
        expiry: ls
            .instant("ExpirationDate")?
            .or(ss.instant("ExpirationDate")?),
        maintenance_expiry: ls
            .instant("MaintenanceExpiresAt")?
            .or(ss.instant("MaintenanceExpiresAt")?),
        license_active: ls.flag("LicenseActive")?.or(ss.flag("LicenseActive")?),
        max_sim_calls: ls
            .count("MaxSimCalls")?
            .or(ss.count("MaxSimCalls")?)
            .or(lp.count("MaxSimCalls")?),
        users_used: ss.count("UserExtensions")?.or(ss.count("ExtensionsTotal")?),
        max_user_extensions: ss.count("MaxUserExtensions")?,
        ai_users,
        reseller: ls.text("ResellerName")?.or(ss.text("ResellerName")?),
        is_spla: None,
        is_professional: lp.flag("IsProfessional")?,
        is_enterprise: lp.flag("IsEnterprise")?,
        maintenance_expired: lp.flag("IsMaintainceExpired")?,
    })
}

/// Counts users flagged `AIAgent: true` in a `$select=Id,AIAgent` page.
pub(crate) fn count_ai_flags(page: &Map<String, Value>) -> Result<u32, ReadError> {
    let Some(Value::Array(users)) = page.get("value") else {
        return Err(ReadError::unexpected("Users", "no \"value\" list of users"));
    };
    let mut count = 0u32;
    for user in users {
        if let Value::Object(user) = user
            && Fields::new("Users", user).flag("AIAgent")? == Some(true)
        {
            count += 1;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::parse_object;

    #[test]
    fn ai_agents_are_counted_from_twenty_point_zero_point_nine() {
        assert!(!has_ai_agents(Some("20.0.8.1109")));
        assert!(has_ai_agents(Some("20.0.9.35")));
        assert!(has_ai_agents(Some("20.0.10.1015")));
        assert!(has_ai_agents(Some("20.1.0.1")));
        assert!(!has_ai_agents(Some("18.0.9.20")));
        assert!(has_ai_agents(None));
    }

    #[test]
    fn license_status_wins_over_system_status_and_parameters_fill_the_flags() {
        let ss = parse_object(
            "SystemStatus",
            br#"{"Version":"20.0.10.1015","ExpirationDate":"2026-01-01T00:00:00Z","MaxSimCalls":8,
                "UserExtensions":30,"MaxUserExtensions":40,"ExtensionsTotal":55}"#,
        )
        .unwrap();
        let ls = parse_object(
            "LicenseStatus",
            br#"{"ExpirationDate":"2027-01-01T00:00:00.0000000+00:00","LicenseKey":"K-1","MaxSimCalls":16}"#,
        )
        .unwrap();
        let lp = parse_object(
            "x",
            br#"{"ProductCode":"3CXPSPROFENTSPLA","IsEnterprise":true,"IsMaintainceExpired":false}"#,
        )
        .unwrap();
        let pbx = license_from(&ss, Some(&ls), Some(&lp), Some(2)).unwrap();
        assert_eq!(pbx.expiry.unwrap().to_string(), "2027-01-01T00:00:00Z");
        assert_eq!(
            (pbx.max_sim_calls, pbx.users_used, pbx.max_user_extensions),
            (Some(16), Some(30), Some(40))
        );
        assert_eq!(pbx.product_code.as_deref(), Some("3CXPSPROFENTSPLA"));
        assert_eq!(
            (pbx.is_enterprise, pbx.maintenance_expired, pbx.ai_users),
            (Some(true), Some(false), Some(2))
        );
    }

    #[test]
    fn ai_flags_are_counted_and_missing_flags_are_humans() {
        let page = parse_object(
            "Users",
            br#"{"value":[{"Id":1,"AIAgent":true},{"Id":2,"AIAgent":false},{"Id":3},{"Id":4,"AIAgent":true}]}"#,
        )
        .unwrap();
        assert_eq!(count_ai_flags(&page).unwrap(), 2);
    }
}
