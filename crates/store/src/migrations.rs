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

    #[test]
    fn every_migration_file_is_embedded_and_both_backends_have_the_same_steps() {
        assert_eq!(listed(SQLITE), files("sqlite"));
        assert_eq!(listed(POSTGRES), files("postgres"));
        assert_eq!(listed(SQLITE), listed(POSTGRES));
    }
}
