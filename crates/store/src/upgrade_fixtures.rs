//! Upgrade fixtures: small SQLite databases as each schema version left them, kept in
//! `tests/fixtures/upgrade/` and opened by the current build in the tests below.
//!
//! `scripts/make-upgrade-fixtures` runs [`write_missing_fixtures`]: for each schema version
//! without a fixture it applies the migrations up to that version one by one and, right after
//! each step, inserts what that step made room for (the era's seed), so older rows go through
//! every later migration as they would in a real installation. Fixtures already written are
//! never rewritten: they are the frozen databases of earlier releases. A new migration therefore
//! means running the script once and committing the new file; a test fails until then.
//!
//! The fixtures' secret key is `fixture.key` beside them: it seals test credentials only.

use std::path::{Path, PathBuf};

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use runway_core::hex;

use super::{SQLITE, latest, migrator};
use crate::secret_key::{SealedFor, SecretKey};

/// The instant the fixtures' rows were made (2026-03-01T00:00:00Z).
const MADE_AT: i64 = 1_772_323_200;
/// The api-client instance's license expiry (2026-03-12T00:00:00Z): inside the reminder window.
const API_EXPIRY: i64 = 1_773_273_600;
/// The manual instance's license expiry (2026-09-30T00:00:00Z).
const MANUAL_EXPIRY: i64 = 1_790_726_400;
const CLIENT_SECRET: &str = "fixture-client-secret";
const API_TOKEN: &str = "rw_fixture_token_0123456789";
const CHANNEL_SECRET: &str = "fixture-webhook-signing-secret";
const FEED_TOKEN: &str = "rwcal_fixture_feed_0123456789";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

fn fixture(schema: i64) -> PathBuf {
    dir().join(format!("schema-{schema:04}.sqlite"))
}

fn key() -> SecretKey {
    let text = std::fs::read_to_string(dir().join("fixture.key")).expect("fixture.key");
    SecretKey::parse(&text, "fixture.key").expect("a valid fixture key")
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(text.as_bytes()))
}

/// License facts as the store keeps them (JSON of `runway_core::LicenseFacts`).
fn facts(key: &str, expiry: i64, users: u32) -> String {
    let expiry = jiff::Timestamp::from_second(expiry).expect("an instant");
    let facts = runway_core::LicenseFacts::from_pbx(runway_core::PbxLicense {
        fqdn: Some("pbx.fixture.example".into()),
        version: Some("20.0.4.938".into()),
        license_key: Some(key.into()),
        product_code: Some("3CXPSPROFENTSPLA".into()),
        expiry: Some(expiry),
        maintenance_expiry: Some(expiry),
        license_active: Some(true),
        max_sim_calls: Some(16),
        users_used: Some(users),
        max_user_extensions: Some(20),
        ..runway_core::PbxLicense::default()
    });
    serde_json::to_string(&facts).expect("facts serialise")
}

