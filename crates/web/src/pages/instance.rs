//! The instance page (facts, history, Refresh license, Read now) and bulk refresh.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use runway_store::{FleetInstance, FleetRow, Instance, InstanceId, Trigger};

use super::Chrome;
use crate::actions;
use crate::auth::{Action, Caller};
use crate::edit::instance_id;
use crate::error::WebError;
use crate::forms::FormData;
use crate::history::{
    AttemptView, EventView, ReadOutcomeView, ReadingView, attempts_view, events_view, readings_view,
};
use crate::state::AppState;
use crate::view::{StatusRow, status_row};

/// How many history entries the page shows.
const HISTORY: u32 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "instance.html")]
pub(crate) struct InstancePage {
    chrome: Chrome,
    instance: Instance,
    /// The PBX's address as shown ("—" for a manual instance without one).
    address: String,
    row: StatusRow,
    poll_minutes: u64,
    next_poll_at: String,
    readings: Vec<ReadingView>,
    events: Vec<EventView>,
    attempts: Vec<AttemptView>,
    outcome: Option<ReadOutcomeView>,
    outcome_error: Option<String>,
    /// The instance's open and acknowledged alerts.
    alerts: Vec<crate::api::alerts::AlertView>,
}

async fn render(
    state: &AppState,
    caller: &Caller,
    id: InstanceId,
    outcome: Option<ReadOutcomeView>,
    outcome_error: Option<String>,
) -> Result<InstancePage, WebError> {
    let tenant = caller.tenant.id;
    let zone = &caller.tenant.settings.zone;
    let instance = state.store.instance(tenant, id).await?;
    let license = state.store.license(tenant, id).await?;
    let now = state.now();
    let (_, row) = status_row(
        &FleetRow {
            instance: FleetInstance::from(&instance),
            license,
        },
        &caller.tenant,
        now,
    );
    let readings = state.store.readings(tenant, id, HISTORY).await?;
    let events = state.store.events(tenant, id, HISTORY).await?;
    let attempts = state.store.attempts(tenant, id, HISTORY).await?;
    let alerts = crate::api::alerts::list_for(
        state,
        caller,
        &crate::api::alerts::AlertParams {
            instance: Some(id.0.to_string()),
            ..crate::api::alerts::AlertParams::default()
        },
    )
    .await?;
    Ok(InstancePage {
        alerts,
        chrome: Chrome::of(caller),
        poll_minutes: instance.poll_interval.minutes(),
        address: instance
            .base_url
            .as_ref()
            .map_or_else(|| "—".to_owned(), ToString::to_string),
        next_poll_at: crate::view::local_time(instance.schedule.next_poll_at, zone),
        instance,
        row,
        readings: readings_view(&readings, zone),
        events: events_view(&events, zone),
        attempts: attempts_view(&attempts, zone),
        outcome,
        outcome_error,
    })
}

fn path_id(id: &str) -> Result<InstanceId, WebError> {
    instance_id(id).ok_or(WebError::NotFound)
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<InstancePage, WebError> {
    render(&state, &caller, path_id(&id)?, None, None).await
}

async fn read(
    state: &AppState,
    caller: &Caller,
    id: InstanceId,
    trigger: Trigger,
) -> Result<InstancePage, WebError> {
    caller.require(Action::Read)?;
    // Another tenant's id is a 404 before anything is read.
    state.store.instance(caller.tenant.id, id).await?;
    match state
        .engine
        .read_instance(caller.tenant.id, id, trigger)
        .await
    {
        Ok(outcome) => {
            let view = ReadOutcomeView::of(&outcome, state.now(), &caller.tenant.settings.zone);
            render(state, caller, id, Some(view), None).await
        }
        Err(err) => {
            let err = WebError::from(err);
            match err {
                WebError::Invalid(message) | WebError::Busy(message) => {
                    render(state, caller, id, None, Some(message)).await
                }
                other => Err(other),
            }
        }
    }
}

pub(crate) async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<InstancePage, WebError> {
    read(&state, &caller, path_id(&id)?, Trigger::Refresh).await
}

pub(crate) async fn read_now(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<InstancePage, WebError> {
    read(&state, &caller, path_id(&id)?, Trigger::ReadNow).await
}

/// One line of the bulk-refresh results.
pub(crate) struct BulkLine {
    instance_id: i64,
    name: String,
    outcome: Option<ReadOutcomeView>,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "bulk.html")]
pub(crate) struct BulkPage {
    chrome: Chrome,
    lines: Vec<BulkLine>,
    action: &'static str,
}

pub(crate) async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<BulkPage, WebError> {
    caller.require(Action::Read)?;
    let trigger = if form.get("trigger") == "read_now" {
        Trigger::ReadNow
    } else {
        Trigger::Refresh
    };
    let ids: Vec<InstanceId> = form
        .all("instance")
        .iter()
        .map(|id| instance_id(id).ok_or(WebError::NotFound))
        .collect::<Result<_, _>>()?;
    let results = actions::bulk_read(&state, &caller, &ids, trigger).await?;
    let now = state.now();
    let zone = &caller.tenant.settings.zone;
    let lines = results
        .into_iter()
        .map(|(instance, result)| {
            let (outcome, error) = match result {
                Ok(outcome) => (Some(ReadOutcomeView::of(&outcome, now, zone)), None),
                Err(err) => (None, Some(err.public_message())),
            };
            BulkLine {
                instance_id: instance.id.0,
                name: instance.name,
                outcome,
                error,
            }
        })
        .collect();
    Ok(BulkPage {
        chrome: Chrome::of(&caller),
        lines,
        action: if trigger == Trigger::Refresh {
            "Refresh license"
        } else {
            "Read now"
        },
    })
}
