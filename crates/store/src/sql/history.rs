//! Readings, attempts, events and the current license: recording reads and reading history.
//!
//! A license (a read of the PBX, or facts typed in) and a failed read are each recorded in one
//! transaction. The transaction starts by updating the instance's row (its failure count),
//! which both proves the instance belongs to the tenant and, on PostgreSQL, serialises two
//! recordings for the same instance. Both change what the tenant's fleet shows, so both bump
//! its fleet generation.

use std::sync::{Arc, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;

use super::db::{AtGeneration, FromBothRows, Sql, Tx};
use super::rows::{
    ATTEMPT_COLUMNS, AttemptRow, EVENT_COLUMNS, EventRow, FLEET_INSTANCE_COLUMNS, FleetDbRow,
    INSTANCE_FROM, LICENSE_COLUMNS, LicenseRow, READING_COLUMNS, ReadingRow, duration_ms,
    facts_json, seconds,
};
use super::{SqlStore, limit, missing};
use crate::LoginKind;
use crate::error::{Result, StoreError};
use crate::history::{
    Attempt, AttemptError, Event, FleetRow, LicenseState, NewAttempt, NewEvent, NewReading,
    Reading, ReadingSource,
};
use crate::ids::{InstanceId, ReadingId, TenantId};
use crate::store::Licenses;
use crate::validate;

/// The longest error message kept from a failed read.
const MAX_ERROR_MESSAGE: usize = 2000;
/// The longest event message accepted.
const MAX_EVENT_MESSAGE: usize = 4000;
/// The largest raw body kept (a license body is a few kilobytes).
const MAX_RAW_BODY: usize = 1024 * 1024;

fn check_events(events: &[NewEvent]) -> Result<()> {
    for event in events {
        validate::text(&event.message, "event message", MAX_EVENT_MESSAGE)?;
    }
    Ok(())
}

fn check_reading(reading: &NewReading) -> Result<()> {
    if reading
        .raw_body
        .as_ref()
        .is_some_and(|b| b.len() > MAX_RAW_BODY)
    {
        return Err(StoreError::invalid(
            "the raw license body is larger than 1 MB",
        ));
    }
    Ok(())
}

/// Inserts a history row; returns its id.
async fn insert_reading(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    reading: &NewReading,
) -> Result<ReadingId> {
    let (id,): (i64,) = tx
        .one(
            Sql::new(
                "INSERT INTO license_readings (tenant_id, instance_id, read_at, source, facts, \
                 raw_body, expiry) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(tenant.0)
            .bind(instance.0)
            .bind(seconds(reading.read_at))
            .bind(reading.source.as_str())
            .bind(facts_json(&reading.facts)?)
            .bind(reading.raw_body.clone())
            .bind(reading.facts.expiry.map(seconds)),
        )
        .await?;
    Ok(ReadingId(id))
}

/// Makes a reading the current good license, unless a newer one is already current.
async fn set_good(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    reading_id: ReadingId,
    reading: &NewReading,
) -> Result<()> {
    tx.execute(
        Sql::new(
            "INSERT INTO current_licenses (instance_id, tenant_id, reading_id, facts, source, \
             expiry, last_success_at) VALUES ($2, $1, $3, $4, $5, $6, $7) \
             ON CONFLICT (instance_id) DO UPDATE SET reading_id = excluded.reading_id, \
             facts = excluded.facts, source = excluded.source, expiry = excluded.expiry, \
             last_success_at = excluded.last_success_at \
             WHERE current_licenses.last_success_at IS NULL \
             OR current_licenses.last_success_at <= excluded.last_success_at",
        )
        .bind(tenant.0)
        .bind(instance.0)
        .bind(reading_id.0)
        .bind(facts_json(&reading.facts)?)
        .bind(reading.source.as_str())
        .bind(reading.facts.expiry.map(seconds))
        .bind(seconds(reading.read_at)),
    )
    .await?;
    Ok(())
}

/// Records the outcome of the latest attempt, unless a later one is already recorded.
async fn set_last_attempt(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    at: Timestamp,
    error: Option<&AttemptError>,
) -> Result<()> {
    tx.execute(
        Sql::new(
            "INSERT INTO current_licenses (instance_id, tenant_id, last_attempt_at, last_outcome, \
             last_error_kind, last_error_message) VALUES ($2, $1, $3, $4, $5, $6) \
             ON CONFLICT (instance_id) DO UPDATE SET last_attempt_at = excluded.last_attempt_at, \
             last_outcome = excluded.last_outcome, last_error_kind = excluded.last_error_kind, \
             last_error_message = excluded.last_error_message \
             WHERE current_licenses.last_attempt_at IS NULL \
             OR current_licenses.last_attempt_at <= excluded.last_attempt_at",
        )
        .bind(tenant.0)
        .bind(instance.0)
        .bind(seconds(at))
        .bind(if error.is_some() { "error" } else { "ok" })
        .bind(error.map(|e| e.kind.as_str()))
        .bind(error.map(|e| validate::truncate(&e.message, MAX_ERROR_MESSAGE))),
    )
    .await?;
    Ok(())
}

async fn insert_attempt(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    attempt: &NewAttempt,
    error: Option<&AttemptError>,
) -> Result<()> {
    tx.execute(
        Sql::new(
            "INSERT INTO poll_attempts (tenant_id, instance_id, started_at, duration_ms, \
             trigger_kind, outcome, error_kind, error_message, clock_offset_secs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant.0)
        .bind(instance.0)
        .bind(seconds(attempt.started_at))
        .bind(duration_ms(attempt.duration))
        .bind(attempt.trigger.as_str())
        .bind(if error.is_some() { "error" } else { "ok" })
        .bind(error.map(|e| e.kind.as_str()))
        .bind(error.map(|e| validate::truncate(&e.message, MAX_ERROR_MESSAGE)))
        .bind(attempt.clock_offset),
    )
    .await?;
    Ok(())
}

async fn insert_events(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    events: &[NewEvent],
) -> Result<()> {
    let json = |value: &Option<serde_json::Value>| -> Result<Option<String>> {
        value
            .as_ref()
            .map(|v| serde_json::to_string(v).map_err(StoreError::backend))
            .transpose()
    };
    for event in events {
        tx.execute(
            Sql::new(
                "INSERT INTO instance_events (tenant_id, instance_id, at, kind, before_json, \
                 after_json, message) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant.0)
            .bind(instance.0)
            .bind(seconds(event.at))
            .bind(event.kind.as_str())
            .bind(json(&event.before)?)
            .bind(json(&event.after)?)
            .bind(event.message.clone()),
        )
        .await?;
    }
    Ok(())
}

/// Records a license inside `tx`: the statements of [`Licenses::record_reading`], shared with
/// an import, which records many in one transaction. The caller bumps the fleet generation
/// and commits.
pub(super) async fn record_reading_in(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
    reading: &NewReading,
    attempt: Option<&NewAttempt>,
    events: &[NewEvent],
) -> Result<ReadingId> {
    check_reading(reading)?;
    check_events(events)?;
    // A read resets the failure count; a license typed in leaves the row as it is.
    let kind: Option<(String,)> = tx
        .optional(
            Sql::new(
                "UPDATE instances SET consecutive_failures = CASE WHEN $3 THEN 0 \
                 ELSE consecutive_failures END WHERE tenant_id = $1 AND id = $2 \
                 RETURNING login_kind",
            )
            .bind(tenant.0)
            .bind(instance.0)
            .bind(attempt.is_some()),
        )
        .await?;
    let (kind,) = kind.ok_or_else(|| missing("instance", instance))?;
    let manual_instance = kind == LoginKind::Manual.as_str();
    let manual_reading = reading.source == ReadingSource::Manual;
    if manual_instance != manual_reading {
        return Err(StoreError::invalid(if manual_instance {
            format!("instance {instance} is a manual instance: its license is typed in")
        } else {
            format!(
                "instance {instance} reads its license from the PBX; only manual instances \
                 take typed-in license facts"
            )
        }));
    }
    // A read that finds exactly the current facts confirms the current reading rather than
    // adding a copy: an unchanged PBX polled every minute keeps one reading, not half a
    // million a year.
    let facts = facts_json(&reading.facts)?;
    let same: Option<(i64,)> = tx
        .optional(
            Sql::new(
                "SELECT reading_id FROM current_licenses WHERE tenant_id = $1 \
                 AND instance_id = $2 AND reading_id IS NOT NULL AND source = $3 \
                 AND facts = $4",
            )
            .bind(tenant.0)
            .bind(instance.0)
            .bind(reading.source.as_str())
            .bind(facts),
        )
        .await?;
    let id = match same {
        Some((id,)) => {
            tx.execute(
                Sql::new(
                    "UPDATE license_readings SET last_read_at = $3 WHERE tenant_id = $1 \
                     AND id = $2 AND COALESCE(last_read_at, read_at) < $3",
                )
                .bind(tenant.0)
                .bind(id)
                .bind(seconds(reading.read_at)),
            )
            .await?;
            ReadingId(id)
        }
        None => insert_reading(tx, tenant, instance, reading).await?,
    };
    set_good(tx, tenant, instance, id, reading).await?;
    if let Some(attempt) = attempt {
        set_last_attempt(tx, tenant, instance, attempt.started_at, None).await?;
        insert_attempt(tx, tenant, instance, attempt, None).await?;
    }
    insert_events(tx, tenant, instance, events).await?;
    super::alerts::evaluate_instance(tx, tenant, instance, reading.read_at).await?;
    Ok(id)
}

impl SqlStore {
    /// `NotFound` unless the instance exists in the tenant.
    async fn ensure_instance(&self, tenant: TenantId, instance: InstanceId) -> Result<()> {
        let found: Option<(i64,)> = self
            .db
            .read_optional(
                Sql::new("SELECT id FROM instances WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(instance.0),
            )
            .await?;
        found
            .map(|_| ())
            .ok_or_else(|| missing("instance", instance))
    }
}

#[async_trait]
impl Licenses for SqlStore {
    async fn record_reading(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        reading: &NewReading,
        attempt: Option<&NewAttempt>,
        events: &[NewEvent],
    ) -> Result<ReadingId> {
        let mut tx = self.db.begin().await?;
        let id = record_reading_in(&mut tx, tenant, instance, reading, attempt, events).await?;
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(id)
    }

    async fn record_failure(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        attempt: &NewAttempt,
        error: &AttemptError,
        events: &[NewEvent],
    ) -> Result<u32> {
        check_events(events)?;
        let mut tx = self.db.begin().await?;
        let failures: Option<(i64,)> = tx
            .optional(
                Sql::new(
                    "UPDATE instances SET consecutive_failures = consecutive_failures + 1 \
                     WHERE tenant_id = $1 AND id = $2 RETURNING consecutive_failures",
                )
                .bind(tenant.0)
                .bind(instance.0),
            )
            .await?;
        let (failures,) = failures.ok_or_else(|| missing("instance", instance))?;
        insert_attempt(&mut tx, tenant, instance, attempt, Some(error)).await?;
        set_last_attempt(&mut tx, tenant, instance, attempt.started_at, Some(error)).await?;
        insert_events(&mut tx, tenant, instance, events).await?;
        super::alerts::evaluate_instance(&mut tx, tenant, instance, attempt.started_at).await?;
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn license(&self, tenant: TenantId, instance: InstanceId) -> Result<LicenseState> {
        let row: Option<LicenseRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {LICENSE_COLUMNS} FROM instances i \
                     LEFT JOIN current_licenses cl \
                     ON cl.tenant_id = i.tenant_id AND cl.instance_id = i.id \
                     WHERE i.tenant_id = $1 AND i.id = $2"
                ))
                .bind(tenant.0)
                .bind(instance.0),
            )
            .await?;
        row.ok_or_else(|| missing("instance", instance))?
            .into_state(instance.0)
    }

    async fn fleet(&self, tenant: TenantId) -> Result<Arc<[FleetRow]>> {
        let cached = self
            .fleet_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tenant)
            .cloned();
        let sql = Sql::new(format!(
            "SELECT {FLEET_INSTANCE_COLUMNS}, {LICENSE_COLUMNS} FROM {INSTANCE_FROM} \
             LEFT JOIN current_licenses cl \
             ON cl.tenant_id = i.tenant_id AND cl.instance_id = i.id \
             WHERE i.tenant_id = $1 ORDER BY c.name_key, i.name_key, i.id"
        ))
        .bind(tenant.0);
        let (generation, rows): (u64, Vec<FleetDbRow>) = match self
            .db
            .read_fleet_unless_unchanged(tenant, sql, cached)
            .await?
        {
            AtGeneration::Read(generation, rows) => (generation, rows),
            AtGeneration::Unchanged(fleet) => return Ok(fleet),
        };
        let fleet: Arc<[FleetRow]> = rows
            .into_iter()
            .map(FleetRow::try_from)
            .collect::<Result<_>>()?;
        self.fleet_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant, (generation, Arc::clone(&fleet)));
        Ok(fleet)
    }

    async fn readings(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        max: u32,
    ) -> Result<Vec<Reading>> {
        let rows: Vec<ReadingRow> = self
            .newest_first(
                tenant,
                instance,
                max,
                READING_COLUMNS,
                "license_readings",
                "read_at",
            )
            .await?;
        rows.into_iter().map(Reading::try_from).collect()
    }

    async fn events(&self, tenant: TenantId, instance: InstanceId, max: u32) -> Result<Vec<Event>> {
        let rows: Vec<EventRow> = self
            .newest_first(
                tenant,
                instance,
                max,
                EVENT_COLUMNS,
                "instance_events",
                "at",
            )
            .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn attempts(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        max: u32,
    ) -> Result<Vec<Attempt>> {
        let rows: Vec<AttemptRow> = self
            .newest_first(
                tenant,
                instance,
                max,
                ATTEMPT_COLUMNS,
                "poll_attempts",
                "started_at",
            )
            .await?;
        rows.into_iter().map(Attempt::try_from).collect()
    }
}

impl SqlStore {
    /// One instance's history rows from `table`, newest first. An empty answer is checked
    /// against the instance, so another tenant's instance is `NotFound` rather than "no history".
    async fn newest_first<T: FromBothRows>(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        max: u32,
        columns: &str,
        table: &str,
        time_column: &str,
    ) -> Result<Vec<T>> {
        let rows: Vec<T> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {columns} FROM {table} \
                     WHERE tenant_id = $1 AND instance_id = $2 \
                     ORDER BY {time_column} DESC, id DESC LIMIT $3"
                ))
                .bind(tenant.0)
                .bind(instance.0)
                .bind(limit(max)),
            )
            .await?;
        if rows.is_empty() {
            self.ensure_instance(tenant, instance).await?;
        }
        Ok(rows)
    }
}
