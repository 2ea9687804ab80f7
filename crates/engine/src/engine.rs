//! The engine: the scheduler loop, the one read path, and reads users ask for.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use runway_core::LicenseFacts;
use runway_store::{
    AttemptError, Credentials, GoodLicense, Instance, InstanceId, LastAttempt, LicenseState,
    LoginKind, NewAttempt, NewReading, ReadingSource, Store, StoreError, TenantId, Trigger,
};
use runway_threecx::{Api, Connector, LicenseReading, Login, PbxClient, PbxTarget, ReadLimits};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::error::{EngineError, TestConnectionError};
use crate::events;
use crate::schedule::{LastRead, SchedulePolicy};

/// How the engine works.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This node's name in leases; unique per running process.
    pub node_id: String,
    /// The most PBXs read at once.
    pub concurrency: usize,
    /// The timeout of one read and the largest body accepted.
    pub read_limits: ReadLimits,
    /// Where the next read is placed after a success or a failure.
    pub schedule: SchedulePolicy,
    /// How often an idle scheduler looks for due reads.
    pub idle_tick: Duration,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            node_id: default_node_id(),
            concurrency: 64,
            read_limits: ReadLimits::default(),
            schedule: SchedulePolicy::default(),
            idle_tick: Duration::from_secs(5),
        }
    }
}

/// A node name that differs between processes and hosts: `host-pid-nanos`.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "runway".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!("{host}-{}-{nanos:08x}", std::process::id())
}

/// The result of one read: what the instance's license was before and is after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The instance read.
    pub instance: InstanceId,
    /// What started the read.
    pub trigger: Trigger,
    /// The license state before the read.
    pub before: LicenseState,
    /// The license state after it (the last good license is kept through a failure).
    pub after: LicenseState,
    /// Why the read failed; `None` when it read the license.
    pub error: Option<AttemptError>,
    /// Optional data the PBX did not provide, and similar remarks.
    pub notes: Vec<String>,
    /// How long the read took.
    pub duration: Duration,
}

impl ReadOutcome {
    /// Whether the read got the license.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// What one pass of the scheduler did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Reads that got the license.
    pub succeeded: usize,
    /// Reads that failed (recorded as failed attempts).
    pub failed: usize,
    /// Reads that could not be recorded (store trouble; the lease lapses and they are retried).
    pub not_recorded: usize,
    /// The slowest reads, slowest first (at most five).
    pub slowest: Vec<(InstanceId, Duration)>,
}

impl CycleReport {
    /// Reads attempted in the pass.
    pub fn reads(&self) -> usize {
        self.succeeded + self.failed + self.not_recorded
    }

    fn add(&mut self, result: &Result<ReadOutcome, EngineError>) {
        match result {
            Ok(outcome) => {
                if outcome.succeeded() {
                    self.succeeded += 1;
                } else {
                    self.failed += 1;
                }
                self.slowest.push((outcome.instance, outcome.duration));
                self.slowest
                    .sort_by_key(|&(_, took)| std::cmp::Reverse(took));
                self.slowest.truncate(5);
            }
            Err(_) => self.not_recorded += 1,
        }
    }
}

/// The poller; see the crate docs. Cheap to clone: clones share one engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("node_id", &self.inner.config.node_id)
            .field("backend", &self.inner.store.backend())
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    connector: Connector,
    /// One client per instance: it holds the PBX's token and login backoff between reads.
    clients: Mutex<HashMap<InstanceId, Arc<PbxClient>>>,
    /// Signalled whenever this node releases a lease.
    released: Notify,
    /// Signalled to make an idle scheduler look for due reads at once.
    wake: Notify,
}

/// A read that failed, with what scheduling needs to know.
struct Failure {
    error: AttemptError,
    login_rejected: bool,
}

