//! The wall clock the simulator reads, injectable so tests and demos can pin "now".
//!
//! Wall-clock time is only needed for things a PBX derives from dates: relative dates set
//! through the control API, `IsMaintainceExpired`, `Support`, and TOTP codes. Token and session
//! lifetimes use tokio's monotonic clock instead (so paused-time tests work).

use jiff::{SignedDuration, Timestamp};

/// Where the simulator gets the current instant from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// Always the given instant (tests).
    Fixed(Timestamp),
    /// The system clock shifted by a duration (a demo "as if it were next month").
    Offset(SignedDuration),
}

impl Clock {
    /// The current instant according to this clock.
    pub fn now(&self) -> Timestamp {
        match *self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(at) => at,
            Clock::Offset(by) => crate::dates::shift(Timestamp::now(), by),
        }
    }
}