/// What the schema step `version` made room for, as SQL of that version's schema.
fn seed(version: i64, key: &SecretKey) -> Vec<String> {
    match version {
        1 => {
            let sealed = key
                .seal(
                    CLIENT_SECRET,
                    &SealedFor::Instance {
                        tenant: 1,
                        instance: 1,
                        field: "secret", // sql/instances.rs: SECRET_FIELD
                    },
                )
                .expect("seal");
            vec![
                format!(
                    "INSERT INTO tenants (id, name, name_key, time_zone, reminder_milestones, \
                     lapse_alert, renewal_template, created_at) VALUES (1, 'Fixture MSP', \
                     'fixture msp', 'America/New_York', '[{{\"days_before\":10,\"severity\":\"INFO\"}},\
                     {{\"days_before\":3,\"severity\":\"WARNING\"}},{{\"days_before\":1,\"severity\":\"CRITICAL\"}}]', \
                     TRUE, 'https://www.3cx.com/renew?key={{key}}', {MADE_AT})"
                ),
                format!(
                    "INSERT INTO users (id, tenant_id, email, email_key, display_name, role, \
                     password_hash, created_at) VALUES (1, 1, 'Owner@Fixture.example', \
                     'owner@fixture.example', 'Olive Owner', 'owner', 'not-a-real-hash', {MADE_AT})"
                ),
                format!(
                    "INSERT INTO customers (id, tenant_id, name, name_key, notes, created_at) VALUES \
                     (1, 1, 'Acme Dental', 'acme dental', 'front desk: ext 100', {MADE_AT}), \
                     (2, 1, 'Birch Law', 'birch law', '', {MADE_AT})"
                ),
                format!(
                    "INSERT INTO instances (id, tenant_id, customer_id, name, name_key, base_url, \
                     login_kind, login_identity, secret_sealed, poll_interval_secs, created_at, \
                     updated_at, next_poll_at) VALUES \
                     (1, 1, 1, 'Main PBX', 'main pbx', 'https://pbx.acme.example', 'api_client', \
                      'runway', X'{}', 21600, {MADE_AT}, {MADE_AT}, {MADE_AT}), \
                     (2, 1, 2, 'Office', 'office', 'https://office.birch.example', 'manual', NULL, \
                      NULL, 21600, {MADE_AT}, {MADE_AT}, {MADE_AT})",
                    hex(&sealed)
                ),
                format!(
                    "INSERT INTO license_readings (id, tenant_id, instance_id, read_at, source, \
                     facts, raw_body, expiry) VALUES \
                     (1, 1, 1, {MADE_AT}, 'xapi', '{}', '{{}}', {API_EXPIRY}), \
                     (2, 1, 2, {MADE_AT}, 'manual', '{}', NULL, {MANUAL_EXPIRY})",
                    facts("ABCD-EFGH-IJKL-MNOP", API_EXPIRY, 12),
                    facts("QRST-UVWX-YZ12-3456", MANUAL_EXPIRY, 4)
                ),
                format!(
                    "INSERT INTO current_licenses (instance_id, tenant_id, reading_id, facts, \
                     source, expiry, last_success_at, last_attempt_at, last_outcome) \
                     SELECT instance_id, tenant_id, id, facts, source, expiry, read_at, read_at, \
                     'ok' FROM license_readings"
                ),
                format!(
                    "INSERT INTO poll_attempts (tenant_id, instance_id, started_at, duration_ms, \
                     trigger_kind, outcome) VALUES (1, 1, {MADE_AT}, 412, 'schedule', 'ok')"
                ),
                format!(
                    "INSERT INTO instance_events (tenant_id, instance_id, at, kind, message) VALUES \
                     (1, 1, {MADE_AT}, 'license_changed', 'first reading')"
                ),
            ]
        }
        2 => vec![format!(
            "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, created_at) VALUES \
             (1, 1, 'monitoring', '{}', {MADE_AT})",
            sha256_hex(API_TOKEN)
        )],
        8 => vec![
            format!(
                "INSERT INTO reminder_stages (tenant_id, instance_id, expiry_date, stage, outcome, \
                 at) VALUES (1, 1, '2026-03-11', 'milestone:10', 'fired', {MADE_AT})"
            ),
            format!(
                "INSERT INTO alerts (id, tenant_id, instance_id, kind, series, severity, stage, \
                 days_left, state, opened_at, updated_at) VALUES (1, 1, 1, 'license_expiry', \
                 '2026-03-11', 'INFO', 'milestone:10', 10, 'open', {MADE_AT}, {MADE_AT})"
            ),
        ],
        9 => {
            let sealed = key
                .seal(
                    CHANNEL_SECRET,
                    &SealedFor::Channel {
                        tenant: 1,
                        channel: 1,
                    },
                )
                .expect("seal");
            vec![format!(
                "INSERT INTO channels (id, tenant_id, name, kind, settings, secret_sealed, \
                 created_at) VALUES (1, 1, 'Ops webhook', 'webhook', \
                 '{{\"url\":\"http://127.0.0.1:9/runway\"}}', X'{}', {MADE_AT})",
                hex(&sealed)
            )]
        }
        13 => vec![calendar_feed_seed()],
        _ => Vec::new(),
    }
}

