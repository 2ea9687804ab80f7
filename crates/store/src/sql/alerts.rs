//! [`Alerts`]: applying core's reminder decisions and the "not read" rule to stored alerts.
//!
//! [`evaluate_instance`] is the one place alerts change because of a license: the recording
//! transaction (reading or failed read) calls it, and so does the periodic tick, each for one
//! instance inside one transaction. The ledger `reminder_stages` has the primary key
//! (instance, expiry date, stage), so a stage claimed by another node, tick or retried
//! transaction is simply not claimed again, and nothing that depends on it is written.

use std::collections::{HashMap, HashSet};
use std::str::FromStr as _;

use async_trait::async_trait;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use runway_core::{ReminderInput, ResolveReason, Severity, Stage};

use super::db::{Db, Sql, Tx, params, value_rows};
use super::delivery::{Happened, ROWS_PER_STATEMENT};
use super::rows::{TENANT_COLUMNS, TenantRow, corrupt, instant, seconds};
use super::{SqlStore, limit, missing};
use crate::LoginKind;
use crate::alert::{
    Alert, AlertBadge, AlertEvent, AlertFilter, AlertKind, AlertResolution, AlertState,
    AlertsChanged, parse_stage, stage_text,
};
use crate::error::{Result, StoreError};
use crate::ids::{AlertId, InstanceId, TenantId};
use crate::store::Alerts;
use crate::tenant::Tenant;

/// Instances the tick evaluates in one transaction.
const TICK_CHUNK: usize = 256;

/// What the rules need to know about one instance.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Watched {
    id: i64,
    login_kind: String,
    enabled: bool,
    created_at: i64,
    expiry: Option<i64>,
    last_success_at: Option<i64>,
    /// The current license's facts, read only when a kind that needs them is on.
    facts: Option<String>,
    /// When the instance last crossed up to 90% of its seats, read only when capacity
    /// alerts are on.
    capacity_up_at: Option<i64>,
}

/// The statement that reads what the rules need of a tenant's instances (`$1`): the facts and
/// the last capacity crossing only for the kinds the tenant has on, so that the default
/// kinds stay a read of two tables.
fn watched_sql(tenant: &Tenant) -> String {
    let settings = &tenant.settings;
    let facts = if settings.capacity_alerts || settings.maintenance_reminders {
        "cl.facts"
    } else {
        "CAST(NULL AS TEXT)"
    };
    let capacity = if settings.capacity_alerts {
        "(SELECT MAX(e.at) FROM instance_events e WHERE e.tenant_id = i.tenant_id \
         AND e.instance_id = i.id AND e.kind = 'capacity_up')"
    } else {
        "CAST(NULL AS BIGINT)"
    };
    format!(
        "SELECT i.id, i.login_kind, i.enabled, i.created_at, cl.expiry, cl.last_success_at, \
         {facts} AS facts, {capacity} AS capacity_up_at FROM instances i \
         LEFT JOIN current_licenses cl ON cl.tenant_id = i.tenant_id AND cl.instance_id = i.id \
         WHERE i.tenant_id = $1"
    )
}

/// What is already true of one instance's alerts.
#[derive(Debug, Default)]
struct Known {
    /// Stages fired or skipped, per reminder kind and date.
    stages: HashMap<(AlertKind, String), Vec<Stage>>,
    /// Dates of reminder series not yet resolved, per reminder kind.
    open_series: HashMap<AlertKind, Vec<Date>>,
    /// The series of other unresolved alerts ("not read", capacity), per kind.
    open_spells: HashMap<AlertKind, Vec<String>>,
}

impl Known {
    /// Notes a stage fired or skipped for a reminder series (as stored).
    fn add_stage(&mut self, kind: &str, date: String, stage: &str) {
        if let (Ok(kind), Some(stage)) = (AlertKind::from_str(kind), parse_stage(stage)) {
            self.stages.entry((kind, date)).or_default().push(stage);
        }
    }

    /// Notes an unresolved alert of a kind and series (as stored).
    fn add_open(&mut self, kind: &str, series: String) {
        let Ok(kind) = AlertKind::from_str(kind) else {
            return;
        };
        if kind.is_reminder() {
            let dates = self.open_series.entry(kind).or_default();
            dates.extend(Date::from_str(&series).ok());
        } else {
            self.open_spells.entry(kind).or_default().push(series);
        }
    }

