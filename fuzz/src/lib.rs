//! What the fuzz targets share: a store to check instance drafts against.
//!
//! The checks of an instance draft look its customer up, so the targets that reach them keep
//! one SQLite store (in a temporary directory) with one tenant and one customer for the whole
//! fuzzing run, and a runtime to drive it.

use std::sync::{Arc, LazyLock};

use runway_core::Zone;
use runway_store::{
    CustomerDraft, CustomerId, OpenOptions, SecretKey, Store, TenantId, TenantSettings,
};
use runway_web::edit::InstanceDraft;

/// A store with one tenant and one customer.
pub struct Fixture {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn Store>,
    /// The tenant.
    pub tenant: TenantId,
    /// Its customer.
    pub customer: CustomerId,
    /// Kept for the run: the store's directory.
    _dir: tempfile::TempDir,
}

/// The fixture, made on first use.
pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("fuzz.db").display());
    let (store, tenant, customer) = runtime.block_on(async {
        let key = SecretKey::generate().expect("a secret key");
        let store = runway_store::open(&url, OpenOptions::new(key))
            .await
            .expect("a store");
        let tenant = store
            .create_tenant(&TenantSettings::new("Fuzz MSP"))
            .await
            .expect("a tenant")
            .id;
        let customer = store
            .create_customer(tenant, &CustomerDraft::named("Acme"))
            .await
            .expect("a customer")
            .id;
        (store, tenant, customer)
    });
    Fixture {
        runtime,
        store,
        tenant,
        customer,
        _dir: dir,
    }
});

impl Fixture {
    /// Checks a draft for a new instance in `zone`, as the forms and the API do; an accepted
    /// one must keep the documented limits (checked here, so a violation is a crash).
    pub fn check_instance(&self, draft: &InstanceDraft, zone: &Zone) {
        let checked = self.runtime.block_on(runway_web::fuzzing::check_instance(
            draft,
            &*self.store,
            self.tenant,
            zone,
        ));
        let Ok((update, manual)) = checked else {
            return;
        };
        assert!(!update.name.is_empty() && update.name == draft.name.trim());
        assert!(
            (runway_core::PollInterval::MIN..=runway_core::PollInterval::MAX)
                .contains(&update.poll_interval)
        );
        if let Some(url) = &update.base_url {
            assert_eq!(
                &runway_core::BaseUrl::parse(&url.to_string()).expect("normal form"),
                url
            );
        }
        assert!(
            update
                .tls
                .custom_ca_pem
                .as_ref()
                .is_none_or(|pem| pem.len() <= runway_core::MAX_CA_PEM_BYTES)
        );
        if let Some(expiry) = manual.and_then(|facts| facts.expiry) {
            assert_eq!(
                Some(zone.date_of(expiry)),
                draft
                    .manual_expiry_date
                    .trim()
                    .parse::<runway_core::Date>()
                    .ok(),
                "the date typed is the date every rule sees"
            );
        }
    }
}

/// A zone picked by a byte of the input.
pub fn zone(pick: u8) -> Zone {
    const ZONES: [&str; 6] = [
        "UTC",
        "Pacific/Kiritimati",
        "Etc/GMT+12",
        "America/New_York",
        "Asia/Tokyo",
        "Europe/Berlin",
    ];
    Zone::parse(ZONES[usize::from(pick) % ZONES.len()]).expect("a known zone")
}
