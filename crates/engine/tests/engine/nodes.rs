//! Several engines on one PostgreSQL split the fleet: each instance is read exactly once per
//! cycle, and when one engine dies the others finish its work.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use runway_store::{InstanceId, StoreError};
use runway_testkit::Backend;

use crate::harness::{Fleet, TIMEOUT, pbx};

fn fleet_toml(count: usize) -> String {
    (0..count)
        .map(|n| {
            pbx(
                &format!("pbx-{n:03}"),
                &format!("+{}d", 5 + n),
                r#"latency = "20..60""#,
            )
        })
        .collect()
}

async fn attempts_per_instance(fleet: &Fleet) -> HashMap<InstanceId, usize> {
    let mut counts = HashMap::new();
    for &id in fleet.ids.values() {
        let attempts = fleet.store().attempts(fleet.tenant, id, 100).await.unwrap();
        counts.insert(id, attempts.len());
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_postgres_read_each_instance_exactly_once_per_cycle() {
    let Some(fleet) = Fleet::start(Backend::Postgres, &fleet_toml(40)).await else {
        return;
    };
    let a = fleet.engine("node-a", 4);
    let b = fleet.engine_on(fleet.db.open_again().await.unwrap(), "node-b", 4);
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    assert_eq!(ra.succeeded + rb.succeeded, 40, "{ra:?} {rb:?}");
    assert!(
        ra.succeeded > 0 && rb.succeeded > 0,
        "both nodes took a share: {ra:?} {rb:?}"
    );
    let counts = attempts_per_instance(&fleet).await;
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");

    // The next cycle: the same again, once each.
    fleet.clock.advance(Duration::from_hours(7));
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    assert_eq!(ra.succeeded + rb.succeeded, 40);
    let counts = attempts_per_instance(&fleet).await;
    assert!(counts.values().all(|&n| n == 2), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_one_engine_dies_the_other_finishes_its_work() {
    let Some(fleet) = Fleet::start(Backend::Postgres, &fleet_toml(30)).await else {
        return;
    };
    let survivor = fleet.engine("node-b", 4);
    let doomed = fleet.engine_on(fleet.db.open_again().await.unwrap(), "node-a", 4);
    let dying = tokio::spawn(async move { doomed.run_due().await });
    let first = survivor.run_due().await;
    dying.abort();
    let _ = dying.await;

    // The survivor finished what it could; what the dead node held is read once its leases
    // lapse.
    fleet.clock.advance(TIMEOUT * 2 + Duration::from_secs(31));
    let second = survivor.run_due().await;
    let counts = attempts_per_instance(&fleet).await;
    let read_once = counts.values().filter(|&&n| n == 1).count();
    assert!(
        counts.values().all(|&n| n >= 1),
        "every instance was read: {first:?} then {second:?}"
    );
    assert!(
        counts.values().all(|&n| n <= 2),
        "never more than the dead node's recorded read and the takeover: {counts:?}"
    );
    assert!(read_once >= first.succeeded, "{counts:?}");
}

/// Every tenant's fleet generation on the shared database, summed.
async fn fleet_generations(fleet: &Fleet) -> i64 {
    let pool = sqlx::PgPool::connect(&fleet.db.url).await.unwrap();
    let sum: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(n), 0)::BIGINT FROM fleet_generations")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    sum
}

/// Idle nodes write nothing the License Status page shows: a minute of lease sweeps by two
/// idle engines (one every 5 s each, the default idle tick) leaves the fleet generation where
/// it was, so the fleet cache keeps answering from memory; the next read moves it on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_idle_nodes_leave_the_fleet_generation_and_its_cache_alone_for_a_minute() {
    let Some(fleet) = Fleet::start(Backend::Postgres, &fleet_toml(10)).await else {
        return;
    };
    let a = fleet.engine("node-a", 4);
    let b = fleet.engine_on(fleet.db.open_again().await.unwrap(), "node-b", 4);
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    assert_eq!(ra.succeeded + rb.succeeded, 10, "{ra:?} {rb:?}");
    let generation = fleet_generations(&fleet).await;
    assert!(
        generation >= 10,
        "each recorded read bumped it: {generation}"
    );
    let listed = fleet.store().fleet(fleet.tenant).await.unwrap();

    for _ in 0..12 {
        fleet.clock.advance(Duration::from_secs(5));
        let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
        assert_eq!(ra.reads() + rb.reads(), 0, "nothing is due: {ra:?} {rb:?}");
    }
    assert_eq!(fleet_generations(&fleet).await, generation);
    assert!(
        Arc::ptr_eq(&listed, &fleet.store().fleet(fleet.tenant).await.unwrap()),
        "the cached fleet is still valid"
    );

    fleet.clock.advance(Duration::from_hours(7));
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    assert_eq!(ra.succeeded + rb.succeeded, 10);
    assert!(fleet_generations(&fleet).await > generation);
    assert!(!Arc::ptr_eq(
        &listed,
        &fleet.store().fleet(fleet.tenant).await.unwrap()
    ));
}

#[tokio::test]
async fn a_second_node_on_one_sqlite_file_is_refused_with_a_reason() {
    let db = runway_testkit::TestDb::new(Backend::Sqlite).await.unwrap();
    match db.open_again().await {
        Err(err @ StoreError::NodeLocked { .. }) => {
            assert!(err.to_string().contains("PostgreSQL"), "{err}");
        }
        other => panic!("expected NodeLocked, got {:?}", other.map(|_| ())),
    }
}
