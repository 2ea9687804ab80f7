//! One running simulated PBX: its mutable state (license, faults, pending renewal, tokens,
//! counters) and the request pipeline every endpoint goes through (count → latency → faults →
//! handler → body faults).
//!
//! [`PbxHandle`] is the in-process way to steer a PBX (the control API wraps the same calls).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::auth::TokenStore;
use crate::clock::Clock;
use crate::faults::{self, Endpoint, Fault, FaultPlan};
use crate::license::{License, LicenseChange, Renewal};
use crate::reply::Reply;
use crate::rng::{self, SimRng, stable_hash};
use crate::scenario::PbxSpec;
use crate::server::ShutdownSignal;

/// What a PBX has seen: lets tests assert a client's behaviour (one token per PBX, backoff
/// after a rejected login, one retry on 401).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxCounters {
    /// Login requests (any of the three login endpoints).
    pub logins_attempted: u64,
    /// Logins that got a token or session.
    pub logins_succeeded: u64,
    /// Logins that were refused (bad credentials, MFA, not licensed, rejected by a fault).
    pub logins_failed: u64,
    /// Logins that started while another login to this PBX was still in flight.
    pub concurrent_login_violations: u64,
    /// Most logins in flight at once.
    pub max_concurrent_logins: u64,
    /// Valid tokens revoked because the same client logged in again.
    pub tokens_revoked_by_new_login: u64,
    /// 401 answers on data endpoints (missing, bad, expired or revoked token/session).
    pub unauthorized: u64,
    /// 403 answers on data endpoints.
    pub forbidden: u64,
    /// `Pbx.RefreshLicenseStatus` calls that reached the handler.
    pub refresh_calls: u64,
    /// Pending renewals applied (on refresh, after their delay, or via the control API).
    pub renewals_applied: u64,
    /// Faults that fired.
    pub faults_fired: u64,
    /// Requests per endpoint name (see [`Endpoint::name`]).
    pub requests: BTreeMap<String, u64>,
}

impl PbxCounters {
    /// Requests to one endpoint.
    pub fn requests_to(&self, endpoint: Endpoint) -> u64 {
        self.requests.get(endpoint.name()).copied().unwrap_or(0)
    }

    /// All requests.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// A pending renewal and when it arrives on its own.
#[derive(Debug, Clone)]
pub(crate) struct PendingRenewal {
    pub(crate) renewal: Renewal,
    pub(crate) due: Option<Instant>,
}

/// The mutable part of a PBX.
pub(crate) struct PbxState {
    pub(crate) license: License,
    pub(crate) faults: Vec<Fault>,
    pub(crate) renewal: Option<PendingRenewal>,
    pub(crate) auth: TokenStore,
    pub(crate) counters: PbxCounters,
    logins_in_flight: u64,
    rng: SimRng,
}

impl PbxState {
    /// Applies the pending renewal if its delay has passed.
    pub(crate) fn apply_due_renewal(&mut self, now: Instant) {
        if self
            .renewal
            .as_ref()
            .and_then(|r| r.due)
            .is_some_and(|due| due <= now)
        {
            self.apply_renewal();
        }
    }

    /// Applies the pending renewal now, if there is one. Returns whether one was applied.
    pub(crate) fn apply_renewal(&mut self) -> bool {
        let Some(pending) = self.renewal.take() else {
            return false;
        };
        self.license.apply(&pending.renewal.change);
        self.counters.renewals_applied += 1;
        true
    }
}

/// Things every PBX shares: the clock and the shutdown signal.
#[derive(Clone)]
pub(crate) struct Env {
    pub(crate) clock: Clock,
    pub(crate) shutdown: ShutdownSignal,
}

/// A running simulated PBX.
pub(crate) struct SimPbx {
    /// The PBX as the scenario described it (license/faults/renewal: the starting values).
    pub(crate) spec: PbxSpec,
    /// Seed for incidental values (IPs, disk sizes) so they are stable across requests.
    pub(crate) seed: u64,
    state: Mutex<PbxState>,
}

impl SimPbx {
    pub(crate) fn new(spec: PbxSpec) -> SimPbx {
        let seed = stable_hash(&spec.id);
        let started = Instant::now();
        let state = PbxState {
            license: spec.license.clone(),
            faults: spec.faults.clone(),
            renewal: spec.renewal.clone().map(|renewal| PendingRenewal {
                due: renewal.after.map(|after| started + after),
                renewal,
            }),
            auth: TokenStore::default(),
            counters: PbxCounters::default(),
            logins_in_flight: 0,
            rng: rng::seeded(seed ^ 0x5eed),
        };
        SimPbx {
            spec,
            seed,
            state: Mutex::new(state),
        }
    }

