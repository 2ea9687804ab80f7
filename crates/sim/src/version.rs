//! 3CX version numbers and what each version serves.
//!
//! Field sets and quirks arrive by version (see `PROTOCOL.md`): this module is the one place
//! that says which, so the XAPI and legacy handlers ask a question ("does this version report
//! `UserExtensions`?") rather than compare numbers themselves.

use std::fmt;
use std::str::FromStr;

/// A 3CX version such as `20.0.9.1322` or `18.0.9.20`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxVersion {
    text: String,
    major: u16,
    minor: u16,
    patch: u16,
}

/// Which API family a version speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiGeneration {
    /// v15–v18: `/api/login` with a session cookie and `/api/SystemStatus`.
    Legacy,
    /// v20: OAuth-style tokens and the OData XAPI under `/xapi/v1`.
    Xapi,
}

impl PbxVersion {
    /// The version exactly as the PBX reports it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Major version (15, 16, 18, 20).
    pub fn major(&self) -> u16 {
        self.major
    }

    /// Which API family this version serves.
    pub fn generation(&self) -> ApiGeneration {
        if self.major < 20 {
            ApiGeneration::Legacy
        } else {
            ApiGeneration::Xapi
        }
    }

    /// True for v15–v18 (legacy API only).
    pub fn is_legacy(&self) -> bool {
        self.generation() == ApiGeneration::Legacy
    }

    fn at_least(&self, major: u16, minor: u16, patch: u16) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// `expires_in` of a token is in minutes up to 20.0.8 and in seconds from 20.0.9 (3CX's own
    /// change note); the simulator reproduces the quirk.
    pub fn expires_in_is_minutes(&self) -> bool {
        !self.is_legacy() && !self.at_least(20, 0, 9)
    }

    /// SystemStatus carries `UserExtensions` and `MaxUserExtensions` from 20.0.9.
    pub fn has_user_extension_counts(&self) -> bool {
        self.at_least(20, 0, 9)
    }

    /// Users carry `AIAgent` from 20.0.9; before, the property does not exist.
    pub fn has_ai_agent_field(&self) -> bool {
        self.at_least(20, 0, 9)
    }

    /// `Pbx.GetLicenseParameters()` reports `MaxSimCalls` from 20.0.7.
    pub fn license_parameters_have_max_sim_calls(&self) -> bool {
        self.at_least(20, 0, 7)
    }

    /// `Pbx.GetLicenseParameters()` reports `IsProfessional` / `IsEnterprise` (and the branding
    /// and CFD flags) from 20.0.10.
    pub fn license_parameters_have_edition_flags(&self) -> bool {
        self.at_least(20, 0, 10)
    }
}

impl fmt::Display for PbxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.text)
    }
}

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a 3CX version: expected numbers like `20.0.9.1322` or `18.0.9.20` (major 15, 16, 18 or 20 and up, at least three parts)"
)]
pub struct VersionError {
    text: String,
}

impl FromStr for PbxVersion {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || VersionError {
            text: text.to_owned(),
        };
        let parts: Vec<&str> = text.trim().split('.').collect();
        if !(3..=4).contains(&parts.len()) {
            return Err(error());
        }
        let mut numbers = [0u32; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            *slot = part.parse().map_err(|_| error())?;
        }
        let to_u16 = |n: u32| u16::try_from(n).map_err(|_| error());
        let (major, minor, patch) = (
            to_u16(numbers[0])?,
            to_u16(numbers[1])?,
            to_u16(numbers[2])?,
        );
        if !(major == 15 || major == 16 || major == 18 || major >= 20) {
            return Err(error());
        }
        Ok(PbxVersion {
            text: text.trim().to_owned(),
            major,
            minor,
            patch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> PbxVersion {
        text.parse().unwrap()
    }

    #[test]
    fn expires_in_unit_changes_at_20_0_9() {
        assert!(v("20.0.7.1080").expires_in_is_minutes());
        assert!(v("20.0.8.1109").expires_in_is_minutes());
        assert!(!v("20.0.9.1322").expires_in_is_minutes());
        assert!(!v("20.0.10.100").expires_in_is_minutes());
        assert!(!v("18.0.9.20").expires_in_is_minutes());
    }

    #[test]
    fn field_sets_arrive_by_version() {
        assert!(v("18.0.9.20").is_legacy());
        assert!(!v("20.0.4.1").license_parameters_have_max_sim_calls());
        assert!(v("20.0.7.1").license_parameters_have_max_sim_calls());
        assert!(!v("20.0.8.1").has_ai_agent_field());
        assert!(v("20.0.9.1").has_user_extension_counts());
        assert!(!v("20.0.9.1").license_parameters_have_edition_flags());
        assert!(v("20.0.10.1").license_parameters_have_edition_flags());
        assert!(v("20.1.0").license_parameters_have_edition_flags());
    }

    #[test]
    fn rejects_non_versions() {
        for bad in [
            "",
            "20",
            "20.0",
            "20.0.x",
            "19.0.1",
            "v20.0.1",
            "20.0.1.2.3",
            "20..1",
        ] {
            assert!(bad.parse::<PbxVersion>().is_err(), "{bad}");
        }
    }
}
