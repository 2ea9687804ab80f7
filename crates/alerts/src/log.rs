//! Runway's own log as a channel: one `info` line per notification, for the demo and to see
//! what the other channels would say. It never fails and never logs a secret (a notice holds
//! none).

use async_trait::async_trait;
use runway_store::{ChannelKind, Notice};

use crate::notifier::{Attempt, Notifier};

/// Writes each notification as one log line.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Log
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        tracing::info!(
            action = notice.action.as_str(),
            severity = %notice.severity,
            kind = notice.kind.as_str(),
            stage = %notice.stage,
            customer = %notice.customer_name,
            instance = %notice.instance_name,
            "alert: {}",
            notice.summary,
        );
        Attempt::sent()
    }
}
