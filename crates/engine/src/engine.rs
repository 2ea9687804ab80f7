//! The engine: the scheduler loop, the one read path, the one recording path, and reads users
//! ask for.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use runway_clock::Clock;
use runway_core::{BaseUrl, FailureKind, LicenseFacts, TlsOptions};
use runway_store::{
    AttemptError, Credentials, GoodLicense, ImportItem, ImportLicense, Imported, Instance,
    InstanceId, LastAttempt, LicenseState, LoginKind, NewAttempt, NewEvent, NewReading,
    ReadingSource, Store, StoreError, Tenant, TenantId, Trigger,
};
use runway_threecx::{
    Api, Connector, LicenseReading, NetworkPolicy, PbxClient, PbxTarget, ReadLimits,
};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::error::{EngineError, TestConnectionError};
use crate::events::{self, Entry};
use crate::metrics::PollDurations;
use crate::schedule::{LastRead, SchedulePolicy};

/// The default of [`EngineConfig::concurrency`].
pub const DEFAULT_CONCURRENCY: usize = 256;

/// How the engine works.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This node's name in leases; unique per running process.
    pub node_id: String,
    /// The most PBXs read at once by this engine — scheduled reads and the reads users ask for
    /// (refresh, read now, bulk) together. Reads wait on the network, not the CPU, so this is
    /// high: 256 reads at once keep 10,000 PBXs within a minute (see `BENCHMARKS.md`).
    pub concurrency: usize,
    /// The timeout of one read and the largest body accepted.
    pub read_limits: ReadLimits,
    /// Where the next read is placed after a success or a failure.
    pub schedule: SchedulePolicy,
    /// How often an idle scheduler looks for due reads.
    pub idle_tick: Duration,
    /// Which addresses reads may connect to (loopback, link-local and the like are refused
    /// unless allowed; see `runway_threecx::NetworkPolicy`).
    pub network: NetworkPolicy,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            node_id: default_node_id(),
            concurrency: DEFAULT_CONCURRENCY,
            read_limits: ReadLimits::default(),
            schedule: SchedulePolicy::default(),
            idle_tick: Duration::from_secs(5),
            network: NetworkPolicy::default(),
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

/// One instance of a CSV import for [`Engine::import_instances`]: what the store is to write,
/// and for a manual instance whose license changed, its license state when the file was
/// checked and the facts to record.
#[derive(Debug, Clone)]
pub struct ImportInstance {
    /// The instance's part (its `license` is filled in by the engine).
    pub item: ImportItem,
    /// The manual license to record: the state before, and the new facts.
    pub manual: Option<(LicenseState, LicenseFacts)>,
}

/// What recording a license typed in did: the instance's license before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The instance.
    pub instance: InstanceId,
    /// The license state before.
    pub before: LicenseState,
    /// The license state after.
    pub after: LicenseState,
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
    /// One permit per PBX read in flight, shared by the scheduler and users' reads, so
    /// [`EngineConfig::concurrency`] bounds them all together.
    reads: Arc<Semaphore>,
    /// When the scheduler last asked the store what is due (its heartbeat, for readiness).
    last_scheduled: Mutex<Option<Timestamp>>,
    /// How long this node's PBX reads took.
    poll_durations: PollDurations,
}

/// A read that failed, with what scheduling needs to know.
struct Failure {
    error: AttemptError,
    login_rejected: bool,
}

