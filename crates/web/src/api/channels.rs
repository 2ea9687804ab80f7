//! Where alerts go: channels (with a test button), routing rules and escalation policies
//! (admin and up change them; everyone signed in sees them), and retrying a delivery by hand
//! (technician and up).

use std::str::FromStr as _;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use runway_core::Severity;
use runway_store::{
    AlertKind, Channel, ChannelId, ChannelKind, ChannelSettings, CustomerId, Delivery, DeliveryId,
    Escalation, EscalationId, EscalationLevel, NewChannel, NewEscalation, NewRoute, Notice,
    NoticeAction, PsaSettings, Route, RouteId, SmtpTls,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{body, path_id};
use crate::auth::{Action, ApiCaller, Caller};
use crate::error::{ApiError, ErrorBody, WebError};
use crate::state::AppState;
use crate::view::local_time;

/// A channel, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `webhook`, `slack`, `teams`, `pagerduty`, `email`, `alertmanager`, `log`, or a PSA
    /// (`connectwise`, `autotask`, `halopsa`, `syncro`).
    pub kind: String,
    /// The kind's name for people.
    pub kind_label: String,
    /// Where it sends, as far as that is not secret (a webhook's or Alertmanager's URL, an
    /// email's recipients; Slack, Teams and PagerDuty say only their kind, because their URL
    /// or key is the credential).
    pub target: String,
    /// Whether a secret is stored (never shown again).
    pub has_secret: bool,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

/// A channel to create. Which fields count depends on `kind`:
/// - `webhook`: `url` and `secret` (`whsec_` + base64 of 24–64 random bytes; requests are
///   signed per Standard Webhooks);
/// - `slack`, `teams`: `url`, the incoming or Workflows webhook URL (it is the credential, so
///   it is stored as a secret);
/// - `pagerduty`: `routing_key` (an Events API v2 integration key), optional `url` instead of
///   `https://events.pagerduty.com/v2/enqueue`;
/// - `email`: `smtp_host`, `smtp_port`, `smtp_tls` (`none`, `starttls`, `tls`),
///   `smtp_username` and `smtp_password` (optional), `from`, `to` (a list);
/// - `alertmanager`: `url` (e.g. `http://alertmanager:9093`), optional bearer `secret`;
/// - `log`: nothing (notifications go to Runway's own log);
/// - `connectwise`, `autotask`, `halopsa`, `syncro`: `site`, `account`, `username`,
///   `integration_code` and `secret`. Not usable yet: Runway refuses them, saying so, until
///   their APIs are written.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelBody {
    /// The kind.
    pub kind: String,
    /// A name unique in the tenant.
    pub name: String,
    /// The URL (see above).
    #[serde(default)]
    pub url: Option<String>,
    /// The webhook's signing secret, or Alertmanager's bearer token.
    #[serde(default)]
    pub secret: Option<String>,
    /// PagerDuty's integration key.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// SMTP host.
    #[serde(default)]
    pub smtp_host: Option<String>,
    /// SMTP port (587 for STARTTLS, 465 for TLS, 25 for none, by default).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub smtp_tls: Option<String>,
    /// SMTP user name.
    #[serde(default)]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[serde(default)]
    pub smtp_password: Option<String>,
    /// The sender address.
    #[serde(default)]
    pub from: Option<String>,
    /// The recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// A PSA's site or base URL.
    #[serde(default)]
    pub site: Option<String>,
    /// ConnectWise's company id, Halo's tenant.
    #[serde(default)]
    pub account: Option<String>,
    /// ConnectWise's public key, Autotask's API user name, Halo's client id.
    #[serde(default)]
    pub username: Option<String>,
    /// ConnectWise's client id, Autotask's API tracking identifier.
    #[serde(default)]
    pub integration_code: Option<String>,
}

