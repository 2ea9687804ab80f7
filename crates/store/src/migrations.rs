//! The schema migrations of each backend, embedded in the binary.
//!
//! Each backend has its own folder (`migrations/sqlite`, `migrations/postgres`) because the two
//! dialects differ in types (`INTEGER PRIMARY KEY` vs identity columns, `BLOB` vs `BYTEA`).
//! Files are named `NNNN_description.sql`, applied in order and recorded by sqlx in
//! `_sqlx_migrations` with a checksum, so an edited migration is refused rather than half-applied.
//! Adding one means adding a file to *both* folders and a line to each list below; a test checks
//! the lists match the folders.

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

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
pub(crate) fn latest() -> i64 {
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
