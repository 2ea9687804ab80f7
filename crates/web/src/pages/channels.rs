//! Delivery settings: channels (add, test, delete), routing rules and escalation policies.
//! Everyone signed in sees them; admins and owners change them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use runway_store::{ChannelId, Customer, EscalationId, RouteId};

use super::{Chrome, Refused as _};
use crate::api::channels::{
    ChannelView, EscalationView, LevelView, NewChannelBody, RouteView, Setting, TestResult,
    channel_view, create_channel_as, create_escalation_as, create_route_as, delete_as,
    test_channel_as,
};
use crate::auth::{Action, Caller};
use crate::error::WebError;
use crate::forms::FormData;
use crate::state::AppState;

/// A routing rule in words.
pub(crate) struct RouteLine {
    id: i64,
    kind: String,
    min_severity: String,
    customer: String,
    channel: String,
}

/// An escalation policy in words.
pub(crate) struct EscalationLine {
    id: i64,
    name: String,
    min_severity: String,
    levels: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "channels.html")]
pub(crate) struct ChannelsPage {
    chrome: Chrome,
    channels: Vec<ChannelView>,
    routes: Vec<RouteLine>,
    escalations: Vec<EscalationLine>,
    customers: Vec<Customer>,
    /// The kinds a channel can be: (value, label).
    kinds: Vec<(&'static str, &'static str)>,
    /// The last test's result: (channel name, outcome, message).
    tested: Option<(String, TestResult)>,
    /// What was wrong with the last form.
    message: String,
    /// The channel form's kind, kept when it is shown again.
    kind: String,
    name: String,
}

impl ChannelsPage {
    fn selected(&self, option: &str) -> &'static str {
        if self.kind == option { " selected" } else { "" }
    }
}

