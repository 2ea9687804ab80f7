//! Instances: create, read, list, update, enable/disable, delete, and their sealed credentials.

use async_trait::async_trait;
use jiff::Timestamp;
use runway_core::{BaseUrl, PollInterval, Secret, check_ca_pem};

use super::db::{Sql, Tx, Violation};
use super::rows::{
    CredentialRow, INSTANCE_COLUMNS, INSTANCE_FROM, InstanceRow, base_url_text, duration_secs,
    seconds,
};
use super::{OnViolation, SqlStore, missing};
use crate::error::{Result, StoreError};
use crate::ids::{CustomerId, InstanceId, TenantId};
use crate::instance::{Instance, InstanceUpdate, Login, NewInstance};
use crate::secret_key::SealedFor;
use crate::store::Instances;
use crate::validate;
use crate::{Credentials, LoginKind, TlsOptions};

/// The associated-data field names of the sealed columns.
const SECRET_FIELD: &str = "secret";
const TOTP_FIELD: &str = "totp";

/// An instance's settings as column values, validated.
struct Columns {
    customer: CustomerId,
    name: String,
    name_key: String,
    base_url: String,
    poll_secs: i64,
    ca_pem: Option<String>,
    accept_invalid: bool,
}

fn columns(
    customer: CustomerId,
    name: &str,
    base_url: Option<&BaseUrl>,
    kind: LoginKind,
    poll_interval: PollInterval,
    tls: &TlsOptions,
) -> Result<Columns> {
    let name = validate::instance_name(name)?;
    if base_url.is_none() && kind != LoginKind::Manual {
        return Err(StoreError::invalid(
            "a PBX read by Runway needs its address, such as https://pbx.example.com:5001",
        ));
    }
    let ca_pem = match tls.custom_ca_pem.as_deref() {
        None => None,
        Some(pem) => check_ca_pem(pem).map_err(|err| StoreError::invalid(err.to_string()))?,
    };
    Ok(Columns {
        customer,
        name_key: validate::name_key(&name),
        name,
        base_url: base_url_text(base_url),
        poll_secs: duration_secs(poll_interval.get()),
        ca_pem,
        accept_invalid: tls.accept_invalid_certs,
    })
}

/// Maps the violations an insert or update of an instance can cause.
fn instance_violation(
    name: &str,
    customer: CustomerId,
) -> impl FnOnce(Violation) -> Option<StoreError> + '_ {
    move |v| match v {
        Violation::Unique => Some(StoreError::conflict(format!(
            "this customer already has an instance named {name:?}"
        ))),
        Violation::ForeignKey => Some(missing("customer", customer)),
        Violation::Check => None,
    }
}

fn secret_text(secret: &Secret, what: &str) -> Result<()> {
    if secret.is_empty() {
        return Err(StoreError::invalid(format!("the {what} must not be empty")));
    }
    if secret.expose().len() > 4096 {
        return Err(StoreError::invalid(format!("the {what} is too long")));
    }
    Ok(())
}

/// Checks credentials; returns the identity to store in clear.
fn check_credentials(credentials: &Credentials) -> Result<String> {
    match credentials {
        Credentials::ApiClient {
            client_id,
            client_secret,
        } => {
            secret_text(client_secret, "client secret")?;
            validate::name(client_id, "client id", 200)
        }
        Credentials::User {
            username,
            password,
            totp_secret,
        } => {
            secret_text(password, "password")?;
            if let Some(totp) = totp_secret {
                secret_text(totp, "TOTP secret")?;
            }
            validate::name(username, "user name", 200)
        }
        Credentials::Legacy { username, password } => {
            secret_text(password, "password")?;
            validate::name(username, "user name", 200)
        }
    }
}

