//! The schema migrations of each backend, embedded in the binary.
//!
//! Each backend has its own folder (`migrations/sqlite`, `migrations/postgres`) because the two
//! dialects differ in types (`INTEGER PRIMARY KEY` vs identity columns, `BLOB` vs `BYTEA`).
//! Files are named `NNNN_description.sql`, applied in order and recorded by sqlx in
//! `_sqlx_migrations` with a checksum, so an edited migration is refused rather than half-applied.
//! Adding one means adding a file to *both* folders and a line to each list below; a test checks
//! the lists match the folders.
//!
//! Upgrades: each store opens by applying the steps it has not yet seen, each in a transaction of
//! its own (both backends run DDL transactionally), and then records in `store_meta` which
//! release wrote the schema ([`WrittenBy`]). A database whose schema is newer than this build is
//! refused before anything is written: sqlx compares the applied versions with the known ones
//! before it applies any step, and [`refusal`] turns its complaint into
//! [`StoreError::NewerSchema`], naming the release that wrote it.

use serde::{Deserialize, Serialize};
use sqlx::SqlSafeStr as _;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use crate::error::StoreError;

/// This build's release, as `Cargo.toml` names it.
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// The `store_meta` row naming the release that last moved the schema forward.
pub(crate) const WRITTEN_BY: &str = "written_by";

/// Which release of Runway brought a database to its schema version (JSON in `store_meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenBy {
    /// The release, e.g. `0.1.0`.
    pub release: String,
    /// The schema version it migrated the database to.
    pub schema: i64,
}

impl WrittenBy {
    /// This build at the newest schema it knows.
    pub(crate) fn this_build() -> WrittenBy {
        WrittenBy {
            release: RELEASE.to_owned(),
            schema: latest(),
        }
    }

    /// Reads the stored value; `None` when absent or unreadable (written before 0.1.0 kept it).
    pub(crate) fn parse(stored: Option<&[u8]>) -> Option<WrittenBy> {
        stored.and_then(|bytes| serde_json::from_slice(bytes).ok())
    }
}

/// What a failed migration means to the operator. A database at a schema newer than this build
/// (sqlx: "migration N was applied but is missing") becomes [`StoreError::NewerSchema`];
/// `written_by` is the database's `store_meta` row, read by the caller.
pub(crate) fn refusal(err: MigrateError, written_by: Option<&[u8]>) -> StoreError {
    match err {
        MigrateError::VersionMissing(version) if version > latest() => {
            let written = WrittenBy::parse(written_by);
            StoreError::NewerSchema {
                written_by: written
                    .as_ref()
                    .map_or_else(|| "a newer release".to_owned(), |w| w.release.clone()),
                schema: written.map_or(version, |w| w.schema.max(version)),
                this: RELEASE,
                known: latest(),
            }
        }
        other => other.into(),
    }
}

/// `(version, description, sql)` of one migration.
type Step = (i64, &'static str, &'static str);

const SQLITE: &[Step] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "web_access",
        include_str!("../migrations/sqlite/0002_web_access.sql"),
    ),
    (
        3,
        "write_generation",
        include_str!("../migrations/sqlite/0003_write_generation.sql"),
    ),
    (
        4,
        "fleet_generations",
        include_str!("../migrations/sqlite/0004_fleet_generations.sql"),
    ),
    (
        5,
        "sign_in_failures",
        include_str!("../migrations/sqlite/0005_sign_in_failures.sql"),
    ),
    (
        6,
        "retention_and_audit",
        include_str!("../migrations/sqlite/0006_retention_and_audit.sql"),
    ),
    (
        7,
        "user_email_per_tenant",
        include_str!("../migrations/sqlite/0007_user_email_per_tenant.sql"),
    ),
    (
        8,
        "alerts",
        include_str!("../migrations/sqlite/0008_alerts.sql"),
    ),
    (
        9,
        "delivery",
        include_str!("../migrations/sqlite/0009_delivery.sql"),
    ),
    (
        10,
        "resend",
        include_str!("../migrations/sqlite/0010_resend.sql"),
    ),
    (
        11,
        "more_alert_kinds",
        include_str!("../migrations/sqlite/0011_more_alert_kinds.sql"),
    ),
    (
        12,
        "clock_offset",
        include_str!("../migrations/sqlite/0012_clock_offset.sql"),
    ),
    (
        13,
        "calendar_feeds",
        include_str!("../migrations/sqlite/0013_calendar_feeds.sql"),
    ),
    (
        14,
        "psa_channels",
        include_str!("../migrations/sqlite/0014_psa_channels.sql"),
    ),
];

