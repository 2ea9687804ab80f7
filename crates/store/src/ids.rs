//! Row ids, one type per entity so a customer id cannot be passed where an instance id is meant.
//!
//! Ids are unique across the whole installation (not per tenant), but holding an id grants
//! nothing: every tenant-scoped operation also takes the caller's [`TenantId`] and matches both.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A tenant (one MSP).
    TenantId
);
id_type!(
    /// A user who signs in.
    UserId
);
id_type!(
    /// One of a tenant's customers.
    CustomerId
);
id_type!(
    /// One PBX.
    InstanceId
);
id_type!(
    /// One license reading in an instance's history.
    ReadingId
);
id_type!(
    /// One poll attempt.
    AttemptId
);
id_type!(
    /// One entry of an instance's event log.
    EventId
);
id_type!(
    /// A signed-in browser session.
    SessionId
);
id_type!(
    /// A per-user API token.
    ApiTokenId
);
id_type!(
    /// One entry of a tenant's audit log.
    AuditEntryId
);
id_type!(
    /// One alert.
    AlertId
);
id_type!(
    /// A delivery channel (webhook, Slack, …).
    ChannelId
);
id_type!(
    /// A routing rule.
    RouteId
);
id_type!(
    /// An escalation policy.
    EscalationId
);
id_type!(
    /// One outbox row: a notification on its way to one channel.
    DeliveryId
);