    fn spells(&self, kind: AlertKind) -> &[String] {
        self.open_spells.get(&kind).map_or(&[][..], Vec::as_slice)
    }
}

/// What core's reminder policy decided for one series kind of an instance.
#[derive(Debug)]
struct SeriesPlan {
    kind: AlertKind,
    date: Option<Date>,
    decision: runway_core::ReminderDecision,
}

impl SeriesPlan {
    fn is_empty(&self) -> bool {
        self.decision.fire.is_none()
            && self.decision.skip.is_empty()
            && self.decision.resolve.is_empty()
    }
}

/// An alert that is not a reminder series to resolve, and why.
#[derive(Debug)]
struct Settle {
    kind: AlertKind,
    series: String,
    resolution: AlertResolution,
    note: String,
}

/// What the rules decided for one instance.
#[derive(Debug, Default)]
struct Plan {
    /// The license's series, and the maintenance date's when the tenant has it on.
    series: Vec<SeriesPlan>,
    /// Alerts of the other kinds to open (their stage claims nothing in the ledger).
    raise: Vec<Raise>,
    /// Alerts to resolve that core's reminder policy does not own.
    settle: Vec<Settle>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.series.iter().all(SeriesPlan::is_empty)
            && self.raise.is_empty()
            && self.settle.is_empty()
    }
}

/// The rules for one instance, as of `now`: core's reminder policy on the last known expiry
/// (a failed read leaves it as it was) and, when the tenant has it on, on the maintenance
/// date; "not read" for polled instances; capacity when the tenant has it on.
fn decide(tenant: &Tenant, watched: &Watched, known: &Known, now: Timestamp) -> Result<Plan> {
    let settings = &tenant.settings;
    let zone = &settings.zone;
    let today = zone.date_of(now);
    let facts = watched
        .facts
        .as_deref()
        .map(|json| super::rows::facts(json, "current license", watched.id))
        .transpose()?;
    let mut plan = Plan::default();
    let mut reminder = |kind: AlertKind, at: Option<Timestamp>| {
        let date = at.map(|e| zone.date_of(e));
        let done = date
            .and_then(|d| known.stages.get(&(kind, d.to_string())))
            .map_or(&[][..], Vec::as_slice);
        let open = known.open_series.get(&kind).map_or(&[][..], Vec::as_slice);
        let decision = settings.reminders.evaluate(&ReminderInput {
            expiry_date: date,
            today,
            done,
            open_series: open,
        });
        plan.series.push(SeriesPlan {
            kind,
            date,
            decision,
        });
    };
    reminder(
        AlertKind::LicenseExpiry,
        watched.expiry.map(instant).transpose()?,
    );
    if settings.maintenance_reminders {
        // Reminders follow the last known license: a read without facts changes nothing.
        let at = facts.as_ref().and_then(|f| f.maintenance_expiry);
        reminder(AlertKind::MaintenanceExpiry, at);
    } else {
        for date in known
            .open_series
            .get(&AlertKind::MaintenanceExpiry)
            .into_iter()
            .flatten()
        {
            plan.settle
                .push(turned_off(AlertKind::MaintenanceExpiry, date.to_string()));
        }
    }

    not_read(&mut plan, tenant, watched, known, now)?;
    capacity(&mut plan, tenant, watched, known, facts.as_ref());
    Ok(plan)
}

/// "Not read" belongs to the spell since the last successful read: a read ends it, and so
/// does the instance no longer being polled.
fn not_read(
    plan: &mut Plan,
    tenant: &Tenant,
    watched: &Watched,
    known: &Known,
    now: Timestamp,
) -> Result<()> {
    let settings = &tenant.settings;
    let polled = watched.enabled && watched.login_kind != LoginKind::Manual.as_str();
    let since = instant(watched.last_success_at.unwrap_or(watched.created_at))?;
    let allowed = SignedDuration::from_hours(i64::from(settings.not_read_after_hours));
    let blind = polled && now.duration_since(since) > allowed;
    let spell = since.as_second().to_string();
    let open = known.spells(AlertKind::NotRead);
    if blind && !open.contains(&spell) {
        plan.raise.push(Raise {
            instance: watched.id,
            kind: AlertKind::NotRead,
            series: spell.clone(),
            severity: Severity::Warning,
            stage: "not_read".to_owned(),
            days_left: None,
        });
    }
    for series in open.iter().filter(|open| !polled || **open != spell) {
        plan.settle.push(Settle {
            kind: AlertKind::NotRead,
            series: series.clone(),
            resolution: AlertResolution::ReadAgain,
            note: "read again".to_owned(),
        });
    }

    Ok(())
}