/// A text field that was given and is not blank.
fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl NewChannelBody {
    /// The channel to store, checked: a message naming the field that is wrong otherwise.
    pub(crate) fn channel(&self) -> Result<NewChannel, WebError> {
        let kind = ChannelKind::from_str(self.kind.trim()).map_err(|_| {
            WebError::Invalid(format!(
                "kind must be one of {}, not {:?}",
                ChannelKind::ALL.map(ChannelKind::as_str).join(", "),
                self.kind
            ))
        })?;
        let url = given(self.url.as_ref());
        let mut settings = ChannelSettings::default();
        let secret = match kind {
            ChannelKind::Webhook | ChannelKind::Alertmanager => {
                settings.url = url;
                given(self.secret.as_ref())
            }
            ChannelKind::Slack | ChannelKind::Teams => url,
            ChannelKind::Pagerduty => {
                settings.url = url;
                given(self.routing_key.as_ref()).or_else(|| given(self.secret.as_ref()))
            }
            ChannelKind::Email => {
                let tls = match given(self.smtp_tls.as_ref()).as_deref() {
                    None | Some("starttls") => SmtpTls::Starttls,
                    Some("tls") => SmtpTls::Tls,
                    Some("none") => SmtpTls::None,
                    Some(other) => {
                        return Err(WebError::Invalid(format!(
                            "smtp_tls must be none, starttls or tls, not {other:?}"
                        )));
                    }
                };
                settings.smtp_host = given(self.smtp_host.as_ref());
                settings.smtp_port = Some(self.smtp_port.unwrap_or(match tls {
                    SmtpTls::None => 25,
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                }));
                settings.smtp_tls = Some(tls);
                settings.smtp_username = given(self.smtp_username.as_ref());
                settings.email_from = given(self.from.as_ref());
                settings.email_to = self
                    .to
                    .iter()
                    .flat_map(|to| to.split([',', ';', '\n']))
                    .map(|to| to.trim().to_owned())
                    .filter(|to| !to.is_empty())
                    .collect();
                given(self.smtp_password.as_ref())
            }
            ChannelKind::Log => None,
            ChannelKind::Connectwise
            | ChannelKind::Autotask
            | ChannelKind::Halopsa
            | ChannelKind::Syncro => {
                settings.psa = Some(PsaSettings {
                    site: given(self.site.as_ref()).unwrap_or_default(),
                    account: given(self.account.as_ref()),
                    username: given(self.username.as_ref()),
                    integration_code: given(self.integration_code.as_ref()),
                    ..PsaSettings::default()
                });
                given(self.secret.as_ref())
            }
        };
        runway_alerts::check(kind, &settings, secret.as_deref())
            .map_err(|err| WebError::Invalid(err.to_string()))?;
        Ok(NewChannel {
            name: self.name.trim().to_owned(),
            kind,
            settings,
            secret,
        })
    }
}

pub(crate) fn channel_view(channel: &Channel) -> ChannelView {
    let s = &channel.settings;
    let target = match channel.kind {
        ChannelKind::Webhook | ChannelKind::Alertmanager => s.url.clone().unwrap_or_default(),
        ChannelKind::Email => format!(
            "{} via {}",
            s.email_to.join(", "),
            s.smtp_host.as_deref().unwrap_or("?")
        ),
        ChannelKind::Slack => "Slack incoming webhook".to_owned(),
        ChannelKind::Teams => "Teams Workflows webhook".to_owned(),
        ChannelKind::Pagerduty => "PagerDuty Events API v2".to_owned(),
        ChannelKind::Log => "Runway's log".to_owned(),
        ChannelKind::Connectwise
        | ChannelKind::Autotask
        | ChannelKind::Halopsa
        | ChannelKind::Syncro => format!(
            "{} at {}",
            channel.kind.label(),
            s.psa.as_ref().map_or("?", |p| p.site.as_str())
        ),
    };
    ChannelView {
        id: channel.id.0,
        name: channel.name.clone(),
        kind: channel.kind.as_str().to_owned(),
        kind_label: channel.kind.label().to_owned(),
        target,
        has_secret: channel.has_secret,
        created_at: channel.created_at.to_string(),
    }
}

/// What a test notification got back.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// `sent`, `retryable` or `permanent`.
    pub outcome: String,
    /// What the receiver said, or what went wrong.
    pub message: String,
}

