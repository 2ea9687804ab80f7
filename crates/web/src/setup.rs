//! Creating the first tenant and its owner: the setup page and `runway admin init`.

use std::sync::Arc;

use runway_core::Zone;
use runway_store::{NewUser, Role, Store, StoreError, Tenant, TenantSettings, User};

use crate::auth::password;
use crate::error::WebError;

/// Why a tenant could not be initialised; the sentence says which field is at fault.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// An input is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`tenant_name`, `zone`, `email`, `password`).
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Web(#[from] WebError),
}

/// Creates a tenant and its owner. Tenants cannot be deleted, so every input (including the
/// checks the store would make on the owner) is checked before anything is written: bad input
/// leaves nothing half-created.
pub async fn init_tenant(
    store: &Arc<dyn Store>,
    tenant_name: &str,
    zone: &str,
    owner_email: &str,
    owner_password: &str,
) -> Result<(Tenant, User), InitError> {
    create_tenant_and_owner(store, tenant_name, zone, owner_email, owner_password, false).await
}

/// [`init_tenant`], and for the first-run setup page (`first_run`): that succeeds once per
/// installation and only while there is no tenant — of two setups racing on several nodes, the
/// database lets one win.
pub(crate) async fn create_tenant_and_owner(
    store: &Arc<dyn Store>,
    tenant_name: &str,
    zone: &str,
    owner_email: &str,
    owner_password: &str,
    first_run: bool,
) -> Result<(Tenant, User), InitError> {
    let invalid = |field, message: String| InitError::Invalid { field, message };
    if tenant_name.trim().is_empty() {
        return Err(invalid(
            "tenant_name",
            "the MSP's name must not be empty".into(),
        ));
    }
    let zone = Zone::parse(zone).map_err(|err| invalid("zone", err.to_string()))?;
    let email =
        runway_core::check_email(owner_email).map_err(|err| invalid("email", err.to_string()))?;
    let email = email.as_str();
    password::check_new_password(owner_password)
        .map_err(|err| invalid("password", err.to_string()))?;
    let hash = password::hash_password(owner_password)?;
    let mut settings = TenantSettings::new(tenant_name.trim());
    settings.zone = zone;
    let owner = NewUser {
        email: email.to_owned(),
        display_name: email.split('@').next().unwrap_or(email).to_owned(),
        role: Role::Owner,
        password_hash: hash,
    };
    Ok(store
        .create_tenant_with_owner(&settings, &owner, first_run)
        .await?)
}