impl Engine {
    /// An engine over `store`, taking time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: EngineConfig) -> Engine {
        let connector = Connector::new(config.read_limits, config.network.clone());
        let reads = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Engine {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                connector,
                clients: Mutex::default(),
                released: Notify::new(),
                wake: Notify::new(),
                reads,
                last_scheduled: Mutex::default(),
                poll_durations: PollDurations::default(),
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

    /// How long this node's PBX reads took (every read of the read path, failed ones too).
    pub fn poll_durations(&self) -> &PollDurations {
        &self.inner.poll_durations
    }

    /// When the scheduler last asked what is due: it does so every
    /// [`EngineConfig::idle_tick`] when idle and whenever reads finish when busy, so an old
    /// answer means the scheduler is stuck or not running (`None`: it has not run yet).
    pub fn last_scheduled(&self) -> Option<Timestamp> {
        *self
            .inner
            .last_scheduled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long a lease lasts: longer than any read can take, so a live read never loses it.
    fn lease_for(&self) -> Duration {
        self.inner.config.read_limits.timeout * 2 + Duration::from_secs(30)
    }

    // ---- the scheduler ------------------------------------------------------------------------

    /// One pass: reads everything due now and returns when those reads are done. A read that
    /// fails here is retried by a later pass, after its backoff.
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
        // Lease in batches rather than one row per finished read: fewer write transactions.
        let refill_at = (config.concurrency.max(1) / 8).max(1);
        let mut tasks: JoinSet<Result<ReadOutcome, EngineError>> = JoinSet::new();
        let mut report = CycleReport::default();
        let mut shutdown = std::pin::pin!(shutdown);
        let pass_start = until_idle.then(|| self.inner.clock.now());
        loop {
            // Users' reads share the permits: lease only what can be read at once.
            let free = self.inner.reads.available_permits();
            if free == 0 && tasks.is_empty() {
                // Every permit is out on users' reads: wait for one rather than end the pass.
                drop(self.inner.reads.acquire().await);
                continue;
            }
            let mut nothing_due = false;
            if free >= refill_at || tasks.is_empty() {
                let now = self.inner.clock.now();
                // One pass reads what was due when it started: a failing PBX retried a minute
                // later belongs to the next pass, or a pass would never end on a faulty fleet.
                // Asking "due by the start" with the lease stretched by the time since keeps
                // the lease running from now.
                let (due_by, lease_for) = match pass_start {
                    Some(start) => {
                        let since = now.duration_since(start).unsigned_abs();
                        (start, self.lease_for() + since)
                    }
                    None => (now, self.lease_for()),
                };
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match self
                    .inner
                    .store
                    .lease_due(due_by, &config.node_id, lease_for, limit)
                    .await
                {
                    Ok(batch) => {
                        *self
                            .inner
                            .last_scheduled
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
                        nothing_due = batch.is_empty();
                        for instance in batch {
                            let engine = self.clone();
                            let permit = Arc::clone(&self.inner.reads).acquire_owned().await;
                            tasks.spawn(async move {
                                let _permit = permit;
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
    /// instance, waits for it to finish (up to about one read's timeout); it also waits its
    /// turn among the [`EngineConfig::concurrency`] reads in flight.
    pub async fn read_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        trigger: Trigger,
    ) -> Result<ReadOutcome, EngineError> {
        let _permit = self.inner.reads.acquire().await;
        let leased = self.lease_for_user(tenant, instance).await?;
        if leased.login_kind == LoginKind::Manual {
            self.release(&leased, leased.schedule.next_poll_at).await?;
            return Err(EngineError::Manual);
        }
        self.read_leased(&leased, trigger).await
    }

    /// Records license facts typed in (or imported) for a manual instance, through the one
    /// recording path: the reading, the events it makes ("license changed" with the values
    /// before and after), in one transaction. An instance read from its PBX is refused
    /// ([`EngineError::NotManual`]).
    pub async fn set_manual_license(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        facts: LicenseFacts,
    ) -> Result<Recorded, EngineError> {
        let leased = self.lease_for_user(tenant, instance).await?;
        let recorded = if leased.login_kind == LoginKind::Manual {
            self.record_manual(&leased, facts).await
        } else {
            Err(EngineError::NotManual)
        };
        self.release(&leased, leased.schedule.next_poll_at).await?;
        recorded
    }

    async fn record_manual(
        &self,
        instance: &Instance,
        facts: LicenseFacts,
    ) -> Result<Recorded, EngineError> {
        let store = &self.inner.store;
        let tenant = store.tenant(instance.tenant_id).await?;
        let before = store.license(instance.tenant_id, instance.id).await?;
        let now = whole_second(self.inner.clock.now());
        let reading = manual_reading(now, facts);
        let after = self
            .record_license(&tenant, instance.id, &before, reading, None, Entry::Manual)
            .await?;
        Ok(Recorded {
            instance: instance.id,
            before,
            after,
        })
    }

    /// Writes a CSV import in one transaction: its customers, instances, and each manual
    /// instance's license through the one recording path — the same events as
    /// [`Engine::set_manual_license`] works out, from the state each instance had when the file
    /// was checked (`before`), and the same statements. Nothing is written if any item fails;
    /// a license that changed since it was checked refuses the import as a `Conflict`.
    ///
    /// Manual instances are not leased: the scheduler never reads them, and the store refuses
    /// the import if one of their licenses changed in between.
    pub async fn import_instances(
        &self,
        tenant: &Tenant,
        instances: Vec<ImportInstance>,
    ) -> Result<Imported, EngineError> {
        let now = whole_second(self.inner.clock.now());
        let items: Vec<ImportItem> = instances
            .into_iter()
            .map(|ImportInstance { mut item, manual }| {
                item.license = manual.map(|(before, facts)| {
                    let reading = manual_reading(now, facts);
                    ImportLicense {
                        events: license_events(tenant, &before, &reading, Entry::Manual),
                        based_on: before.good.as_ref().map(|good| good.reading_id),
                        reading,
                    }
                });
                item
            })
            .collect();
        let imported = self
            .inner
            .store
            .import_instances(tenant.id, &items, now)
            .await?;
        Ok(imported)
    }

    /// Leases one instance for a read or recording a user asked for, waiting (up to about one
    /// read's timeout) while another read holds it.
    async fn lease_for_user(
        &self,
        tenant: TenantId,
        instance: InstanceId,
    ) -> Result<Instance, EngineError> {
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
                return Ok(leased);
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

    /// Reads several instances of a tenant at once (bulk refresh); results in the order asked.
    /// They take their turns among the engine's [`EngineConfig::concurrency`] reads in flight
    /// (shared with the scheduler and other users), not a limit of their own. The caller
    /// de-duplicates and checks the ids.
    pub async fn read_instances(
        &self,
        tenant: TenantId,
        instances: &[InstanceId],
        trigger: Trigger,
    ) -> Vec<(InstanceId, Result<ReadOutcome, EngineError>)> {
        let mut tasks = JoinSet::new();
        for (index, &instance) in instances.iter().enumerate() {
            let engine = self.clone();
            tasks.spawn(async move {
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
        base_url: &BaseUrl,
        credentials: &Credentials,
        tls: &TlsOptions,
    ) -> Result<LicenseFacts, TestConnectionError> {
        let target = PbxTarget {
            base_url: base_url.clone(),
            credentials: credentials.clone(),
            tls: tls.clone(),
        };
        let client = self.inner.connector.client(target)?;
        let _permit = self.inner.reads.acquire().await;
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
        let duration = timer.elapsed();
        self.inner.poll_durations.observe(duration);
        let attempt = NewAttempt {
            started_at,
            duration,
            trigger,
            clock_offset: result
                .as_ref()
                .ok()
                .and_then(|reading| reading.clock_offset),
        };
        let now = whole_second(self.inner.clock.now());
        let seed = seed_for(id, now);
        let policy = &self.inner.config.schedule;
        let interval = instance.poll_interval.get();
        let (after, error, notes, next) = match result {
            Ok(reading) => {
                let source = match reading.api {
                    Api::Xapi => ReadingSource::Xapi,
                    Api::Legacy => ReadingSource::Legacy,
                };
                // The raw answer is kept for diagnosis when the license it gave changed; an
                // unchanged one read every few minutes would only fill the disk.
                let changed = before.good.as_ref().map(|g| &g.facts) != Some(&reading.facts);
                let new = NewReading {
                    read_at: now,
                    source,
                    facts: reading.facts,
                    raw_body: changed.then(|| reading.raw.to_string()),
                };
                let after = self
                    .record_license(
                        &tenant,
                        id,
                        &before,
                        new,
                        Some(&attempt),
                        Entry::Read(trigger),
                    )
                    .await?;
                let next = policy.next_poll_at(now, interval, LastRead::Succeeded, seed);
                (after, None, reading.notes, next)
            }
            Err(failure) => {
                let (after, consecutive) = self
                    .record_failed_read(&tenant, id, &before, &attempt, &failure.error, now)
                    .await?;
                let last = LastRead::Failed {
                    consecutive,
                    login_rejected: failure.login_rejected,
                };
                let next = policy.next_poll_at(now, interval, last, seed);
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

    // ---- the one recording path -------------------------------------------------------------

    /// The one path every license takes into the store, whatever its source: a scheduled
    /// read, read now, refresh, facts typed in for a manual instance (and CSV import). From
    /// the state before it works out the events (and, with reminders, the reminder decisions)
    /// and writes them with the reading in one transaction. Returns the state after.
    async fn record_license(
        &self,
        tenant: &Tenant,
        instance: InstanceId,
        before: &LicenseState,
        reading: NewReading,
        attempt: Option<&NewAttempt>,
        entry: Entry,
    ) -> Result<LicenseState, EngineError> {
        let events = license_events(tenant, before, &reading, entry);
        let reading_id = self
            .inner
            .store
            .record_reading(tenant.id, instance, &reading, attempt, &events)
            .await?;
        let last_attempt = match attempt {
            Some(attempt) => Some(LastAttempt {
                at: attempt.started_at,
                error: None,
            }),
            None => before.last_attempt.clone(),
        };
        Ok(LicenseState {
            good: Some(GoodLicense {
                reading_id,
                source: reading.source,
                read_at: reading.read_at,
                facts: reading.facts,
            }),
            last_attempt,
        })
    }

    /// The path of a failed read: the attempt and its events, the last good license kept.
    /// Returns the state after and the failures in a row so far.
    async fn record_failed_read(
        &self,
        tenant: &Tenant,
        instance: InstanceId,
        before: &LicenseState,
        attempt: &NewAttempt,
        error: &AttemptError,
        now: Timestamp,
    ) -> Result<(LicenseState, u32), EngineError> {
        let events = events::after_failure(before, error, now);
        let consecutive = self
            .inner
            .store
            .record_failure(tenant.id, instance, attempt, error, &events)
            .await?;
        tracing::info!(instance = instance.0, kind = %error.kind, consecutive, "read failed");
        let after = LicenseState {
            good: before.good.clone(),
            last_attempt: Some(LastAttempt {
                at: attempt.started_at,
                error: Some(error.clone()),
            }),
        };
        Ok((after, consecutive))
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
                    FailureKind::Credentials,
                    "the stored credentials cannot be decrypted with this installation's secret \
                     key; enter them again",
                )));
            }
            Err(err) => return Err(err.into()),
        };
        let client = match self.client_for(instance, &credentials) {
            Ok(client) => client,
            Err(failure) => return Ok(Err(failure)),
        };
        let result = match trigger {
            Trigger::Refresh => client.refresh_license().await,
            Trigger::Schedule | Trigger::ReadNow => client.read_license().await,
        };
        Ok(result.map_err(|err| Failure {
            error: AttemptError {
                kind: err.kind(),
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
    ) -> Result<Arc<PbxClient>, Failure> {
        let Some(base_url) = instance.base_url.clone() else {
            return Err(failure(
                FailureKind::BadAddress,
                "the instance has no PBX address: enter one, or make it a manual instance",
            ));
        };
        let target = PbxTarget {
            base_url,
            credentials: credentials.clone(),
            tls: instance.tls.clone(),
        };
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
        let client = Arc::new(
            self.inner
                .connector
                .client(target)
                .map_err(|err| failure(FailureKind::Tls, &err.to_string()))?,
        );
        clients.insert(instance.id, Arc::clone(&client));
        Ok(client)
    }
}

/// The events a license adds, worked out from the state before it: the one rule of the
/// recording path, for a single license and for an import alike.
fn license_events(
    tenant: &Tenant,
    before: &LicenseState,
    reading: &NewReading,
    entry: Entry,
) -> Vec<NewEvent> {
    events::after_success(
        before,
        &reading.facts,
        entry,
        reading.read_at,
        &tenant.settings.zone,
    )
}

/// The reading of facts typed in (or imported) for a manual instance at `now`.
fn manual_reading(now: Timestamp, facts: LicenseFacts) -> NewReading {
    NewReading {
        read_at: now,
        source: ReadingSource::Manual,
        facts,
        raw_body: None,
    }
}

fn failure(kind: FailureKind, message: &str) -> Failure {
    Failure {
        error: AttemptError {
            kind,
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