impl Engine {
    /// An engine over `store`, taking time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: EngineConfig) -> Engine {
        let connector = Connector::new(config.read_limits);
        Engine {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                connector,
                clients: Mutex::default(),
                released: Notify::new(),
                wake: Notify::new(),
            }),
        }
    }

    /// The store the engine records into.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock the engine takes time from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Its configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Makes an idle [`Engine::run`] look for due reads now (after a "read now" request).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// How long a lease lasts: longer than any read can take, so a live read never loses it.
    fn lease_for(&self) -> Duration {
        self.inner.config.read_limits.timeout * 2 + Duration::from_secs(30)
    }

    // ---- the scheduler ------------------------------------------------------------------------

    /// Reads everything due now and returns when nothing is due and no read is in flight.
    pub async fn run_due(&self) -> CycleReport {
        self.drive(true, std::future::pending()).await
    }

    /// Reads instances as they fall due until `shutdown` completes, then lets the reads in
    /// flight finish (each is bounded by its timeout) and returns what it did.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> CycleReport {
        self.drive(false, shutdown).await
    }

    async fn drive(&self, until_idle: bool, shutdown: impl Future<Output = ()>) -> CycleReport {
        let config = &self.inner.config;
        let concurrency = config.concurrency.max(1);
        // Lease in batches rather than one row per finished read: fewer write transactions.
        let refill_at = (concurrency / 8).max(1);
        let mut tasks: JoinSet<Result<ReadOutcome, EngineError>> = JoinSet::new();
        let mut report = CycleReport::default();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let free = concurrency - tasks.len();
            let mut nothing_due = false;
            if free >= refill_at || tasks.is_empty() {
                let now = self.inner.clock.now();
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match self
                    .inner
                    .store
                    .lease_due(now, &config.node_id, self.lease_for(), limit)
                    .await
                {
                    Ok(batch) => {
                        nothing_due = batch.is_empty();
                        for instance in batch {
                            let engine = self.clone();
                            tasks.spawn(async move {
                                engine.read_leased(&instance, Trigger::Schedule).await
                            });
                        }
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "cannot lease due reads");
                        nothing_due = true;
                    }
                }
            }
            if tasks.is_empty() && nothing_due {
                if until_idle {
                    break;
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(config.idle_tick) => {}
                    () = self.inner.wake.notified() => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                Some(joined) = tasks.join_next() => report.add(&flatten(joined)),
                () = tokio::time::sleep(config.idle_tick), if !until_idle => {}
            }
        }
        while let Some(joined) = tasks.join_next().await {
            report.add(&flatten(joined));
        }
        report
    }

    // ---- reads users ask for ----------------------------------------------------------------

    /// Reads one instance now (with [`Trigger::Refresh`], first asks the PBX to re-query 3CX),
    /// records it and returns the license before and after. If another read holds the
    /// instance, waits for it to finish (up to about one read's timeout).
    pub async fn read_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        trigger: Trigger,
    ) -> Result<ReadOutcome, EngineError> {
        let wait_until = tokio::time::Instant::now() + self.lease_for();
        loop {
            // Register for the release before trying, so a release in between is not missed.
            let released = self.inner.released.notified();
            let mut released = std::pin::pin!(released);
            released.as_mut().enable();
            let now = self.inner.clock.now();
            let leased = self
                .inner
                .store
                .lease_instance(
                    tenant,
                    instance,
                    &self.inner.config.node_id,
                    now,
                    self.lease_for(),
                )
                .await?;
            if let Some(leased) = leased {
                if leased.login_kind == LoginKind::Manual {
                    self.release(&leased, leased.schedule.next_poll_at).await?;
                    return Err(EngineError::Manual);
                }
                return self.read_leased(&leased, trigger).await;
            }
            if tokio::time::Instant::now() >= wait_until {
                return Err(EngineError::Busy);
            }
            // Another node's read is only seen by asking again.
            tokio::select! {
                () = released => {}
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Reads several instances of a tenant at once (bulk refresh), at most
    /// [`EngineConfig::concurrency`] at a time; results in the order asked.
    pub async fn read_instances(
        &self,
        tenant: TenantId,
        instances: &[InstanceId],
        trigger: Trigger,
    ) -> Vec<(InstanceId, Result<ReadOutcome, EngineError>)> {
        let permits = Arc::new(Semaphore::new(self.inner.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for (index, &instance) in instances.iter().enumerate() {
            let engine = self.clone();
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                let _permit = permits.acquire().await;
                let result = engine.read_instance(tenant, instance, trigger).await;
                (index, result)
            });
        }
        let mut results: Vec<Option<Result<ReadOutcome, EngineError>>> =
            instances.iter().map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, result)) => results[index] = Some(result),
                Err(err) => tracing::error!(error = %err, "a bulk read task failed"),
            }
        }
        instances
            .iter()
            .zip(results)
            .map(|(&id, result)| {
                let result = result.unwrap_or(Err(EngineError::Busy));
                (id, result)
            })
            .collect()
    }

    /// Reads a PBX from settings not saved yet ("test connection"); records nothing.
    pub async fn test_connection(
        &self,
        base_url: &str,
        credentials: &Credentials,
        tls: &runway_store::TlsOptions,
    ) -> Result<LicenseFacts, TestConnectionError> {
        let target = target_for(base_url, credentials, tls)?;
        let client = self.inner.connector.client(target)?;
        Ok(client.read_license().await?.facts)
    }

    // ---- the one read path ------------------------------------------------------------------

    /// Reads a leased instance, records the outcome, schedules its next read and releases it.
    async fn read_leased(
        &self,
        instance: &Instance,
        trigger: Trigger,
    ) -> Result<ReadOutcome, EngineError> {
        let store = &self.inner.store;
        let (tenant_id, id) = (instance.tenant_id, instance.id);
        let started_at = whole_second(self.inner.clock.now());
        let timer = tokio::time::Instant::now();
        let tenant = store.tenant(tenant_id).await?;
        let before = store.license(tenant_id, id).await?;
        let result = self.read_pbx(instance, trigger).await?;
        let attempt = NewAttempt {
            started_at,
            duration: timer.elapsed(),
            trigger,
        };
        let now = whole_second(self.inner.clock.now());
        let seed = seed_for(id, now);
        let policy = &self.inner.config.schedule;
        let (after, error, notes, next) = match result {
            Ok(reading) => {
                let events = events::after_success(
                    &before,
                    &reading.facts,
                    trigger,
                    now,
                    &tenant.settings.zone,
                );
                let source = match reading.api {
                    Api::Xapi => ReadingSource::Xapi,
                    Api::Legacy => ReadingSource::Legacy,
                };
                let new = NewReading {
                    read_at: now,
                    source,
                    facts: reading.facts,
                    raw_body: Some(reading.raw.to_string()),
                };
                let reading_id = store
                    .record_reading(tenant_id, id, &new, &attempt, &events)
                    .await?;
                let after = LicenseState {
                    good: Some(GoodLicense {
                        reading_id,
                        facts: new.facts,
                        source,
                        read_at: now,
                    }),
                    last_attempt: Some(LastAttempt {
                        at: started_at,
                        error: None,
                    }),
                };
                let next =
                    policy.next_poll_at(now, instance.poll_interval, LastRead::Succeeded, seed);
                (after, None, reading.notes, next)
            }
            Err(failure) => {
                let events = events::after_failure(&before, &failure.error, now);
                let consecutive = store
                    .record_failure(tenant_id, id, &attempt, &failure.error, &events)
                    .await?;
                tracing::info!(
                    instance = id.0,
                    kind = %failure.error.kind,
                    consecutive,
                    "read failed"
                );
                let after = LicenseState {
                    good: before.good.clone(),
                    last_attempt: Some(LastAttempt {
                        at: started_at,
                        error: Some(failure.error.clone()),
                    }),
                };
                let last = LastRead::Failed {
                    consecutive,
                    login_rejected: failure.login_rejected,
                };
                let next = policy.next_poll_at(now, instance.poll_interval, last, seed);
                (after, Some(failure.error), Vec::new(), next)
            }
        };
        self.release(instance, next).await?;
        Ok(ReadOutcome {
            instance: id,
            trigger,
            before,
            after,
            error,
            notes,
            duration: attempt.duration,
        })
    }

    async fn release(&self, instance: &Instance, next: Timestamp) -> Result<(), EngineError> {
        let released = self
            .inner
            .store
            .finish_lease(instance.id, &self.inner.config.node_id, next)
            .await;
        self.inner.released.notify_waiters();
        if !released? {
            tracing::warn!(
                instance = instance.id.0,
                "the lease lapsed during the read; another node may read it again"
            );
        }
        Ok(())
    }

    /// Reads (or refreshes) the PBX. The outer error is the store's; the inner one is the
    /// PBX's, to be recorded as a failed attempt.
    async fn read_pbx(
        &self,
        instance: &Instance,
        trigger: Trigger,
    ) -> Result<Result<LicenseReading, Failure>, EngineError> {
        let credentials = match self
            .inner
            .store
            .credentials(instance.tenant_id, instance.id)
            .await
        {
            Ok(credentials) => credentials,
            Err(StoreError::Crypto) => {
                return Ok(Err(failure(
                    "credentials",
                    "the stored credentials cannot be decrypted with this installation's secret \
                     key; enter them again",
                )));
            }
            Err(err) => return Err(err.into()),
        };
        let client = match self.client_for(instance, &credentials) {
            Ok(client) => client,
            Err(TestConnectionError::BadAddress(err)) => {
                return Ok(Err(failure("bad_address", &err.to_string())));
            }
            Err(err) => return Ok(Err(failure("tls", &err.to_string()))),
        };
        let result = match trigger {
            Trigger::Refresh => client.refresh_license().await,
            Trigger::Schedule | Trigger::ReadNow => client.read_license().await,
        };
        Ok(result.map_err(|err| Failure {
            error: AttemptError {
                kind: err.kind().as_str().to_owned(),
                message: err.to_string(),
            },
            login_rejected: err.is_login_failure(),
        }))
    }

    /// The instance's client, kept while its settings stay the same (it holds the session).
    fn client_for(
        &self,
        instance: &Instance,
        credentials: &Credentials,
    ) -> Result<Arc<PbxClient>, TestConnectionError> {
        let target = target_for(&instance.base_url, credentials, &instance.tls)?;
        let mut clients = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&instance.id)
            && client.target() == &target
        {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(self.inner.connector.client(target)?);
        clients.insert(instance.id, Arc::clone(&client));
        Ok(client)
    }
}

