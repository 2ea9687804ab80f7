//! What the Prometheus metrics count that the fleet does not carry: failed reads per instance
//! and kind, instances due for a read, and the outbox's rows by state (see
//! [`crate::Metrics`]).

use runway_core::FailureKind;
use serde::Serialize;

use crate::ids::InstanceId;

/// The stored failed read attempts of one instance of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadFailureCount {
    /// The instance.
    pub instance: InstanceId,
    /// Why the reads failed.
    pub kind: FailureKind,
    /// How many failed attempts of that kind are kept (attempts older than the tenant's
    /// attempt retention are pruned, so the count can fall).
    pub count: u64,
}

/// A tenant's outbox rows by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Not delivered yet: waiting for the first attempt, a retry or an escalation's time.
    pub pending: u64,
    /// Taken by the receiver.
    pub sent: u64,
    /// Refused for good.
    pub failed: u64,
    /// No longer needed (an escalation acknowledged or resolved first, a channel deleted).
    pub cancelled: u64,
}

impl DeliveryCounts {
    /// Adds another tenant's counts (for the node-wide total).
    #[must_use]
    pub fn plus(self, other: DeliveryCounts) -> DeliveryCounts {
        DeliveryCounts {
            pending: self.pending + other.pending,
            sent: self.sent + other.sent,
            failed: self.failed + other.failed,
            cancelled: self.cancelled + other.cancelled,
        }
    }
}
