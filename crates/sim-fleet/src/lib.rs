//! # runway-sim-fleet: a simulated fleet loaded into a store
//!
//! [`load_fleet`] turns a `runway-sim` scenario into customers and instances of a tenant, with
//! each PBX's credentials and the simulator's CA certificate, so the engine reads simulated
//! PBXs exactly as it reads real ones. `runway demo`, the benchmarks and the tests use it.
//! It is a crate of its own (not part of the test kit) because the shipped binary links it for
//! the demo, and the binary must not link test support.

use std::collections::HashMap;

use runway_core::{BaseUrl, Secret};
use runway_sim::{Scenario, Scheme, SimHandle};
use runway_store::{
    Credentials, CustomerDraft, CustomerId, InstanceId, Login, NewInstance, Store, StoreError,
    TenantId, TlsOptions,
};

/// One simulated PBX as an instance of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetPbx {
    /// Its id in the scenario (and the simulator).
    pub pbx_id: String,
    /// The instance created for it.
    pub instance: InstanceId,
    /// Its customer.
    pub customer: CustomerId,
}

/// [`load_fleet`] for a simulator running in this process, reached through `scheme`.
pub async fn load_sim_fleet(
    store: &dyn Store,
    tenant: TenantId,
    sim: &SimHandle,
    scenario: &Scenario,
    scheme: Scheme,
    now: runway_core::Timestamp,
) -> runway_store::Result<Vec<FleetPbx>> {
    let url_of = |id: &str| sim.base_url(id, scheme).map(str::to_owned);
    let ca_pem = (scheme == Scheme::Https).then(|| sim.ca_pem());
    load_fleet(store, tenant, scenario, &url_of, ca_pem, now).await
}

/// Creates the scenario's customers (by name, reusing existing ones) and one instance per PBX
/// at the address `url_of` gives it, with the PBX's configured login, trusting `ca_pem`.
pub async fn load_fleet(
    store: &dyn Store,
    tenant: TenantId,
    scenario: &Scenario,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
    ca_pem: Option<&str>,
    now: runway_core::Timestamp,
) -> runway_store::Result<Vec<FleetPbx>> {
    let mut customers: HashMap<String, CustomerId> = store
        .customers(tenant)
        .await?
        .into_iter()
        .map(|c| (c.name, c.id))
        .collect();
    let tls = TlsOptions {
        custom_ca_pem: ca_pem.map(str::to_owned),
        accept_invalid_certs: false,
    };
    let mut loaded = Vec::with_capacity(scenario.pbxs.len());
    for pbx in &scenario.pbxs {
        let customer = if let Some(&id) = customers.get(&pbx.customer) {
            id
        } else {
            let id = store
                .create_customer(tenant, &CustomerDraft::named(&pbx.customer))
                .await?
                .id;
            customers.insert(pbx.customer.clone(), id);
            id
        };
        let base_url = url_of(&pbx.id)
            .map(|url| BaseUrl::parse(&url))
            .transpose()
            .map_err(|err| StoreError::invalid(format!("PBX {}: {err}", pbx.id)))?;
        let mut new = NewInstance::new(
            customer,
            &pbx.name,
            base_url,
            Login::Pbx(credentials(&pbx.login)),
        );
        new.tls = tls.clone();
        let instance = store.create_instance(tenant, &new, now).await?.id;
        loaded.push(FleetPbx {
            pbx_id: pbx.id.clone(),
            instance,
            customer,
        });
    }
    Ok(loaded)
}

/// The credentials Runway logs in to a simulated PBX with, from the scenario's login.
pub fn credentials(login: &runway_sim::Login) -> Credentials {
    match login {
        runway_sim::Login::ClientCredentials {
            client_id,
            client_secret,
        } => Credentials::ApiClient {
            client_id: client_id.clone(),
            client_secret: Secret::new(client_secret.clone()),
        },
        runway_sim::Login::User {
            username,
            password,
            totp_secret,
        } => Credentials::User {
            username: username.clone(),
            password: Secret::new(password.clone()),
            totp_secret: totp_secret.clone().map(Secret::new),
        },
        runway_sim::Login::Legacy { username, password } => Credentials::Legacy {
            username: username.clone(),
            password: Secret::new(password.clone()),
        },
    }
}