/// Sends a test notification to a channel now, not through the outbox (admin and up).
pub(crate) async fn test_channel_as(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<TestResult, WebError> {
    caller.require(Action::Edit)?;
    let target = state
        .store
        .channel_target(caller.tenant.id, ChannelId(id))
        .await?;
    let now = state.now();
    let zone = &caller.tenant.settings.zone;
    // Every press is a new message: receivers drop a repeated idempotency key as a duplicate,
    // and the instant alone repeats (two presses within a millisecond, or a clock that stands
    // still, as a clock file does until it is rewritten).
    let press = &crate::auth::tokens::random_secret()?[..16];
    let notice = Notice {
        idempotency_key: format!(
            "runway:t{}:test:c{}:{}:{press}",
            caller.tenant.id.0,
            id,
            now.as_millisecond()
        ),
        series_key: format!("runway:t{}:test:c{}", caller.tenant.id.0, id),
        action: NoticeAction::Test,
        alert_id: None,
        kind: AlertKind::LicenseExpiry,
        severity: Severity::Info,
        stage: "test".to_owned(),
        days_left: Some(10),
        instance_id: runway_store::InstanceId(0),
        instance_name: "Test PBX".to_owned(),
        customer_name: caller.tenant.settings.name.clone(),
        customer_id: None,
        license_key: None,
        edition: None,
        expiry_date: Some(zone.date_of(now).saturating_add(jiff::Span::new().days(10))),
        zone: zone.name().to_owned(),
        renew_url: None,
        resolution: None,
        resolution_note: None,
        summary: format!(
            "Test notification from Runway for {} (sent by {})",
            target.channel.name, caller.user.email
        ),
        at: now,
    };
    let attempt = match runway_alerts::http_client()
        .map_err(|err| err.to_string())
        .and_then(|http| {
            runway_alerts::notifier_for(&target, &http, Arc::clone(&state.clock))
                .map_err(|e| e.to_string())
        }) {
        Ok(notifier) => notifier.notify(&notice, None).await,
        Err(error) => runway_alerts::Attempt::Permanent { error },
    };
    Ok(match attempt {
        runway_alerts::Attempt::Sent { .. } => TestResult {
            outcome: "sent".to_owned(),
            message: format!("{} took the test notification", target.channel.name),
        },
        runway_alerts::Attempt::Retryable { error, .. } => TestResult {
            outcome: "retryable".to_owned(),
            message: error,
        },
        runway_alerts::Attempt::Permanent { error } => TestResult {
            outcome: "permanent".to_owned(),
            message: error,
        },
        runway_alerts::Attempt::Rejected { error } => TestResult {
            outcome: "rejected".to_owned(),
            message: format!("the credentials were rejected: {error}"),
        },
    })
}

/// What a change to the delivery settings names: a channel, a routing rule or an escalation
/// policy, by id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Setting {
    /// A channel (with its rules and queued notifications).
    Channel(ChannelId),
    /// A routing rule.
    Route(RouteId),
    /// An escalation policy.
    Escalation(EscalationId),
}

/// Creates a channel as the caller (admin and up): what the page's form and the API share.
pub(crate) async fn create_channel_as(
    state: &AppState,
    caller: &Caller,
    new: &NewChannelBody,
) -> Result<Channel, WebError> {
    caller.require(Action::Edit)?;
    let new = new.channel()?;
    Ok(state
        .store
        .create_channel(caller.tenant.id, &new, state.now())
        .await?)
}

/// Adds a routing rule as the caller (admin and up).
pub(crate) async fn create_route_as(
    state: &AppState,
    caller: &Caller,
    new: &RouteView,
) -> Result<Route, WebError> {
    caller.require(Action::Edit)?;
    let new = new.route()?;
    Ok(state
        .store
        .create_route(caller.tenant.id, &new, state.now())
        .await?)
}

/// Adds an escalation policy as the caller (admin and up).
pub(crate) async fn create_escalation_as(
    state: &AppState,
    caller: &Caller,
    new: &EscalationView,
) -> Result<Escalation, WebError> {
    caller.require(Action::Edit)?;
    let new = new.escalation()?;
    Ok(state
        .store
        .create_escalation(caller.tenant.id, &new, state.now())
        .await?)
}

/// Deletes a channel, a routing rule or an escalation policy as the caller (admin and up).
pub(crate) async fn delete_as(
    state: &AppState,
    caller: &Caller,
    setting: Setting,
) -> Result<(), WebError> {
    caller.require(Action::Edit)?;
    let tenant = caller.tenant.id;
    match setting {
        Setting::Channel(id) => state.store.delete_channel(tenant, id).await?,
        Setting::Route(id) => state.store.delete_route(tenant, id).await?,
        Setting::Escalation(id) => state.store.delete_escalation(tenant, id).await?,
    }
    Ok(())
}