impl SqlStore {
    /// Seals credentials for one instance row and writes them with the login kind.
    async fn write_login(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        instance: i64,
        credentials: &Credentials,
    ) -> Result<()> {
        let identity = check_credentials(credentials)?;
        let seal = |secret: &Secret, field| {
            self.key.seal(
                secret.expose(),
                &SealedFor::Instance {
                    tenant: tenant.0,
                    instance,
                    field,
                },
            )
        };
        let (secret, totp) = match credentials {
            Credentials::ApiClient { client_secret, .. } => (client_secret, None),
            Credentials::User {
                password,
                totp_secret,
                ..
            } => (password, totp_secret.as_ref()),
            Credentials::Legacy { password, .. } => (password, None),
        };
        let secret = seal(secret, SECRET_FIELD)?;
        let totp = totp.map(|t| seal(t, TOTP_FIELD)).transpose()?;
        tx.execute(
            Sql::new(
                "UPDATE instances SET login_kind = $3, login_identity = $4, secret_sealed = $5, \
                 totp_sealed = $6 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(instance)
            .bind(credentials.kind().as_str())
            .bind(identity)
            .bind(secret)
            .bind(totp),
        )
        .await?;
        Ok(())
    }
}

impl SqlStore {
    /// Inserts an instance (and seals its credentials) inside `tx`: the one insert that
    /// creating an instance and an import share.
    pub(super) async fn insert_instance(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        new: &NewInstance,
        now: Timestamp,
    ) -> Result<InstanceId> {
        let kind = new.login.kind();
        let c = columns(
            new.customer_id,
            &new.name,
            new.base_url.as_ref(),
            kind,
            new.poll_interval,
            &new.tls,
        )?;
        if let Login::Pbx(credentials) = &new.login {
            check_credentials(credentials)?;
        }
        let (id,): (i64,) = tx
            .one(
                Sql::new(
                    "INSERT INTO instances (tenant_id, customer_id, name, name_key, base_url, \
                     login_kind, poll_interval_secs, enabled, tls_ca_pem, tls_accept_invalid, \
                     created_at, updated_at, next_poll_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) RETURNING id",
                )
                .bind(tenant.0)
                .bind(c.customer.0)
                .bind(&c.name)
                .bind(c.name_key.clone())
                .bind(c.base_url.clone())
                .bind(kind.as_str())
                .bind(c.poll_secs)
                .bind(new.enabled)
                .bind(c.ca_pem.clone())
                .bind(c.accept_invalid)
                .bind(seconds(now)),
            )
            .await
            .on_violation(instance_violation(&c.name, c.customer))?;
        if let Login::Pbx(credentials) = &new.login {
            self.write_login(tx, tenant, id, credentials).await?;
        }
        Ok(InstanceId(id))
    }

    /// Replaces an instance's settings inside `tx`: the one update that editing an instance and
    /// an import share.
    pub(super) async fn update_instance_in(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        instance: InstanceId,
        update: &InstanceUpdate,
        now: Timestamp,
    ) -> Result<()> {
        let current = instance_in(tx, tenant, instance).await?;
        let kind = update
            .login
            .as_ref()
            .map_or(current.login_kind, Login::kind);
        let c = columns(
            update.customer_id,
            &update.name,
            update.base_url.as_ref(),
            kind,
            update.poll_interval,
            &update.tls,
        )?;
        tx.execute(
            Sql::new(
                "UPDATE instances SET customer_id = $3, name = $4, name_key = $5, base_url = $6, \
                 poll_interval_secs = $7, tls_ca_pem = $8, tls_accept_invalid = $9, \
                 updated_at = $10 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(instance.0)
            .bind(c.customer.0)
            .bind(&c.name)
            .bind(c.name_key.clone())
            .bind(c.base_url.clone())
            .bind(c.poll_secs)
            .bind(c.ca_pem.clone())
            .bind(c.accept_invalid)
            .bind(seconds(now)),
        )
        .await
        .on_violation(instance_violation(&c.name, c.customer))?;
        match &update.login {
            None => {}
            Some(Login::Pbx(credentials)) => {
                self.write_login(tx, tenant, instance.0, credentials)
                    .await?;
            }
            Some(Login::Manual) => {
                tx.execute(
                    Sql::new(
                        "UPDATE instances SET login_kind = 'manual', login_identity = NULL, \
                         secret_sealed = NULL, totp_sealed = NULL, lease_owner = NULL, \
                         lease_until = NULL WHERE tenant_id = $1 AND id = $2",
                    )
                    .bind(tenant.0)
                    .bind(instance.0),
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Instances for SqlStore {
    async fn create_instance(
        &self,
        tenant: TenantId,
        new: &NewInstance,
        now: Timestamp,
    ) -> Result<Instance> {
        let mut tx = self.db.begin().await?;
        let id = self.insert_instance(&mut tx, tenant, new, now).await?;
        let instance = instance_in(&mut tx, tenant, id).await?;
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(instance)
    }

    async fn instance(&self, tenant: TenantId, instance: InstanceId) -> Result<Instance> {
        let row: Option<InstanceRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {INSTANCE_COLUMNS} FROM {INSTANCE_FROM} \
                     WHERE i.tenant_id = $1 AND i.id = $2"
                ))
                .bind(tenant.0)
                .bind(instance.0),
            )
            .await?;
        Instance::try_from(row.ok_or_else(|| missing("instance", instance))?)
    }

    async fn instances(&self, tenant: TenantId) -> Result<Vec<Instance>> {
        let rows: Vec<InstanceRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {INSTANCE_COLUMNS} FROM {INSTANCE_FROM} WHERE i.tenant_id = $1 \
                     ORDER BY c.name_key, i.name_key, i.id"
                ))
                .bind(tenant.0),
            )
            .await?;
        rows.into_iter().map(Instance::try_from).collect()
    }

