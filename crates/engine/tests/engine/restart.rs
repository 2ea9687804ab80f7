//! A poller killed in the middle of a cycle and started again: nothing half-written, nothing
//! skipped for good, nothing good lost.

use std::collections::HashMap;
use std::time::Duration;

use runway_store::{InstanceId, Reading, ReadingId};
use runway_testkit::Backend;

use crate::harness::{Fleet, TIMEOUT, on_both_backends, pbx};

/// Twelve PBXs; every third answers slowly, so a cycle is still running when it is killed.
fn fleet_toml() -> String {
    (0..12)
        .map(|n| {
            let slow = if n % 3 == 0 {
                r#"faults = [{ kind = "delay", ms = 250, endpoint = "data" }]"#
            } else {
                ""
            };
            pbx(&format!("pbx-{n:02}"), &format!("+{}d", 10 + n), slow)
        })
        .collect()
}

/// What each instance's history holds: its reading ids and how many reads succeeded.
async fn history(fleet: &Fleet) -> HashMap<InstanceId, (Vec<ReadingId>, usize)> {
    let mut all = HashMap::new();
    for &id in fleet.ids.values() {
        let readings = fleet.store().readings(fleet.tenant, id, 100).await.unwrap();
        let attempts = fleet.store().attempts(fleet.tenant, id, 100).await.unwrap();
        all.insert(
            id,
            (
                readings.iter().map(|r| r.id).collect(),
                attempts.iter().filter(|a| a.succeeded()).count(),
            ),
        );
    }
    all
}

/// Every successful attempt left its reading (a new one, or the unchanged current one
/// confirmed) and the current license is the newest reading, confirmed by the last success:
/// what one transaction writes is there entirely or not at all.
async fn assert_whole(fleet: &Fleet) {
    for (pbx, &id) in &fleet.ids {
        let readings: Vec<Reading> = fleet.store().readings(fleet.tenant, id, 100).await.unwrap();
        let attempts = fleet.store().attempts(fleet.tenant, id, 100).await.unwrap();
        let succeeded: Vec<_> = attempts.iter().filter(|a| a.succeeded()).collect();
        assert!(
            !readings.is_empty() && readings.len() <= succeeded.len(),
            "{pbx}: {} readings from {} successful reads",
            readings.len(),
            succeeded.len()
        );
        let current = fleet.store().license(fleet.tenant, id).await.unwrap();
        let good = current.good.unwrap();
        assert_eq!(
            good.reading_id, readings[0].id,
            "{pbx}: the current license is the newest reading"
        );
        assert_eq!(
            good.read_at, readings[0].last_read_at,
            "{pbx}: the last successful read confirmed it"
        );
        assert!(
            good.read_at >= succeeded[0].started_at,
            "{pbx}: the newest successful attempt is recorded with its reading"
        );
    }
}

async fn a_poller_killed_mid_cycle_loses_nothing_and_its_work_is_finished_after_restart(
    backend: Backend,
) {
    let Some(fleet) = Fleet::start(backend, &fleet_toml()).await else {
        return;
    };
    // A first full cycle, so every instance has good data that must survive.
    let first = fleet.engine("node-a", 3).run_due().await;
    assert_eq!(first.succeeded, 12);
    let before_kill = history(&fleet).await;

    fleet.clock.advance(Duration::from_hours(7));
    let doomed = fleet.engine("node-a", 3);
    let cycle = tokio::spawn(async move { doomed.run_due().await });
    // Kill it once some, but not all, of this cycle's reads are recorded.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut recorded = 0;
        for &id in fleet.ids.values() {
            recorded += fleet
                .store()
                .attempts(fleet.tenant, id, 10)
                .await
                .unwrap()
                .len()
                - 1;
        }
        if recorded >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cycle made no progress"
        );
        tokio::task::yield_now().await;
    }
    cycle.abort();
    assert!(cycle.await.unwrap_err().is_cancelled(), "killed mid-cycle");

    assert_whole(&fleet).await;
    let after_kill = history(&fleet).await;
    let unfinished: Vec<InstanceId> = after_kill
        .iter()
        .filter(|(id, (_, reads))| *reads == before_kill[id].1)
        .map(|(&id, _)| id)
        .collect();
    assert!(
        !unfinished.is_empty(),
        "the kill came before the cycle's end"
    );
    for (id, (old, _)) in &before_kill {
        assert!(
            old.iter().all(|r| after_kill[id].0.contains(r)),
            "the history read before the kill is all there"
        );
    }

    // Restarted (a new process: a new node name). The dead node's leases lapse first.
    let restarted = fleet.engine("node-a-restarted", 3);
    fleet.clock.advance(TIMEOUT * 2 + Duration::from_secs(31));
    let report = restarted.run_due().await;
    assert_eq!(report.failed, 0);
    // A read whose commit was already on its way when the task was killed can still land
    // after the snapshot above (SQLite's connection thread finishes the statement it was
    // given): the restart reads some and at most the unfinished ones, and the count below
    // proves that each instance was read exactly once.
    assert!(
        (1..=unfinished.len()).contains(&report.succeeded),
        "the restart reads the unfinished ones: {} of {}",
        report.succeeded,
        unfinished.len()
    );
    assert_whole(&fleet).await;
    let finally = history(&fleet).await;
    for (id, (_, reads)) in &before_kill {
        assert_eq!(
            finally[id].1,
            reads + 1,
            "every instance read once this cycle"
        );
    }
}

on_both_backends!(a_poller_killed_mid_cycle_loses_nothing_and_its_work_is_finished_after_restart);
