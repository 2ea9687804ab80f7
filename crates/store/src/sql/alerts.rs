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

use super::db::{Sql, Tx};
use super::delivery::Happened;
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

/// What the rules need to know about one instance.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Watched {
    id: i64,
    login_kind: String,
    enabled: bool,
    created_at: i64,
    expiry: Option<i64>,
    last_success_at: Option<i64>,
}

const WATCHED: &str = "SELECT i.id, i.login_kind, i.enabled, i.created_at, cl.expiry, \
     cl.last_success_at FROM instances i LEFT JOIN current_licenses cl \
     ON cl.tenant_id = i.tenant_id AND cl.instance_id = i.id WHERE i.tenant_id = $1";

/// What is already true of one instance's alerts.
#[derive(Debug, Default)]
struct Known {
    /// Stages fired or skipped, per expiry date.
    stages: HashMap<String, Vec<Stage>>,
    /// Expiry dates of reminder series not yet resolved.
    open_series: Vec<Date>,
    /// The series of an unresolved "not read" alert.
    not_read: Option<String>,
}

impl Known {
    /// Notes a stage fired or skipped for an expiry date (as stored).
    fn add_stage(&mut self, date: String, stage: &str) {
        if let Some(stage) = parse_stage(stage) {
            self.stages.entry(date).or_default().push(stage);
        }
    }

    /// Notes an unresolved alert of a kind and series (as stored).
    fn add_open(&mut self, kind: &str, series: String) {
        match kind {
            "not_read" => self.not_read = Some(series),
            _ => self.open_series.extend(Date::from_str(&series).ok()),
        }
    }
}

/// What the rules decided for one instance.
#[derive(Debug, Default)]
struct Plan {
    expiry_date: Option<Date>,
    reminder: runway_core::ReminderDecision,
    /// Raise "not read" for the spell that began then.
    raise_not_read: Option<Timestamp>,
    /// Resolve the open "not read" alert.
    resolve_not_read: bool,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.reminder.fire.is_none()
            && self.reminder.skip.is_empty()
            && self.reminder.resolve.is_empty()
            && self.raise_not_read.is_none()
            && !self.resolve_not_read
    }
}

/// The rules for one instance, as of `now`: core's reminder policy on the last known expiry
/// (a failed read leaves it as it was), and "not read" for polled instances.
fn decide(tenant: &Tenant, watched: &Watched, known: &Known, now: Timestamp) -> Result<Plan> {
    let zone = &tenant.settings.zone;
    let expiry_date = watched
        .expiry
        .map(instant)
        .transpose()?
        .map(|e| zone.date_of(e));
    let done = expiry_date
        .and_then(|d| known.stages.get(&d.to_string()))
        .map_or(&[][..], Vec::as_slice);
    let reminder = tenant.settings.reminders.evaluate(&ReminderInput {
        expiry_date,
        today: zone.date_of(now),
        done,
        open_series: &known.open_series,
    });
    let polled = watched.enabled && watched.login_kind != LoginKind::Manual.as_str();
    let since = instant(watched.last_success_at.unwrap_or(watched.created_at))?;
    let allowed = SignedDuration::from_hours(i64::from(tenant.settings.not_read_after_hours));
    let blind = polled && now.duration_since(since) > allowed;
    let spell = since.as_second().to_string();
    Ok(Plan {
        expiry_date,
        reminder,
        raise_not_read: (blind && known.not_read.as_deref() != Some(spell.as_str()))
            .then_some(since),
        resolve_not_read: known.not_read.as_ref().is_some_and(|open| *open != spell) || {
            !polled && known.not_read.is_some()
        },
    })
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
    let settings = tenant_in(tx, tenant).await?;
    let watched: Option<Watched> = tx
        .optional(
            Sql::new(format!("{WATCHED} AND i.id = $2"))
                .bind(tenant.0)
                .bind(instance.0),
        )
        .await?;
    let watched = watched.ok_or_else(|| missing("instance", instance))?;
    let stages: Vec<(String, String)> = tx
        .all(
            Sql::new(
                "SELECT expiry_date, stage FROM reminder_stages \
                 WHERE tenant_id = $1 AND instance_id = $2",
            )
            .bind(tenant.0)
            .bind(instance.0),
        )
        .await?;
    let open: Vec<(String, String)> = tx
        .all(
            Sql::new(
                "SELECT kind, series FROM alerts WHERE tenant_id = $1 AND instance_id = $2 \
                 AND state <> 'resolved'",
            )
            .bind(tenant.0)
            .bind(instance.0),
        )
        .await?;
    let mut known = Known::default();
    for (date, stage) in stages {
        known.add_stage(date, &stage);
    }
    for (kind, series) in open {
        known.add_open(&kind, series);
    }
    let plan = decide(&settings, &watched, &known, now)?;
    apply(tx, &settings, instance, &plan, now).await
}