    async fn update_instance(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        update: &InstanceUpdate,
        now: Timestamp,
    ) -> Result<Instance> {
        let mut tx = self.db.begin().await?;
        self.update_instance_in(&mut tx, tenant, instance, update, now)
            .await?;
        let updated = instance_in(&mut tx, tenant, instance).await?;
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(updated)
    }

    async fn set_instance_enabled(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        enabled: bool,
        now: Timestamp,
    ) -> Result<Instance> {
        let mut tx = self.db.begin().await?;
        let sql = if enabled {
            "UPDATE instances SET enabled = TRUE, updated_at = $3, \
             next_poll_at = CASE WHEN next_poll_at > $3 THEN $3 ELSE next_poll_at END \
             WHERE tenant_id = $1 AND id = $2"
        } else {
            "UPDATE instances SET enabled = FALSE, updated_at = $3 \
             WHERE tenant_id = $1 AND id = $2"
        };
        let changed = tx
            .execute(
                Sql::new(sql)
                    .bind(tenant.0)
                    .bind(instance.0)
                    .bind(seconds(now)),
            )
            .await?;
        if changed == 0 {
            return Err(missing("instance", instance));
        }
        let updated = instance_in(&mut tx, tenant, instance).await?;
        tx.fleet_changed(tenant);
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_instance(&self, tenant: TenantId, instance: InstanceId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let deleted = tx
            .execute(
                Sql::new("DELETE FROM instances WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(instance.0),
            )
            .await?;
        tx.fleet_changed(tenant);
        tx.commit().await?;
        if deleted == 0 {
            return Err(missing("instance", instance));
        }
        Ok(())
    }

    async fn credentials(&self, tenant: TenantId, instance: InstanceId) -> Result<Credentials> {
        let row: CredentialRow = self
            .db
            .read_optional(
                Sql::new(
                    "SELECT login_kind, login_identity, secret_sealed, totp_sealed \
                     FROM instances WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(instance.0),
            )
            .await?
            .ok_or_else(|| missing("instance", instance))?;
        let open = |sealed: Option<&[u8]>, field| -> Result<Secret> {
            let sealed = sealed.ok_or_else(|| {
                StoreError::backend(format!("instance {instance} has no stored {field}"))
            })?;
            let plain = self.key.open(
                sealed,
                &SealedFor::Instance {
                    tenant: tenant.0,
                    instance: instance.0,
                    field,
                },
            )?;
            Ok(Secret::new(plain))
        };
        let kind: LoginKind = row
            .login_kind
            .parse()
            .map_err(|err: String| StoreError::backend(format!("instance {instance}: {err}")))?;
        let identity = row.login_identity.unwrap_or_default();
        let secret = row.secret_sealed.as_deref();
        Ok(match kind {
            LoginKind::Manual => {
                return Err(StoreError::invalid(format!(
                    "instance {instance} is a manual instance: it has no PBX credentials"
                )));
            }
            LoginKind::ApiClient => Credentials::ApiClient {
                client_id: identity,
                client_secret: open(secret, SECRET_FIELD)?,
            },
            LoginKind::User => Credentials::User {
                username: identity,
                password: open(secret, SECRET_FIELD)?,
                totp_secret: row
                    .totp_sealed
                    .as_deref()
                    .map(|t| open(Some(t), TOTP_FIELD))
                    .transpose()?,
            },
            LoginKind::Legacy => Credentials::Legacy {
                username: identity,
                password: open(secret, SECRET_FIELD)?,
            },
        })
    }
}

/// One instance, read inside a transaction.
pub(super) async fn instance_in(
    tx: &mut Tx,
    tenant: TenantId,
    instance: InstanceId,
) -> Result<Instance> {
    let row: Option<InstanceRow> = tx
        .optional(
            Sql::new(format!(
                "SELECT {INSTANCE_COLUMNS} FROM {INSTANCE_FROM} WHERE i.tenant_id = $1 AND i.id = $2"
            ))
            .bind(tenant.0)
            .bind(instance.0),
        )
        .await?;
    Instance::try_from(row.ok_or_else(|| missing("instance", instance))?)
}
