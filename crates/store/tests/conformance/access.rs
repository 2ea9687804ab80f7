//! Web access: sessions, API tokens and calendar feeds are found by their secret's hash only
//! while valid, and nothing of one tenant's is reachable through another.

use runway_core::Secret;
use runway_store::{
    ApiTokenId, NewApiToken, NewUser, Role, SessionId, Store, TenantId, UserId, UserUpdate,
};

use crate::harness::{Harness, assert_conflict, assert_invalid, assert_not_found, at, tenant};

/// A hash-shaped value (64 hex digits) distinct per `n`.
fn hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

async fn user(store: &dyn Store, t: TenantId, email: &str) -> UserId {
    store
        .create_user(
            t,
            &NewUser {
                email: email.into(),
                display_name: "Dana".into(),
                role: Role::Admin,
                password_hash: Secret::new("$argon2id$hash"),
            },
        )
        .await
        .unwrap()
        .id
}

async fn a_session_is_found_by_its_hash_until_it_expires_or_is_deleted(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let u = user(store, t, "dana@acme.example").await;
    let now = at("2026-06-01T12:00:00Z");
    let ends = at("2026-06-01T20:00:00Z");
    let session = store
        .create_session(t, u, &hash(1), now, ends)
        .await
        .unwrap();
    assert_eq!((session.tenant_id, session.user_id), (t, u));
    assert_eq!(session.expires_at, ends);

    let found = store
        .session_by_token(&hash(1), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.credential, session);
    assert_eq!(found.user.id, u);
    assert_eq!(store.session_by_token(&hash(2), now).await.unwrap(), None);
    assert_eq!(
        store.session_by_token("not-a-hash", now).await.unwrap(),
        None,
        "malformed secrets find nothing rather than fail"
    );
    assert_eq!(
        store.session_by_token(&hash(1), ends).await.unwrap(),
        None,
        "a session is over at its end"
    );

    assert_conflict(
        store.create_session(t, u, &hash(1), now, ends).await,
        "in use",
    );
    assert_invalid(
        store
            .create_session(t, u, "plaintext-token", now, ends)
            .await,
        "64 lower-case hex digits",
    );
    assert_invalid(store.create_session(t, u, &hash(3), now, now).await, "end");

    store.delete_session(t, session.id).await.unwrap();
    assert_eq!(store.session_by_token(&hash(1), now).await.unwrap(), None);
    assert_not_found(store.delete_session(t, session.id).await);

    // Housekeeping removes only ended sessions.
    store
        .create_session(t, u, &hash(4), now, at("2026-06-01T13:00:00Z"))
        .await
        .unwrap();
    store
        .create_session(t, u, &hash(5), now, ends)
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_expired_sessions(at("2026-06-01T14:00:00Z"))
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .session_by_token(&hash(5), now)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.delete_user_sessions(t, u).await.unwrap(), 1);
    assert!(
        store
            .session_by_token(&hash(5), now)
            .await
            .unwrap()
            .is_none()
    );
}

async fn disabling_or_deleting_a_user_ends_its_sessions_and_tokens(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let u = user(store, t, "dana@acme.example").await;
    let other = user(store, t, "alex@acme.example").await;
    let now = at("2026-06-01T12:00:00Z");
    let ends = at("2026-06-02T12:00:00Z");
    store
        .create_session(t, u, &hash(1), now, ends)
        .await
        .unwrap();
    store
        .create_session(t, other, &hash(2), now, ends)
        .await
        .unwrap();
    let token = NewApiToken {
        user_id: u,
        name: "ci".into(),
        token_hash: hash(3),
    };
    store.create_api_token(t, &token, now).await.unwrap();

    let disable = UserUpdate {
        disabled: Some(true),
        ..UserUpdate::default()
    };
    store.update_user(t, u, &disable).await.unwrap();
    assert_eq!(store.session_by_token(&hash(1), now).await.unwrap(), None);
    assert_eq!(store.use_api_token(&hash(3), now).await.unwrap(), None);
    assert!(
        store
            .session_by_token(&hash(2), now)
            .await
            .unwrap()
            .is_some(),
        "other users keep their sessions"
    );

    let enable = UserUpdate {
        disabled: Some(false),
        ..UserUpdate::default()
    };
    store.update_user(t, u, &enable).await.unwrap();
    assert_eq!(
        store.session_by_token(&hash(1), now).await.unwrap(),
        None,
        "re-enabling does not revive old sessions"
    );
    assert!(
        store.use_api_token(&hash(3), now).await.unwrap().is_some(),
        "tokens work again for a re-enabled user until revoked"
    );

    store.delete_user(t, other).await.unwrap();
    assert_eq!(store.session_by_token(&hash(2), now).await.unwrap(), None);
    store.delete_user(t, u).await.unwrap();
    assert!(store.api_tokens(t).await.unwrap().is_empty());
    assert_eq!(store.use_api_token(&hash(3), now).await.unwrap(), None);
}