/// Capacity belongs to the spell since the last crossing up (or since the first reading, if it
/// was at capacity from the start), and ends when usage falls below the threshold.
fn capacity(
    plan: &mut Plan,
    tenant: &Tenant,
    watched: &Watched,
    known: &Known,
    facts: Option<&runway_core::LicenseFacts>,
) {
    let settings = &tenant.settings;
    let open = known.spells(AlertKind::Capacity);
    if settings.capacity_alerts {
        let usage = facts.and_then(runway_core::LicenseFacts::seat_usage);
        let spell = watched.capacity_up_at.unwrap_or(0).to_string();
        let full = usage
            .as_ref()
            .is_some_and(runway_core::SeatUsage::is_near_capacity);
        if full && !open.contains(&spell) {
            plan.raise.push(Raise {
                instance: watched.id,
                kind: AlertKind::Capacity,
                series: spell.clone(),
                severity: Severity::Info,
                stage: "capacity".to_owned(),
                days_left: None,
            });
        }
        for series in open.iter().filter(|open| !full || **open != spell) {
            let note = match (&usage, full) {
                (Some(u), false) => format!(
                    "headroom: {} of {} users ({}%)",
                    u.used,
                    u.licensed.count,
                    u.percent()
                ),
                _ => "headroom: a new crossing took over".to_owned(),
            };
            plan.settle.push(Settle {
                kind: AlertKind::Capacity,
                series: series.clone(),
                resolution: AlertResolution::Headroom,
                note,
            });
        }
    } else {
        for series in open {
            plan.settle
                .push(turned_off(AlertKind::Capacity, series.clone()));
        }
    }
}

/// Resolves an alert whose kind the tenant turned off.
fn turned_off(kind: AlertKind, series: String) -> Settle {
    Settle {
        kind,
        series,
        resolution: AlertResolution::TurnedOff,
        note: format!("{} alerts turned off", kind.label()),
    }
}

async fn tenant_in(tx: &mut Tx, tenant: TenantId) -> Result<Tenant> {
    let row: Option<TenantRow> = tx
        .optional(
            Sql::new(format!(
                "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"
            ))
            .bind(tenant.0),
        )
        .await?;
    Tenant::try_from(row.ok_or_else(|| missing("tenant", tenant))?)
}

/// Evaluates one instance's alerts as of `now`, inside `tx`.
pub(super) async fn evaluate_instance(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    now: Timestamp,
) -> Result<AlertsChanged> {
    let tenant = tenant_in(tx, tenant).await?;
    let (changed, found) = evaluate_in(tx, &tenant, &[instance.0], now).await?;
    if found == 0 {
        return Err(missing("instance", instance));
    }
    Ok(changed)
}

/// Evaluates some instances' alerts as of `now`, inside `tx`, in a fixed number of statements
/// however many they are (up to [`ROWS_PER_STATEMENT`]); instances not found are left out.
/// Also how many were found.
async fn evaluate_in(
    tx: &mut Tx,
    tenant: &Tenant,
    ids: &[i64],
    now: Timestamp,
) -> Result<(AlertsChanged, usize)> {
    let t = tenant.id.0;
    let list = params(2, ids.len());
    let watched: Vec<Watched> = tx
        .all(
            Sql::new(format!(
                "{} AND i.id IN ({list}) ORDER BY i.id",
                watched_sql(tenant)
            ))
            .bind(t)
            .bind_all(ids.iter().copied()),
        )
        .await?;
    let stages: Vec<(i64, String, String, String)> = tx
        .all(
            Sql::new(format!(
                "SELECT instance_id, kind, expiry_date, stage FROM reminder_stages \
                 WHERE tenant_id = $1 AND instance_id IN ({list})"
            ))
            .bind(t)
            .bind_all(ids.iter().copied()),
        )
        .await?;
    let open: Vec<(i64, String, String)> = tx
        .all(
            Sql::new(format!(
                "SELECT instance_id, kind, series FROM alerts WHERE tenant_id = $1 \
                 AND state <> 'resolved' AND instance_id IN ({list})"
            ))
            .bind(t)
            .bind_all(ids.iter().copied()),
        )
        .await?;
    let known = known_of(stages, open);
    let empty = Known::default();
    let mut plans = Vec::with_capacity(watched.len());
    for w in &watched {
        let plan = decide(tenant, w, known.get(&w.id).unwrap_or(&empty), now)?;
        if !plan.is_empty() {
            plans.push((w.id, plan));
        }
    }
    Ok((apply(tx, tenant, &plans, now).await?, watched.len()))
}