    /// Locks the state (a panic elsewhere must not take the whole PBX down).
    pub(crate) fn state(&self) -> MutexGuard<'_, PbxState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one request through latency, faults, the handler and body faults.
    pub(crate) async fn serve(
        self: &Arc<Self>,
        env: &Env,
        endpoint: Endpoint,
        handler: impl FnOnce(&FaultPlan) -> Reply,
    ) -> Response {
        let login = endpoint.is_login().then(|| LoginInFlight::enter(self));
        let (wait, plan) = {
            let mut state = self.state();
            *state
                .counters
                .requests
                .entry(endpoint.name().to_owned())
                .or_default() += 1;
            state.apply_due_renewal(Instant::now());
            let latency = self.spec.latency.sample(&mut state.rng);
            let plan = faults::plan(&mut state.faults, endpoint);
            state.counters.faults_fired += plan.fired;
            (latency + plan.delay, plan)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if plan.hang {
            // A hung login is not "in flight": a client that timed out and tries again later
            // must not be counted as running two logins at once.
            drop(login);
            env.shutdown.wait().await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let reply = match plan.status {
            Some((status, retry_after)) => faults::status_reply(status, retry_after),
            None => handler(&plan),
        };
        let mut state = self.state();
        if endpoint.is_data() {
            match reply.status {
                StatusCode::UNAUTHORIZED => state.counters.unauthorized += 1,
                StatusCode::FORBIDDEN => state.counters.forbidden += 1,
                _ => {}
            }
        }
        let reply = if plan.status.is_none() && reply.has_transformable_body() {
            match faults::take_body_fault(&mut state.faults, endpoint) {
                Some(kind) => {
                    state.counters.faults_fired += 1;
                    faults::apply_body_fault(&kind, reply)
                }
                None => reply,
            }
        } else {
            reply
        };
        drop(state);
        drop(login);
        reply.into_response()
    }

    /// The real lifetime for a token issued under `plan`.
    pub(crate) fn token_lifetime(&self, plan: &FaultPlan) -> Duration {
        plan.short_token.unwrap_or(self.spec.token_lifetime)
    }
}

/// Counts a login in flight for as long as it lives (dropped when the answer is produced or
/// the client goes away).
struct LoginInFlight {
    pbx: Arc<SimPbx>,
}

impl LoginInFlight {
    fn enter(pbx: &Arc<SimPbx>) -> LoginInFlight {
        let mut state = pbx.state();
        if state.logins_in_flight > 0 {
            state.counters.concurrent_login_violations += 1;
        }
        state.logins_in_flight += 1;
        state.counters.max_concurrent_logins = state
            .counters
            .max_concurrent_logins
            .max(state.logins_in_flight);
        drop(state);
        LoginInFlight {
            pbx: Arc::clone(pbx),
        }
    }
}

impl Drop for LoginInFlight {
    fn drop(&mut self) {
        let mut state = self.pbx.state();
        state.logins_in_flight = state.logins_in_flight.saturating_sub(1);
    }
}

/// In-process control of one running PBX (what the control API does, without HTTP).
#[derive(Clone)]
pub struct PbxHandle {
    pub(crate) pbx: Arc<SimPbx>,
}

impl PbxHandle {
    /// The PBX's id.
    pub fn id(&self) -> &str {
        &self.pbx.spec.id
    }

    /// The PBX as the scenario described it.
    pub fn spec(&self) -> &PbxSpec {
        &self.pbx.spec
    }

    /// The license it serves now.
    pub fn license(&self) -> License {
        let mut state = self.pbx.state();
        state.apply_due_renewal(Instant::now());
        state.license.clone()
    }

    /// Changes license fields.
    pub fn update_license(&self, change: &LicenseChange) {
        self.pbx.state().license.apply(change);
    }

    /// The active faults (with their remaining `times`).
    pub fn faults(&self) -> Vec<Fault> {
        self.pbx.state().faults.clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.pbx.state().faults = faults;
    }

    /// Adds one fault.
    pub fn add_fault(&self, fault: Fault) {
        self.pbx.state().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.pbx.state().faults.clear();
    }

    /// The renewal waiting upstream, if any.
    pub fn pending_renewal(&self) -> Option<Renewal> {
        let mut state = self.pbx.state();
        state.apply_due_renewal(Instant::now());
        state.renewal.as_ref().map(|p| p.renewal.clone())
    }

    /// Sets (or clears) the renewal waiting upstream; its `after` counts from now.
    pub fn set_renewal(&self, renewal: Option<Renewal>) {
        let now = Instant::now();
        self.pbx.state().renewal = renewal.map(|renewal| PendingRenewal {
            due: renewal.after.map(|after| now + after),
            renewal,
        });
    }

    /// Applies the pending renewal now (as if 3CX's license server pushed it). Returns whether
    /// there was one.
    pub fn apply_renewal(&self) -> bool {
        self.pbx.state().apply_renewal()
    }

    /// The counters.
    pub fn counters(&self) -> PbxCounters {
        self.pbx.state().counters.clone()
    }

    /// Resets the counters to zero.
    pub fn reset_counters(&self) {
        self.pbx.state().counters = PbxCounters::default();
    }

    /// Revokes every token and session (the next data request answers 401).
    pub fn revoke_tokens(&self) {
        self.pbx.state().auth.revoke_all();
    }

    /// Tokens currently active (at most one per client).
    pub fn active_tokens(&self) -> usize {
        self.pbx.state().auth.active_tokens()
    }
}
