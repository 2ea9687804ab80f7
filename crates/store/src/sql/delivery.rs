//! [`Deliveries`]: channels, routing rules, escalation policies and the outbox.
//!
//! [`enqueue`] is called by `alerts.rs` in the transaction that fires or resolves alerts, so
//! the decisions and their notifications commit together or not at all. The worker's side —
//! claiming due rows with a lease, recording each attempt's outcome — is here too; the
//! claiming statement is the backend's own (`FOR UPDATE SKIP LOCKED` on PostgreSQL, as the
//! poller's leasing does). None of this touches the fleet generation: the License Status cache
//! stays valid while notifications come and go.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use runway_core::Severity;

use super::db::{Db, Sql, Tx, Violation, params, value_rows};
use super::rows::{corrupt, duration_secs, instant, seconds};
use super::{OnViolation as _, SqlStore, limit, missing};
use crate::alert::{AlertKind, AlertResolution};
use crate::delivery::{
    AttemptOutcome, Channel, ChannelKind, ChannelSettings, ChannelTarget, Delivery, DeliveryFilter,
    DeliveryState, DueDelivery, Escalation, EscalationLevel, NewChannel, NewEscalation, NewRoute,
    Notice, NoticeAction, OutboxDepth, Route,
};
use crate::error::{Result, StoreError};
use crate::ids::{
    AlertId, ChannelId, CustomerId, DeliveryId, EscalationId, InstanceId, RouteId, TenantId,
};
use crate::secret_key::SealedFor;
use crate::store::Deliveries;
use crate::validate;

/// The most rows one claim hands out.
const MAX_CLAIM_BATCH: u32 = 500;
/// The longest text kept of a receiver's answer.
const MAX_ERROR_LEN: usize = 1000;
/// The longest reference a channel keeps per series (a PSA ticket link's JSON is ~300).
const MAX_REFERENCE_LEN: usize = 4000;

fn parse_severity(text: &str, what: &str, id: i64) -> Result<Severity> {
    text.parse().map_err(|err: String| corrupt(what, id, err))
}

// ---------------------------------------------------------------------------------------------
// Deciding where a notification goes, and queueing it.

/// What happened to an alert that is worth telling someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Happened {
    /// A stage fired (the alert opened or escalated).
    Fired,
    /// The alert resolved.
    Resolved,
}

#[derive(Debug, sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    instance_id: i64,
    customer_id: i64,
    kind: String,
    series: String,
    severity: String,
    stage: String,
    days_left: Option<i64>,
    resolution: Option<String>,
    resolution_note: Option<String>,
    instance_name: String,
    customer_name: String,
    facts: Option<String>,
}

/// The most rows one multi-row statement writes (well under both backends' argument limits).
pub(super) const ROWS_PER_STATEMENT: usize = 256;

/// The notification of what just happened to an alert: a snapshot of the alert, its instance
/// and the current license, so that every retry sends the same facts. Also the instance's
/// customer, whose routing rules apply. Its idempotency key is the series key and the stage
/// for a trigger; for a resolve, the series key and the resolve's number (`resolves`, this one
/// included: a series can resolve more than once when it fired again after a renewal that did
/// not take, and each resolve is its own notification).
fn notice_of(
    tenant: &crate::tenant::Tenant,
    row: &NoticeRow,
    happened: Happened,
    resolves: i64,
    now: Timestamp,
) -> Result<(Notice, CustomerId)> {
    let alert = row.id;
    let kind = AlertKind::from_str(&row.kind).map_err(|e| corrupt("alert", alert, e))?;
    let severity = parse_severity(&row.severity, "alert", alert)?;
    let series_key = format!(
        "runway:t{}:i{}:{}:{}",
        tenant.id.0, row.instance_id, row.kind, row.series
    );
    let (action, idempotency_key) = match happened {
        Happened::Fired => (NoticeAction::Trigger, format!("{series_key}:{}", row.stage)),
        Happened::Resolved => (
            NoticeAction::Resolve,
            format!("{series_key}:resolve:{}", resolves.max(1)),
        ),
    };
    let facts = row
        .facts
        .as_deref()
        .map(|json| super::rows::facts(json, "current license", row.instance_id))
        .transpose()?;
    let expiry_date = if kind.is_reminder() {
        Some(
            jiff::civil::Date::from_str(&row.series)
                .map_err(|e| corrupt("alert", alert, e.to_string()))?,
        )
    } else {
        None
    };
    let license_key = facts.as_ref().and_then(|f| f.license_key.clone());
    let renew_url = facts.as_ref().and_then(|f| {
        f.license_key.as_deref().map(|key| {
            tenant
                .settings
                .renewal_template
                .link(key, f.product_code.as_deref())
        })
    });
    let days_left = row.days_left.and_then(|d| i32::try_from(d).ok());
    let resolution = row
        .resolution
        .as_deref()
        .map(AlertResolution::from_str)
        .transpose()
        .map_err(|e| corrupt("alert", alert, e))?;
    let summary = summary(
        kind,
        action,
        &row.instance_name,
        &row.customer_name,
        expiry_date,
        days_left,
        facts
            .as_ref()
            .and_then(runway_core::LicenseFacts::seat_usage)
            .as_ref(),
        row.resolution_note.as_deref(),
    );
    let notice = Notice {
        idempotency_key,
        series_key,
        action,
        alert_id: Some(AlertId(alert)),
        kind,
        severity,
        stage: row.stage.clone(),
        days_left,
        instance_id: InstanceId(row.instance_id),
        instance_name: row.instance_name.clone(),
        customer_name: row.customer_name.clone(),
        customer_id: Some(CustomerId(row.customer_id)),
        license_key,
        edition: facts.as_ref().map(|f| f.edition.to_string()),
        expiry_date,
        zone: tenant.settings.zone.name().to_owned(),
        renew_url,
        resolution,
        resolution_note: row.resolution_note.clone(),
        summary,
        at: now,
    };
    Ok((notice, CustomerId(row.customer_id)))
}