/// What the ledger rows and unresolved alerts say, per instance.
fn known_of(
    stages: Vec<(i64, String, String, String)>,
    open: Vec<(i64, String, String)>,
) -> HashMap<i64, Known> {
    let mut known: HashMap<i64, Known> = HashMap::new();
    for (instance, kind, date, stage) in stages {
        known
            .entry(instance)
            .or_default()
            .add_stage(&kind, date, &stage);
    }
    for (instance, kind, series) in open {
        known.entry(instance).or_default().add_open(&kind, series);
    }
    known
}

/// A stage to claim in the ledger.
struct Claim<'a> {
    instance: i64,
    kind: AlertKind,
    date: &'a str,
    stage: Stage,
    fired: bool,
}

/// An alert to open or escalate.
#[derive(Debug)]
struct Raise {
    instance: i64,
    kind: AlertKind,
    series: String,
    severity: Severity,
    stage: String,
    days_left: Option<i32>,
}

/// A line of an alert's timeline.
struct Event {
    alert: i64,
    what: &'static str,
    severity: Severity,
    stage: String,
    note: String,
}

/// Applies the plans: resolves first, then the ledger's claims, then the alerts whose fired
/// stage this transaction claimed, their timelines and their notifications (resolves queued
/// before triggers).
async fn apply(
    tx: &mut Tx,
    tenant: &Tenant,
    plans: &[(i64, Plan)],
    now: Timestamp,
) -> Result<AlertsChanged> {
    let mut changed = AlertsChanged::default();
    let mut events: Vec<Event> = Vec::new();
    let mut happened: Vec<(i64, Happened)> = Vec::new();
    changed.resolved = resolve_all(tx, tenant.id, plans, now, &mut events, &mut happened).await?;

    let dates: Vec<Vec<Option<String>>> = plans
        .iter()
        .map(|(_, plan)| {
            let dates = plan.series.iter().map(|series| series.date);
            dates.map(|d| d.map(|d| d.to_string())).collect()
        })
        .collect();
    let mut claims: Vec<Claim<'_>> = Vec::new();
    for ((instance, plan), dates) in plans.iter().zip(&dates) {
        for (series, date) in plan.series.iter().zip(dates) {
            let Some(date) = date else { continue };
            let claim = |stage: Stage, fired: bool| Claim {
                instance: *instance,
                kind: series.kind,
                date,
                stage,
                fired,
            };
            claims.extend(
                series
                    .decision
                    .skip
                    .iter()
                    .map(|d| claim(Stage::Milestone(*d), false)),
            );
            claims.extend(series.decision.fire.map(|fire| claim(fire.stage, true)));
        }
    }
    let claimed = claim(tx, tenant.id, &claims, now).await?;
    let was_claimed = |instance: i64, kind: AlertKind, stage: Stage| {
        claimed.contains(&(instance, kind.as_str().to_owned(), stage_text(stage)))
    };
    changed.skipped += claims
        .iter()
        .filter(|c| !c.fired && was_claimed(c.instance, c.kind, c.stage))
        .count() as u64;

    let mut raises: Vec<&Raise> = Vec::new();
    let mut fired: Vec<Raise> = Vec::new();
    for ((instance, plan), dates) in plans.iter().zip(&dates) {
        for (series, date) in plan.series.iter().zip(dates) {
            if let (Some(date), Some(fire)) = (date, series.decision.fire)
                && was_claimed(*instance, series.kind, fire.stage)
            {
                fired.push(Raise {
                    instance: *instance,
                    kind: series.kind,
                    series: date.clone(),
                    severity: match series.kind {
                        AlertKind::MaintenanceExpiry => fire.severity.for_maintenance(),
                        _ => fire.severity,
                    },
                    stage: stage_text(fire.stage),
                    days_left: Some(fire.days_left.get()),
                });
            }
        }
    }
    raises.extend(fired.iter());
    raises.extend(plans.iter().flat_map(|(_, plan)| plan.raise.iter()));
    let ids = raise(tx, tenant.id, &raises, now).await?;
    changed.fired += ids.len() as u64;
    for (alert, r) in ids.into_iter().zip(raises) {
        events.push(Event {
            alert,
            what: "fired",
            severity: r.severity,
            stage: r.stage.clone(),
            note: String::new(),
        });
        happened.push((alert, Happened::Fired));
    }
    event(tx, tenant.id, &events, now).await?;
    super::delivery::enqueue(tx, tenant, &happened, now).await?;
    Ok(changed)
}

