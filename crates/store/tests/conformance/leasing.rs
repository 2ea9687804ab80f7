//! Leasing due instances to poller nodes.

use std::collections::HashSet;
use std::time::Duration;

use runway_store::{InstanceId, Login, NewInstance};

use crate::harness::{Harness, assert_not_found, at, customer, instance, tenant};

const LEASE: Duration = Duration::from_mins(5);

async fn only_due_enabled_polled_unleased_instances_are_leased_soonest_first(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let later = instance(store, t, c, "later", at("2026-06-01T08:00:00Z")).await;
    let early = instance(store, t, c, "early", at("2026-06-01T07:00:00Z")).await;
    let future = instance(store, t, c, "future", at("2026-06-01T09:03:00Z")).await;
    let disabled = instance(store, t, c, "disabled", at("2026-06-01T07:00:00Z")).await;
    store
        .set_instance_enabled(t, disabled.id, false, at("2026-06-01T07:00:00Z"))
        .await
        .unwrap();
    let manual = NewInstance::new(c, "manual", None, Login::Manual);
    store
        .create_instance(t, &manual, at("2026-06-01T07:00:00Z"))
        .await
        .unwrap();

    let now = at("2026-06-01T09:00:00Z");
    let leased = store.lease_due(now, "node-a", LEASE, 1).await.unwrap();
    assert_eq!(
        leased.iter().map(|i| i.id).collect::<Vec<_>>(),
        [early.id],
        "limit, soonest"
    );
    let leased = store.lease_due(now, "node-a", LEASE, 10).await.unwrap();
    assert_eq!(leased.iter().map(|i| i.id).collect::<Vec<_>>(), [later.id]);
    let lease = &leased[0].schedule;
    assert_eq!(lease.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(lease.lease_until, Some(at("2026-06-01T09:05:00Z")));
    assert!(
        store
            .lease_due(now, "node-b", LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .lease_due(now, "node-a", LEASE, 0)
            .await
            .unwrap()
            .is_empty()
    );

    let soon = store
        .lease_due(at("2026-06-01T09:03:00Z"), "node-b", LEASE, 10)
        .await
        .unwrap();
    assert_eq!(soon.iter().map(|i| i.id).collect::<Vec<_>>(), [future.id]);
}

async fn two_nodes_leasing_at_once_never_get_the_same_instance(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let mut all = HashSet::new();
    for n in 0..200 {
        all.insert(
            instance(
                store,
                t,
                c,
                &format!("pbx-{n:03}"),
                at("2026-06-01T08:00:00Z"),
            )
            .await
            .id,
        );
    }
    let node_b = h.second_node().await;
    let now = at("2026-06-01T09:00:00Z");
    let mut tasks = Vec::new();
    for (node, store) in [("node-a", h.store.clone()), ("node-b", node_b.clone())] {
        for worker in 0..3 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut got: Vec<InstanceId> = Vec::new();
                loop {
                    let batch = store.lease_due(now, node, LEASE, 7).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    assert!(
                        batch
                            .iter()
                            .all(|i| i.schedule.lease_owner.as_deref() == Some(node))
                    );
                    got.extend(batch.iter().map(|i| i.id));
                }
                (node, worker, got)
            }));
        }
    }
    let mut seen = HashSet::new();
    let mut per_node = std::collections::HashMap::<&str, usize>::new();
    for task in tasks {
        let (node, _, got) = task.await.unwrap();
        *per_node.entry(node).or_default() += got.len();
        for id in got {
            assert!(seen.insert(id), "instance {id} was leased twice");
        }
    }
    assert_eq!(seen, all, "every due instance is leased exactly once");
    eprintln!("leases per node ({:?}): {per_node:?}", h.kind);
    if node_b.backend() == runway_store::Backend::Postgres {
        node_b.close().await;
    }
}

