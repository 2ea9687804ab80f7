//! The counts behind the Prometheus metrics: failed reads per instance and kind, instances
//! due, and outbox rows by state — each scoped to its tenant.

use std::time::Duration;

use runway_store::{
    AttemptError, DeliveryCounts, FailureKind, Login, NewInstance, ReadFailureCount,
};

use crate::harness::{Harness, at, attempt, customer, instance, tenant};

fn error(kind: FailureKind) -> AttemptError {
    AttemptError {
        kind,
        message: format!("{kind} for the metrics"),
    }
}

async fn failed_reads_are_counted_per_instance_and_kind_within_the_tenant(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let other = tenant(store, "Other MSP").await;
    let c = customer(store, t, "Acme").await;
    let oc = customer(store, other, "Elsewhere").await;
    let now = at("2026-06-01T06:00:00Z");
    let first = instance(store, t, c, "pbx-a", now).await;
    let second = instance(store, t, c, "pbx-b", now).await;
    let quiet = instance(store, t, c, "pbx-quiet", now).await;
    let foreign = instance(store, other, oc, "pbx-foreign", now).await;
    for (pbx, tenant_id, kind, times) in [
        (&first, t, FailureKind::Timeout, 3),
        (&first, t, FailureKind::LoginRejected, 1),
        (&second, t, FailureKind::Unreachable, 2),
        (&foreign, other, FailureKind::Timeout, 5),
    ] {
        for n in 0..times {
            let started = format!("2026-06-01T06:0{n}:00Z");
            store
                .record_failure(tenant_id, pbx.id, &attempt(&started), &error(kind), &[])
                .await
                .unwrap();
        }
    }
    let mut counts = store.read_failure_counts(t).await.unwrap();
    counts.sort_by_key(|c| (c.instance.0, c.kind.as_str()));
    let mut want = vec![
        ReadFailureCount {
            instance: first.id,
            kind: FailureKind::LoginRejected,
            count: 1,
        },
        ReadFailureCount {
            instance: first.id,
            kind: FailureKind::Timeout,
            count: 3,
        },
        ReadFailureCount {
            instance: second.id,
            kind: FailureKind::Unreachable,
            count: 2,
        },
    ];
    want.sort_by_key(|c| (c.instance.0, c.kind.as_str()));
    assert_eq!(
        counts, want,
        "no row for {:?}, none of the other tenant",
        quiet.id
    );
    let foreign_counts = store.read_failure_counts(other).await.unwrap();
    assert_eq!(foreign_counts.len(), 1);
    assert_eq!(foreign_counts[0].count, 5);
}

async fn instances_due_are_those_the_scheduler_would_lease(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let other = tenant(store, "Other MSP").await;
    let c = customer(store, t, "Acme").await;
    let oc = customer(store, other, "Elsewhere").await;
    let early = at("2026-06-01T07:00:00Z");
    instance(store, t, c, "due-1", early).await;
    instance(store, t, c, "due-2", early).await;
    let leased = instance(store, t, c, "leased", early).await;
    instance(store, t, c, "future", at("2026-06-01T09:30:00Z")).await;
    let disabled = instance(store, t, c, "disabled", early).await;
    store
        .set_instance_enabled(t, disabled.id, false, early)
        .await
        .unwrap();
    store
        .create_instance(
            t,
            &NewInstance::new(c, "manual", None, Login::Manual),
            early,
        )
        .await
        .unwrap();
    instance(store, other, oc, "foreign", early).await;
    let now = at("2026-06-01T09:00:00Z");
    assert_eq!(
        store.instances_due(t, now).await.unwrap(),
        3,
        "due-1, due-2 and leased; not the future, disabled or manual one"
    );
    store
        .lease_instance(t, leased.id, "node-a", now, Duration::from_mins(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.instances_due(t, now).await.unwrap(),
        2,
        "one being read is not waiting"
    );
    assert_eq!(store.instances_due(other, now).await.unwrap(), 1);
    assert_eq!(
        store.delivery_counts(t).await.unwrap(),
        DeliveryCounts::default(),
        "no channels, no deliveries"
    );
}

conformance!(
    failed_reads_are_counted_per_instance_and_kind_within_the_tenant,
    instances_due_are_those_the_scheduler_would_lease,
);
