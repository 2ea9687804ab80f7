//! Credentials at rest: sealed, bound to their row, and only opened with the right key.

use runway_core::Secret;
use runway_store::{Credentials, Login, NewInstance, StoreError};

use crate::harness::{Harness, at, customer, tenant};

const PASSWORD: &str = "correct-horse-battery-staple";
const TOTP: &str = "JBSWY3DPEHPK3PXP";

fn user_login() -> Credentials {
    runway_testkit::secrets::used(PASSWORD);
    runway_testkit::secrets::used(TOTP);
    Credentials::User {
        username: "admin".into(),
        password: Secret::new(PASSWORD),
        totp_secret: Some(Secret::new(TOTP)),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn credentials_are_stored_encrypted(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let new = NewInstance::new(
        c,
        "pbx",
        Some(runway_core::BaseUrl::parse("https://pbx.example.com").unwrap()),
        Login::Pbx(user_login()),
    );
    let pbx = store
        .create_instance(t, &new, at("2026-06-01T00:00:00Z"))
        .await
        .unwrap();

    let raw = h.raw().await;
    let secret = raw.sealed("secret_sealed", pbx.id.0).await;
    let totp = raw.sealed("totp_sealed", pbx.id.0).await;
    raw.close().await;
    assert!(
        secret.len() > PASSWORD.len(),
        "nonce and tag are stored with the ciphertext"
    );
    assert!(
        !contains(&secret, PASSWORD),
        "the raw column holds the password in clear"
    );
    assert!(
        !contains(&totp, TOTP),
        "the raw column holds the TOTP seed in clear"
    );

    let credentials = store.credentials(t, pbx.id).await.unwrap();
    assert_eq!(credentials, user_login());
    let shown = format!("{credentials:?} {pbx:?}");
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(TOTP),
        "{shown}"
    );
}

async fn a_different_key_cannot_open_the_database(mut h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let new = NewInstance::new(
        c,
        "pbx",
        Some(runway_core::BaseUrl::parse("https://pbx.example.com").unwrap()),
        Login::Pbx(user_login()),
    );
    let pbx = store
        .create_instance(t, &new, at("2026-06-01T00:00:00Z"))
        .await
        .unwrap();

    let right = h.key.clone();
    let err = h.reopen(crate::harness::key()).await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto), "{err}");
    assert!(
        err.to_string()
            .contains("is RUNWAY_SECRET_KEY the one this database was created with?"),
        "{err}"
    );
    h.reopen(right).await.unwrap();
    assert_eq!(
        h.store().credentials(t, pbx.id).await.unwrap(),
        user_login()
    );
}

async fn a_ciphertext_moved_to_another_row_or_tenant_does_not_open(h: Harness) {
    let store = h.store();
    let now = at("2026-06-01T00:00:00Z");
    let a = tenant(store, "Acme MSP").await;
    let b = tenant(store, "Beta MSP").await;
    let ca = customer(store, a, "Acme").await;
    let cb = customer(store, b, "Beta").await;
    let login = |secret: &str| {
        runway_testkit::secrets::used(secret);
        Login::Pbx(Credentials::ApiClient {
            client_id: "id".into(),
            client_secret: Secret::new(secret),
        })
    };
    let victim = store
        .create_instance(
            a,
            &NewInstance::new(
                ca,
                "victim",
                Some(runway_core::BaseUrl::parse("https://v.example").unwrap()),
                login("victim"),
            ),
            now,
        )
        .await
        .unwrap();
    let same_tenant = store
        .create_instance(
            a,
            &NewInstance::new(
                ca,
                "other",
                Some(runway_core::BaseUrl::parse("https://o.example").unwrap()),
                login("other"),
            ),
            now,
        )
        .await
        .unwrap();
    let other_tenant = store
        .create_instance(
            b,
            &NewInstance::new(
                cb,
                "thief",
                Some(runway_core::BaseUrl::parse("https://t.example").unwrap()),
                login("thief"),
            ),
            now,
        )
        .await
        .unwrap();

    let raw = h.raw().await;
    let sealed = raw.sealed("secret_sealed", victim.id.0).await;
    raw.set_sealed_secret(same_tenant.id.0, sealed.clone())
        .await;
    raw.set_sealed_secret(other_tenant.id.0, sealed).await;
    raw.close().await;

    assert!(matches!(
        store.credentials(a, same_tenant.id).await,
        Err(StoreError::Crypto)
    ));
    assert!(matches!(
        store.credentials(b, other_tenant.id).await,
        Err(StoreError::Crypto)
    ));
    let Credentials::ApiClient { client_secret, .. } =
        store.credentials(a, victim.id).await.unwrap()
    else {
        panic!("the victim's login kind changed");
    };
    assert_eq!(client_secret.expose(), "victim");
}

conformance!(
    credentials_are_stored_encrypted,
    a_different_key_cannot_open_the_database,
    a_ciphertext_moved_to_another_row_or_tenant_does_not_open,
);
