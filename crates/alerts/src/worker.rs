//! The delivery worker: claims due outbox rows, makes one attempt per row with the channel's
//! notifier, and records each outcome after the attempt.
//!
//! The shape is the engine's: one step, [`Worker::deliver_due`], that returns a report, and a
//! loop, [`Worker::run`], that calls it until shutdown. Every node runs a worker; rows are
//! leased (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so nodes split the work, and a node that
//! dies mid-attempt lets its lease lapse and another node sends the row. A row is marked sent
//! only after the receiver took it, so delivery is at least once: a duplicate happens only
//! when a receiver took a notification and the node died before recording it, and the
//! duplicate carries the same idempotency key.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use jiff::{SignedDuration, Timestamp};
use runway_clock::Clock;
use runway_core::Severity;
use runway_store::{
    AttemptOutcome, Channel, ChannelKind, DueDelivery, Notice, NoticeAction, Store, StoreError,
};

use crate::notifier::{Attempt, notifier_for};

/// How a worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This node's name in leases.
    pub node: String,
    /// How long a claimed row stays leased: longer than any attempt can take.
    pub lease_for: Duration,
    /// Rows claimed per step.
    pub batch: u32,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// How long one attempt may take before it counts as a timeout (retried).
    pub attempt_timeout: Duration,
    /// How long the loop waits between steps when nothing is due.
    pub idle_wait: Duration,
    /// The retry schedule.
    pub backoff: Backoff,
}

impl WorkerConfig {
    /// The defaults for a node named `node`.
    pub fn new(node: impl Into<String>) -> WorkerConfig {
        WorkerConfig {
            node: node.into(),
            lease_for: Duration::from_mins(2),
            batch: 100,
            concurrency: 16,
            attempt_timeout: Duration::from_secs(30),
            idle_wait: Duration::from_secs(1),
            backoff: Backoff::default(),
        }
    }
}

/// Exponential backoff with jitter: the n-th retry waits between half and all of
/// `first × 2ⁿ⁻¹`, capped at `max`; a receiver's `Retry-After` is honoured (never retried
/// sooner), up to `max_retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub first: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_secs(10),
            max: Duration::from_hours(1),
            max_retry_after: Duration::from_hours(6),
        }
    }
}

impl Backoff {
    /// The wait before the next attempt, after `attempts` attempts (≥ 1) failed; `jitter` in
    /// `0..=1` picks the point within the window, `retry_after` is the receiver's request.
    pub fn wait(&self, attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let full = self.first.saturating_mul(1_u32 << exponent).min(self.max);
        let jitter = jitter.clamp(0.0, 1.0);
        let wait = full / 2 + full.mul_f64(jitter) / 2;
        match retry_after {
            Some(asked) => wait.max(asked.min(self.max_retry_after)),
            None => wait,
        }
    }
}

/// A jitter in `0..=1` that differs between rows and attempts, without a random source: a
/// hash of the row and the attempt (so nodes retrying many rows spread out, and tests are
/// repeatable).
fn jitter(row: i64, attempts: u32) -> f64 {
    let mut x = row.cast_unsigned() ^ (u64::from(attempts) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    f64::from(u32::try_from(x % 10_001).unwrap_or(0)) / 10_000.0
}

/// The notice that tells the other channels that `channel` rejected its credentials.
fn problem_notice(channel: &Channel, about: &Notice, error: &str, now: Timestamp) -> Notice {
    let what = if channel.kind.is_psa() {
        "PSA credentials rejected"
    } else {
        "Channel credentials rejected"
    };
    let key = format!("runway:t{}:channel:c{}", channel.tenant_id.0, channel.id.0);
    Notice {
        idempotency_key: format!("{key}:rejected:{}", now.as_second()),
        series_key: key,
        action: NoticeAction::Problem,
        alert_id: None,
        kind: about.kind,
        severity: Severity::Critical,
        stage: "credentials_rejected".to_owned(),
        days_left: None,
        instance_id: about.instance_id,
        instance_name: format!("{} channel \"{}\"", channel.kind.label(), channel.name),
        customer_name: "Runway".to_owned(),
        customer_id: None,
        license_key: None,
        edition: None,
        expiry_date: None,
        zone: about.zone.clone(),
        renew_url: None,
        resolution: None,
        resolution_note: None,
        summary: format!(
            "{what}: the {} channel \"{}\" is paused and its tickets wait until its \
             credentials are fixed in Runway ({error})",
            channel.kind.label(),
            channel.name
        ),
        at: now,
    }
}

/// How often the loop looks for Alertmanager alerts to re-send (each is re-sent only once
/// [`crate::alertmanager::RESEND_EVERY`] has passed since it was last told).
const RESEND_ROUND: SignedDuration = SignedDuration::from_mins(1);

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Rows claimed.
    pub claimed: usize,
    /// Sent.
    pub sent: usize,
    /// Failed and queued for a retry.
    pub retried: usize,
    /// Refused for good.
    pub failed: usize,
}