/// One row of the outbox, about to be queued.
struct Queued {
    channel: i64,
    /// `None` for a channel's problem.
    alert: Option<i64>,
    key: String,
    series_key: String,
    action: NoticeAction,
    notice: String,
    level: Option<u32>,
    not_before: Timestamp,
}

/// Queues the notifications of what just happened to some alerts, inside the transaction that
/// decided it: for each, a trigger to every channel the tenant's rules route it to (and the
/// escalation levels that apply, delayed), or a resolve to every channel that was sent, or is
/// still to be sent, a trigger of it. Rows are queued in the order of `happened`, so a resolve
/// listed before a trigger is queued before it. Re-running the same decision queues nothing
/// new: each row's idempotency key is unique per channel. A fixed number of statements,
/// however many alerts.
pub(super) async fn enqueue(
    tx: &mut Tx,
    tenant: &crate::tenant::Tenant,
    happened: &[(i64, Happened)],
    now: Timestamp,
) -> Result<u64> {
    if happened.is_empty() {
        return Ok(0);
    }
    let t = tenant.id.0;
    let ids: Vec<i64> = happened.iter().map(|(id, _)| *id).collect();
    let resolved: Vec<i64> = happened
        .iter()
        .filter(|(_, h)| *h == Happened::Resolved)
        .map(|(id, _)| *id)
        .collect();
    let rows = notice_rows(tx, t, &ids).await?;
    let (resolve_count, sent_to) = resolve_facts(tx, t, &resolved).await?;
    // Escalation levels of an earlier stage that have not gone out are superseded by this
    // step: the alert escalated or resolved.
    for part in ids.chunks(ROWS_PER_STATEMENT) {
        cancel_escalations_of(tx, tenant.id, part).await?;
    }
    let routing = if resolved.len() < happened.len() {
        Some(Routing::load(tx, tenant.id).await?)
    } else {
        None
    };

    let mut queued: Vec<Queued> = Vec::new();
    for &(alert, what) in happened {
        let row = rows.get(&alert).ok_or_else(|| missing("alert", alert))?;
        let count = resolve_count.get(&alert).copied().unwrap_or(1);
        let (notice, customer) = notice_of(tenant, row, what, count, now)?;
        let targets = match (what, &routing) {
            (Happened::Fired, Some(routing)) => {
                routing.targets(notice.kind, notice.severity, customer, now)
            }
            _ => sent_to
                .get(&alert)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|&channel| Target {
                    channel,
                    level: None,
                    not_before: now,
                })
                .collect(),
        };
        let json = serde_json::to_string(&notice)
            .map_err(|e| StoreError::backend(format!("cannot encode a notification: {e}")))?;
        for target in targets {
            queued.push(Queued {
                channel: target.channel,
                alert: Some(alert),
                key: match target.level {
                    Some(level) => format!("{}:escalation:{level}", notice.idempotency_key),
                    None => notice.idempotency_key.clone(),
                },
                series_key: notice.series_key.clone(),
                action: notice.action,
                notice: json.clone(),
                level: target.level,
                not_before: target.not_before,
            });
        }
    }
    insert(tx, t, &queued, now).await
}

/// The rows [`notice_of`] builds the notices of some alerts from, by alert.
async fn notice_rows(tx: &mut Tx, t: i64, ids: &[i64]) -> Result<HashMap<i64, NoticeRow>> {
    let mut rows: HashMap<i64, NoticeRow> = HashMap::with_capacity(ids.len());
    for part in ids.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<NoticeRow> = tx
            .all(
                Sql::new(format!(
                    "SELECT a.id, a.instance_id, i.customer_id, a.kind, a.series, a.severity, \
                     a.stage, a.days_left, a.resolution, a.resolution_note, \
                     i.name AS instance_name, c.name AS customer_name, cl.facts FROM alerts a \
                     JOIN instances i ON i.tenant_id = a.tenant_id AND i.id = a.instance_id \
                     JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id \
                     LEFT JOIN current_licenses cl ON cl.tenant_id = a.tenant_id \
                     AND cl.instance_id = a.instance_id \
                     WHERE a.tenant_id = $1 AND a.id IN ({})",
                    params(2, part.len())
                ))
                .bind(t)
                .bind_all(part.iter().copied()),
            )
            .await?;
        rows.extend(found.into_iter().map(|row| (row.id, row)));
    }
    Ok(rows)
}

