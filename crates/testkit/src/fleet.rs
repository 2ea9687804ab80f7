//! A simulated fleet loaded into a store.

use std::collections::HashMap;

use runway_core::Secret;
use runway_sim::{Scenario, Scheme, SimHandle};
use runway_store::{
    Credentials, CustomerDraft, CustomerId, InstanceId, Login, NewInstance, Store, TenantId,
    TlsOptions,
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

/// Creates the scenario's customers (by name, reusing existing ones) and one instance per PBX,
/// reached through `scheme` with the PBX's configured login, trusting the simulator's CA.
pub async fn load_fleet(
    store: &dyn Store,
    tenant: TenantId,
    sim: &SimHandle,
    scenario: &Scenario,
    scheme: Scheme,
    now: runway_core::Timestamp,
) -> runway_store::Result<Vec<FleetPbx>> {
    let mut customers: HashMap<String, CustomerId> = store
        .customers(tenant)
        .await?
        .into_iter()
        .map(|c| (c.name, c.id))
        .collect();
    let tls = TlsOptions {
        custom_ca_pem: (scheme == Scheme::Https).then(|| sim.ca_pem().to_owned()),
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
        let base_url = sim.base_url(&pbx.id, scheme).unwrap_or_default();
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

fn credentials(login: &runway_sim::Login) -> Credentials {
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