/// Schema 13's seed: the tenant's calendar feed, as the hash of its token.
fn calendar_feed_seed() -> String {
    format!(
        "INSERT INTO calendar_feeds (tenant_id, token_hash, created_at) VALUES \
         (1, '{}', {MADE_AT})",
        sha256_hex(FEED_TOKEN)
    )
}

/// The seeded calendar feed still opens the tenant's feed.
async fn assert_calendar_feed_kept(store: &dyn crate::Store, at: &str) {
    let feed = store
        .calendar_feed_by_token(&sha256_hex(FEED_TOKEN))
        .await
        .unwrap();
    assert_eq!(feed.map(|f| f.tenant_id), Some(crate::TenantId(1)), "{at}");
}

async fn build(schema: i64, path: &Path) {
    let key = key();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .foreign_keys(true);
    let mut db = SqliteConnection::connect_with(&options).await.unwrap();
    // Small pages keep the committed files small.
    sqlx::query("PRAGMA page_size = 1024")
        .execute(&mut db)
        .await
        .unwrap();
    let steps = usize::try_from(schema).unwrap();
    for upto in 1..=steps {
        migrator(&SQLITE[..upto]).run(&mut db).await.unwrap();
        for statement in seed(SQLITE[upto - 1].0, &key) {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut db)
                .await
                .unwrap();
        }
    }
    // WAL as Runway leaves it; VACUUM keeps the file small.
    sqlx::query("VACUUM").execute(&mut db).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
}

/// Writes the fixture of every schema version that has none yet (`scripts/make-upgrade-fixtures`).
#[tokio::test]
#[ignore = "writes fixtures; run by scripts/make-upgrade-fixtures"]
async fn write_missing_fixtures() {
    for schema in 1..=latest() {
        let path = fixture(schema);
        if !path.exists() {
            build(schema, &path).await;
            println!("wrote {}", path.display());
        }
    }
}

/// A copy of a fixture in a temporary directory, and its URL.
fn copy(schema: i64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("runway.db");
    std::fs::copy(fixture(schema), &path).unwrap_or_else(|err| {
        panic!(
            "no upgrade fixture for schema {schema} ({err}): run scripts/make-upgrade-fixtures \
             and commit what it writes"
        )
    });
    (tmp, path)
}

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn every_schema_version_has_a_fixture() {
    for schema in 1..=latest() {
        assert!(
            fixture(schema).is_file(),
            "no upgrade fixture for schema {schema}: run scripts/make-upgrade-fixtures"
        );
    }
}