/// For alerts that resolved: the number of each one's resolves (this one included), and the
/// channels its triggers went to, or are still to go to.
async fn resolve_facts(
    tx: &mut Tx,
    t: i64,
    resolved: &[i64],
) -> Result<(HashMap<i64, i64>, HashMap<i64, Vec<i64>>)> {
    // Resolves are numbered by the alert's resolved events (this one's is already written),
    // and go to the channels its triggers went to.
    let mut counts_of: HashMap<i64, i64> = HashMap::new();
    let mut sent_to: HashMap<i64, Vec<i64>> = HashMap::new();
    for part in resolved.chunks(ROWS_PER_STATEMENT) {
        let counts: Vec<(i64, i64)> = tx
            .all(
                Sql::new(format!(
                    "SELECT alert_id, COUNT(*) FROM alert_events WHERE tenant_id = $1 \
                     AND what = 'resolved' AND alert_id IN ({}) GROUP BY alert_id",
                    params(2, part.len())
                ))
                .bind(t)
                .bind_all(part.iter().copied()),
            )
            .await?;
        counts_of.extend(counts);
        let channels: Vec<(i64, i64)> = tx
            .all(
                Sql::new(format!(
                    "SELECT DISTINCT alert_id, channel_id FROM deliveries WHERE tenant_id = $1 \
                     AND action = 'trigger' AND state <> 'cancelled' AND alert_id IN ({}) \
                     ORDER BY alert_id, channel_id",
                    params(2, part.len())
                ))
                .bind(t)
                .bind_all(part.iter().copied()),
            )
            .await?;
        for (alert, channel) in channels {
            sent_to.entry(alert).or_default().push(channel);
        }
    }
    Ok((counts_of, sent_to))
}

/// Writes rows of the outbox; how many were new.
async fn insert(tx: &mut Tx, t: i64, queued: &[Queued], now: Timestamp) -> Result<u64> {
    let mut written = 0;
    for part in queued.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Sql::new(format!(
            "INSERT INTO deliveries (tenant_id, channel_id, alert_id, idempotency_key, \
             series_key, action, notice, escalation_level, state, not_before, created_at) \
             VALUES {} ON CONFLICT DO NOTHING",
            value_rows(1, part.len(), 11)
        ));
        for row in part {
            insert = insert
                .bind(t)
                .bind(row.channel)
                .bind(row.alert)
                .bind(row.key.clone())
                .bind(row.series_key.clone())
                .bind(row.action.as_str())
                .bind(row.notice.clone())
                .bind(row.level.map(i64::from))
                .bind("pending")
                .bind(seconds(row.not_before))
                .bind(seconds(now));
        }
        written += tx.execute(insert).await?;
    }
    Ok(written)
}

/// One line for a subject or a title.
#[allow(clippy::too_many_arguments, reason = "the facts one line is made of")]
fn summary(
    kind: AlertKind,
    action: NoticeAction,
    instance: &str,
    customer: &str,
    date: Option<jiff::civil::Date>,
    days_left: Option<i32>,
    seats: Option<&runway_core::SeatUsage>,
    resolution: Option<&str>,
) -> String {
    let who = format!("{instance} ({customer})");
    let thing = match kind {
        AlertKind::MaintenanceExpiry => "maintenance",
        _ => "license",
    };
    let what = match (kind, days_left) {
        (AlertKind::NotRead, _) => format!("{who} has not been read"),
        (AlertKind::Capacity, _) => match seats {
            Some(u) => format!(
                "{who} uses {} of {} licensed users ({}%)",
                u.used,
                u.licensed.count,
                u.percent()
            ),
            None => format!("{who} is near its licensed users"),
        },
        (_, Some(days)) if days < 0 => format!("{who}: {thing} expired"),
        (_, Some(0)) => format!("{who}: {thing} expires today"),
        (_, Some(1)) => format!("{who}: {thing} expires tomorrow"),
        (_, Some(days)) => format!("{who}: {thing} expires in {days} days"),
        (_, None) => format!("{who}: {thing} expiry"),
    };
    let on = date.map(|d| format!(" on {d}")).unwrap_or_default();
    match action {
        NoticeAction::Resolve => format!("Resolved: {who}: {}", resolution.unwrap_or("resolved")),
        NoticeAction::Test => format!("Test notification from Runway: {what}"),
        NoticeAction::Trigger if kind.is_reminder() => format!("{what}{on}"),
        // A channel's problem is worded by its sender; this never builds one.
        NoticeAction::Trigger | NoticeAction::Problem => what,
    }
}

/// A channel a notification goes to, and when.
#[derive(Debug)]
struct Target {
    channel: i64,
    level: Option<u32>,
    not_before: Timestamp,
}

/// A tenant's enabled channels, routing rules and escalation policies, read once for all the
/// alerts a transaction fires.
struct Routing {
    enabled: Vec<i64>,
    routes: Vec<Route>,
    escalations: Vec<Escalation>,
}

impl Routing {
    async fn load(tx: &mut Tx, tenant: TenantId) -> Result<Routing> {
        let channels: Vec<(i64,)> = tx
            .all(
                Sql::new("SELECT id FROM channels WHERE tenant_id = $1 AND enabled ORDER BY id")
                    .bind(tenant.0),
            )
            .await?;
        let routes: Vec<RouteRow> = tx
            .all(
                Sql::new(format!("{ROUTE_SELECT} WHERE tenant_id = $1 ORDER BY id")).bind(tenant.0),
            )
            .await?;
        let escalations: Vec<EscalationRow> = tx
            .all(
                Sql::new(format!(
                    "{ESCALATION_SELECT} WHERE tenant_id = $1 ORDER BY id"
                ))
                .bind(tenant.0),
            )
            .await?;
        Ok(Routing {
            enabled: channels.into_iter().map(|(id,)| id).collect(),
            routes: routes
                .into_iter()
                .map(Route::try_from)
                .collect::<Result<_>>()?,
            escalations: escalations
                .into_iter()
                .map(Escalation::try_from)
                .collect::<Result<_>>()?,
        })
    }

