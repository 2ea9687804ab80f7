//! Tenant isolation: nothing of tenant A is reachable through any call made for tenant B.
//!
//! For every tenant-scoped operation, tenant B calls it with tenant A's ids and gets `NotFound`
//! (or an empty list); afterwards A's data is exactly as it was.

use std::fmt::Write as _;

use runway_core::Secret;
use runway_store::{
    CustomerDraft, InstanceUpdate, Login, NewInstance, NewUser, Role, Store, TenantId,
    TenantSettings, UserUpdate,
};

use crate::harness::{
    Harness, assert_not_found, at, attempt, customer, facts, instance, manual_reading, reading,
    tenant,
};
use crate::history::event;

/// Everything tenant A can see, to compare before and after.
async fn snapshot(store: &dyn Store, t: TenantId) -> String {
    let mut out = format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n",
        store.tenant(t).await.unwrap(),
        store.users(t).await.unwrap(),
        store.customers(t).await.unwrap(),
        store.instances(t).await.unwrap(),
        store.fleet(t).await.unwrap(),
    );
    for i in store.instances(t).await.unwrap() {
        writeln!(
            out,
            "{:?}\n{:?}\n{:?}\n{:?}",
            store.readings(t, i.id, 100).await.unwrap(),
            store.events(t, i.id, 100).await.unwrap(),
            store.attempts(t, i.id, 100).await.unwrap(),
            store.credentials(t, i.id).await.map_err(|e| e.to_string()),
        )
        .unwrap();
    }
    out
}

async fn nothing_of_one_tenant_is_reachable_through_another(h: Harness) {
    let store = h.store();
    let now = at("2026-06-01T00:00:00Z");
    let a = tenant(store, "Acme MSP").await;
    let b = tenant(store, "Beta MSP").await;
    let user_a = store
        .create_user(
            a,
            &NewUser {
                email: "owner@acme.example".into(),
                display_name: "Owner".into(),
                role: Role::Owner,
                password_hash: Secret::new("$argon2id$hash"),
            },
        )
        .await
        .unwrap();
    let customer_a = customer(store, a, "Acme Customer").await;
    let pbx_a = instance(store, a, customer_a, "pbx", now).await;
    store
        .record_reading(
            a,
            pbx_a.id,
            &reading(
                "2026-06-01T00:00:02Z",
                facts("KEY-A", "2026-07-01T00:00:00Z"),
            ),
            Some(&attempt("2026-06-01T00:00:00Z")),
            &[event("2026-06-01T00:00:02Z")],
        )
        .await
        .unwrap();
    let manual_a = store
        .create_instance(
            a,
            &NewInstance::new(customer_a, "manual", None, Login::Manual),
            now,
        )
        .await
        .unwrap();
    store
        .record_reading(
            a,
            manual_a.id,
            &manual_reading(
                "2026-06-01T00:00:00Z",
                facts("KEY-M", "2026-09-01T00:00:00Z"),
            ),
            None,
            &[],
        )
        .await
        .unwrap();
    let customer_b = customer(store, b, "Beta Customer").await;
    let before = snapshot(store, a).await;

    // Users.
    assert_not_found(store.user(b, user_a.id).await);
    assert!(store.users(b).await.unwrap().is_empty());
    let promote = UserUpdate {
        role: Some(Role::Viewer),
        disabled: Some(true),
        ..UserUpdate::default()
    };
    assert_not_found(store.update_user(b, user_a.id, &promote).await);
    assert_not_found(store.delete_user(b, user_a.id).await);

    // Customers.
    assert_not_found(store.customer(b, customer_a).await);
    assert!(
        store
            .customers(b)
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != customer_a)
    );
    assert_not_found(
        store
            .update_customer(b, customer_a, &CustomerDraft::named("Hijacked"))
            .await,
    );
    assert_not_found(store.delete_customer(b, customer_a, false).await);
    assert_not_found(store.delete_customer(b, customer_a, true).await);

    // Instances: B cannot create one under A's customer, nor see or change A's.
    assert_not_found(
        store
            .create_instance(
                b,
                &NewInstance::new(
                    customer_a,
                    "planted",
                    Some(runway_core::BaseUrl::parse("https://x.example").unwrap()),
                    Login::Pbx(crate::harness::api_client("s")),
                ),
                now,
            )
            .await,
    );
    assert_not_found(store.instance(b, pbx_a.id).await);
    assert!(store.instances(b).await.unwrap().is_empty());
    let mut update = InstanceUpdate::from_instance(&pbx_a);
    update.customer_id = customer_b;
    assert_not_found(store.update_instance(b, pbx_a.id, &update, now).await);
    assert_not_found(store.set_instance_enabled(b, pbx_a.id, false, now).await);
    assert_not_found(store.delete_instance(b, pbx_a.id).await);
    assert_not_found(store.credentials(b, pbx_a.id).await);
    assert_not_found(
        store
            .record_reading(
                b,
                manual_a.id,
                &manual_reading(
                    "2026-06-01T00:00:00Z",
                    facts("EVIL", "2030-01-01T00:00:00Z"),
                ),
                None,
                &[],
            )
            .await,
    );
    // A cannot move its own instance under B's customer either.
    assert_not_found(store.update_instance(a, pbx_a.id, &update, now).await);

    // History and the fleet.
    assert_not_found(
        store
            .record_reading(
                b,
                pbx_a.id,
                &reading(
                    "2026-06-02T00:00:00Z",
                    facts("EVIL", "2030-01-01T00:00:00Z"),
                ),
                Some(&attempt("2026-06-02T00:00:00Z")),
                &[event("2026-06-02T00:00:00Z")],
            )
            .await,
    );
    assert_not_found(
        store
            .record_failure(
                b,
                pbx_a.id,
                &attempt("2026-06-02T00:00:00Z"),
                &runway_store::AttemptError {
                    kind: runway_store::FailureKind::Timeout,
                    message: "planted".into(),
                },
                &[],
            )
            .await,
    );
    assert_not_found(store.license(b, pbx_a.id).await);
    assert!(store.fleet(b).await.unwrap().is_empty());
    assert_not_found(store.readings(b, pbx_a.id, 10).await);
    assert_not_found(store.events(b, pbx_a.id, 10).await);
    assert_not_found(store.attempts(b, pbx_a.id, 10).await);
    assert_not_found(store.request_poll_now(b, pbx_a.id, now).await);

    // Tenant settings are per tenant id; B's update cannot take A's name.
    assert!(
        store
            .update_tenant(b, &TenantSettings::new("Acme MSP"))
            .await
            .is_err()
    );

    assert_eq!(snapshot(store, a).await, before, "tenant A's data changed");
}

conformance!(nothing_of_one_tenant_is_reachable_through_another);