/// The delivery worker of one node.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    config: WorkerConfig,
    wake: Arc<tokio::sync::Notify>,
    last_step: Arc<std::sync::Mutex<Option<Timestamp>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("node", &self.config.node)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker over `store`, sending with `http` (see [`crate::http_client`]).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        http: reqwest::Client,
        config: WorkerConfig,
    ) -> Worker {
        Worker {
            store,
            clock,
            http,
            config,
            wake: Arc::default(),
            last_step: Arc::default(),
        }
    }

    /// Asks the loop to look for due rows now (something was just queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// When the loop last finished a step: the readiness heartbeat.
    pub fn last_step(&self) -> Option<Timestamp> {
        *self
            .last_step
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One step: claims the rows due now and makes one attempt at each (several at once,
    /// at most one per series), recording each outcome as soon as it is known.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, StoreError> {
        let now = self.clock.now();
        let due = self
            .store
            .claim_deliveries(
                now,
                &self.config.node,
                self.config.lease_for,
                self.config.batch,
            )
            .await?;
        let mut report = DeliveryReport {
            claimed: due.len(),
            ..DeliveryReport::default()
        };
        let mut outcomes = futures_util::stream::iter(due)
            .map(|row| self.attempt(row))
            .buffer_unordered(self.config.concurrency.max(1));
        let mut first_error = None;
        while let Some(result) = outcomes.next().await {
            match result {
                Ok(AttemptOutcome::Sent { .. }) => report.sent += 1,
                Ok(AttemptOutcome::Retry { .. }) => report.retried += 1,
                Ok(AttemptOutcome::Failed { .. }) => report.failed += 1,
                Err(err) => {
                    tracing::error!(error = %err, "cannot record a delivery's outcome");
                    first_error.get_or_insert(err);
                }
            }
        }
        *self
            .last_step
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(self.clock.now());
        match first_error {
            Some(err) => Err(err),
            None => Ok(report),
        }
    }

    /// One step of keeping Alertmanager's alerts firing: re-sends the last trigger of every
    /// unresolved alert that Alertmanager was last told about [`crate::alertmanager::RESEND_EVERY`]
    /// or longer ago (it resolves an alert by itself once its `endsAt` passes). A re-send is not
    /// a new notification: its outbox row stays sent, a failure is logged and the next round
    /// tries again — two lost rounds in a row still leave the alert firing. Returns how many
    /// re-sends Alertmanager took.
    pub async fn resend_active(&self) -> Result<usize, StoreError> {
        let due = self
            .store
            .claim_resends(
                self.clock.now(),
                ChannelKind::Alertmanager,
                crate::alertmanager::RESEND_EVERY,
                self.config.batch,
            )
            .await?;
        let mut taken = 0;
        for row in due {
            let channel = &row.target.channel;
            match self.send(&row).await.error() {
                None => taken += 1,
                Some(error) => tracing::warn!(
                    channel = %channel.name,
                    key = %row.delivery.notice.idempotency_key,
                    error = %error,
                    "Alertmanager did not take the re-send of a firing alert; the next round \
                     tries again"
                ),
            }
        }
        Ok(taken)
    }

    /// One attempt to send a claimed row's notice with its channel's notifier, within the
    /// attempt timeout (a timeout is retryable; a channel that cannot be built is permanent).
    async fn send(&self, due: &DueDelivery) -> Attempt {
        let notifier = match notifier_for(&due.target, &self.http, Arc::clone(&self.clock)) {
            Ok(notifier) => notifier,
            Err(err) => return Attempt::permanent(format!("the channel is not usable: {err}")),
        };
        let sent = notifier.notify(&due.delivery.notice, due.reference.as_deref());
        tokio::time::timeout(self.config.attempt_timeout, sent)
            .await
            .unwrap_or_else(|_| {
                Attempt::retry(format!(
                    "no answer within {} ms",
                    self.config.attempt_timeout.as_millis()
                ))
            })
    }

    /// One attempt at one claimed row, and its record.
    async fn attempt(&self, due: DueDelivery) -> Result<AttemptOutcome, StoreError> {
        let delivery = &due.delivery;
        let attempt = self.send(&due).await;
        let now = self.clock.now();
        let attempts = delivery.attempts.saturating_add(1);
        let outcome = match attempt {
            Attempt::Sent { reference } => AttemptOutcome::Sent { reference },
            Attempt::Retryable { retry_after, error } => {
                let wait = self.config.backoff.wait(
                    attempts,
                    jitter(delivery.id.0, attempts),
                    retry_after,
                );
                let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX);
                AttemptOutcome::Retry {
                    retry_at: now.checked_add(wait).unwrap_or(now),
                    error,
                }
            }
            Attempt::Permanent { error } => AttemptOutcome::Failed { error },
            Attempt::Rejected { error } => {
                // The row waits for the channel's credentials: paused, it is not claimed; once
                // they are fixed it goes at once.
                self.pause(&due, &error, now).await?;
                AttemptOutcome::Retry {
                    retry_at: now,
                    error: format!(
                        "{error} (the channel is paused until its credentials are fixed)"
                    ),
                }
            }
        };
        let channel = &due.target.channel;
        match &outcome {
            AttemptOutcome::Sent { .. } if channel.kind.is_psa() => tracing::info!(
                channel = %channel.name,
                kind = %channel.kind,
                key = %delivery.notice.idempotency_key,
                attempts,
                "updated the series' PSA ticket"
            ),
            AttemptOutcome::Sent { .. } => tracing::info!(
                channel = %channel.name,
                kind = %channel.kind,
                key = %delivery.notice.idempotency_key,
                attempts,
                "delivered a notification"
            ),
            AttemptOutcome::Retry { retry_at, error } => tracing::warn!(
                channel = %channel.name,
                kind = %channel.kind,
                key = %delivery.notice.idempotency_key,
                attempts,
                %retry_at,
                error = %error,
                "a notification was not delivered; it will be retried"
            ),
            AttemptOutcome::Failed { error } => tracing::error!(
                channel = %channel.name,
                kind = %channel.kind,
                key = %delivery.notice.idempotency_key,
                attempts,
                error = %error,
                "a notification was refused for good; retry it from the alert's page"
            ),
        }
        self.store
            .finish_delivery(delivery, &outcome, now)
            .await
            .map(|()| outcome)
    }

    /// Pauses the channel of `due`, whose receiver rejected its credentials, and tells the
    /// tenant's other channels (once: a channel already paused queues nothing again).
    async fn pause(
        &self,
        due: &DueDelivery,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let channel = &due.target.channel;
        let problem = problem_notice(channel, &due.delivery.notice, error, now);
        let paused = self
            .store
            .pause_channel(channel.tenant_id, channel.id, error, &problem, now)
            .await?;
        if paused {
            tracing::error!(
                channel = %channel.name,
                kind = %channel.kind,
                error = %error,
                "the receiver rejected the channel's credentials: the channel is paused (its \
                 notifications wait) and the other channels are told"
            );
        }
        Ok(())
    }

    /// Delivers what falls due until `shutdown` completes; a step that fails is logged and
    /// the loop goes on.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut resent_at: Option<Timestamp> = None;
        loop {
            let now = self.clock.now();
            if resent_at.is_none_or(|at| now.duration_since(at) >= RESEND_ROUND) {
                resent_at = Some(now);
                if let Err(err) = self.resend_active().await {
                    tracing::error!(error = %err, "cannot re-send Alertmanager's firing alerts");
                }
            }
            let busy = match self.deliver_due().await {
                Ok(report) => report.claimed > 0,
                Err(err) => {
                    tracing::error!(error = %err, "the delivery worker's step failed");
                    false
                }
            };
            if busy {
                // A full batch may have left more due: go again at once (but let shutdown in).
                tokio::select! {
                    biased;
                    () = &mut shutdown => return,
                    () = std::future::ready(()) => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.config.idle_wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter_window_and_stops_at_the_cap() {
        let backoff = Backoff::default();
        assert_eq!(backoff.wait(1, 0.0, None), Duration::from_secs(5));
        assert_eq!(backoff.wait(1, 1.0, None), Duration::from_secs(10));
        assert_eq!(backoff.wait(2, 1.0, None), Duration::from_secs(20));
        assert_eq!(backoff.wait(4, 0.5, None), Duration::from_mins(1));
        assert_eq!(backoff.wait(30, 1.0, None), Duration::from_hours(1));
        assert_eq!(backoff.wait(30, 0.0, None), Duration::from_mins(30));
    }

    #[test]
    fn retry_after_is_honoured_but_not_beyond_its_cap() {
        let backoff = Backoff::default();
        assert_eq!(
            backoff.wait(1, 0.0, Some(Duration::from_mins(2))),
            Duration::from_mins(2)
        );
        // A shorter Retry-After than the backoff does not make the retry sooner.
        assert_eq!(
            backoff.wait(5, 1.0, Some(Duration::from_secs(1))),
            Duration::from_secs(160)
        );
        assert_eq!(
            backoff.wait(1, 0.0, Some(Duration::from_hours(100))),
            Duration::from_hours(6)
        );
    }

    #[test]
    fn jitter_stays_in_range_and_spreads_rows() {
        let values: Vec<f64> = (0..200).map(|row| jitter(row, 1)).collect();
        assert!(values.iter().all(|j| (0.0..=1.0).contains(j)));
        let low = values.iter().filter(|j| **j < 0.5).count();
        assert!((60..=140).contains(&low), "{low} of 200 below one half");
        assert!((jitter(7, 3) - jitter(7, 3)).abs() < f64::EPSILON);
        assert!((jitter(7, 3) - jitter(7, 4)).abs() > f64::EPSILON);
    }
}
