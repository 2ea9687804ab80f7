//! Opening a database: migrations from empty, URL schemes, in-memory SQLite.

use runway_store::{Backend, OpenOptions, StoreError};

use crate::harness::{Harness, at, customer, instance, tenant};

async fn migrations_build_every_table_from_empty_and_reopening_keeps_the_data(mut h: Harness) {
    let raw = h.raw().await;
    let tables = raw.tables().await;
    for table in [
        "_sqlx_migrations",
        "alert_events",
        "alerts",
        "api_tokens",
        "audit_log",
        "calendar_feeds",
        "channel_references",
        "channels",
        "current_licenses",
        "customers",
        "deliveries",
        "escalations",
        "instance_events",
        "instances",
        "license_readings",
        "poll_attempts",
        "reminder_stages",
        "routes",
        "sign_in_failures",
        "store_meta",
        "tenants",
        "users",
        "web_sessions",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing in {tables:?}"
        );
    }
    if matches!(h.kind, crate::harness::Kind::Postgres) {
        // Several nodes write a PostgreSQL database: each tenant's fleet generation lives in a
        // table (0004 replaced 0003's one global count).
        assert!(
            tables.iter().any(|t| t == "fleet_generations"),
            "{tables:?}"
        );
        assert!(
            !tables.iter().any(|t| t == "write_generation"),
            "{tables:?}"
        );
    }
    assert_eq!(
        raw.count("_sqlx_migrations").await,
        runway_store::latest_schema()
    );
    raw.close().await;

    let t = tenant(h.store(), "Acme MSP").await;
    let c = customer(h.store(), t, "Customer").await;
    instance(h.store(), t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    let key = h.key.clone();
    h.reopen(key).await.unwrap();
    assert_eq!(h.store().instances(t).await.unwrap().len(), 1);
    let expected = match h.kind {
        crate::harness::Kind::Sqlite => Backend::Sqlite,
        crate::harness::Kind::Postgres => Backend::Postgres,
    };
    assert_eq!(h.store().backend(), expected);
}

/// A database a newer release migrated (a step this build does not know, and that release's
/// record of itself) is refused at open with both releases named, and no step is applied.
async fn a_database_from_a_newer_release_is_refused_before_anything_is_written(mut h: Harness) {
    let future = runway_store::latest_schema() + 1;
    let raw = h.raw().await;
    raw.execute(&format!(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, \
         execution_time) VALUES ({future}, 'from the future', CURRENT_TIMESTAMP, TRUE, \
         {checksum}, 1)",
        checksum = match h.kind {
            crate::harness::Kind::Sqlite => "X'00'",
            crate::harness::Kind::Postgres => "'\\x00'::bytea",
        }
    ))
    .await;
    let record = format!(r#"{{"release":"7.2.0","schema":{future}}}"#);
    raw.execute(&format!(
        "UPDATE store_meta SET value = {value} WHERE name = 'written_by'",
        value = match h.kind {
            crate::harness::Kind::Sqlite => format!("CAST('{record}' AS BLOB)"),
            crate::harness::Kind::Postgres => format!("convert_to('{record}', 'UTF8')"),
        }
    ))
    .await;
    let migrations = raw.count("_sqlx_migrations").await;
    raw.close().await;
    let key = h.key.clone();
    let err = h
        .reopen(key)
        .await
        .expect_err("a newer database must be refused");
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&format!(
            "this database was written by Runway 7.2.0; this is {} (its schema {future} is newer",
            runway_store::RELEASE
        )),
        "{err}"
    );
    let raw = h.raw().await;
    assert_eq!(raw.count("_sqlx_migrations").await, migrations);
    raw.close().await;
}

conformance!(
    migrations_build_every_table_from_empty_and_reopening_keeps_the_data,
    a_database_from_a_newer_release_is_refused_before_anything_is_written,
);

#[tokio::test]
async fn an_in_memory_sqlite_database_works_on_its_single_connection() {
    let key = crate::harness::key();
    let store = runway_store::open("sqlite::memory:", OpenOptions::new(key))
        .await
        .unwrap();
    let t = tenant(&*store, "Memory MSP").await;
    let c = customer(&*store, t, "Customer").await;
    // Writes and reads from concurrent tasks all see the same database.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = std::sync::Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            instance(
                &*store,
                t,
                c,
                &format!("pbx-{n}"),
                at("2026-06-01T00:00:00Z"),
            )
            .await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.instances(t).await.unwrap().len(), 8);
}

#[tokio::test]
async fn an_unsupported_url_is_refused_without_repeating_it() {
    let key = crate::harness::key();
    // The password is shorter than the scan's minimum: it is registered as a URL holds it.
    runway_testkit::secrets::used("root:hunter2@");
    let err = runway_store::open("mysql://root:hunter2@db/runway", OpenOptions::new(key))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("\"mysql\"") && text.contains("sqlite://"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(
        runway_store::backend_for_url("postgresql://x/y").unwrap(),
        Backend::Postgres
    );
    assert_eq!(
        runway_store::backend_for_url("sqlite:runway.db").unwrap(),
        Backend::Sqlite
    );
}

#[tokio::test]
async fn a_bad_postgres_url_never_echoes_its_password() {
    let key = crate::harness::key();
    runway_testkit::secrets::used("runway:hunter2@");
    let err = runway_store::open(
        "postgres://runway:hunter2@127.0.0.1:1/runway?sslmode=bogus",
        OpenOptions::new(key),
    )
    .await
    .map(|_| ())
    .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
