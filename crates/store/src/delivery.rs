//! Delivery: where alerts go (channels, routing rules, escalation policies) and the durable
//! outbox that carries each notification there.
//!
//! The outbox is written in the transaction that decides an alert (`sql/alerts.rs`): one row
//! per routed channel, each with a stable idempotency key derived from (tenant, instance, kind,
//! series, stage or resolve). The delivery worker (`runway-alerts`) claims due rows with a
//! lease, makes one attempt per row and records the outcome after it; a row is marked sent only
//! after the receiver said so, so a crash or an outage delays a notification and never loses
//! one. Rows of one (channel, series) are handed out in order: a resolve never overtakes its
//! trigger.

use jiff::Timestamp;
use jiff::civil::Date;
use runway_core::Severity;
use serde::{Deserialize, Serialize};

use crate::alert::{AlertKind, AlertResolution};
use crate::ids::{AlertId, ChannelId, CustomerId, DeliveryId, InstanceId, TenantId};

/// What kind of receiver a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A generic HTTPS endpoint, signed per Standard Webhooks.
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// A Microsoft Teams Workflows webhook (Adaptive Card).
    Teams,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Email over SMTP.
    Email,
    /// Prometheus Alertmanager's `/api/v2/alerts`.
    Alertmanager,
    /// Runway's own log (the demo's channel; useful to see what would be sent).
    Log,
    /// ConnectWise PSA (Manage) tickets.
    Connectwise,
    /// Datto Autotask PSA tickets.
    Autotask,
    /// HaloPSA tickets.
    Halopsa,
    /// Syncro tickets.
    Syncro,
}

stored_names!(ChannelKind, "channel kind", {
    Webhook => "webhook",
    Slack => "slack",
    Teams => "teams",
    Pagerduty => "pagerduty",
    Email => "email",
    Alertmanager => "alertmanager",
    Log => "log",
    Connectwise => "connectwise",
    Autotask => "autotask",
    Halopsa => "halopsa",
    Syncro => "syncro",
});

impl ChannelKind {
    /// Every kind, in the order forms offer them.
    pub const ALL: [ChannelKind; 11] = [
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::Teams,
        ChannelKind::Pagerduty,
        ChannelKind::Email,
        ChannelKind::Alertmanager,
        ChannelKind::Connectwise,
        ChannelKind::Autotask,
        ChannelKind::Halopsa,
        ChannelKind::Syncro,
        ChannelKind::Log,
    ];

    /// Whether it opens tickets in a PSA (and keeps one per series).
    pub fn is_psa(self) -> bool {
        matches!(
            self,
            ChannelKind::Connectwise
                | ChannelKind::Autotask
                | ChannelKind::Halopsa
                | ChannelKind::Syncro
        )
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "Webhook",
            ChannelKind::Slack => "Slack",
            ChannelKind::Teams => "Microsoft Teams",
            ChannelKind::Pagerduty => "PagerDuty",
            ChannelKind::Email => "Email",
            ChannelKind::Alertmanager => "Alertmanager",
            ChannelKind::Log => "Log",
            ChannelKind::Connectwise => "ConnectWise PSA",
            ChannelKind::Autotask => "Autotask",
            ChannelKind::Halopsa => "HaloPSA",
            ChannelKind::Syncro => "Syncro",
        }
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network only).
    None,
    /// STARTTLS, required before anything is sent.
    #[default]
    Starttls,
    /// Implicit TLS from the first byte (port 465).
    Tls,
}

/// A channel's settings that are not secret (shown back to the user). What is secret — the
/// webhook's signing secret, the Slack or Teams URL (the URL is the credential), the
/// PagerDuty routing key, the SMTP password, an Alertmanager bearer token — is sealed apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ChannelSettings {
    /// The endpoint (webhook, Alertmanager, PagerDuty's events URL when not the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// SMTP host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    /// SMTP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<u16>,
    /// SMTP security.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_tls: Option<SmtpTls>,
    /// SMTP user name (the password is the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_username: Option<String>,
    /// The sender address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_from: Option<String>,
    /// The recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_to: Vec<String>,
    /// A PSA channel's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psa: Option<crate::psa::PsaSettings>,
}

/// A channel to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    /// A name unique in the tenant.
    pub name: String,
    /// The kind.
    pub kind: ChannelKind,
    /// Settings shown back.
    pub settings: ChannelSettings,
    /// The secret part, sealed at rest and never shown again.
    pub secret: Option<String>,
}

/// A channel as stored (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its id.
    pub id: ChannelId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: ChannelKind,
    /// Settings shown back.
    pub settings: ChannelSettings,
    /// Whether a secret is stored.
    pub has_secret: bool,
    /// Whether deliveries go out.
    pub enabled: bool,
    /// When it was made.
    pub created_at: Timestamp,
    /// Since when, and why, its deliveries wait: the receiver rejected the credentials. Saving
    /// the channel again (new credentials) or resuming it lifts the pause.
    pub paused: Option<(Timestamp, String)>,
}

/// A channel with its secret opened, for the delivery worker only.
#[derive(Debug, Clone)]
pub struct ChannelTarget {
    /// The channel.
    pub channel: Channel,
    /// The opened secret.
    pub secret: Option<String>,
}