/// Resolves the series the plans resolve, noting each resolve's timeline line and
/// notification; how many resolved.
async fn resolve_all(
    tx: &mut Tx,
    tenant: TenantId,
    plans: &[(i64, Plan)],
    now: Timestamp,
    events: &mut Vec<Event>,
    happened: &mut Vec<(i64, Happened)>,
) -> Result<u64> {
    let mut count = 0;
    let mut resolved = |done: Option<(i64, Severity, String)>, note: &str| {
        if let Some((alert, severity, stage)) = done {
            events.push(Event {
                alert,
                what: "resolved",
                severity,
                stage,
                note: note.to_owned(),
            });
            happened.push((alert, Happened::Resolved));
            count += 1;
        }
    };
    for (instance, plan) in plans {
        let instance = InstanceId(*instance);
        let reminders = plan.series.iter().flat_map(|series| {
            series.decision.resolve.iter().map(move |resolution| {
                let what = match series.kind {
                    AlertKind::MaintenanceExpiry => "maintenance date",
                    _ => "expiry",
                };
                let (how, note) = match resolution.reason {
                    ResolveReason::Renewed { new_expiry } => (
                        AlertResolution::Renewed,
                        format!("renewed: new {what} {new_expiry}"),
                    ),
                    ResolveReason::Superseded { new_expiry } => (
                        AlertResolution::Superseded,
                        format!("superseded: new {what} {new_expiry}"),
                    ),
                };
                Settle {
                    kind: series.kind,
                    series: resolution.expiry_date.to_string(),
                    resolution: how,
                    note,
                }
            })
        });
        let settles: Vec<Settle> = reminders.collect();
        for settle in settles.iter().chain(&plan.settle) {
            let done = resolve(
                tx,
                tenant,
                instance,
                settle.kind,
                &settle.series,
                settle.resolution,
                &settle.note,
                now,
            )
            .await?;
            resolved(done, &settle.note);
        }
    }

    Ok(count)
}

/// Claims stages of series in the ledger, and returns those this transaction claimed as
/// (instance, kind, stage) — not those claimed before (by anyone, on any node). Each
/// instance's claims of a kind are of one date.
async fn claim(
    tx: &mut Tx,
    tenant: TenantId,
    claims: &[Claim<'_>],
    now: Timestamp,
) -> Result<HashSet<(i64, String, String)>> {
    let mut claimed = HashSet::new();
    for part in claims.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Sql::new(format!(
            "INSERT INTO reminder_stages (tenant_id, instance_id, kind, expiry_date, stage, \
             outcome, at) VALUES {} ON CONFLICT DO NOTHING RETURNING instance_id, kind, stage",
            value_rows(1, part.len(), 7)
        ));
        for c in part {
            insert = insert
                .bind(tenant.0)
                .bind(c.instance)
                .bind(c.kind.as_str())
                .bind(c.date)
                .bind(stage_text(c.stage))
                .bind(if c.fired { "fired" } else { "skipped" })
                .bind(seconds(now));
        }
        let rows: Vec<(i64, String, String)> = tx.all(insert).await?;
        claimed.extend(rows);
    }
    Ok(claimed)
}

/// Opens the alerts of some series, or escalates them (a resolved one opens again), and
/// returns their ids in the order given.
async fn raise(
    tx: &mut Tx,
    tenant: TenantId,
    raises: &[&Raise],
    now: Timestamp,
) -> Result<Vec<i64>> {
    let mut ids: HashMap<(i64, String, String), i64> = HashMap::with_capacity(raises.len());
    for part in raises.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = Sql::new(format!(
            "INSERT INTO alerts (tenant_id, instance_id, kind, series, severity, stage, \
             days_left, state, opened_at, updated_at) VALUES {} \
             ON CONFLICT (tenant_id, instance_id, kind, series) DO UPDATE SET \
             severity = excluded.severity, stage = excluded.stage, \
             days_left = excluded.days_left, state = 'open', resolution = NULL, \
             resolution_note = NULL, resolved_at = NULL, updated_at = excluded.updated_at \
             RETURNING id, instance_id, kind, series",
            value_rows(1, part.len(), 10)
        ));
        for r in part {
            upsert = upsert
                .bind(tenant.0)
                .bind(r.instance)
                .bind(r.kind.as_str())
                .bind(r.series.clone())
                .bind(r.severity.to_string())
                .bind(r.stage.clone())
                .bind(r.days_left.map(i64::from))
                .bind("open")
                .bind(seconds(now))
                .bind(seconds(now));
        }
        let rows: Vec<(i64, i64, String, String)> = tx.all(upsert).await?;
        ids.extend(
            rows.into_iter()
                .map(|(id, instance, kind, series)| ((instance, kind, series), id)),
        );
    }
    raises
        .iter()
        .map(|r| {
            ids.get(&(r.instance, r.kind.as_str().to_owned(), r.series.clone()))
                .copied()
                .ok_or_else(|| StoreError::backend("an upserted alert was not returned"))
        })
        .collect()
}