/// The tenant's channels.
#[utoipa::path(get, path = "/channels", tag = "delivery",
    responses((status = 200, body = Vec<ChannelView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    let channels = state.store.channels(caller.tenant.id).await?;
    Ok(Json(channels.iter().map(channel_view).collect()))
}

/// Creates a channel (admin and up). Its secret is encrypted at rest and never shown again.
#[utoipa::path(post, path = "/channels", tag = "delivery", request_body = NewChannelBody,
    responses((status = 201, body = ChannelView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    caller.require(Action::Edit)?;
    let new: NewChannelBody = body(&bytes)?;
    let channel = create_channel_as(&state, &caller, &new).await?;
    Ok((StatusCode::CREATED, Json(channel_view(&channel))))
}

/// Deletes a channel, its routing rules and its queued notifications (admin and up).
#[utoipa::path(delete, path = "/channels/{id}", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = ChannelId(path_id(&id)?);
    delete_as(&state, &caller, Setting::Channel(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test notification to a channel now and says what the receiver answered (admin and
/// up).
#[utoipa::path(post, path = "/channels/{id}/test", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 200, body = TestResult), (status = 404, body = ErrorBody)))]
pub(crate) async fn test(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<TestResult>, ApiError> {
    Ok(Json(test_channel_as(&state, &caller, path_id(&id)?).await?))
}

/// A routing rule.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RouteView {
    /// Its id (ignored when creating).
    #[serde(default)]
    pub id: i64,
    /// `license_expiry`, `maintenance_expiry`, `not_read` or `capacity`; `null`: every kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// At least this severe: `INFO`, `WARNING` or `CRITICAL` (default `INFO`).
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Only this customer's instances (id); `null`: every customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// The channel (id).
    pub channel_id: i64,
}

fn route_view(route: &Route) -> RouteView {
    RouteView {
        id: route.id.0,
        kind: route.kind.map(|k| k.as_str().to_owned()),
        min_severity: Some(route.min_severity.to_string()),
        customer_id: route.customer_id.map(|c| c.0),
        channel_id: route.channel_id.0,
    }
}

fn severity_of(text: Option<&String>) -> Result<Severity, WebError> {
    match given(text) {
        None => Ok(Severity::Info),
        Some(text) => Severity::from_str(&text).map_err(|_| {
            WebError::Invalid(format!(
                "min_severity must be INFO, WARNING or CRITICAL, not {text:?}"
            ))
        }),
    }
}

impl RouteView {
    pub(crate) fn route(&self) -> Result<NewRoute, WebError> {
        Ok(NewRoute {
            kind: given(self.kind.as_ref())
                .map(|k| {
                    AlertKind::from_str(&k).map_err(|_| {
                        WebError::Invalid(format!(
                            "kind must be license_expiry, maintenance_expiry, not_read or capacity, not {k:?}"
                        ))
                    })
                })
                .transpose()?,
            min_severity: severity_of(self.min_severity.as_ref())?,
            customer_id: self.customer_id.map(CustomerId),
            channel_id: ChannelId(self.channel_id),
        })
    }
}

/// The tenant's routing rules. With none, every alert goes to every channel.
#[utoipa::path(get, path = "/routes", tag = "delivery",
    responses((status = 200, body = Vec<RouteView>)))]
pub(crate) async fn routes(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<RouteView>>, ApiError> {
    let routes = state.store.routes(caller.tenant.id).await?;
    Ok(Json(routes.iter().map(route_view).collect()))
}

/// Adds a routing rule (admin and up). Once a tenant has rules, alerts go only where they say.
#[utoipa::path(post, path = "/routes", tag = "delivery", request_body = RouteView,
    responses((status = 201, body = RouteView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create_route(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    caller.require(Action::Edit)?;
    let new: RouteView = body(&bytes)?;
    let route = create_route_as(&state, &caller, &new).await?;
    Ok((StatusCode::CREATED, Json(route_view(&route))))
}

/// Deletes a routing rule (admin and up).
#[utoipa::path(delete, path = "/routes/{id}", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_route(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = RouteId(path_id(&id)?);
    delete_as(&state, &caller, Setting::Route(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One escalation level.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LevelView {
    /// Minutes after the alert fired, if nobody acknowledged it.
    pub after_minutes: u32,
    /// The channel to notify (id).
    pub channel_id: i64,
}

/// An escalation policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EscalationView {
    /// Its id (ignored when creating).
    #[serde(default)]
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Alerts at least this severe escalate: `INFO`, `WARNING` or `CRITICAL` (default `INFO`).
    #[serde(default)]
    pub min_severity: Option<String>,
    /// The levels, in order of their wait.
    pub levels: Vec<LevelView>,
}

impl EscalationView {
    /// The policy to create, or a message naming the field that is wrong.
    pub(crate) fn escalation(&self) -> Result<NewEscalation, WebError> {
        Ok(NewEscalation {
            name: self.name.clone(),
            min_severity: severity_of(self.min_severity.as_ref())?,
            levels: self
                .levels
                .iter()
                .map(|l| EscalationLevel {
                    after_minutes: l.after_minutes,
                    channel_id: ChannelId(l.channel_id),
                })
                .collect(),
        })
    }
}

fn escalation_view(escalation: &Escalation) -> EscalationView {
    EscalationView {
        id: escalation.id.0,
        name: escalation.name.clone(),
        min_severity: Some(escalation.min_severity.to_string()),
        levels: escalation
            .levels
            .iter()
            .map(|l| LevelView {
                after_minutes: l.after_minutes,
                channel_id: l.channel_id.0,
            })
            .collect(),
    }
}

/// The tenant's escalation policies.
#[utoipa::path(get, path = "/escalations", tag = "delivery",
    responses((status = 200, body = Vec<EscalationView>)))]
pub(crate) async fn escalations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<EscalationView>>, ApiError> {
    let escalations = state.store.escalations(caller.tenant.id).await?;
    Ok(Json(escalations.iter().map(escalation_view).collect()))
}

/// Adds an escalation policy (admin and up): each level notifies its channel that many
/// minutes after an alert fired, unless the alert was acknowledged or resolved first.
#[utoipa::path(post, path = "/escalations", tag = "delivery", request_body = EscalationView,
    responses((status = 201, body = EscalationView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create_escalation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<EscalationView>), ApiError> {
    caller.require(Action::Edit)?;
    let new: EscalationView = body(&bytes)?;
    let escalation = create_escalation_as(&state, &caller, &new).await?;
    Ok((StatusCode::CREATED, Json(escalation_view(&escalation))))
}

/// Deletes an escalation policy (admin and up).
#[utoipa::path(delete, path = "/escalations/{id}", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_escalation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = EscalationId(path_id(&id)?);
    delete_as(&state, &caller, Setting::Escalation(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One notification on its way to one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id.
    pub id: i64,
    /// The channel (id).
    pub channel_id: i64,
    /// The channel's name.
    pub channel: String,
    /// `trigger` or `resolve`.
    pub action: String,
    /// The stage it tells of (`milestone:3`, `lapse`, `not_read`).
    pub stage: String,
    /// The escalation level that queued it, if any.
    pub escalation_level: Option<u32>,
    /// The idempotency key receivers see (the same on every retry).
    pub idempotency_key: String,
    /// `pending`, `sent`, `failed` or `cancelled`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// The receiver's last answer when it was not taken.
    pub last_error: Option<String>,
    /// The next attempt, while pending (RFC 3339).
    pub next_attempt_at: Option<String>,
    /// When it was sent (RFC 3339).
    pub sent_at: Option<String>,
    /// When it was queued, in the tenant's zone.
    pub created_local: String,
}

pub(crate) fn delivery_view(delivery: &Delivery, zone: &runway_core::Zone) -> DeliveryView {
    DeliveryView {
        id: delivery.id.0,
        channel_id: delivery.channel_id.0,
        channel: delivery.channel_name.clone(),
        action: delivery.notice.action.as_str().to_owned(),
        stage: delivery.notice.stage.clone(),
        escalation_level: delivery.escalation_level,
        idempotency_key: delivery.notice.idempotency_key.clone(),
        state: delivery.state.as_str().to_owned(),
        attempts: delivery.attempts,
        last_error: delivery.last_error.clone(),
        next_attempt_at: (delivery.state == runway_store::DeliveryState::Pending)
            .then(|| delivery.not_before.to_string()),
        sent_at: delivery.sent_at.map(|t| t.to_string()),
        created_local: local_time(delivery.created_at, zone),
    }
}

/// Queues a failed delivery again (technician and up).
pub(crate) async fn retry_as(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Delivery, WebError> {
    caller.require(Action::Read)?;
    Ok(state
        .store
        .retry_delivery(caller.tenant.id, DeliveryId(id), state.now())
        .await?)
}

/// Sends a delivery that was refused for good once more, now (technician and up).
#[utoipa::path(post, path = "/deliveries/{id}/retry", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 200, body = DeliveryView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn retry(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let delivery = retry_as(&state, &caller, path_id(&id)?).await?;
    Ok(Json(delivery_view(&delivery, &caller.tenant.settings.zone)))
}
