//! Instances: settings, logins, manual instances, enable/disable, delete with history.

use std::time::Duration;

use runway_core::{BaseUrl, PollInterval, Secret};
use runway_store::{
    Credentials, InstanceUpdate, Login, LoginKind, NewInstance, ReadingSource, TlsOptions,
};

use crate::harness::{
    Harness, api_client, assert_conflict, assert_invalid, assert_not_found, at, attempt, customer,
    facts, instance, manual_reading, reading, tenant,
};

async fn an_instance_keeps_its_settings_and_is_due_at_creation(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let now = at("2026-06-01T08:00:00Z");
    let mut new = NewInstance::new(
        c,
        "Head office",
        Some(url("https://PBX.acme.example:5001/")),
        Login::Pbx(api_client("s3cret")),
    );
    new.tls = TlsOptions {
        custom_ca_pem: Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----".into()),
        accept_invalid_certs: true,
    };
    let created = store.create_instance(t, &new, now).await.unwrap();
    assert_eq!(created.name, "Head office");
    assert_eq!(created.customer_name, "Acme");
    assert_eq!(
        created
            .base_url
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("https://pbx.acme.example:5001"),
        "stored in its normal form"
    );
    assert_eq!(created.login_kind, LoginKind::ApiClient);
    assert_eq!(created.login_identity.as_deref(), Some("runway"));
    assert!(!created.has_totp);
    assert_eq!(created.poll_interval, PollInterval::DEFAULT);
    assert!(created.enabled);
    assert_eq!(created.tls, new.tls);
    assert_eq!((created.created_at, created.updated_at), (now, now));
    assert_eq!(created.schedule.next_poll_at, now);
    assert_eq!(created.schedule.lease_owner, None);
    assert_eq!(created.schedule.consecutive_failures, 0);
    assert_eq!(store.instance(t, created.id).await.unwrap(), created);
    assert_eq!(
        store.license(t, created.id).await.unwrap(),
        runway_store::LicenseState::default()
    );
}

async fn credentials_of_every_login_kind_come_back_decrypted(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let now = at("2026-06-01T08:00:00Z");
    for secret in ["pa55word", "JBSWY3DPEHPK3PXP", "old-pass"] {
        runway_testkit::secrets::used(secret);
    }
    let logins = [
        api_client("client-secret"),
        Credentials::User {
            username: "admin".into(),
            password: Secret::new("pa55word"),
            totp_secret: Some(Secret::new("JBSWY3DPEHPK3PXP")),
        },
        Credentials::User {
            username: "nomfa".into(),
            password: Secret::new("pa55word"),
            totp_secret: None,
        },
        Credentials::Legacy {
            username: "legacy-admin".into(),
            password: Secret::new("old-pass"),
        },
    ];
    for (n, credentials) in logins.into_iter().enumerate() {
        let new = NewInstance::new(
            c,
            format!("pbx-{n}"),
            Some(url("https://pbx.example.com")),
            Login::Pbx(credentials.clone()),
        );
        let created = store.create_instance(t, &new, now).await.unwrap();
        assert_eq!(created.login_kind, credentials.kind());
        assert_eq!(
            created.login_identity.as_deref(),
            Some(credentials.identity())
        );
        assert_eq!(
            created.has_totp,
            matches!(
                credentials,
                Credentials::User {
                    totp_secret: Some(_),
                    ..
                }
            )
        );
        assert_eq!(store.credentials(t, created.id).await.unwrap(), credentials);
    }
}

fn url(text: &str) -> BaseUrl {
    BaseUrl::parse(text).unwrap()
}

async fn a_manual_instance_takes_its_license_as_manual_readings_and_only_those(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let now = at("2026-06-01T08:00:00Z");
    let new = NewInstance::new(c, "Closed site", None, Login::Manual);
    let created = store.create_instance(t, &new, now).await.unwrap();
    assert_eq!(created.login_kind, LoginKind::Manual);
    assert_eq!(created.login_identity, None);
    assert_eq!(created.base_url, None);
    assert_eq!(
        store.license(t, created.id).await.unwrap(),
        runway_store::LicenseState::default(),
        "creating an instance records no license"
    );

    let typed = facts("MANUAL-KEY", "2026-12-31T00:00:00Z");
    let id = store
        .record_reading(
            t,
            created.id,
            &manual_reading("2026-06-01T08:00:00Z", typed.clone()),
            None,
            &[],
        )
        .await
        .unwrap();
    let license = store.license(t, created.id).await.unwrap();
    let good = license.good.unwrap();
    assert_eq!(
        (good.reading_id, good.facts, good.source, good.read_at),
        (id, typed, ReadingSource::Manual, now)
    );
    assert_eq!(license.last_attempt, None, "nothing was read from a PBX");
    assert!(store.attempts(t, created.id, 10).await.unwrap().is_empty());
    let readings = store.readings(t, created.id, 10).await.unwrap();
    assert_eq!((readings.len(), readings[0].raw_body.clone()), (1, None));
    assert_invalid(store.credentials(t, created.id).await, "manual instance");

    // A PBX reading is refused for a manual instance, and a manual one for a polled instance.
    assert_invalid(
        store
            .record_reading(
                t,
                created.id,
                &reading("2026-06-02T00:00:00Z", facts("K", "2027-01-01T00:00:00Z")),
                Some(&attempt("2026-06-02T00:00:00Z")),
                &[],
            )
            .await,
        "manual instance",
    );
    let polled = instance(store, t, c, "polled", now).await;
    assert_invalid(
        store
            .record_reading(
                t,
                polled.id,
                &manual_reading("2026-06-02T00:00:00Z", facts("K", "2027-01-01T00:00:00Z")),
                None,
                &[],
            )
            .await,
        "only manual instances",
    );
    assert_eq!(store.readings(t, created.id, 10).await.unwrap().len(), 1);
}