/// Resolves the unresolved alert of a series; its id, severity and stage if there was one.
#[allow(clippy::too_many_arguments, reason = "one row's columns")]
async fn resolve(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    kind: AlertKind,
    series: &str,
    resolution: AlertResolution,
    note: &str,
    now: Timestamp,
) -> Result<Option<(i64, Severity, String)>> {
    let row: Option<(i64, String, String)> = tx
        .optional(
            Sql::new(
                "UPDATE alerts SET state = 'resolved', resolution = $5, resolution_note = $6, \
                 resolved_at = $7, updated_at = $7 WHERE tenant_id = $1 AND instance_id = $2 \
                 AND kind = $3 AND series = $4 AND state <> 'resolved' \
                 RETURNING id, severity, stage",
            )
            .bind(tenant.0)
            .bind(instance.0)
            .bind(kind.as_str())
            .bind(series.to_owned())
            .bind(resolution.as_str())
            .bind(note.to_owned())
            .bind(seconds(now)),
        )
        .await?;
    row.map(|(id, severity, stage)| Ok((id, parse_severity(&severity, id)?, stage)))
        .transpose()
}

/// Writes lines of alerts' timelines.
async fn event(tx: &mut Tx, tenant: TenantId, events: &[Event], now: Timestamp) -> Result<()> {
    for part in events.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Sql::new(format!(
            "INSERT INTO alert_events (tenant_id, alert_id, at, what, severity, stage, note) \
             VALUES {}",
            value_rows(1, part.len(), 7)
        ));
        for e in part {
            insert = insert
                .bind(tenant.0)
                .bind(e.alert)
                .bind(seconds(now))
                .bind(e.what)
                .bind(e.severity.to_string())
                .bind(e.stage.clone())
                .bind(e.note.clone());
        }
        tx.execute(insert).await?;
    }
    Ok(())
}

fn parse_severity(text: &str, id: i64) -> Result<Severity> {
    text.parse()
        .map_err(|err: String| corrupt("alert", id, err))
}

#[derive(Debug, sqlx::FromRow)]
struct AlertRow {
    id: i64,
    instance_id: i64,
    kind: String,
    series: String,
    severity: String,
    stage: String,
    days_left: Option<i64>,
    state: String,
    resolution: Option<String>,
    resolution_note: Option<String>,
    opened_at: i64,
    updated_at: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    resolved_at: Option<i64>,
}

const ALERT_COLUMNS: &str = "a.id, a.instance_id, a.kind, a.series, a.severity, a.stage, \
     a.days_left, a.state, a.resolution, a.resolution_note, a.opened_at, a.updated_at, \
     a.acknowledged_at, a.acknowledged_by, a.resolved_at";

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;
    fn try_from(row: AlertRow) -> Result<Alert> {
        let id = row.id;
        let bad = |err: String| corrupt("alert", id, err);
        let kind = AlertKind::from_str(&row.kind).map_err(bad)?;
        Ok(Alert {
            id: AlertId(row.id),
            instance_id: InstanceId(row.instance_id),
            kind,
            expiry_date: if kind.is_reminder() {
                Some(Date::from_str(&row.series).map_err(|e| bad(e.to_string()))?)
            } else {
                None
            },
            not_read_since: if kind == AlertKind::NotRead {
                Some(instant(
                    row.series.parse().map_err(|_| bad("a bad series".into()))?,
                )?)
            } else {
                None
            },
            severity: parse_severity(&row.severity, row.id)?,
            stage: parse_stage(&row.stage),
            days_left: row.days_left.and_then(|d| i32::try_from(d).ok()),
            state: AlertState::from_str(&row.state).map_err(bad)?,
            resolution: row
                .resolution
                .as_deref()
                .map(AlertResolution::from_str)
                .transpose()
                .map_err(bad)?,
            resolution_note: row.resolution_note,
            opened_at: instant(row.opened_at)?,
            updated_at: instant(row.updated_at)?,
            acknowledged: match (row.acknowledged_at, row.acknowledged_by) {
                (Some(at), Some(by)) => Some((instant(at)?, by)),
                _ => None,
            },
            resolved_at: row.resolved_at.map(instant).transpose()?,
        })
    }
}

