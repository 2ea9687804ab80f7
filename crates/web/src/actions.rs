//! What a user does to instances — save one, refresh several — written once. The pages and the
//! JSON API only translate their input into these calls and the results into HTML or JSON.

use std::collections::HashSet;

use runway_engine::{EngineError, ReadOutcome};
use runway_store::{Instance, InstanceId, LoginKind, Trigger};

use crate::auth::{Action, Caller};
use crate::edit::CheckedInstance;
use crate::error::WebError;
use crate::state::AppState;

/// Creates an instance from a checked draft, then gets its license at once through the
/// engine's paths — a read of the PBX, or the facts typed in for a manual one — so the page the
/// user lands on shows the license or why it could not be read, never "Not read yet".
pub(crate) async fn create_instance(
    state: &AppState,
    caller: &Caller,
    checked: &CheckedInstance,
    enabled: bool,
) -> Result<Instance, WebError> {
    caller.require(Action::Edit)?;
    let mut new = checked.new_instance()?;
    new.enabled = enabled;
    let instance = state
        .store
        .create_instance(caller.tenant.id, &new, state.now())
        .await?;
    license_at_once(state, &instance, checked).await?;
    Ok(instance)
}

/// Saves a checked draft over an instance (and its enabled flag, when given), then gets its
/// license at once, as [`create_instance`] does.
pub(crate) async fn update_instance(
    state: &AppState,
    caller: &Caller,
    instance: InstanceId,
    checked: &CheckedInstance,
    enabled: Option<bool>,
) -> Result<Instance, WebError> {
    caller.require(Action::Edit)?;
    let tenant = caller.tenant.id;
    let now = state.now();
    let mut updated = state
        .store
        .update_instance(tenant, instance, &checked.update(), now)
        .await?;
    if let Some(enabled) = enabled.filter(|e| *e != updated.enabled) {
        updated = state
            .store
            .set_instance_enabled(tenant, instance, enabled, now)
            .await?;
    }
    license_at_once(state, &updated, checked).await?;
    Ok(updated)
}

/// Records a manual instance's typed-in license, or reads an enabled PBX now. A PBX that does
/// not answer is not an error here: the failed read is recorded and shown on the instance page.
async fn license_at_once(
    state: &AppState,
    instance: &Instance,
    checked: &CheckedInstance,
) -> Result<(), WebError> {
    let (tenant, id) = (instance.tenant_id, instance.id);
    if instance.login_kind == LoginKind::Manual {
        if let Some(facts) = &checked.manual_facts {
            state
                .engine
                .set_manual_license(tenant, id, facts.clone())
                .await?;
        }
        return Ok(());
    }
    if instance.enabled {
        match state
            .engine
            .read_instance(tenant, id, Trigger::ReadNow)
            .await
        {
            Ok(_) => {}
            // Another read holds it right now: that read shows the license soon enough.
            Err(EngineError::Busy) => tracing::info!(instance = id.0, "read after save skipped"),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// The instances a bulk request names, each once, in the order first named — every one the
/// tenant's (another tenant's id is `NotFound`), so never more than the tenant has.
async fn bulk_selection(
    state: &AppState,
    caller: &Caller,
    asked: &[InstanceId],
) -> Result<Vec<Instance>, WebError> {
    let mut seen = HashSet::with_capacity(asked.len());
    let ids: Vec<InstanceId> = asked
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() {
        return Err(WebError::Invalid(
            "select at least one instance to refresh".into(),
        ));
    }
    // Every id must be the tenant's, each taken once: so a request never reads more
    // instances than the tenant has, however long its list.
    let own = state.store.instances(caller.tenant.id).await?;
    let mut by_id: std::collections::HashMap<InstanceId, Instance> =
        own.into_iter().map(|i| (i.id, i)).collect();
    ids.iter()
        .map(|id| by_id.remove(id).ok_or(WebError::NotFound))
        .collect()
}

/// Reads (or refreshes) the instances a user selected, each once, sharing the engine's limit
/// of reads in flight; one result per instance, in the order first named.
pub(crate) async fn bulk_read(
    state: &AppState,
    caller: &Caller,
    asked: &[InstanceId],
    trigger: Trigger,
) -> Result<Vec<(Instance, Result<ReadOutcome, WebError>)>, WebError> {
    caller.require(Action::Read)?;
    let instances = bulk_selection(state, caller, asked).await?;
    let ids: Vec<InstanceId> = instances.iter().map(|i| i.id).collect();
    let results = state
        .engine
        .read_instances(caller.tenant.id, &ids, trigger)
        .await;
    Ok(instances
        .into_iter()
        .zip(results)
        .map(|(instance, (_, result))| (instance, result.map_err(WebError::from)))
        .collect())
}