async fn build(state: &AppState, caller: &Caller) -> Result<ChannelsPage, WebError> {
    let tenant = caller.tenant.id;
    let channels = state.store.channels(tenant).await?;
    let customers = state.store.customers(tenant).await?;
    let channel_name = |id: ChannelId| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("channel {id}"), |c| c.name.clone())
    };
    let routes = state
        .store
        .routes(tenant)
        .await?
        .iter()
        .map(|r| RouteLine {
            id: r.id.0,
            kind: r
                .kind
                .map_or("every kind", runway_store::AlertKind::label)
                .to_owned(),
            min_severity: r.min_severity.to_string(),
            customer: r.customer_id.map_or_else(
                || "every customer".to_owned(),
                |id| {
                    customers
                        .iter()
                        .find(|c| c.id == id)
                        .map_or_else(|| format!("customer {id}"), |c| c.name.clone())
                },
            ),
            channel: channel_name(r.channel_id),
        })
        .collect();
    let escalations = state
        .store
        .escalations(tenant)
        .await?
        .iter()
        .map(|e| EscalationLine {
            id: e.id.0,
            name: e.name.clone(),
            min_severity: e.min_severity.to_string(),
            levels: e
                .levels
                .iter()
                .map(|l| {
                    format!(
                        "after {} min → {}",
                        l.after_minutes,
                        channel_name(l.channel_id)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect();
    Ok(ChannelsPage {
        chrome: Chrome::of(caller),
        channels: channels.iter().map(channel_view).collect(),
        routes,
        escalations,
        customers,
        kinds: runway_store::ChannelKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        tested: None,
        message: String::new(),
        kind: "webhook".to_owned(),
        name: String::new(),
    })
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ChannelsPage, WebError> {
    build(&state, &caller).await
}

/// A refused form: the page again with the message, status 422.
async fn refused(
    state: &AppState,
    caller: &Caller,
    err: WebError,
    keep: impl FnOnce(&mut ChannelsPage),
) -> Result<Response, WebError> {
    match err {
        WebError::Invalid(message) | WebError::Conflict(message) => {
            let mut page = build(state, caller).await?;
            page.message = message;
            keep(&mut page);
            Ok(page.refused())
        }
        WebError::NotFound => {
            let mut page = build(state, caller).await?;
            "that channel or customer no longer exists".clone_into(&mut page.message);
            Ok(page.refused())
        }
        other => Err(other),
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let field = |name: &str| Some(form.get(name)).filter(|v| !v.trim().is_empty());
    // A port that is not a number is refused, not replaced by the default without a word.
    let smtp_port = field("smtp_port")
        .map(|text| {
            text.trim().parse::<u16>().map_err(|_| {
                WebError::Invalid(format!(
                    "smtp_port must be a port number (1 to 65535), not {text:?}"
                ))
            })
        })
        .transpose();
    let body = NewChannelBody {
        kind: form.get("kind"),
        name: form.get("name"),
        url: field("url"),
        secret: field("secret"),
        routing_key: field("routing_key"),
        smtp_host: field("smtp_host"),
        smtp_port: smtp_port.as_ref().ok().copied().flatten(),
        smtp_tls: field("smtp_tls"),
        smtp_username: field("smtp_username"),
        smtp_password: field("smtp_password"),
        from: field("from"),
        to: field("to").into_iter().collect(),
        site: field("site"),
        account: field("account"),
        username: field("username"),
        integration_code: field("integration_code"),
    };
    let result = match smtp_port {
        Ok(_) => create_channel_as(&state, &caller, &body).await.map(drop),
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/channels").into_response()),
        Err(err) => {
            refused(&state, &caller, err, |page| {
                page.kind.clone_from(&body.kind);
                page.name.clone_from(&body.name);
            })
            .await
        }
    }
}

fn id_of(id: &str) -> Result<i64, WebError> {
    id.trim().parse().map_err(|_| WebError::NotFound)
}

pub(crate) async fn test(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = id_of(&id)?;
    let result = test_channel_as(&state, &caller, id).await?;
    let mut page = build(&state, &caller).await?;
    let name = page
        .channels
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    page.tested = Some((name, result));
    Ok(page.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    delete_as(&state, &caller, Setting::Channel(ChannelId(id_of(&id)?))).await?;
    Ok(Redirect::to("/channels").into_response())
}

pub(crate) async fn create_route(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let number = |name: &str| form.get(name).parse::<i64>().ok();
    let view = RouteView {
        id: 0,
        kind: Some(form.get("kind")).filter(|k| !k.is_empty()),
        min_severity: Some(form.get("min_severity")),
        customer_id: number("customer_id"),
        channel_id: number("channel_id").unwrap_or_default(),
    };
    let result = create_route_as(&state, &caller, &view).await;
    match result {
        Ok(_) => Ok(Redirect::to("/channels").into_response()),
        Err(err) => refused(&state, &caller, err, |_| {}).await,
    }
}

pub(crate) async fn delete_route(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    delete_as(&state, &caller, Setting::Route(RouteId(id_of(&id)?))).await?;
    Ok(Redirect::to("/channels").into_response())
}

pub(crate) async fn create_escalation(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    // Up to three levels from the form: wait_1/channel_1, …; blank levels are left out.
    let mut levels = Vec::new();
    let mut bad = None;
    for n in 1..=3 {
        let (wait, channel) = (
            form.get(&format!("wait_{n}")),
            form.get(&format!("channel_{n}")),
        );
        if wait.is_empty() && channel.is_empty() {
            continue;
        }
        match (wait.parse::<u32>(), channel.parse::<i64>()) {
            (Ok(after_minutes), Ok(channel_id)) => levels.push(LevelView {
                after_minutes,
                channel_id,
            }),
            _ => {
                bad = Some(format!(
                    "level {n}: enter the minutes to wait (a whole number) and pick a channel"
                ));
            }
        }
    }
    let view = EscalationView {
        id: 0,
        name: form.get("name"),
        min_severity: Some(form.get("min_severity")),
        levels,
    };
    let result = match bad {
        Some(message) => Err(WebError::Invalid(message)),
        None => create_escalation_as(&state, &caller, &view).await.map(drop),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/channels").into_response()),
        Err(err) => refused(&state, &caller, err, |_| {}).await,
    }
}

pub(crate) async fn delete_escalation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    delete_as(
        &state,
        &caller,
        Setting::Escalation(EscalationId(id_of(&id)?)),
    )
    .await?;
    Ok(Redirect::to("/channels").into_response())
}