#[async_trait]
impl Alerts for SqlStore {
    async fn evaluate_alerts(&self, now: Timestamp) -> Result<AlertsChanged> {
        let mut changed = AlertsChanged::default();
        let tenants: Vec<TenantRow> = self
            .db
            .read_all(Sql::new(format!("SELECT {TENANT_COLUMNS} FROM tenants")))
            .await?;
        for row in tenants {
            let tenant = Tenant::try_from(row)?;
            // Decide from one read of the tenant's state, then open a transaction only for the
            // instances where something changes; it decides again from what it reads.
            let watched: Vec<Watched> = self
                .db
                .read_all(Sql::new(watched_sql(&tenant)).bind(tenant.id.0))
                .await?;
            let stages: Vec<(i64, String, String, String)> = self
                .db
                .read_all(
                    Sql::new(
                        "SELECT instance_id, kind, expiry_date, stage FROM reminder_stages \
                         WHERE tenant_id = $1",
                    )
                    .bind(tenant.id.0),
                )
                .await?;
            let open: Vec<(i64, String, String)> = self
                .db
                .read_all(
                    Sql::new(
                        "SELECT instance_id, kind, series FROM alerts WHERE tenant_id = $1 \
                         AND state <> 'resolved'",
                    )
                    .bind(tenant.id.0),
                )
                .await?;
            let known = known_of(stages, open);
            let empty = Known::default();
            let mut due: Vec<i64> = Vec::new();
            for w in &watched {
                if !decide(&tenant, w, known.get(&w.id).unwrap_or(&empty), now)?.is_empty() {
                    due.push(w.id);
                }
            }
            // A chunk of instances per transaction, each decided again from what the
            // transaction reads (an instance deleted meanwhile is left out).
            for chunk in due.chunks(TICK_CHUNK) {
                let mut tx = self.db.begin().await?;
                if matches!(self.db, Db::Postgres(_)) {
                    // PostgreSQL plans each foreign-key check once per connection and keeps
                    // the plan; planned while `alerts` or `instances` was near empty, the check
                    // walks an index that shares only the tenant column, a scan of the
                    // tenant's rows per inserted row (BENCHMARKS.md, "the alert tick").
                    // Planned afresh with the tables as they are, a chunk's checks are cheap.
                    tx.execute(Sql::new("SET LOCAL plan_cache_mode = force_custom_plan"))
                        .await?;
                }
                let tenant = match tenant_in(&mut tx, tenant.id).await {
                    Ok(tenant) => tenant,
                    // Deleted since it was read: nothing more to evaluate.
                    Err(StoreError::NotFound { .. }) => break,
                    Err(err) => return Err(err),
                };
                let (done, _) = evaluate_in(&mut tx, &tenant, chunk, now).await?;
                tx.commit().await?;
                changed.add(done);
            }
        }
        Ok(changed)
    }

