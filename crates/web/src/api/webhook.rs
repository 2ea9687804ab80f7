//! The generic webhook's body, documented in the OpenAPI description (`WebhookEvent`), so a
//! receiver can be written from `/api/v1/openapi.json`. Runway POSTs it; it is no route of
//! this API. The body itself is made by `runway_alerts::webhook::body`; the test below holds
//! this description to it, key for key.

use serde::Serialize;
use utoipa::ToSchema;

/// What Runway POSTs to a webhook channel, signed per Standard Webhooks: headers
/// `webhook-id` (the idempotency key: the same on every retry of one notification),
/// `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
/// (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the `whsec_` key).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent {
    /// `alert.triggered`, `alert.resolved` or `alert.test`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the alert was decided (RFC 3339).
    pub timestamp: String,
    /// The notification.
    pub data: WebhookNotice,
}

/// One notification: a snapshot taken when the alert was decided, so every retry says the same.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookNotice {
    /// Stable across retries and nodes: `runway:t{tenant}:i{instance}:{kind}:{series}:{stage}`
    /// (a resolve ends in `resolve:{n}`).
    pub idempotency_key: String,
    /// Stable for the whole series: `runway:t{tenant}:i{instance}:{kind}:{series}`.
    pub series_key: String,
    /// `trigger`, `resolve` or `test`.
    pub action: String,
    /// The alert's id (`null` for a test).
    pub alert_id: Option<i64>,
    /// `license_expiry` or `not_read`.
    pub kind: String,
    /// `INFO`, `WARNING` or `CRITICAL`.
    pub severity: String,
    /// `milestone:10`, `milestone:3`, `milestone:1`, `lapse` or `not_read`.
    pub stage: String,
    /// Days left when it fired (reminders).
    pub days_left: Option<i32>,
    /// The instance's id.
    pub instance_id: i64,
    /// The instance's name.
    pub instance_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The license key, when known.
    pub license_key: Option<String>,
    /// The edition, when known.
    pub edition: Option<String>,
    /// The expiry date of the series (`YYYY-MM-DD`, in the tenant's zone).
    #[schema(format = Date)]
    pub expiry_date: Option<String>,
    /// The tenant's IANA zone.
    pub zone: String,
    /// Where to renew this key.
    pub renew_url: Option<String>,
    /// `renewed`, `superseded` or `read_again`, on a resolve.
    pub resolution: Option<String>,
    /// What the resolution said, e.g. "renewed: new expiry 2027-12-01".
    pub resolution_note: Option<String>,
    /// One line for a subject or a title.
    pub summary: String,
    /// When it was decided (RFC 3339).
    pub at: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use runway_core::Severity;
    use runway_store::{AlertId, AlertKind, InstanceId, Notice, NoticeAction};

    #[test]
    fn the_documented_webhook_body_names_exactly_the_keys_runway_sends() {
        let notice = Notice {
            idempotency_key: "runway:t1:i2:license_expiry:2026-12-01:milestone:3".to_owned(),
            series_key: "runway:t1:i2:license_expiry:2026-12-01".to_owned(),
            action: NoticeAction::Trigger,
            alert_id: Some(AlertId(7)),
            kind: AlertKind::LicenseExpiry,
            severity: Severity::Warning,
            stage: "milestone:3".to_owned(),
            days_left: Some(3),
            instance_id: InstanceId(2),
            instance_name: "pbx-01".to_owned(),
            customer_name: "Acme".to_owned(),
            customer_id: None,
            license_key: Some("KEY".to_owned()),
            edition: Some("Enterprise".to_owned()),
            expiry_date: Some("2026-12-01".parse().unwrap_or_default()),
            zone: "UTC".to_owned(),
            renew_url: None,
            resolution: None,
            resolution_note: None,
            summary: "pbx-01 expires in 3 days".to_owned(),
            at: jiff::Timestamp::UNIX_EPOCH,
        };
        let sent: serde_json::Value =
            serde_json::from_slice(&runway_alerts::webhook::body(&notice).unwrap_or_default())
                .unwrap_or_default();
        let keys = |value: &serde_json::Value| -> BTreeSet<String> {
            value
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        let doc = serde_json::to_value(super::super::openapi()).unwrap_or_default();
        let schema = |name: &str| doc["components"]["schemas"][name]["properties"].clone();
        assert_eq!(keys(&schema("WebhookEvent")), keys(&sent));
        assert_eq!(keys(&schema("WebhookNotice")), keys(&sent["data"]));
        assert!(!keys(&sent["data"]).is_empty());
    }
}