/// A routing rule: alerts of a kind (or any), at least this severe, of one customer's instances
/// (or any), go to a channel. A tenant without rules sends every alert of an enabled kind to
/// every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Its id.
    pub id: crate::ids::RouteId,
    /// Only this kind; `None`: every kind.
    pub kind: Option<AlertKind>,
    /// At least this severe.
    pub min_severity: Severity,
    /// Only this customer's instances; `None`: every customer.
    pub customer_id: Option<CustomerId>,
    /// Where they go.
    pub channel_id: ChannelId,
}

/// A routing rule to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRoute {
    /// Only this kind; `None`: every kind.
    pub kind: Option<AlertKind>,
    /// At least this severe.
    pub min_severity: Severity,
    /// Only this customer's instances.
    pub customer_id: Option<CustomerId>,
    /// Where they go.
    pub channel_id: ChannelId,
}

/// One level of an escalation policy: if the alert is still open (not acknowledged, not
/// resolved) `after_minutes` after it fired, notify the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationLevel {
    /// Minutes after the alert fired.
    pub after_minutes: u32,
    /// The channel to notify.
    pub channel_id: ChannelId,
}

/// An escalation policy: ordered levels for alerts at least this severe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Its id.
    pub id: crate::ids::EscalationId,
    /// Its name.
    pub name: String,
    /// Alerts at least this severe escalate.
    pub min_severity: Severity,
    /// The levels, in order of `after_minutes`.
    pub levels: Vec<EscalationLevel>,
}

/// An escalation policy to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEscalation {
    /// Its name.
    pub name: String,
    /// Alerts at least this severe escalate.
    pub min_severity: Severity,
    /// The levels.
    pub levels: Vec<EscalationLevel>,
}

/// What a notification does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeAction {
    /// A stage fired: open or escalate.
    Trigger,
    /// The alert resolved.
    Resolve,
    /// A test notification from the channel's button.
    Test,
    /// Another channel has a problem people must fix (a PSA rejected Runway's credentials).
    Problem,
}

stored_names!(NoticeAction, "notice action", {
    Trigger => "trigger",
    Resolve => "resolve",
    Test => "test",
    Problem => "problem",
});

/// What one notification says: a snapshot taken when the alert was decided, so that every
/// retry sends the same facts. This is also the documented body of the generic webhook's
/// `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Stable across retries and nodes: `runway:t{tenant}:i{instance}:{kind}:{series}:{stage|resolve}`.
    pub idempotency_key: String,
    /// Stable for the whole series (PagerDuty's `dedup_key`, Alertmanager's identity, the email
    /// thread): `runway:t{tenant}:i{instance}:{kind}:{series}`.
    pub series_key: String,
    /// Trigger, resolve or test.
    pub action: NoticeAction,
    /// The alert (none for a test).
    pub alert_id: Option<AlertId>,
    /// The alert's kind.
    pub kind: AlertKind,
    /// Its severity.
    pub severity: Severity,
    /// The stage: `milestone:10`, `lapse`, `not_read`.
    pub stage: String,
    /// Days left when it fired (reminders).
    pub days_left: Option<i32>,
    /// The instance.
    pub instance_id: InstanceId,
    /// The instance's name.
    pub instance_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The customer (a PSA channel maps it to a company); absent in notices queued before
    /// PSA channels existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    /// The license key, when known.
    pub license_key: Option<String>,
    /// The edition, when known.
    pub edition: Option<String>,
    /// The expiry date of the series, in the tenant's zone.
    pub expiry_date: Option<Date>,
    /// The tenant's zone.
    pub zone: String,
    /// Where to renew this key.
    pub renew_url: Option<String>,
    /// Why it resolved.
    pub resolution: Option<AlertResolution>,
    /// What the resolution said ("renewed: new expiry 2027-12-01").
    pub resolution_note: Option<String>,
    /// One line for a subject or a title.
    pub summary: String,
    /// When it was decided.
    pub at: Timestamp,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// The receiver took it.
    Sent,
    /// The receiver refused it for good; shown, and retried only by hand.
    Failed,
    /// An escalation no longer needed (acknowledged or resolved first), or a channel deleted.
    Cancelled,
}

stored_names!(DeliveryState, "delivery state", {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
    Cancelled => "cancelled",
});

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The channel it goes to.
    pub channel_id: ChannelId,
    /// The channel's name.
    pub channel_name: String,
    /// What it says.
    pub notice: Notice,
    /// The escalation level that queued it, if any.
    pub escalation_level: Option<u32>,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// Not before this.
    pub not_before: Timestamp,
    /// The last answer: the receiver's status and message (secrets redacted).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

/// A leased outbox row with what the worker needs to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The row.
    pub delivery: Delivery,
    /// Its channel, secret opened.
    pub target: ChannelTarget,
    /// The external reference this channel keeps for the series (a ticket id), if any.
    pub reference: Option<String>,
}

/// The outcome of one attempt, as the worker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver took it; it may name a reference to keep for the series.
    Sent {
        /// An external reference for the series (a ticket id).
        reference: Option<String>,
    },
    /// Try again at `retry_at`.
    Retry {
        /// When.
        retry_at: Timestamp,
        /// What the receiver said.
        error: String,
    },
    /// Refused for good.
    Failed {
        /// What the receiver said.
        error: String,
    },
}

/// Counts of outbox rows, for health and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxDepth {
    /// Pending rows due now.
    pub due: u64,
    /// Pending rows waiting for a retry or an escalation.
    pub waiting: u64,
    /// Failed rows.
    pub failed: u64,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only this alert's.
    pub alert: Option<AlertId>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
}