async fn apply(
    tx: &mut Tx,
    tenant: &Tenant,
    instance: InstanceId,
    plan: &Plan,
    now: Timestamp,
) -> Result<AlertsChanged> {
    let mut changed = AlertsChanged::default();
    for resolution in &plan.reminder.resolve {
        let (kind, note) = match resolution.reason {
            ResolveReason::Renewed { new_expiry } => (
                AlertResolution::Renewed,
                format!("renewed: new expiry {new_expiry}"),
            ),
            ResolveReason::Superseded { new_expiry } => (
                AlertResolution::Superseded,
                format!("superseded: new expiry {new_expiry}"),
            ),
        };
        let series = resolution.expiry_date.to_string();
        changed.resolved += resolve(
            tx,
            tenant,
            instance,
            AlertKind::LicenseExpiry,
            &series,
            kind,
            &note,
            now,
        )
        .await?;
    }
    if let Some(expiry_date) = plan.expiry_date {
        let date = expiry_date.to_string();
        for days in &plan.reminder.skip {
            changed.skipped += claim(
                tx,
                tenant,
                instance,
                &date,
                Stage::Milestone(*days),
                "skipped",
                now,
            )
            .await?;
        }
        if let Some(fire) = plan.reminder.fire
            && claim(tx, tenant, instance, &date, fire.stage, "fired", now).await? == 1
        {
            raise(
                tx,
                tenant,
                instance,
                AlertKind::LicenseExpiry,
                &date,
                fire.severity,
                &stage_text(fire.stage),
                Some(fire.days_left.get()),
                now,
            )
            .await?;
            changed.fired += 1;
        }
    }
    changed.add(apply_not_read(tx, tenant, instance, plan, now).await?);
    Ok(changed)
}

/// Raises or resolves the instance's "not read" alert as the plan says.
async fn apply_not_read(
    tx: &mut Tx,
    tenant: &Tenant,
    instance: InstanceId,
    plan: &Plan,
    now: Timestamp,
) -> Result<AlertsChanged> {
    let mut changed = AlertsChanged::default();
    if let Some(since) = plan.raise_not_read {
        raise(
            tx,
            tenant,
            instance,
            AlertKind::NotRead,
            &since.as_second().to_string(),
            Severity::Warning,
            "not_read",
            None,
            now,
        )
        .await?;
        changed.fired += 1;
    }
    if plan.resolve_not_read {
        let open: Vec<(String,)> = tx
            .all(
                Sql::new(
                    "SELECT series FROM alerts WHERE tenant_id = $1 AND instance_id = $2 \
                     AND kind = 'not_read' AND state <> 'resolved'",
                )
                .bind(tenant.id.0)
                .bind(instance.0),
            )
            .await?;
        for (series,) in open {
            if plan.raise_not_read.map(|s| s.as_second().to_string()) == Some(series.clone()) {
                continue;
            }
            changed.resolved += resolve(
                tx,
                tenant,
                instance,
                AlertKind::NotRead,
                &series,
                AlertResolution::ReadAgain,
                "read again",
                now,
            )
            .await?;
        }
    }
    Ok(changed)
}