    /// Where a firing alert goes: the routing rules' channels (every enabled channel when the
    /// tenant has no rules), plus the levels of each escalation policy it is severe enough for.
    fn targets(
        &self,
        kind: AlertKind,
        severity: Severity,
        customer: CustomerId,
        now: Timestamp,
    ) -> Vec<Target> {
        let mut out: Vec<Target> = routed(&self.routes, &self.enabled, kind, severity, customer)
            .into_iter()
            .map(|channel| Target {
                channel,
                level: None,
                not_before: now,
            })
            .collect();
        for policy in &self.escalations {
            if severity < policy.min_severity {
                continue;
            }
            for (n, level) in policy.levels.iter().enumerate() {
                if !self.enabled.contains(&level.channel_id.0) {
                    continue;
                }
                out.push(Target {
                    channel: level.channel_id.0,
                    level: Some(u32::try_from(n + 1).unwrap_or(u32::MAX)),
                    not_before: now
                        .checked_add(SignedDuration::from_mins(i64::from(level.after_minutes)))
                        .unwrap_or(now),
                });
            }
        }
        out
    }
}

/// The channels routing rules send an alert to: those of every matching rule, or every
/// enabled channel when the tenant has no rules (the default).
pub(crate) fn routed(
    routes: &[Route],
    enabled: &[i64],
    kind: AlertKind,
    severity: Severity,
    customer: CustomerId,
) -> Vec<i64> {
    if routes.is_empty() {
        return enabled.to_vec();
    }
    let mut out: Vec<i64> = routes
        .iter()
        .filter(|r| r.kind.is_none_or(|k| k == kind))
        .filter(|r| severity >= r.min_severity)
        .filter(|r| r.customer_id.is_none_or(|c| c == customer))
        .map(|r| r.channel_id.0)
        .filter(|c| enabled.contains(c))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Cancels the escalation levels of an alert not yet sent (acknowledged, resolved, or
/// superseded by a later stage's).
pub(super) async fn cancel_escalations(tx: &mut Tx, tenant: TenantId, alert: i64) -> Result<u64> {
    cancel_escalations_of(tx, tenant, &[alert]).await
}

/// Cancels the unsent escalation levels of some alerts.
async fn cancel_escalations_of(tx: &mut Tx, tenant: TenantId, alerts: &[i64]) -> Result<u64> {
    Ok(tx
        .execute(
            Sql::new(format!(
                "UPDATE deliveries SET state = 'cancelled', lease_owner = NULL, \
                 lease_until = NULL WHERE tenant_id = $1 AND escalation_level IS NOT NULL \
                 AND state = 'pending' AND alert_id IN ({})",
                params(2, alerts.len())
            ))
            .bind(tenant.0)
            .bind_all(alerts.iter().copied()),
        )
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Rows.

#[derive(Debug, sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    tenant_id: i64,
    name: String,
    kind: String,
    settings: String,
    secret_sealed: Option<Vec<u8>>,
    enabled: bool,
    created_at: i64,
    paused_at: Option<i64>,
    paused_reason: Option<String>,
}

const CHANNEL_SELECT: &str = "SELECT id, tenant_id, name, kind, settings, secret_sealed, \
     enabled, created_at, paused_at, paused_reason FROM channels";

impl ChannelRow {
    fn channel(&self) -> Result<Channel> {
        let bad = |e: String| corrupt("channel", self.id, e);
        Ok(Channel {
            id: ChannelId(self.id),
            tenant_id: TenantId(self.tenant_id),
            name: self.name.clone(),
            kind: ChannelKind::from_str(&self.kind).map_err(bad)?,
            settings: serde_json::from_str(&self.settings).map_err(|e| bad(e.to_string()))?,
            has_secret: self.secret_sealed.is_some(),
            enabled: self.enabled,
            created_at: instant(self.created_at)?,
            paused: match (self.paused_at, &self.paused_reason) {
                (Some(at), Some(reason)) => Some((instant(at)?, reason.clone())),
                _ => None,
            },
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct RouteRow {
    id: i64,
    kind: Option<String>,
    min_severity: String,
    customer_id: Option<i64>,
    channel_id: i64,
}

const ROUTE_SELECT: &str = "SELECT id, kind, min_severity, customer_id, channel_id FROM routes";

impl TryFrom<RouteRow> for Route {
    type Error = StoreError;
    fn try_from(row: RouteRow) -> Result<Route> {
        Ok(Route {
            id: RouteId(row.id),
            kind: row
                .kind
                .as_deref()
                .map(AlertKind::from_str)
                .transpose()
                .map_err(|e| corrupt("route", row.id, e))?,
            min_severity: parse_severity(&row.min_severity, "route", row.id)?,
            customer_id: row.customer_id.map(CustomerId),
            channel_id: ChannelId(row.channel_id),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct EscalationRow {
    id: i64,
    name: String,
    min_severity: String,
    levels: String,
}

const ESCALATION_SELECT: &str = "SELECT id, name, min_severity, levels FROM escalations";

impl TryFrom<EscalationRow> for Escalation {
    type Error = StoreError;
    fn try_from(row: EscalationRow) -> Result<Escalation> {
        Ok(Escalation {
            id: EscalationId(row.id),
            name: row.name,
            min_severity: parse_severity(&row.min_severity, "escalation", row.id)?,
            levels: serde_json::from_str(&row.levels)
                .map_err(|e| corrupt("escalation", row.id, e))?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    tenant_id: i64,
    channel_id: i64,
    channel_name: String,
    notice: String,
    escalation_level: Option<i64>,
    state: String,
    attempts: i64,
    not_before: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.tenant_id, d.channel_id, c.name AS channel_name, \
     d.notice, d.escalation_level, d.state, d.attempts, d.not_before, d.last_error, \
     d.created_at, d.sent_at FROM deliveries d JOIN channels c \
     ON c.tenant_id = d.tenant_id AND c.id = d.channel_id";

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(row: DeliveryRow) -> Result<Delivery> {
        let bad = |e: String| corrupt("delivery", row.id, e);
        Ok(Delivery {
            id: DeliveryId(row.id),
            tenant_id: TenantId(row.tenant_id),
            channel_id: ChannelId(row.channel_id),
            channel_name: row.channel_name,
            notice: serde_json::from_str(&row.notice).map_err(|e| bad(e.to_string()))?,
            escalation_level: row.escalation_level.and_then(|l| u32::try_from(l).ok()),
            state: DeliveryState::from_str(&row.state).map_err(bad)?,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            not_before: instant(row.not_before)?,
            last_error: row.last_error,
            created_at: instant(row.created_at)?,
            sent_at: row.sent_at.map(instant).transpose()?,
        })
    }
}

/// The checks a channel's stored form must pass (the alerts crate checks the rest: URLs,
/// secret formats, addresses).
fn check_channel(new: &NewChannel) -> Result<String> {
    let name = validate::name(&new.name, "channel name", 100)?;
    if let Some(secret) = &new.secret
        && (secret.is_empty() || secret.len() > 4096)
    {
        return Err(StoreError::invalid(
            "the channel's secret must be 1 to 4096 characters",
        ));
    }
    Ok(name)
}

fn check_levels(levels: &[EscalationLevel]) -> Result<()> {
    if levels.is_empty() || levels.len() > 10 {
        return Err(StoreError::invalid(
            "an escalation policy needs 1 to 10 levels",
        ));
    }
    if levels.iter().any(|l| l.after_minutes > 60 * 24 * 30) {
        return Err(StoreError::invalid(
            "an escalation level waits at most 43200 minutes (30 days)",
        ));
    }
    if levels
        .windows(2)
        .any(|w| w[1].after_minutes < w[0].after_minutes)
    {
        return Err(StoreError::invalid(
            "escalation levels must be in order of their wait",
        ));
    }
    Ok(())
}

impl SqlStore {
    fn open_channel_secret(&self, row: &ChannelRow) -> Result<Option<String>> {
        row.secret_sealed
            .as_deref()
            .map(|sealed| {
                self.key.open(
                    sealed,
                    &SealedFor::Channel {
                        tenant: row.tenant_id,
                        channel: row.id,
                    },
                )
            })
            .transpose()
    }

    async fn channel_ids_exist(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        channels: Vec<ChannelId>,
    ) -> Result<()> {
        for channel in channels {
            let found: Option<(i64,)> = tx
                .optional(
                    Sql::new("SELECT id FROM channels WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(channel.0),
                )
                .await?;
            if found.is_none() {
                return Err(missing("channel", channel));
            }
        }
        Ok(())
    }
}

impl SqlStore {
    /// The claimed rows `ids`, with their channels (secrets opened) and references.
    async fn due_rows(&self, tx: &mut Tx, claimed: &[(i64,)]) -> Result<Vec<DueDelivery>> {
        let select = Sql::new(format!(
            "{DELIVERY_SELECT} WHERE d.id IN ({}) ORDER BY d.not_before, d.id",
            params(1, claimed.len())
        ))
        .bind_all(claimed.iter().map(|(id,)| *id));
        let rows: Vec<DeliveryRow> = tx.all(select).await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let delivery = Delivery::try_from(row)?;
            let channel: ChannelRow = tx
                .one(
                    Sql::new(format!("{CHANNEL_SELECT} WHERE tenant_id = $1 AND id = $2"))
                        .bind(delivery.tenant_id.0)
                        .bind(delivery.channel_id.0),
                )
                .await?;
            let reference: Option<(String,)> = tx
                .optional(
                    Sql::new(
                        "SELECT reference FROM channel_references WHERE tenant_id = $1 \
                         AND channel_id = $2 AND series_key = $3",
                    )
                    .bind(delivery.tenant_id.0)
                    .bind(delivery.channel_id.0)
                    .bind(delivery.notice.series_key.clone()),
                )
                .await?;
            due.push(DueDelivery {
                target: ChannelTarget {
                    channel: channel.channel()?,
                    secret: self.open_channel_secret(&channel)?,
                },
                reference: reference.map(|(r,)| r),
                delivery,
            });
        }
        Ok(due)
    }
}

#[async_trait]
impl Deliveries for SqlStore {
    async fn create_channel(
        &self,
        tenant: TenantId,
        new: &NewChannel,
        now: Timestamp,
    ) -> Result<Channel> {
        let name = check_channel(new)?;
        let settings = serde_json::to_string(&new.settings)
            .map_err(|e| StoreError::invalid(format!("the channel's settings: {e}")))?;
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = tx
            .one(
                Sql::new(
                    "INSERT INTO channels (tenant_id, name, kind, settings, enabled, created_at) \
                     VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id",
                )
                .bind(tenant.0)
                .bind(name.clone())
                .bind(new.kind.as_str())
                .bind(settings)
                .bind(seconds(now)),
            )
            .await
            .on_violation(|v| match v {
                Violation::Unique => Some(StoreError::conflict(format!(
                    "a channel named {name:?} already exists"
                ))),
                Violation::ForeignKey => Some(missing("tenant", tenant)),
                Violation::Check => None,
            })?;
        if let Some(secret) = &new.secret {
            let sealed = self.key.seal(
                secret,
                &SealedFor::Channel {
                    tenant: tenant.0,
                    channel: id,
                },
            )?;
            tx.execute(
                Sql::new("UPDATE channels SET secret_sealed = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id)
                    .bind(sealed),
            )
            .await?;
        }
        let row: ChannelRow = tx
            .one(
                Sql::new(format!("{CHANNEL_SELECT} WHERE tenant_id = $1 AND id = $2"))
                    .bind(tenant.0)
                    .bind(id),
            )
            .await?;
        tx.commit().await?;
        row.channel()
    }

    async fn channels(&self, tenant: TenantId) -> Result<Vec<Channel>> {
        let rows: Vec<ChannelRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "{CHANNEL_SELECT} WHERE tenant_id = $1 ORDER BY name, id"
                ))
                .bind(tenant.0),
            )
            .await?;
        rows.iter().map(ChannelRow::channel).collect()
    }

    async fn channel_target(&self, tenant: TenantId, channel: ChannelId) -> Result<ChannelTarget> {
        let row: Option<ChannelRow> = self
            .db
            .read_optional(
                Sql::new(format!("{CHANNEL_SELECT} WHERE tenant_id = $1 AND id = $2"))
                    .bind(tenant.0)
                    .bind(channel.0),
            )
            .await?;
        let row = row.ok_or_else(|| missing("channel", channel))?;
        Ok(ChannelTarget {
            channel: row.channel()?,
            secret: self.open_channel_secret(&row)?,
        })
    }

    async fn update_channel(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        settings: &ChannelSettings,
        secret: Option<&str>,
    ) -> Result<Channel> {
        if let Some(secret) = secret
            && (secret.is_empty() || secret.len() > 4096)
        {
            return Err(StoreError::invalid(
                "the channel's secret must be 1 to 4096 characters",
            ));
        }
        let json = serde_json::to_string(settings)
            .map_err(|e| StoreError::invalid(format!("the channel's settings: {e}")))?;
        let mut tx = self.db.begin().await?;
        let updated = tx
            .execute(
                Sql::new(
                    "UPDATE channels SET settings = $3, paused_at = NULL, paused_reason = NULL \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(channel.0)
                .bind(json),
            )
            .await?;
        if updated == 0 {
            return Err(missing("channel", channel));
        }
        if let Some(secret) = secret {
            let sealed = self.key.seal(
                secret,
                &SealedFor::Channel {
                    tenant: tenant.0,
                    channel: channel.0,
                },
            )?;
            tx.execute(
                Sql::new("UPDATE channels SET secret_sealed = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(channel.0)
                    .bind(sealed),
            )
            .await?;
        }
        let row: ChannelRow = tx
            .one(
                Sql::new(format!("{CHANNEL_SELECT} WHERE tenant_id = $1 AND id = $2"))
                    .bind(tenant.0)
                    .bind(channel.0),
            )
            .await?;
        tx.commit().await?;
        row.channel()
    }

    async fn pause_channel(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        reason: &str,
        problem: &Notice,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let paused = tx
            .execute(
                Sql::new(
                    "UPDATE channels SET paused_at = $3, paused_reason = $4 \
                     WHERE tenant_id = $1 AND id = $2 AND paused_at IS NULL",
                )
                .bind(tenant.0)
                .bind(channel.0)
                .bind(seconds(now))
                .bind(validate::truncate(reason, MAX_ERROR_LEN)),
            )
            .await?;
        if paused == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        let others: Vec<(i64, String)> = tx
            .all(
                Sql::new(
                    "SELECT id, kind FROM channels WHERE tenant_id = $1 AND id <> $2 \
                     AND enabled AND paused_at IS NULL ORDER BY id",
                )
                .bind(tenant.0)
                .bind(channel.0),
            )
            .await?;
        let json = serde_json::to_string(problem)
            .map_err(|e| StoreError::backend(format!("cannot encode a notification: {e}")))?;
        let queued: Vec<Queued> = others
            .into_iter()
            .filter(|(_, kind)| ChannelKind::from_str(kind).is_ok_and(|k| !k.is_psa()))
            .map(|(other, _)| Queued {
                channel: other,
                alert: None,
                key: problem.idempotency_key.clone(),
                series_key: problem.series_key.clone(),
                action: NoticeAction::Problem,
                notice: json.clone(),
                level: None,
                not_before: now,
            })
            .collect();
        insert(&mut tx, tenant.0, &queued, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn resume_channel(&self, tenant: TenantId, channel: ChannelId) -> Result<()> {
        let updated = self
            .db
            .write(
                Sql::new(
                    "UPDATE channels SET paused_at = NULL, paused_reason = NULL \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(channel.0),
            )
            .await?;
        if updated == 0 {
            return Err(missing("channel", channel));
        }
        Ok(())
    }

    async fn delete_channel(&self, tenant: TenantId, channel: ChannelId) -> Result<()> {
        let deleted = self
            .db
            .write(
                Sql::new("DELETE FROM channels WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(channel.0),
            )
            .await?;
        if deleted == 0 {
            return Err(missing("channel", channel));
        }
        Ok(())
    }

    async fn routes(&self, tenant: TenantId) -> Result<Vec<Route>> {
        let rows: Vec<RouteRow> = self
            .db
            .read_all(
                Sql::new(format!("{ROUTE_SELECT} WHERE tenant_id = $1 ORDER BY id")).bind(tenant.0),
            )
            .await?;
        rows.into_iter().map(Route::try_from).collect()
    }

    async fn create_route(
        &self,
        tenant: TenantId,
        new: &NewRoute,
        now: Timestamp,
    ) -> Result<Route> {
        let mut tx = self.db.begin().await?;
        self.channel_ids_exist(&mut tx, tenant, vec![new.channel_id])
            .await?;
        let (id,): (i64,) = tx
            .one(
                Sql::new(
                    "INSERT INTO routes (tenant_id, kind, min_severity, customer_id, channel_id, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(tenant.0)
                .bind(new.kind.map(|k| k.as_str().to_owned()))
                .bind(new.min_severity.to_string())
                .bind(new.customer_id.map(|c| c.0))
                .bind(new.channel_id.0)
                .bind(seconds(now)),
            )
            .await
            .on_violation(|v| {
                (v == Violation::ForeignKey).then(|| match new.customer_id {
                    Some(customer) => missing("customer", customer),
                    None => missing("channel", new.channel_id),
                })
            })?;
        tx.commit().await?;
        Ok(Route {
            id: RouteId(id),
            kind: new.kind,
            min_severity: new.min_severity,
            customer_id: new.customer_id,
            channel_id: new.channel_id,
        })
    }

    async fn delete_route(&self, tenant: TenantId, route: RouteId) -> Result<()> {
        let deleted = self
            .db
            .write(
                Sql::new("DELETE FROM routes WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(route.0),
            )
            .await?;
        if deleted == 0 {
            return Err(missing("route", route));
        }
        Ok(())
    }

    async fn escalations(&self, tenant: TenantId) -> Result<Vec<Escalation>> {
        let rows: Vec<EscalationRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "{ESCALATION_SELECT} WHERE tenant_id = $1 ORDER BY id"
                ))
                .bind(tenant.0),
            )
            .await?;
        rows.into_iter().map(Escalation::try_from).collect()
    }

    async fn create_escalation(
        &self,
        tenant: TenantId,
        new: &NewEscalation,
        now: Timestamp,
    ) -> Result<Escalation> {
        let name = validate::name(&new.name, "escalation policy name", 100)?;
        check_levels(&new.levels)?;
        let levels = serde_json::to_string(&new.levels)
            .map_err(|e| StoreError::invalid(format!("the escalation levels: {e}")))?;
        let mut tx = self.db.begin().await?;
        let channels: Vec<ChannelId> = new.levels.iter().map(|l| l.channel_id).collect();
        self.channel_ids_exist(&mut tx, tenant, channels).await?;
        let (id,): (i64,) = tx
            .one(
                Sql::new(
                    "INSERT INTO escalations (tenant_id, name, min_severity, levels, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(tenant.0)
                .bind(name.clone())
                .bind(new.min_severity.to_string())
                .bind(levels)
                .bind(seconds(now)),
            )
            .await
            .on_violation(|v| {
                (v == Violation::Unique).then(|| {
                    StoreError::conflict(format!(
                        "an escalation policy named {name:?} already exists"
                    ))
                })
            })?;
        tx.commit().await?;
        Ok(Escalation {
            id: EscalationId(id),
            name,
            min_severity: new.min_severity,
            levels: new.levels.clone(),
        })
    }

    async fn delete_escalation(&self, tenant: TenantId, escalation: EscalationId) -> Result<()> {
        let deleted = self
            .db
            .write(
                Sql::new("DELETE FROM escalations WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(escalation.0),
            )
            .await?;
        if deleted == 0 {
            return Err(missing("escalation policy", escalation));
        }
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        node: &str,
        lease_for: Duration,
        max: u32,
    ) -> Result<Vec<DueDelivery>> {
        let node = validate::name(node, "node id", 200)?;
        if max == 0 {
            return Ok(Vec::new());
        }
        let now_s = seconds(now);
        let until = now_s.saturating_add(duration_secs(lease_for).max(1));
        let statement = match self.db {
            Db::Sqlite { .. } => crate::sqlite::CLAIM_DELIVERIES,
            Db::Postgres(_) => crate::postgres::CLAIM_DELIVERIES,
        };
        let mut tx = self.db.begin().await?;
        let claimed: Vec<(i64,)> = tx
            .all(
                Sql::new(statement)
                    .bind(node)
                    .bind(until)
                    .bind(now_s)
                    .bind(i64::from(max.min(MAX_CLAIM_BATCH))),
            )
            .await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let due = self.due_rows(&mut tx, &claimed).await?;
        tx.commit().await?;
        Ok(due)
    }

    async fn claim_resends(
        &self,
        now: Timestamp,
        kind: ChannelKind,
        every: Duration,
        max: u32,
    ) -> Result<Vec<DueDelivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now_s = seconds(now);
        let cutoff = now_s.saturating_sub(duration_secs(every));
        let mut tx = self.db.begin().await?;
        // The outer condition is checked again on the row itself, so on PostgreSQL a node that
        // waited for another's update of the same row finds it re-sent and leaves it.
        let claimed: Vec<(i64,)> = tx
            .all(
                Sql::new(
                    "UPDATE deliveries SET resent_at = $1 WHERE id IN (SELECT d.id \
                     FROM deliveries d JOIN channels c ON c.tenant_id = d.tenant_id \
                     AND c.id = d.channel_id JOIN alerts a ON a.tenant_id = d.tenant_id \
                     AND a.id = d.alert_id WHERE c.kind = $2 AND c.enabled \
                     AND d.action = 'trigger' AND d.state = 'sent' AND a.state <> 'resolved' \
                     AND COALESCE(d.resent_at, d.sent_at) <= $3 AND NOT EXISTS (SELECT 1 \
                     FROM deliveries e WHERE e.tenant_id = d.tenant_id \
                     AND e.channel_id = d.channel_id AND e.alert_id = d.alert_id \
                     AND e.action = 'trigger' AND e.id > d.id \
                     AND e.state IN ('sent', 'pending')) \
                     ORDER BY COALESCE(d.resent_at, d.sent_at), d.id LIMIT $4) \
                     AND COALESCE(resent_at, sent_at) <= $3 RETURNING id",
                )
                .bind(now_s)
                .bind(kind.as_str())
                .bind(cutoff)
                .bind(i64::from(max.min(MAX_CLAIM_BATCH))),
            )
            .await?;
        let due = if claimed.is_empty() {
            Vec::new()
        } else {
            self.due_rows(&mut tx, &claimed).await?
        };
        tx.commit().await?;
        Ok(due)
    }

    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let (state, not_before, error) = match outcome {
            AttemptOutcome::Sent { .. } => ("sent", now, None),
            AttemptOutcome::Retry { retry_at, error } => ("pending", *retry_at, Some(error)),
            AttemptOutcome::Failed { error } => ("failed", now, Some(error)),
        };
        tx.execute(
            Sql::new(
                "UPDATE deliveries SET state = $3, attempts = attempts + 1, not_before = $4, \
                 last_error = $5, sent_at = $6, lease_owner = NULL, lease_until = NULL \
                 WHERE tenant_id = $1 AND id = $2 AND state = 'pending'",
            )
            .bind(delivery.tenant_id.0)
            .bind(delivery.id.0)
            .bind(state)
            .bind(seconds(not_before))
            .bind(error.map(|e| validate::truncate(e, MAX_ERROR_LEN)))
            .bind((state == "sent").then(|| seconds(now))),
        )
        .await?;
        if let AttemptOutcome::Sent {
            reference: Some(reference),
        } = outcome
        {
            tx.execute(
                Sql::new(
                    "INSERT INTO channel_references (tenant_id, channel_id, series_key, \
                     reference, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant_id, channel_id, series_key) DO UPDATE SET \
                     reference = excluded.reference, updated_at = excluded.updated_at",
                )
                .bind(delivery.tenant_id.0)
                .bind(delivery.channel_id.0)
                .bind(delivery.notice.series_key.clone())
                .bind(validate::truncate(reference, MAX_REFERENCE_LEN))
                .bind(seconds(now)),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        filter: &DeliveryFilter,
        max: u32,
    ) -> Result<Vec<Delivery>> {
        let mut sql = format!("{DELIVERY_SELECT} WHERE d.tenant_id = $1");
        let mut query_args: Vec<super::db::Arg> = vec![tenant.0.into()];
        if let Some(alert) = filter.alert {
            query_args.push(alert.0.into());
            let _ = write!(sql, " AND d.alert_id = ${}", query_args.len());
        }
        if let Some(state) = filter.state {
            query_args.push(state.as_str().into());
            let _ = write!(sql, " AND d.state = ${}", query_args.len());
        }
        let _ = write!(sql, " ORDER BY d.id DESC LIMIT {}", limit(max));
        let mut query = Sql::new(sql);
        for arg in query_args {
            query = query.bind(arg);
        }
        let rows: Vec<DeliveryRow> = self.db.read_all(query).await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn retry_delivery(
        &self,
        tenant: TenantId,
        delivery: DeliveryId,
        now: Timestamp,
    ) -> Result<Delivery> {
        let updated = self
            .db
            .write(
                Sql::new(
                    "UPDATE deliveries SET state = 'pending', not_before = $3 \
                     WHERE tenant_id = $1 AND id = $2 AND state = 'failed'",
                )
                .bind(tenant.0)
                .bind(delivery.0)
                .bind(seconds(now)),
            )
            .await?;
        let row: Option<DeliveryRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "{DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.id = $2"
                ))
                .bind(tenant.0)
                .bind(delivery.0),
            )
            .await?;
        let found = Delivery::try_from(row.ok_or_else(|| missing("delivery", delivery))?)?;
        if updated == 0 && found.state != DeliveryState::Pending {
            return Err(StoreError::conflict(format!(
                "delivery {delivery} is {}; only a failed delivery can be retried",
                found.state
            )));
        }
        Ok(found)
    }

    async fn outbox_depth(&self, now: Timestamp) -> Result<OutboxDepth> {
        let (due, waiting, failed): (i64, i64, i64) = self
            .db
            .read_optional(
                Sql::new(
                    "SELECT \
                     COALESCE(SUM(CASE WHEN state = 'pending' AND not_before <= $1 THEN 1 ELSE 0 END), 0), \
                     COALESCE(SUM(CASE WHEN state = 'pending' AND not_before > $1 THEN 1 ELSE 0 END), 0), \
                     COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) \
                     FROM deliveries WHERE state IN ('pending', 'failed')",
                )
                .bind(seconds(now)),
            )
            .await?
            .unwrap_or((0, 0, 0));
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(OutboxDepth {
            due: count(due),
            waiting: count(waiting),
            failed: count(failed),
        })
    }
}
