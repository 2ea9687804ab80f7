//! License facts: what Runway knows about one PBX's license.
//!
//! A PBX reports its license field by field, every field optional and arriving by version
//! ([`PbxLicense`]); [`LicenseFacts::from_pbx`] turns that into the facts every screen, reminder
//! and export uses, resolving the edition and the licensed user count in one place. Manual
//! instances (no API access) fill the same struct from what an operator typed or imported.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::edition::{Edition, EditionClues};
use crate::seats::{LicensedUsers, SeatUsage};

/// A license as one PBX reported it, before any rule is applied. `None` = not reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PbxLicense {
    /// `FQDN`: the PBX's public host name.
    pub fqdn: Option<String>,
    /// `Version`, e.g. `20.0.10.1015`.
    pub version: Option<String>,
    /// `LicenseKey`.
    pub license_key: Option<String>,
    /// `ProductCode`, e.g. `3CXPSPROFSPLA`.
    pub product_code: Option<String>,
    /// `ExpirationDate`, already read by [`crate::parse_pbx_instant`] ("no date" is `None`).
    pub expiry: Option<Timestamp>,
    /// `MaintenanceExpiresAt`.
    pub maintenance_expiry: Option<Timestamp>,
    /// `LicenseActive`.
    pub license_active: Option<bool>,
    /// `MaxSimCalls`: the simultaneous-call limit.
    pub max_sim_calls: Option<u32>,
    /// `UserExtensions` (20.0.9+), or the extension count on older PBXs.
    pub users_used: Option<u32>,
    /// `MaxUserExtensions` (20.0.9+).
    pub max_user_extensions: Option<u32>,
    /// Users flagged `AIAgent` (20.0.9+).
    pub ai_users: Option<u32>,
    /// `ResellerName`.
    pub reseller: Option<String>,
    /// Legacy `IsSpla`.
    pub is_spla: Option<bool>,
    /// `IsProfessional` (20.0.10+).
    pub is_professional: Option<bool>,
    /// `IsEnterprise` (20.0.10+).
    pub is_enterprise: Option<bool>,
    /// `IsMaintainceExpired` (sic).
    pub maintenance_expired: Option<bool>,
}

/// The license facts of one instance, as shown and reasoned about everywhere in Runway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseFacts {
    /// The PBX's public host name, when it reports one.
    pub fqdn: Option<String>,
    /// The license key.
    pub license_key: Option<String>,
    /// The product code as reported.
    pub product_code: Option<String>,
    /// The resolved edition.
    pub edition: Edition,
    /// The PBX's version.
    pub version: Option<String>,
    /// When the license expires; `None` when the PBX has no date.
    pub expiry: Option<Timestamp>,
    /// When maintenance (updates) expires.
    pub maintenance_expiry: Option<Timestamp>,
    /// Whether the PBX considers its license active.
    pub license_active: Option<bool>,
    /// The simultaneous-call limit.
    pub max_sim_calls: Option<u32>,
    /// User extensions in use, human and AI.
    pub users_used: Option<u32>,
    /// The user cap, reported or estimated.
    pub users_licensed: Option<LicensedUsers>,
    /// AI-agent users among those in use.
    pub ai_users: Option<u32>,
    /// The reseller the license was bought through.
    pub reseller: Option<String>,
    /// The PBX's own "maintenance expired" flag.
    pub maintenance_expired: Option<bool>,
}

impl LicenseFacts {
    /// Applies the edition and seat rules to what a PBX reported.
    pub fn from_pbx(pbx: PbxLicense) -> LicenseFacts {
        let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let product_code = clean(pbx.product_code);
        let edition = Edition::resolve(EditionClues {
            product_code: product_code.as_deref(),
            is_spla: pbx.is_spla,
            is_professional: pbx.is_professional,
            is_enterprise: pbx.is_enterprise,
            max_sim_calls: pbx.max_sim_calls,
        });
        LicenseFacts {
            fqdn: clean(pbx.fqdn),
            license_key: clean(pbx.license_key),
            product_code,
            edition,
            version: clean(pbx.version),
            expiry: pbx.expiry,
            maintenance_expiry: pbx.maintenance_expiry,
            license_active: pbx.license_active,
            max_sim_calls: pbx.max_sim_calls,
            users_used: pbx.users_used,
            users_licensed: LicensedUsers::resolve(pbx.max_user_extensions, pbx.max_sim_calls),
            ai_users: pbx.ai_users,
            reseller: clean(pbx.reseller),
            maintenance_expired: pbx.maintenance_expired,
        }
    }

    /// Human users: those in use that are not AI agents.
    pub fn human_users(&self) -> Option<u32> {
        self.users_used
            .map(|used| used.saturating_sub(self.ai_users.unwrap_or(0)))
    }

    /// Users in use against the cap, when both are known.
    pub fn seat_usage(&self) -> Option<SeatUsage> {
        SeatUsage::new(self.users_used?, self.users_licensed)
    }

    /// Whether maintenance has lapsed, which holds the PBX out of updates: the PBX's own flag
    /// when it reports one, else whether the maintenance date is past.
    pub fn maintenance_lapsed(&self, now: Timestamp) -> bool {
        self.maintenance_expired
            .unwrap_or_else(|| self.maintenance_expiry.is_some_and(|until| until < now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::{Family, Term};

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn facts_from_a_pbx_resolve_edition_and_estimated_user_cap() {
        let facts = LicenseFacts::from_pbx(PbxLicense {
            license_key: Some(" 0123-4567-89AB-CDEF ".into()),
            product_code: Some("3CXPSPROF".into()),
            max_sim_calls: Some(8),
            users_used: Some(18),
            reseller: Some(String::new()),
            ..PbxLicense::default()
        });
        assert_eq!(facts.license_key.as_deref(), Some("0123-4567-89AB-CDEF"));
        assert_eq!(
            facts.edition,
            Edition::Known {
                family: Family::Professional,
                term: Some(Term::Perpetual)
            }
        );
        assert_eq!(
            facts.users_licensed,
            Some(LicensedUsers {
                count: 40,
                estimated: true
            })
        );
        assert_eq!(facts.seat_usage().map(|u| u.percent()), Some(45));
        assert_eq!(facts.reseller, None, "an empty reseller is no reseller");
    }

    #[test]
    fn human_users_are_the_users_that_are_not_ai_agents() {
        let facts = LicenseFacts::from_pbx(PbxLicense {
            users_used: Some(42),
            ai_users: Some(3),
            max_user_extensions: Some(80),
            ..PbxLicense::default()
        });
        assert_eq!(facts.human_users(), Some(39));
        assert_eq!(
            facts.users_licensed,
            Some(LicensedUsers {
                count: 80,
                estimated: false
            })
        );
        let older = LicenseFacts::from_pbx(PbxLicense {
            users_used: Some(5),
            ..PbxLicense::default()
        });
        assert_eq!(older.human_users(), Some(5));
        assert_eq!(older.seat_usage(), None, "no cap, no usage figure");
    }

    #[test]
    fn maintenance_lapse_prefers_the_pbx_flag_over_the_date() {
        let now = ts("2026-06-01T00:00:00Z");
        let mut facts = LicenseFacts::from_pbx(PbxLicense {
            maintenance_expiry: Some(ts("2026-05-01T00:00:00Z")),
            ..PbxLicense::default()
        });
        assert!(facts.maintenance_lapsed(now));
        facts.maintenance_expired = Some(false);
        assert!(!facts.maintenance_lapsed(now));
        facts.maintenance_expiry = None;
        facts.maintenance_expired = None;
        assert!(!facts.maintenance_lapsed(now));
    }
}