/// Each fixture opens in this build, is migrated to the current schema, and keeps its data:
/// tenant, customers, instances and their sealed credentials, licenses, and what each later era
/// added (the API token, the alert, the channel's sealed secret, the calendar feed).
#[tokio::test]
async fn every_fixture_upgrades_to_the_current_schema_with_its_data() {
    use crate::{AlertFilter, ChannelId, InstanceId, OpenOptions, TenantId};
    for schema in 1..=latest() {
        let (_tmp, path) = copy(schema);
        let store = crate::open(&url(&path), OpenOptions::new(key()))
            .await
            .unwrap_or_else(|err| panic!("the schema {schema} fixture did not open: {err}"));
        let at = format!("schema {schema} fixture");
        assert_eq!(
            store.schema_version().await.unwrap(),
            (latest(), latest()),
            "{at}"
        );
        let tenant = TenantId(1);
        let msp = store.tenant(tenant).await.unwrap();
        assert_eq!(msp.settings.name, "Fixture MSP", "{at}");
        assert_eq!(msp.settings.zone.to_string(), "America/New_York", "{at}");
        let customers: Vec<String> = store
            .customers(tenant)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(customers, ["Acme Dental", "Birch Law"], "{at}");
        match store.credentials(tenant, InstanceId(1)).await.unwrap() {
            crate::Credentials::ApiClient { client_secret, .. } => {
                assert_eq!(client_secret.expose(), CLIENT_SECRET, "{at}");
            }
            other => panic!("{at}: instance 1 has {:?} credentials", other.kind()),
        }
        let fleet = store.fleet(tenant).await.unwrap();
        let expiries: Vec<_> = fleet
            .iter()
            .map(|row| {
                let good = row.license.good.as_ref().expect("a good license");
                (
                    row.instance.name.clone(),
                    good.facts.expiry.map(jiff::Timestamp::as_second),
                )
            })
            .collect();
        assert_eq!(
            expiries,
            [
                ("Main PBX".to_owned(), Some(API_EXPIRY)),
                ("Office".to_owned(), Some(MANUAL_EXPIRY))
            ],
            "{at}"
        );
        if schema >= 2 {
            let found = store
                .use_api_token(&sha256_hex(API_TOKEN), jiff::Timestamp::now())
                .await
                .unwrap();
            assert_eq!(found.map(|a| a.user.tenant_id), Some(tenant), "{at}");
        }
        if schema >= 8 {
            let alerts = store
                .alerts(tenant, &AlertFilter::default(), 10)
                .await
                .unwrap();
            assert_eq!(alerts.len(), 1, "{at}");
            assert_eq!(
                alerts[0].expiry_date,
                Some(jiff::civil::date(2026, 3, 11)),
                "{at}"
            );
        }
        if schema >= 9 {
            let target = store.channel_target(tenant, ChannelId(1)).await.unwrap();
            assert_eq!(target.secret.as_deref(), Some(CHANNEL_SECRET), "{at}");
        }
        if schema >= 13 {
            assert_calendar_feed_kept(&*store, &at).await;
        }
        store.close().await;
        let inspection = crate::inspect(&url(&path), Some(&key())).await.unwrap();
        assert_eq!(inspection.schema, latest(), "{at}");
        assert_eq!(
            inspection.written_by,
            Some(super::WrittenBy::this_build()),
            "{at}: the upgrade records the release that made it"
        );
        assert_eq!(inspection.key_opens, Some(true), "{at}");
        let mut db = SqliteConnection::connect(&url(&path)).await.unwrap();
        let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(integrity, "ok", "{at}");
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut db)
            .await
            .unwrap();
        assert!(
            broken.is_empty(),
            "{at}: {} rows break a foreign key",
            broken.len()
        );
    }
}

/// A database a newer release migrated is refused with both releases named, and its file is
/// left byte for byte as it was.
#[tokio::test]
async fn a_database_from_a_newer_release_is_refused_and_left_untouched() {
    let (_tmp, path) = copy(latest());
    {
        let mut db = SqliteConnection::connect(&url(&path)).await.unwrap();
        let future = latest() + 1;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, \
             checksum, execution_time) VALUES ($1, 'from the future', CURRENT_TIMESTAMP, TRUE, \
             X'00', 1)",
        )
        .bind(future)
        .execute(&mut db)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO store_meta (name, value) VALUES ('written_by', $1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(format!(r#"{{"release":"9.4.0","schema":{future}}}"#).into_bytes())
        .execute(&mut db)
        .await
        .unwrap();
        db.close().await.unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = crate::open(&url(&path), crate::OpenOptions::new(key()))
        .await
        .err()
        .expect("a newer database must be refused");
    let text = err.to_string();
    assert!(
        matches!(err, crate::StoreError::NewerSchema { .. }),
        "{text}"
    );
    assert!(
        text.starts_with(&format!(
            "this database was written by Runway 9.4.0; this is {} (its schema {} is newer",
            super::RELEASE,
            latest() + 1
        )),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the refused file changed"
    );
    let inspection = crate::inspect(&url(&path), None).await.unwrap();
    assert!(!inspection.is_supported());
}
