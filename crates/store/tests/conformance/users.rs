//! Users: round-trip, sign-in lookup by email, emails unique within a tenant.

use runway_core::Secret;
use runway_store::{NewUser, Role, TenantId, UserUpdate};

use crate::harness::{Harness, assert_conflict, assert_invalid, assert_not_found, tenant};

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.into(),
        display_name: "Dana Ops".into(),
        role,
        password_hash: Secret::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
    }
}

async fn a_user_round_trips_and_is_found_by_email_for_sign_in(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let created = store
        .create_user(t, &new_user("Dana@Example.com", Role::Owner))
        .await
        .unwrap();
    assert_eq!(created.email, "Dana@Example.com");
    assert_eq!(created.role, Role::Owner);
    assert!(!created.disabled);
    assert_eq!(
        created.password_hash.expose(),
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
    );
    assert!(
        !format!("{created:?}").contains("argon2id"),
        "the hash never formats"
    );
    assert_eq!(store.user(t, created.id).await.unwrap(), created);

    let found = store.user_by_email(" dana@EXAMPLE.com ").await.unwrap();
    assert_eq!(
        found.as_ref().map(|u| (u.id, u.tenant_id)),
        Some((created.id, t))
    );
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );

    let second = store
        .create_user(t, &new_user("alex@example.com", Role::Viewer))
        .await
        .unwrap();
    let emails: Vec<_> = store
        .users(t)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["alex@example.com", "Dana@Example.com"]);

    let updated = store
        .update_user(
            t,
            second.id,
            &UserUpdate {
                role: Some(Role::Technician),
                disabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.role, updated.disabled), (Role::Technician, true));
    assert_eq!(updated.display_name, "Dana Ops", "untouched fields stay");
    let renamed = store
        .update_user(
            t,
            second.id,
            &UserUpdate {
                display_name: Some("Alex".into()),
                password_hash: Some(Secret::new("$argon2id$new")),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.display_name.as_str(),
            renamed.role,
            renamed.disabled
        ),
        ("Alex", Role::Technician, true)
    );
    assert_eq!(renamed.password_hash.expose(), "$argon2id$new");

    store.delete_user(t, second.id).await.unwrap();
    assert_not_found(store.user(t, second.id).await);
    assert_not_found(store.delete_user(t, second.id).await);
    assert_eq!(store.users(t).await.unwrap().len(), 1);
}

async fn emails_are_unique_within_a_tenant_and_another_tenants_say_nothing(h: Harness) {
    let store = h.store();
    let a = tenant(store, "Acme MSP").await;
    let b = tenant(store, "Beta MSP").await;
    let dana = store
        .create_user(a, &new_user("dana@example.com", Role::Owner))
        .await
        .unwrap();
    assert_conflict(
        store
            .create_user(a, &new_user("DANA@example.com", Role::Viewer))
            .await,
        "this account already has a user with the email address \"DANA@example.com\"",
    );
    // Another tenant may have the same address: nothing tells it Acme has one.
    let other = store
        .create_user(b, &new_user("DANA@example.com", Role::Owner))
        .await
        .unwrap();
    let found: Vec<_> = store
        .users_by_email("dana@EXAMPLE.com")
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.tenant_id))
        .collect();
    assert_eq!(found, [(dana.id, a), (other.id, b)]);
    assert_conflict(
        store.user_by_email("dana@example.com").await,
        "2 accounts have a user",
    );
    let emails: Vec<_> = store
        .users(b)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["DANA@example.com"]);
}

async fn bad_user_input_is_refused_with_a_reason(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    assert_invalid(
        store
            .create_user(t, &new_user("not-an-email", Role::Owner))
            .await,
        "is not an email address",
    );
    let mut empty_hash = new_user("x@example.com", Role::Owner);
    empty_hash.password_hash = Secret::new("");
    assert_invalid(store.create_user(t, &empty_hash).await, "password hash");
    assert_not_found(
        store
            .create_user(TenantId(4242), &new_user("y@example.com", Role::Owner))
            .await,
    );
}

/// However owners are demoted, disabled or deleted — one after another or at the same moment
/// from two nodes — an account keeps at least one owner who can sign in.
async fn an_account_always_keeps_an_owner(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let first = store
        .create_user(t, &new_user("first@acme.example", Role::Owner))
        .await
        .unwrap();
    let demote = UserUpdate {
        role: Some(Role::Admin),
        ..UserUpdate::default()
    };
    let disable = UserUpdate {
        disabled: Some(true),
        ..UserUpdate::default()
    };
    for refused in [
        store.update_user(t, first.id, &demote).await.map(|_| ()),
        store.update_user(t, first.id, &disable).await.map(|_| ()),
        store.delete_user(t, first.id).await,
    ] {
        assert_conflict(refused, "at least one owner");
    }
    assert_eq!(
        store.user(t, first.id).await.unwrap(),
        first,
        "nothing changed"
    );

    // Two owners demote each other at once, from two nodes: one of them stays owner. Raced
    // many times over, since one round may run the two one after the other anyway.
    let other_node = h.second_node().await;
    for round in 0..25 {
        let a = store
            .create_user(t, &new_user(&format!("a{round}@acme.example"), Role::Owner))
            .await
            .unwrap();
        let b = store
            .create_user(t, &new_user(&format!("b{round}@acme.example"), Role::Owner))
            .await
            .unwrap();
        store.update_user(t, first.id, &demote).await.unwrap();
        let (ra, rb) = tokio::join!(
            store.update_user(t, a.id, &demote),
            other_node.update_user(t, b.id, &demote)
        );
        assert!(ra.is_ok() != rb.is_ok(), "round {round}: {ra:?} {rb:?}");
        let owners: Vec<_> = store
            .users(t)
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Owner)
            .collect();
        assert_eq!(owners.len(), 1, "round {round}");
        // Hand ownership back to `first` and retire the survivor for the next round.
        let promote = UserUpdate {
            role: Some(Role::Owner),
            ..UserUpdate::default()
        };
        store.update_user(t, first.id, &promote).await.unwrap();
        store.update_user(t, owners[0].id, &demote).await.unwrap();
    }
}

conformance!(
    an_account_always_keeps_an_owner,
    a_user_round_trips_and_is_found_by_email_for_sign_in,
    emails_are_unique_within_a_tenant_and_another_tenants_say_nothing,
    bad_user_input_is_refused_with_a_reason,
);
