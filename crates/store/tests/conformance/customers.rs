//! Customers: round-trip, unique names, deleting with and without instances.

use runway_store::{CustomerDraft, TenantId};

use crate::harness::{
    Harness, assert_conflict, assert_invalid, assert_not_found, at, attempt, customer, facts,
    instance, reading, tenant,
};

async fn a_customer_round_trips_and_counts_its_instances(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let created = store
        .create_customer(
            t,
            &CustomerDraft {
                name: " Zeta Dental ".into(),
                notes: "renews via distributor".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.notes.as_str(),
            created.instance_count
        ),
        ("Zeta Dental", "renews via distributor", 0)
    );
    instance(store, t, created.id, "pbx-1", at("2026-06-01T00:00:00Z")).await;
    instance(store, t, created.id, "pbx-2", at("2026-06-01T00:00:00Z")).await;
    assert_eq!(
        store.customer(t, created.id).await.unwrap().instance_count,
        2
    );

    let alpha = customer(store, t, "alpha Law").await;
    let names: Vec<_> = store
        .customers(t)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    assert_eq!(
        names,
        [
            (alpha, "alpha Law".to_owned()),
            (created.id, "Zeta Dental".to_owned())
        ]
    );

    let renamed = store
        .update_customer(
            t,
            created.id,
            &CustomerDraft {
                name: "Zeta Dental Group".into(),
                notes: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.notes.as_str(),
            renamed.instance_count
        ),
        ("Zeta Dental Group", "", 2)
    );
    let listed = store.instances(t).await.unwrap();
    assert!(
        listed
            .iter()
            .all(|i| i.customer_name == "Zeta Dental Group")
    );
}

async fn customer_names_are_unique_per_tenant(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    customer(store, t, "Acme").await;
    assert_conflict(
        store
            .create_customer(t, &CustomerDraft::named("Acme"))
            .await,
        "a customer named \"Acme\" already exists",
    );
    assert_conflict(
        store
            .create_customer(t, &CustomerDraft::named("ACME"))
            .await,
        "already exists",
    );
    let other = customer(store, t, "Other").await;
    assert_conflict(
        store
            .update_customer(t, other, &CustomerDraft::named("acme"))
            .await,
        "a customer named \"acme\" already exists",
    );
    // Another tenant may use the same name.
    let u = tenant(store, "Beta MSP").await;
    customer(store, u, "Acme").await;
    assert_invalid(
        store.create_customer(t, &CustomerDraft::named("  ")).await,
        "must not be empty",
    );
    assert_not_found(
        store
            .create_customer(TenantId(4242), &CustomerDraft::named("x"))
            .await,
    );
}

async fn deleting_a_customer_with_instances_needs_the_cascade_flag(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T00:00:00Z")).await;
    store
        .record_reading(
            t,
            pbx.id,
            &reading(
                "2026-06-01T00:00:05Z",
                facts("KEY-1", "2027-01-01T00:00:00Z"),
            ),
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[],
        )
        .await
        .unwrap();

    assert_conflict(
        store.delete_customer(t, c, false).await,
        "the customer \"Acme\" still has 1 instance",
    );
    assert_eq!(
        store.instances(t).await.unwrap().len(),
        1,
        "nothing deleted"
    );

    store.delete_customer(t, c, true).await.unwrap();
    assert_not_found(store.customer(t, c).await);
    assert_not_found(store.instance(t, pbx.id).await);
    let raw = h.raw().await;
    for table in [
        "instances",
        "license_readings",
        "current_licenses",
        "poll_attempts",
    ] {
        assert_eq!(
            raw.count(table).await,
            0,
            "{table} keeps rows of a deleted customer"
        );
    }
    raw.close().await;

    let empty = customer(store, t, "Empty").await;
    store.delete_customer(t, empty, false).await.unwrap();
    assert_not_found(store.delete_customer(t, empty, false).await);
}

conformance!(
    a_customer_round_trips_and_counts_its_instances,
    customer_names_are_unique_per_tenant,
    deleting_a_customer_with_instances_needs_the_cascade_flag,
);
