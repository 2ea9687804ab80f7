//! Seat usage: how many user extensions a PBX uses against what its license allows.
//!
//! From 20.0.9 a PBX reports users counted against the cap (`UserExtensions`) and the cap itself
//! (`MaxUserExtensions`). Older PBXs report neither cap, so it is estimated from 3CX's fair-use
//! table by simultaneous-call tier and marked as an estimate. Crossing 90% (up or down) between
//! two readings is recorded as an event: the moment a customer is about to outgrow a license.

use serde::{Deserialize, Serialize};

/// The utilisation at or above which an instance counts as near capacity.
pub const CAPACITY_THRESHOLD_PERCENT: u32 = 90;

/// 3CX's fair-use cap (April 2026): user extensions allowed per simultaneous-call tier.
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

/// The fair-use user cap for a call tier, if the tier is one 3CX sells.
pub fn fair_use_cap(max_sim_calls: u32) -> Option<u32> {
    FAIR_USE
        .iter()
        .find(|(calls, _)| *calls == max_sim_calls)
        .map(|(_, users)| *users)
}

/// How many users a license allows, and whether that figure is our estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensedUsers {
    /// The user cap.
    pub count: u32,
    /// True when taken from the fair-use table rather than reported by the PBX.
    pub estimated: bool,
}

impl LicensedUsers {
    /// The cap the PBX reported, else the fair-use estimate for its call tier.
    pub fn resolve(reported: Option<u32>, max_sim_calls: Option<u32>) -> Option<LicensedUsers> {
        match reported {
            Some(count) => Some(LicensedUsers {
                count,
                estimated: false,
            }),
            None => max_sim_calls
                .and_then(fair_use_cap)
                .map(|count| LicensedUsers {
                    count,
                    estimated: true,
                }),
        }
    }
}

/// Users in use against the licensed cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatUsage {
    /// User extensions in use (human and AI).
    pub used: u32,
    /// The cap those users count against.
    pub licensed: LicensedUsers,
}

impl SeatUsage {
    /// Usage from its two figures; `None` when there is no usable cap (unknown or zero).
    pub fn new(used: u32, licensed: Option<LicensedUsers>) -> Option<SeatUsage> {
        licensed
            .filter(|l| l.count > 0)
            .map(|licensed| SeatUsage { used, licensed })
    }

    /// Whole percent used, rounded down (so "90%" is shown only once 90% is reached).
    pub fn percent(&self) -> u32 {
        let percent = u64::from(self.used) * 100 / u64::from(self.licensed.count);
        u32::try_from(percent).unwrap_or(u32::MAX)
    }

    /// Whether usage is at or above the capacity threshold.
    pub fn is_near_capacity(&self) -> bool {
        u64::from(self.used) * 100
            >= u64::from(CAPACITY_THRESHOLD_PERCENT) * u64::from(self.licensed.count)
    }
}

/// Which way a reading crossed the capacity threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityCrossing {
    /// From below the threshold ([`CAPACITY_THRESHOLD_PERCENT`]) to at or above it.
    Up,
    /// From at or above the threshold to below it.
    Down,
}

/// The crossing between two successive readings, if any; both readings must carry usage.
pub fn capacity_crossing(
    before: Option<&SeatUsage>,
    after: Option<&SeatUsage>,
) -> Option<CapacityCrossing> {
    let (before, after) = (before?.is_near_capacity(), after?.is_near_capacity());
    match (before, after) {
        (false, true) => Some(CapacityCrossing::Up),
        (true, false) => Some(CapacityCrossing::Down),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(used: u32, cap: u32) -> SeatUsage {
        SeatUsage::new(
            used,
            Some(LicensedUsers {
                count: cap,
                estimated: false,
            }),
        )
        .unwrap()
    }

    #[test]
    fn reported_cap_wins_and_fair_use_table_is_the_marked_fallback() {
        assert_eq!(
            LicensedUsers::resolve(Some(50), Some(16)),
            Some(LicensedUsers {
                count: 50,
                estimated: false
            })
        );
        assert_eq!(
            LicensedUsers::resolve(None, Some(16)),
            Some(LicensedUsers {
                count: 80,
                estimated: true
            })
        );
        assert_eq!(
            LicensedUsers::resolve(None, Some(1024)).map(|l| l.count),
            Some(6144)
        );
        // A call limit 3CX does not sell gives no estimate rather than a made-up one.
        assert_eq!(LicensedUsers::resolve(None, Some(10)), None);
        assert_eq!(LicensedUsers::resolve(None, None), None);
    }

    #[test]
    fn percent_rounds_down_and_threshold_is_inclusive_at_ninety() {
        assert_eq!(usage(71, 80).percent(), 88);
        assert!(!usage(71, 80).is_near_capacity());
        assert_eq!(usage(72, 80).percent(), 90);
        assert!(usage(72, 80).is_near_capacity());
        // 89.9% is not 90%.
        assert!(!usage(899, 1000).is_near_capacity());
        assert_eq!(usage(120, 80).percent(), 150);
    }

    #[test]
    fn zero_cap_gives_no_usage_instead_of_dividing_by_zero() {
        assert_eq!(
            SeatUsage::new(
                5,
                Some(LicensedUsers {
                    count: 0,
                    estimated: false
                })
            ),
            None
        );
    }

    #[test]
    fn capacity_crossing_is_detected_up_and_down_between_two_readings() {
        let (low, high) = (usage(70, 80), usage(75, 80));
        assert_eq!(
            capacity_crossing(Some(&low), Some(&high)),
            Some(CapacityCrossing::Up)
        );
        assert_eq!(
            capacity_crossing(Some(&high), Some(&low)),
            Some(CapacityCrossing::Down)
        );
        assert_eq!(capacity_crossing(Some(&high), Some(&high)), None);
        assert_eq!(capacity_crossing(Some(&low), Some(&low)), None);
        assert_eq!(capacity_crossing(None, Some(&high)), None);
        assert_eq!(capacity_crossing(Some(&high), None), None);
    }
}