    async fn alerts(&self, tenant: TenantId, filter: &AlertFilter, max: u32) -> Result<Vec<Alert>> {
        let mut sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a JOIN instances i \
             ON i.tenant_id = a.tenant_id AND i.id = a.instance_id WHERE a.tenant_id = $1"
        );
        let mut args: Vec<super::db::Arg> = vec![tenant.0.into()];
        let mut push = |clause: &str, arg: super::db::Arg, sql: &mut String| {
            args.push(arg);
            *sql = format!("{sql} AND {clause} ${}", args.len());
        };
        match filter.state {
            Some(state) => push("a.state =", state.as_str().to_owned().into(), &mut sql),
            None => sql.push_str(" AND a.state <> 'resolved'"),
        }
        if let Some(kind) = filter.kind {
            push("a.kind =", kind.as_str().to_owned().into(), &mut sql);
        }
        if let Some(instance) = filter.instance {
            push("a.instance_id =", instance.0.into(), &mut sql);
        }
        if let Some(customer) = filter.customer {
            push("i.customer_id =", customer.0.into(), &mut sql);
        }
        if let Some(min) = filter.min_severity {
            let allowed: Vec<String> = [Severity::Info, Severity::Warning, Severity::Critical]
                .into_iter()
                .filter(|s| *s >= min)
                .map(|s| format!("'{s}'"))
                .collect();
            sql = format!("{sql} AND a.severity IN ({})", allowed.join(", "));
        }
        sql = format!(
            "{sql} ORDER BY CASE a.state WHEN 'resolved' THEN 1 ELSE 0 END, \
             CASE a.severity WHEN 'CRITICAL' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END, \
             a.updated_at DESC, a.id DESC LIMIT {}",
            limit(max)
        );
        let mut query = Sql::new(sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows: Vec<AlertRow> = self.db.read_all(query).await?;
        rows.into_iter().map(Alert::try_from).collect()
    }

    async fn alert_badges(&self, tenant: TenantId) -> Result<Vec<AlertBadge>> {
        // Grouped by severity too: the text does not sort by how severe it is, core's type does.
        let rows: Vec<(i64, String, i64)> = self
            .db
            .read_all(
                Sql::new(
                    "SELECT instance_id, severity, COUNT(*) FROM alerts WHERE tenant_id = $1 \
                     AND state <> 'resolved' GROUP BY instance_id, severity \
                     ORDER BY instance_id",
                )
                .bind(tenant.0),
            )
            .await?;
        let mut badges: Vec<AlertBadge> = Vec::new();
        for (instance, severity, count) in rows {
            let severity: Severity = severity
                .parse()
                .map_err(|err: String| corrupt("an alert of instance", instance, err))?;
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            match badges.last_mut() {
                Some(badge) if badge.instance_id.0 == instance => {
                    badge.unresolved = badge.unresolved.saturating_add(count);
                    badge.severity = badge.severity.max(severity);
                }
                _ => badges.push(AlertBadge {
                    instance_id: InstanceId(instance),
                    unresolved: count,
                    severity,
                }),
            }
        }
        Ok(badges)
    }

    async fn alert(&self, tenant: TenantId, alert: AlertId) -> Result<(Alert, Vec<AlertEvent>)> {
        let row: Option<AlertRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.tenant_id = $1 AND a.id = $2"
                ))
                .bind(tenant.0)
                .bind(alert.0),
            )
            .await?;
        let found = Alert::try_from(row.ok_or_else(|| missing("alert", alert))?)?;
        let events: Vec<(i64, String, String, String, String)> = self
            .db
            .read_all(
                Sql::new(
                    "SELECT at, what, severity, stage, note FROM alert_events \
                     WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id",
                )
                .bind(tenant.0)
                .bind(alert.0),
            )
            .await?;
        let events = events
            .into_iter()
            .map(|(at, what, severity, stage, note)| {
                Ok(AlertEvent {
                    at: instant(at)?,
                    what,
                    severity: parse_severity(&severity, alert.0)?,
                    stage,
                    note,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((found, events))
    }

    async fn acknowledge_alert(
        &self,
        tenant: TenantId,
        alert: AlertId,
        by: &str,
        now: Timestamp,
    ) -> Result<Alert> {
        let mut tx = self.db.begin().await?;
        let row: Option<(String, String)> = tx
            .optional(
                Sql::new(
                    "UPDATE alerts SET state = 'acknowledged', acknowledged_at = $3, \
                     acknowledged_by = $4, updated_at = $3 WHERE tenant_id = $1 AND id = $2 \
                     AND state = 'open' RETURNING severity, stage",
                )
                .bind(tenant.0)
                .bind(alert.0)
                .bind(seconds(now))
                .bind(by.to_owned()),
            )
            .await?;
        if let Some((severity, stage)) = row {
            let severity = parse_severity(&severity, alert.0)?;
            let acknowledged = Event {
                alert: alert.0,
                what: "acknowledged",
                severity,
                stage,
                note: by.to_owned(),
            };
            event(&mut tx, tenant, &[acknowledged], now).await?;
            // Acknowledging stops the escalation.
            super::delivery::cancel_escalations(&mut tx, tenant, alert.0).await?;
        }
        tx.commit().await?;
        let (found, _) = self.alert(tenant, alert).await?;
        Ok(found)
    }
}