async fn an_api_token_is_listed_used_and_revoked(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let u = user(store, t, "dana@acme.example").await;
    let created_at = at("2026-06-01T12:00:00Z");
    let first = store
        .create_api_token(
            t,
            &NewApiToken {
                user_id: u,
                name: "  nightly export ".into(),
                token_hash: hash(1),
            },
            created_at,
        )
        .await
        .unwrap();
    assert_eq!(first.name, "nightly export");
    assert_eq!(first.user_email, "dana@acme.example");
    assert_eq!((first.last_used_at, first.revoked_at), (None, None));
    let second = store
        .create_api_token(
            t,
            &NewApiToken {
                user_id: u,
                name: "grafana".into(),
                token_hash: hash(2),
            },
            at("2026-06-01T13:00:00Z"),
        )
        .await
        .unwrap();
    let names: Vec<_> = store
        .api_tokens(t)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["grafana", "nightly export"], "newest first");

    let used_at = at("2026-06-02T08:00:00Z");
    let used = store
        .use_api_token(&hash(1), used_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.credential.id, first.id);
    assert_eq!(used.user.id, u);
    assert_eq!(used.credential.last_used_at, Some(used_at));
    let listed = store.api_tokens(t).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|x| x.id == first.id)
            .unwrap()
            .last_used_at,
        Some(used_at)
    );

    let revoked_at = at("2026-06-03T00:00:00Z");
    let revoked = store
        .revoke_api_token(t, first.id, revoked_at)
        .await
        .unwrap();
    assert!(revoked.is_revoked());
    assert_eq!(
        store.use_api_token(&hash(1), revoked_at).await.unwrap(),
        None
    );
    let again = store
        .revoke_api_token(t, first.id, at("2026-06-04T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(revoked_at),
        "the first revocation stands"
    );
    assert!(
        store
            .use_api_token(&hash(2), revoked_at)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(second.revoked_at, None);

    assert_invalid(
        store
            .create_api_token(
                t,
                &NewApiToken {
                    user_id: u,
                    name: "   ".into(),
                    token_hash: hash(9),
                },
                created_at,
            )
            .await,
        "token name",
    );
    assert_invalid(
        store
            .create_api_token(
                t,
                &NewApiToken {
                    user_id: u,
                    name: "plain".into(),
                    token_hash: "rw_secret".into(),
                },
                created_at,
            )
            .await,
        "hex",
    );
    assert_not_found(
        store
            .revoke_api_token(t, ApiTokenId(4242), created_at)
            .await,
    );
}

async fn sessions_and_tokens_of_one_tenant_are_out_of_reach_of_another(h: Harness) {
    let store = h.store();
    let a = tenant(store, "Acme MSP").await;
    let b = tenant(store, "Beta MSP").await;
    let user_a = user(store, a, "dana@acme.example").await;
    let now = at("2026-06-01T12:00:00Z");
    let ends = at("2026-06-02T12:00:00Z");
    let session = store
        .create_session(a, user_a, &hash(1), now, ends)
        .await
        .unwrap();
    let token = store
        .create_api_token(
            a,
            &NewApiToken {
                user_id: user_a,
                name: "ci".into(),
                token_hash: hash(2),
            },
            now,
        )
        .await
        .unwrap();

    // B cannot start a session or make a token for A's user.
    assert_not_found(store.create_session(b, user_a, &hash(3), now, ends).await);
    assert_not_found(
        store
            .create_api_token(
                b,
                &NewApiToken {
                    user_id: user_a,
                    name: "planted".into(),
                    token_hash: hash(4),
                },
                now,
            )
            .await,
    );
    // Nor see, end or revoke A's.
    assert!(store.api_tokens(b).await.unwrap().is_empty());
    assert_not_found(store.revoke_api_token(b, token.id, now).await);
    assert_not_found(store.delete_session(b, session.id).await);
    assert_eq!(store.delete_user_sessions(b, user_a).await.unwrap(), 0);
    assert_not_found(
        store
            .delete_session(b, SessionId(session.id.0 + 1000))
            .await,
    );

    // A's are untouched.
    let found = store
        .session_by_token(&hash(1), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.credential.tenant_id, a);
    let used = store.use_api_token(&hash(2), now).await.unwrap().unwrap();
    assert_eq!(used.credential.tenant_id, a);
    assert_eq!(store.api_tokens(a).await.unwrap().len(), 1);
}

async fn a_calendar_feed_is_found_by_its_hash_until_replaced_or_revoked(h: Harness) {
    let store = h.store();
    let a = tenant(store, "Acme MSP").await;
    let b = tenant(store, "Other MSP").await;
    assert_eq!(store.calendar_feed(a).await.unwrap(), None);
    assert_eq!(store.calendar_feed_by_token(&hash(1)).await.unwrap(), None);
    assert_invalid(
        store
            .set_calendar_feed(a, "plaintext", at("2026-06-01T12:00:00Z"))
            .await,
        "64 lower-case hex digits",
    );

    let made = at("2026-06-01T12:00:00Z");
    let feed = store.set_calendar_feed(a, &hash(1), made).await.unwrap();
    assert_eq!((feed.tenant_id, feed.created_at), (a, made));
    assert_eq!(store.calendar_feed(a).await.unwrap(), Some(feed.clone()));
    assert_eq!(
        store.calendar_feed_by_token(&hash(1)).await.unwrap(),
        Some(feed)
    );
    assert_eq!(store.calendar_feed(b).await.unwrap(), None, "B has none");
    assert_conflict(store.set_calendar_feed(b, &hash(1), made).await, "in use");

    // A new URL replaces the old one at once.
    let rotated_at = at("2026-06-02T12:00:00Z");
    let rotated = store
        .set_calendar_feed(a, &hash(2), rotated_at)
        .await
        .unwrap();
    assert_eq!(rotated.created_at, rotated_at);
    assert_eq!(store.calendar_feed_by_token(&hash(1)).await.unwrap(), None);
    assert_eq!(
        store.calendar_feed_by_token(&hash(2)).await.unwrap(),
        Some(rotated)
    );

    // B revoking touches nothing of A's; A revoking ends A's feed.
    assert!(!store.revoke_calendar_feed(b).await.unwrap());
    assert!(
        store
            .calendar_feed_by_token(&hash(2))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.revoke_calendar_feed(a).await.unwrap());
    assert!(!store.revoke_calendar_feed(a).await.unwrap());
    assert_eq!(store.calendar_feed_by_token(&hash(2)).await.unwrap(), None);
    assert_eq!(store.calendar_feed(a).await.unwrap(), None);
}

conformance!(
    a_session_is_found_by_its_hash_until_it_expires_or_is_deleted,
    a_calendar_feed_is_found_by_its_hash_until_replaced_or_revoked,
    disabling_or_deleting_a_user_ends_its_sessions_and_tokens,
    an_api_token_is_listed_used_and_revoked,
    sessions_and_tokens_of_one_tenant_are_out_of_reach_of_another,
);