const POSTGRES: &[Step] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "web_access",
        include_str!("../migrations/postgres/0002_web_access.sql"),
    ),
    (
        3,
        "write_generation",
        include_str!("../migrations/postgres/0003_write_generation.sql"),
    ),
    (
        4,
        "fleet_generations",
        include_str!("../migrations/postgres/0004_fleet_generations.sql"),
    ),
    (
        5,
        "sign_in_failures",
        include_str!("../migrations/postgres/0005_sign_in_failures.sql"),
    ),
    (
        6,
        "retention_and_audit",
        include_str!("../migrations/postgres/0006_retention_and_audit.sql"),
    ),
    (
        7,
        "user_email_per_tenant",
        include_str!("../migrations/postgres/0007_user_email_per_tenant.sql"),
    ),
    (
        8,
        "alerts",
        include_str!("../migrations/postgres/0008_alerts.sql"),
    ),
    (
        9,
        "delivery",
        include_str!("../migrations/postgres/0009_delivery.sql"),
    ),
    (
        10,
        "resend",
        include_str!("../migrations/postgres/0010_resend.sql"),
    ),
    (
        11,
        "more_alert_kinds",
        include_str!("../migrations/postgres/0011_more_alert_kinds.sql"),
    ),
    (
        12,
        "clock_offset",
        include_str!("../migrations/postgres/0012_clock_offset.sql"),
    ),
    (
        13,
        "calendar_feeds",
        include_str!("../migrations/postgres/0013_calendar_feeds.sql"),
    ),
    (
        14,
        "psa_channels",
        include_str!("../migrations/postgres/0014_psa_channels.sql"),
    ),
];

fn migrator(steps: &[Step]) -> Migrator {
    Migrator::with_migrations(
        steps
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The newest schema version this build knows (the same on both backends).
pub fn latest() -> i64 {
    SQLITE.last().map_or(0, |step| step.0)
}

/// The SQLite migrations.
pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

/// The PostgreSQL migrations.
pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

#[cfg(test)]
#[path = "upgrade_fixtures.rs"]
mod upgrade_fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    fn files(backend: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn listed(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|(v, d, _)| format!("{v:04}_{d}.sql"))
            .collect()
    }

    /// 0007 moves users' addresses from installation-unique to tenant-unique keys without
    /// losing an account: a database written at 0006 signs in the same people after.
    #[tokio::test]
    async fn users_written_before_0007_keep_their_addresses_and_may_repeat_across_tenants() {
        use sqlx::Connection as _;
        let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        migrator(&SQLITE[..6]).run(&mut db).await.unwrap();
        for statement in [
            "INSERT INTO tenants (id, name, name_key, time_zone, reminder_milestones, \
             lapse_alert, renewal_template, created_at) VALUES \
             (1, 'A', 'a', 'UTC', '[]', TRUE, 'x', 0), (2, 'B', 'b', 'UTC', '[]', TRUE, 'x', 0)",
            "INSERT INTO users (tenant_id, email, email_key, display_name, role, password_hash, \
             created_at) VALUES (1, 'Dana@Example.com', 'dana@example.com', 'Dana', 'owner', \
             'h', 0)",
        ] {
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
        migrator(SQLITE).run(&mut db).await.unwrap();
        let row: (String, String) =
            sqlx::query_as("SELECT email_key, email_lookup FROM users WHERE tenant_id = 1")
                .fetch_one(&mut db)
                .await
                .unwrap();
        assert_eq!(
            row,
            ("1:dana@example.com".into(), "dana@example.com".into())
        );
        sqlx::query(
            "INSERT INTO users (tenant_id, email, email_key, display_name, role, password_hash, \
             created_at, email_lookup) VALUES (2, 'dana@example.com', '2:dana@example.com', \
             'Dana', 'owner', 'h', 0, 'dana@example.com')",
        )
        .execute(&mut db)
        .await
        .unwrap();
    }

    #[test]
    fn every_migration_file_is_embedded_and_both_backends_have_the_same_steps() {
        assert_eq!(listed(SQLITE), files("sqlite"));
        assert_eq!(listed(POSTGRES), files("postgres"));
        assert_eq!(listed(SQLITE), listed(POSTGRES));
    }
}