async fn updating_an_instance_writes_no_license(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let now = at("2026-06-01T08:00:00Z");
    let pbx = instance(store, t, c, "pbx", now).await;
    store
        .record_reading(
            t,
            pbx.id,
            &reading("2026-06-01T08:00:02Z", facts("K1", "2026-07-01T00:00:00Z")),
            Some(&attempt("2026-06-01T08:00:00Z")),
            &[],
        )
        .await
        .unwrap();
    let before = store.license(t, pbx.id).await.unwrap();
    // Turning it manual drops its credentials and keeps its license until one is typed in.
    let mut update = InstanceUpdate::from_instance(&pbx);
    update.login = Some(Login::Manual);
    let manual = store
        .update_instance(t, pbx.id, &update, at("2026-06-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(manual.login_kind, LoginKind::Manual);
    assert_invalid(store.credentials(t, pbx.id).await, "manual instance");
    assert_eq!(store.license(t, pbx.id).await.unwrap(), before);
    assert_eq!(store.readings(t, pbx.id, 10).await.unwrap().len(), 1);
}

async fn updating_an_instance_keeps_credentials_unless_new_ones_are_given(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let other_customer = customer(store, t, "Other").await;
    let now = at("2026-06-01T08:00:00Z");
    let pbx = instance(store, t, c, "pbx", now).await;
    instance(store, t, other_customer, "taken", now).await;

    let later = at("2026-06-02T08:00:00Z");
    let mut update = InstanceUpdate::from_instance(&pbx);
    update.name = "PBX main".into();
    update.base_url = Some(url("https://new.example.com"));
    update.poll_interval = PollInterval::new(Duration::from_hours(1)).unwrap();
    update.customer_id = other_customer;
    let updated = store
        .update_instance(t, pbx.id, &update, later)
        .await
        .unwrap();
    assert_eq!(
        (
            updated.name.as_str(),
            updated.base_url.as_ref().map(ToString::to_string),
            updated.poll_interval.get(),
            updated.customer_name.as_str(),
            updated.updated_at,
            updated.created_at
        ),
        (
            "PBX main",
            Some("https://new.example.com".to_owned()),
            Duration::from_hours(1),
            "Other",
            later,
            now
        )
    );
    assert_eq!(
        store.credentials(t, pbx.id).await.unwrap(),
        api_client("secret-of-pbx")
    );

    let user = Credentials::User {
        username: "admin".into(),
        password: Secret::new("new-pass"),
        totp_secret: None,
    };
    runway_testkit::secrets::used("new-pass");
    update.login = Some(Login::Pbx(user.clone()));
    let switched = store
        .update_instance(t, pbx.id, &update, later)
        .await
        .unwrap();
    assert_eq!(switched.login_kind, LoginKind::User);
    assert_eq!(store.credentials(t, pbx.id).await.unwrap(), user);

    update.login = None;
    update.name = "TAKEN".into();
    assert_conflict(
        store.update_instance(t, pbx.id, &update, later).await,
        "this customer already has an instance named \"TAKEN\"",
    );
    // The old name is free again under the customer the instance moved away from.
    let reused = NewInstance::new(
        c,
        "PBX",
        Some(url("https://x.example")),
        Login::Pbx(api_client("s")),
    );
    store.create_instance(t, &reused, now).await.unwrap();
}

async fn bad_instance_settings_are_refused_with_a_reason(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let now = at("2026-06-01T08:00:00Z");
    let valid = NewInstance::new(
        c,
        "pbx",
        Some(url("https://pbx.example.com")),
        Login::Pbx(api_client("s")),
    );

    let mut no_url = valid.clone();
    no_url.base_url = None;
    assert_invalid(
        store.create_instance(t, &no_url, now).await,
        "needs its address",
    );

    let mut no_secret = valid.clone();
    no_secret.login = Login::Pbx(api_client(""));
    assert_invalid(
        store.create_instance(t, &no_secret, now).await,
        "client secret",
    );

    let mut bad_ca = valid.clone();
    bad_ca.tls.custom_ca_pem = Some("not a certificate".into());
    assert_invalid(store.create_instance(t, &bad_ca, now).await, "PEM");

    let mut unknown_customer = valid.clone();
    unknown_customer.customer_id = runway_store::CustomerId(4242);
    assert_not_found(store.create_instance(t, &unknown_customer, now).await);

    store.create_instance(t, &valid, now).await.unwrap();
    assert_conflict(
        store.create_instance(t, &valid, now).await,
        "this customer already has an instance named \"pbx\"",
    );
    assert!(store.instances(t).await.unwrap().len() == 1);
}

async fn disabling_and_enabling_an_instance(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let pbx = instance(store, t, c, "pbx", at("2026-06-01T08:00:00Z")).await;
    let lease = Duration::from_mins(1);
    let leased = store
        .lease_due(at("2026-06-01T08:00:00Z"), "node-a", lease, 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert!(
        store
            .finish_lease(pbx.id, "node-a", at("2026-06-01T14:00:00Z"))
            .await
            .unwrap()
    );

    let off = store
        .set_instance_enabled(t, pbx.id, false, at("2026-06-01T09:00:00Z"))
        .await
        .unwrap();
    assert!(!off.enabled);
    assert_eq!(off.updated_at, at("2026-06-01T09:00:00Z"));
    let due_later = store
        .lease_due(at("2026-06-01T15:00:00Z"), "node-a", lease, 10)
        .await
        .unwrap();
    assert!(due_later.is_empty(), "a disabled instance is never leased");

    let on = store
        .set_instance_enabled(t, pbx.id, true, at("2026-06-01T10:00:00Z"))
        .await
        .unwrap();
    assert!(on.enabled);
    assert_eq!(
        on.schedule.next_poll_at,
        at("2026-06-01T10:00:00Z"),
        "enabling makes it due"
    );
}

async fn deleting_an_instance_deletes_its_history(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let c = customer(store, t, "Acme").await;
    let keep = instance(store, t, c, "keep", at("2026-06-01T08:00:00Z")).await;
    let gone = instance(store, t, c, "gone", at("2026-06-01T08:00:00Z")).await;
    for pbx in [&keep, &gone] {
        store
            .record_reading(
                t,
                pbx.id,
                &reading("2026-06-01T08:00:01Z", facts("K", "2027-01-01T00:00:00Z")),
                Some(&attempt("2026-06-01T08:00:00Z")),
                &[crate::history::event("2026-06-01T08:00:01Z")],
            )
            .await
            .unwrap();
    }
    store.delete_instance(t, gone.id).await.unwrap();
    assert_not_found(store.instance(t, gone.id).await);
    assert_not_found(store.readings(t, gone.id, 10).await);
    assert_not_found(store.delete_instance(t, gone.id).await);
    let raw = h.raw().await;
    for table in [
        "license_readings",
        "current_licenses",
        "poll_attempts",
        "instance_events",
    ] {
        assert_eq!(
            raw.count(table).await,
            1,
            "{table} should keep only the other instance's row"
        );
    }
    raw.close().await;
    assert_eq!(store.readings(t, keep.id, 10).await.unwrap().len(), 1);
}

async fn instances_are_listed_by_customer_then_name(h: Harness) {
    let store = h.store();
    let t = tenant(store, "Acme MSP").await;
    let b = customer(store, t, "Bravo").await;
    let a = customer(store, t, "alpha").await;
    let now = at("2026-06-01T08:00:00Z");
    for (customer, name) in [(b, "z"), (a, "Y"), (b, "a"), (a, "b")] {
        instance(store, t, customer, name, now).await;
    }
    let listed: Vec<_> = store
        .instances(t)
        .await
        .unwrap()
        .into_iter()
        .map(|i| format!("{}/{}", i.customer_name, i.name))
        .collect();
    assert_eq!(listed, ["alpha/b", "alpha/Y", "Bravo/a", "Bravo/z"]);
}

conformance!(
    an_instance_keeps_its_settings_and_is_due_at_creation,
    credentials_of_every_login_kind_come_back_decrypted,
    a_manual_instance_takes_its_license_as_manual_readings_and_only_those,
    updating_an_instance_writes_no_license,
    updating_an_instance_keeps_credentials_unless_new_ones_are_given,
    bad_instance_settings_are_refused_with_a_reason,
    disabling_and_enabling_an_instance,
    deleting_an_instance_deletes_its_history,
    instances_are_listed_by_customer_then_name,
);
