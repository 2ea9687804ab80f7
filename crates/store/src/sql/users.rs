//! Users: create, find by email for signing in, read, list, update, delete.

use async_trait::async_trait;
use jiff::Timestamp;

use super::db::{Sql, Tx, Violation};
use super::rows::{USER_COLUMNS, UserRow, seconds};
use super::{OnViolation, SqlStore, missing};
use crate::error::{Result, StoreError};
use crate::ids::{TenantId, UserId};
use crate::store::Users;
use crate::user::{NewUser, Role, User, UserUpdate};
use crate::validate;

/// The most accounts one address is looked up in when signing in (each costs a hash check).
pub(crate) const MAX_ACCOUNTS_PER_EMAIL: u32 = 8;

fn email_taken(email: &str) -> impl FnOnce(Violation) -> Option<StoreError> + '_ {
    move |v| match v {
        Violation::Unique => Some(StoreError::conflict(format!(
            "this account already has a user with the email address {email:?}"
        ))),
        Violation::ForeignKey | Violation::Check => None,
    }
}

/// Takes the tenant's row lock (PostgreSQL; SQLite's single writer already serialises), so
/// transactions that change who owns a tenant run one after another and see each other's work.
async fn lock_tenant(tx: &mut Tx, tenant: TenantId) -> Result<()> {
    tx.execute(Sql::new("UPDATE tenants SET name = name WHERE id = $1").bind(tenant.0))
        .await?;
    Ok(())
}

/// The tenant's owners who can sign in.
async fn active_owners(tx: &mut Tx, tenant: TenantId) -> Result<i64> {
    let (owners,): (i64,) = tx
        .one(
            Sql::new(
                "SELECT COUNT(*) FROM users \
                 WHERE tenant_id = $1 AND role = 'owner' AND disabled = FALSE",
            )
            .bind(tenant.0),
        )
        .await?;
    Ok(owners)
}

/// Refuses (so the transaction rolls back) a change that took away the tenant's last owner
/// who can sign in; `before` is the count taken under the tenant's lock before the change.
async fn keep_an_owner(tx: &mut Tx, tenant: TenantId, before: i64) -> Result<()> {
    if before > 0 && active_owners(tx, tenant).await? == 0 {
        return Err(StoreError::conflict(
            "an account keeps at least one owner who can sign in: make another user owner first",
        ));
    }
    Ok(())
}

fn password_hash(hash: &runway_core::Secret) -> Result<String> {
    if hash.is_empty() {
        return Err(StoreError::invalid("the password hash must not be empty"));
    }
    Ok(hash.expose().to_owned())
}

/// Inserts a user inside a transaction (creating a user, or a tenant with its owner).
pub(super) async fn insert_user(tx: &mut Tx, tenant: TenantId, user: &NewUser) -> Result<User> {
    let email = validate::email(&user.email)?;
    let display_name = validate::name(&user.display_name, "display name", 200)?;
    let hash = password_hash(&user.password_hash)?;
    let row: UserRow = tx
        .one(
            Sql::new(format!(
                "INSERT INTO users (tenant_id, email, email_key, display_name, role, \
                     password_hash, disabled, created_at, email_lookup) \
                     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8) RETURNING {USER_COLUMNS}"
            ))
            .bind(tenant.0)
            .bind(&email)
            .bind(format!("{}:{}", tenant.0, validate::name_key(&email)))
            .bind(display_name)
            .bind(user.role.as_str())
            .bind(hash)
            .bind(seconds(Timestamp::now()))
            .bind(validate::name_key(&email)),
        )
        .await
        .on_violation(|v| match v {
            Violation::ForeignKey => Some(missing("tenant", tenant)),
            other => email_taken(&email)(other),
        })?;
    User::try_from(row)
}

#[async_trait]
impl Users for SqlStore {
    async fn create_user(&self, tenant: TenantId, user: &NewUser) -> Result<User> {
        let mut tx = self.db.begin().await?;
        let user = insert_user(&mut tx, tenant, user).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE email_lookup = $1 \
                     ORDER BY id LIMIT {MAX_ACCOUNTS_PER_EMAIL}"
                ))
                .bind(validate::name_key(email)),
            )
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let mut users = self.users_by_email(email).await?;
        if users.len() > 1 {
            return Err(StoreError::conflict(format!(
                "{} accounts have a user with the email address {:?}",
                users.len(),
                email.trim()
            )));
        }
        Ok(users.pop())
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<User> {
        let row: Option<UserRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(user.0),
            )
            .await?;
        User::try_from(row.ok_or_else(|| missing("user", user))?)
    }

    async fn users(&self, tenant: TenantId) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY email_key"
                ))
                .bind(tenant.0),
            )
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn update_user(
        &self,
        tenant: TenantId,
        user: UserId,
        update: &UserUpdate,
    ) -> Result<User> {
        let display_name = update
            .display_name
            .as_deref()
            .map(|name| validate::name(name, "display name", 200))
            .transpose()?;
        let hash = update
            .password_hash
            .as_ref()
            .map(password_hash)
            .transpose()?;
        let mut tx = self.db.begin().await?;
        let ownership_changes = update.role.is_some() || update.disabled == Some(true);
        let owners_before = if ownership_changes {
            lock_tenant(&mut tx, tenant).await?;
            active_owners(&mut tx, tenant).await?
        } else {
            0
        };
        let row: Option<UserRow> = tx
            .optional(
                Sql::new(format!(
                    "UPDATE users SET display_name = COALESCE($3, display_name), \
                     role = COALESCE($4, role), disabled = COALESCE($5, disabled), \
                     password_hash = COALESCE($6, password_hash) \
                     WHERE tenant_id = $1 AND id = $2 RETURNING {USER_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(user.0)
                .bind(display_name)
                .bind(update.role.map(Role::as_str))
                .bind(super::db::Arg::Bool(update.disabled))
                .bind(hash),
            )
            .await?;
        let row = row.ok_or_else(|| missing("user", user))?;
        keep_an_owner(&mut tx, tenant, owners_before).await?;
        if update.disabled == Some(true) {
            // A disabled user is signed out everywhere at once, and stays so if re-enabled.
            tx.execute(
                Sql::new("DELETE FROM web_sessions WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.0)
                    .bind(user.0),
            )
            .await?;
        }
        tx.commit().await?;
        User::try_from(row)
    }

    async fn delete_user(&self, tenant: TenantId, user: UserId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        lock_tenant(&mut tx, tenant).await?;
        let owners_before = active_owners(&mut tx, tenant).await?;
        let deleted = tx
            .execute(
                Sql::new("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(user.0),
            )
            .await?;
        if deleted == 0 {
            return Err(missing("user", user));
        }
        keep_an_owner(&mut tx, tenant, owners_before).await?;
        tx.commit().await?;
        Ok(())
    }
}