fn failure(kind: &str, message: &str) -> Failure {
    Failure {
        error: AttemptError {
            kind: kind.to_owned(),
            message: message.to_owned(),
        },
        login_rejected: false,
    }
}

fn flatten(
    joined: Result<Result<ReadOutcome, EngineError>, tokio::task::JoinError>,
) -> Result<ReadOutcome, EngineError> {
    joined.unwrap_or_else(|err| {
        // A panicking read must not stop the scheduler: its lease lapses and it is retried.
        tracing::error!(error = %err, "a read task failed");
        Err(EngineError::Busy)
    })
}

/// The instant to the second, as the store keeps it, so what a read returns is what is stored.
fn whole_second(instant: Timestamp) -> Timestamp {
    Timestamp::from_second(instant.as_second()).unwrap_or(instant)
}

/// Where in the jitter band an instance's next read lands: stable per instance and read.
fn seed_for(instance: InstanceId, now: Timestamp) -> u64 {
    let id = u64::try_from(instance.0).unwrap_or_default();
    let secs = u64::try_from(now.as_second()).unwrap_or_default();
    id.rotate_left(32) ^ secs
}

/// The client's view of an instance's settings.
fn target_for(
    base_url: &str,
    credentials: &Credentials,
    tls: &runway_store::TlsOptions,
) -> Result<PbxTarget, TestConnectionError> {
    let login = match credentials.clone() {
        Credentials::ApiClient {
            client_id,
            client_secret,
        } => Login::ApiClient {
            client_id,
            secret: client_secret,
        },
        Credentials::User {
            username,
            password,
            totp_secret,
        } => Login::User {
            username,
            password,
            totp_secret,
        },
        Credentials::Legacy { username, password } => Login::Legacy { username, password },
    };
    Ok(PbxTarget {
        base_url: runway_threecx::parse_base_url(base_url)?,
        login,
        tls: runway_threecx::TlsOptions {
            custom_ca_pem: tls.custom_ca_pem.clone(),
            accept_invalid_certs: tls.accept_invalid_certs,
        },
    })
}
