//! Tenants: settings round-trip, unique names, lookups.

use runway_core::Secret;
use runway_core::{Milestone, ReminderPolicy, RenewalTemplate, Retention, Severity, Zone};
use runway_store::{NewUser, Role, TenantId, TenantSettings};

use crate::harness::{Harness, assert_conflict, assert_not_found, tenant};

fn settings(name: &str) -> TenantSettings {
    TenantSettings {
        name: name.into(),
        zone: Zone::parse("America/New_York").unwrap(),
        reminders: ReminderPolicy::new(
            vec![
                Milestone {
                    days_before: 30,
                    severity: Severity::Info,
                },
                Milestone {
                    days_before: 2,
                    severity: Severity::Critical,
                },
            ],
            false,
        )
        .unwrap(),
        renewal_template: RenewalTemplate::parse("https://shop.example/renew?k={key}").unwrap(),
        retention: Retention::new(90, 7).unwrap(),
        not_read_after_hours: 48,
        capacity_alerts: true,
        maintenance_reminders: true,
    }
}

async fn a_tenant_keeps_its_settings_through_create_update_and_list(h: Harness) {
    let store = h.store();
    let created = store.create_tenant(&settings("Acme MSP")).await.unwrap();
    assert_eq!(created.settings, settings("Acme MSP"));
    assert_eq!(store.tenant(created.id).await.unwrap(), created);

    let mut changed = settings("Acme Managed Services");
    changed.zone = Zone::parse("Europe/Berlin").unwrap();
    changed.capacity_alerts = false;
    changed.reminders = ReminderPolicy::default();
    changed.retention = Retention::new(3650, 1).unwrap();
    let updated = store.update_tenant(created.id, &changed).await.unwrap();
    assert_eq!(updated.settings, changed);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(store.tenant(created.id).await.unwrap(), updated);

    let other = tenant(store, "Beta MSP").await;
    let names: Vec<_> = store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.settings.name))
        .collect();
    assert_eq!(
        names,
        [
            (created.id, "Acme Managed Services".to_owned()),
            (other, "Beta MSP".to_owned())
        ]
    );
}

async fn tenant_names_are_unique_case_insensitively(h: Harness) {
    let store = h.store();
    tenant(store, "Acme MSP").await;
    assert_conflict(
        store
            .create_tenant(&TenantSettings::new(" ACME msp "))
            .await,
        "a tenant named \"ACME msp\" already exists",
    );
    let beta = tenant(store, "Beta").await;
    assert_conflict(
        store
            .update_tenant(beta, &TenantSettings::new("acme msp"))
            .await,
        "already exists",
    );
}

async fn an_unknown_tenant_is_not_found(h: Harness) {
    let store = h.store();
    assert_not_found(store.tenant(TenantId(4242)).await);
    assert_not_found(
        store
            .update_tenant(TenantId(4242), &TenantSettings::new("x"))
            .await,
    );
}

fn owner(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        display_name: "Owner".into(),
        role: Role::Owner,
        password_hash: Secret::new("$argon2id$hash"),
    }
}

/// First-run setup creates the tenant with its owner in one transaction, once: two setups
/// racing from two nodes leave one tenant, and an owner that cannot be created leaves none.
async fn first_run_setup_happens_once_and_never_half(h: Harness) {
    let store = h.store();
    let bad_owner = store
        .create_tenant_with_owner(&settings("Acme MSP"), &owner("not an email"), true)
        .await;
    assert!(bad_owner.is_err());
    assert!(
        store.tenants().await.unwrap().is_empty(),
        "nothing half-created"
    );

    let other_node = h.second_node().await;
    let (acme, beta) = (settings("Acme MSP"), settings("Beta MSP"));
    let (owner_a, owner_b) = (owner("a@acme.example"), owner("b@beta.example"));
    let (a, b) = tokio::join!(
        store.create_tenant_with_owner(&acme, &owner_a, true),
        other_node.create_tenant_with_owner(&beta, &owner_b, true)
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one setup: {a:?} {b:?}");
    let lost = if a.is_ok() { b } else { a };
    assert_conflict(lost.map(|_| ()), "already set up");
    let tenants = store.tenants().await.unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!(store.users(tenants[0].id).await.unwrap().len(), 1);
    assert_conflict(
        store
            .create_tenant_with_owner(&settings("Gamma MSP"), &owner("c@gamma.example"), true)
            .await
            .map(|_| ()),
        "already set up",
    );
    // Adding tenants later (runway admin) is not first-run setup.
    let (more, _) = store
        .create_tenant_with_owner(&settings("Delta MSP"), &owner("d@delta.example"), false)
        .await
        .unwrap();
    assert_eq!(more.settings.name, "Delta MSP");
}

conformance!(
    first_run_setup_happens_once_and_never_half,
    a_tenant_keeps_its_settings_through_create_update_and_list,
    tenant_names_are_unique_case_insensitively,
    an_unknown_tenant_is_not_found,
);