async fn an_expired_lease_is_taken_over_and_the_old_owner_cannot_finish_it(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T08:00:00Z")).await;
    let leased = store
        .lease_due(at("2026-06-01T09:00:00Z"), "node-a", LEASE, 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert!(
        store
            .lease_due(at("2026-06-01T09:04:59Z"), "node-b", LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "a live lease is respected"
    );
    let taken = store
        .lease_due(at("2026-06-01T09:05:00Z"), "node-b", LEASE, 10)
        .await
        .unwrap();
    assert_eq!(taken.iter().map(|i| i.id).collect::<Vec<_>>(), [pbx.id]);
    assert_eq!(taken[0].schedule.lease_owner.as_deref(), Some("node-b"));

    assert!(
        !store
            .finish_lease(pbx.id, "node-a", at("2026-06-01T15:00:00Z"))
            .await
            .unwrap(),
        "the old owner's finish does nothing"
    );
    let still = store.instance(t, pbx.id).await.unwrap().schedule;
    assert_eq!(still.lease_owner.as_deref(), Some("node-b"));
    assert_eq!(still.next_poll_at, at("2026-06-01T08:00:00Z"));

    assert!(
        store
            .finish_lease(pbx.id, "node-b", at("2026-06-01T15:00:00Z"))
            .await
            .unwrap()
    );
    let done = store.instance(t, pbx.id).await.unwrap().schedule;
    assert_eq!((done.lease_owner, done.lease_until), (None, None));
    assert_eq!(done.next_poll_at, at("2026-06-01T15:00:00Z"));
    assert!(
        store
            .lease_due(at("2026-06-01T14:59:59Z"), "node-a", LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn read_now_makes_an_instance_due_at_once(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T08:00:00Z")).await;
    store
        .lease_due(at("2026-06-01T08:00:00Z"), "node-a", LEASE, 10)
        .await
        .unwrap();
    store
        .finish_lease(pbx.id, "node-a", at("2026-06-01T14:00:00Z"))
        .await
        .unwrap();

    let now = at("2026-06-01T09:00:00Z");
    assert!(
        store
            .lease_due(now, "node-a", LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.request_poll_now(t, pbx.id, now).await.unwrap();
    let leased = store.lease_due(now, "node-a", LEASE, 10).await.unwrap();
    assert_eq!(leased.iter().map(|i| i.id).collect::<Vec<_>>(), [pbx.id]);
    assert_not_found(store.request_poll_now(t, InstanceId(4242), now).await);
}

async fn a_user_read_leases_one_instance_unless_another_read_holds_it(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let other = tenant(store, "Other MSP").await;
    let c = customer(store, t, "Acme").await;
    // Not due for hours: a user's read leases it anyway.
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T15:00:00Z")).await;
    let now = at("2026-06-01T09:00:00Z");

    let leased = store
        .lease_instance(t, pbx.id, "node-a", now, LEASE)
        .await
        .unwrap()
        .expect("a free instance is leased");
    assert_eq!(leased.schedule.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(
        leased.schedule.lease_until,
        Some(at("2026-06-01T09:05:00Z"))
    );

    for node in ["node-a", "node-b"] {
        assert_eq!(
            store
                .lease_instance(t, pbx.id, node, now, LEASE)
                .await
                .unwrap(),
            None,
            "{node}: a held lease is not taken again"
        );
    }
    assert_not_found(
        store
            .lease_instance(other, pbx.id, "node-b", now, LEASE)
            .await,
    );
    assert_not_found(
        store
            .lease_instance(t, InstanceId(4242), "node-b", now, LEASE)
            .await,
    );

    let lapsed = at("2026-06-01T09:05:00Z");
    let taken = store
        .lease_instance(t, pbx.id, "node-b", lapsed, LEASE)
        .await
        .unwrap()
        .expect("a lapsed lease is taken over");
    assert_eq!(taken.schedule.lease_owner.as_deref(), Some("node-b"));
    store.request_poll_now(t, pbx.id, lapsed).await.unwrap();
    assert!(
        store
            .lease_due(at("2026-06-01T09:06:00Z"), "node-a", LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "the scheduler skips a due instance while a user's read holds it"
    );
}

conformance!(
    a_user_read_leases_one_instance_unless_another_read_holds_it,
    only_due_enabled_polled_unleased_instances_are_leased_soonest_first,
    two_nodes_leasing_at_once_never_get_the_same_instance,
    an_expired_lease_is_taken_over_and_the_old_owner_cannot_finish_it,
    read_now_makes_an_instance_due_at_once,
);