/// Claims a stage of a series in the ledger; 1 if this transaction claimed it, 0 if it was
/// claimed before (by anyone, on any node).
async fn claim(
    tx: &mut Tx,
    tenant: &Tenant,
    instance: InstanceId,
    date: &str,
    stage: Stage,
    outcome: &str,
    now: Timestamp,
) -> Result<u64> {
    Ok(tx
        .execute(
            Sql::new(
                "INSERT INTO reminder_stages (tenant_id, instance_id, expiry_date, stage, \
                 outcome, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(tenant.id.0)
            .bind(instance.0)
            .bind(date.to_owned())
            .bind(stage_text(stage))
            .bind(outcome.to_owned())
            .bind(seconds(now)),
        )
        .await?)
}

/// Opens the alert of a series, or escalates it (a resolved one opens again), and notes it in
/// its timeline.
#[allow(clippy::too_many_arguments, reason = "one row's columns")]
async fn raise(
    tx: &mut Tx,
    tenant: &Tenant,
    instance: InstanceId,
    kind: AlertKind,
    series: &str,
    severity: Severity,
    stage: &str,
    days_left: Option<i32>,
    now: Timestamp,
) -> Result<()> {
    let (id,): (i64,) = tx
        .one(
            Sql::new(
                "INSERT INTO alerts (tenant_id, instance_id, kind, series, severity, stage, \
                 days_left, state, opened_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8) \
                 ON CONFLICT (tenant_id, instance_id, kind, series) DO UPDATE SET \
                 severity = excluded.severity, stage = excluded.stage, \
                 days_left = excluded.days_left, state = 'open', resolution = NULL, \
                 resolution_note = NULL, resolved_at = NULL, updated_at = excluded.updated_at \
                 RETURNING id",
            )
            .bind(tenant.id.0)
            .bind(instance.0)
            .bind(kind.as_str())
            .bind(series.to_owned())
            .bind(severity.to_string())
            .bind(stage.to_owned())
            .bind(days_left.map(i64::from))
            .bind(seconds(now)),
        )
        .await?;
    event(tx, tenant.id, id, "fired", severity, stage, "", now).await?;
    super::delivery::enqueue(tx, tenant, id, Happened::Fired, now).await?;
    Ok(())
}

/// Resolves the unresolved alert of a series; 1 if there was one.
#[allow(clippy::too_many_arguments, reason = "one row's columns")]
async fn resolve(
    tx: &mut Tx,
    tenant: &Tenant,
    instance: InstanceId,
    kind: AlertKind,
    series: &str,
    resolution: AlertResolution,
    note: &str,
    now: Timestamp,
) -> Result<u64> {
    let row: Option<(i64, String, String)> = tx
        .optional(
            Sql::new(
                "UPDATE alerts SET state = 'resolved', resolution = $5, resolution_note = $6, \
                 resolved_at = $7, updated_at = $7 WHERE tenant_id = $1 AND instance_id = $2 \
                 AND kind = $3 AND series = $4 AND state <> 'resolved' \
                 RETURNING id, severity, stage",
            )
            .bind(tenant.id.0)
            .bind(instance.0)
            .bind(kind.as_str())
            .bind(series.to_owned())
            .bind(resolution.as_str())
            .bind(note.to_owned())
            .bind(seconds(now)),
        )
        .await?;
    let Some((id, severity, stage)) = row else {
        return Ok(0);
    };
    let severity = parse_severity(&severity, id)?;
    event(tx, tenant.id, id, "resolved", severity, &stage, note, now).await?;
    super::delivery::enqueue(tx, tenant, id, Happened::Resolved, now).await?;
    Ok(1)
}

#[allow(clippy::too_many_arguments, reason = "one row's columns")]
async fn event(
    tx: &mut Tx,
    tenant: TenantId,
    alert: i64,
    what: &str,
    severity: Severity,
    stage: &str,
    note: &str,
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        Sql::new(
            "INSERT INTO alert_events (tenant_id, alert_id, at, what, severity, stage, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant.0)
        .bind(alert)
        .bind(seconds(now))
        .bind(what.to_owned())
        .bind(severity.to_string())
        .bind(stage.to_owned())
        .bind(note.to_owned()),
    )
    .await?;
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
        let license = kind == AlertKind::LicenseExpiry;
        Ok(Alert {
            id: AlertId(row.id),
            instance_id: InstanceId(row.instance_id),
            kind,
            expiry_date: if license {
                Some(Date::from_str(&row.series).map_err(|e| bad(e.to_string()))?)
            } else {
                None
            },
            not_read_since: if license {
                None
            } else {
                Some(instant(
                    row.series.parse().map_err(|_| bad("a bad series".into()))?,
                )?)
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
                .read_all(Sql::new(WATCHED).bind(tenant.id.0))
                .await?;
            let stages: Vec<(i64, String, String)> = self
                .db
                .read_all(
                    Sql::new(
                        "SELECT instance_id, expiry_date, stage FROM reminder_stages \
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
            let mut known: HashMap<i64, Known> = HashMap::new();
            for (instance, date, stage) in stages {
                known.entry(instance).or_default().add_stage(date, &stage);
            }
            for (instance, kind, series) in open {
                known.entry(instance).or_default().add_open(&kind, series);
            }
            let empty = Known::default();
            let mut due: HashSet<i64> = HashSet::new();
            for w in &watched {
                if !decide(&tenant, w, known.get(&w.id).unwrap_or(&empty), now)?.is_empty() {
                    due.insert(w.id);
                }
            }
            for id in due {
                let mut tx = self.db.begin().await?;
                match evaluate_instance(&mut tx, tenant.id, InstanceId(id), now).await {
                    Ok(done) => {
                        tx.commit().await?;
                        changed.add(done);
                    }
                    // Deleted since the tenant was read: nothing to evaluate.
                    Err(StoreError::NotFound { .. }) => {}
                    Err(err) => return Err(err),
                }
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
            event(
                &mut tx,
                tenant,
                alert.0,
                "acknowledged",
                severity,
                &stage,
                by,
                now,
            )
            .await?;
            // Acknowledging stops the escalation.
            super::delivery::cancel_escalations(&mut tx, tenant, alert.0).await?;
        }
        tx.commit().await?;
        let (found, _) = self.alert(tenant, alert).await?;
        Ok(found)
    }
}
