//! Web access: sessions, API tokens and calendar feeds, found by the hash of their secret.

use async_trait::async_trait;
use jiff::Timestamp;

use super::db::{Sql, Violation};
use super::rows::{instant, seconds};
use super::{OnViolation, SqlStore, missing};
use crate::access::{ApiToken, Authenticated, CalendarFeed, NewApiToken, Session};
use crate::error::{Result, StoreError};
use crate::ids::{ApiTokenId, SessionId, TenantId, UserId};
use crate::store::{Users as _, WebAccess};
use crate::validate;

/// How stale `last_used_at` may get before a use writes it again: one write a minute per
/// token at most, however busy a script is.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    id: i64,
    tenant_id: i64,
    user_id: i64,
    created_at: i64,
    expires_at: i64,
}

const SESSION_COLUMNS: &str = "id, tenant_id, user_id, created_at, expires_at";

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<Session> {
        Ok(Session {
            id: SessionId(row.id),
            tenant_id: TenantId(row.tenant_id),
            user_id: UserId(row.user_id),
            created_at: instant(row.created_at)?,
            expires_at: instant(row.expires_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ApiTokenRow {
    id: i64,
    tenant_id: i64,
    user_id: i64,
    user_email: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// The columns of [`ApiTokenRow`], for `api_tokens t JOIN users u`.
const TOKEN_COLUMNS: &str = "t.id, t.tenant_id, t.user_id, u.email AS user_email, t.name, \
     t.created_at, t.last_used_at, t.revoked_at";

const TOKEN_FROM: &str =
    "api_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id";

impl TryFrom<ApiTokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(row: ApiTokenRow) -> Result<ApiToken> {
        Ok(ApiToken {
            id: ApiTokenId(row.id),
            tenant_id: TenantId(row.tenant_id),
            user_id: UserId(row.user_id),
            user_email: row.user_email,
            name: row.name,
            created_at: instant(row.created_at)?,
            last_used_at: row.last_used_at.map(instant).transpose()?,
            revoked_at: row.revoked_at.map(instant).transpose()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct CalendarFeedRow {
    tenant_id: i64,
    created_at: i64,
}

impl TryFrom<CalendarFeedRow> for CalendarFeed {
    type Error = StoreError;
    fn try_from(row: CalendarFeedRow) -> Result<CalendarFeed> {
        Ok(CalendarFeed {
            tenant_id: TenantId(row.tenant_id),
            created_at: instant(row.created_at)?,
        })
    }
}

/// A secret's hash as the web layer computes it: 64 lower-case hex digits (SHA-256). Anything
/// else is refused, so a plaintext token can never be stored by mistake.
fn token_hash(hash: &str) -> Result<&str> {
    if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(hash)
    } else {
        Err(StoreError::invalid(
            "a token hash must be 64 lower-case hex digits (SHA-256)",
        ))
    }
}

#[async_trait]
impl WebAccess for SqlStore {
    async fn create_session(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Session> {
        let hash = token_hash(hash)?;
        if expires_at <= now {
            return Err(StoreError::invalid("a session must end after it begins"));
        }
        let mut tx = self.db.begin().await?;
        let row: SessionRow = tx
            .one(
                Sql::new(format!(
                    "INSERT INTO web_sessions (tenant_id, user_id, token_hash, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING {SESSION_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(user.0)
                .bind(hash)
                .bind(seconds(now))
                .bind(seconds(expires_at)),
            )
            .await
            .on_violation(|v| match v {
                Violation::ForeignKey => Some(missing("user", user)),
                Violation::Unique => Some(StoreError::conflict("that session token is in use")),
                Violation::Check => None,
            })?;
        tx.commit().await?;
        Session::try_from(row)
    }

    async fn session_by_token(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated<Session>>> {
        let Ok(hash) = token_hash(hash) else {
            return Ok(None);
        };
        let row: Option<SessionRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {SESSION_COLUMNS} FROM web_sessions \
                     WHERE token_hash = $1 AND expires_at > $2"
                ))
                .bind(hash)
                .bind(seconds(now)),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let session = Session::try_from(row)?;
        let user = match self.user(session.tenant_id, session.user_id).await {
            Ok(user) => user,
            // Deleted between the two reads: as good as no session.
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        if user.disabled {
            return Ok(None);
        }
        Ok(Some(Authenticated {
            credential: session,
            user,
        }))
    }

    async fn delete_session(&self, tenant: TenantId, session: SessionId) -> Result<()> {
        let deleted = self
            .db
            .write(
                Sql::new("DELETE FROM web_sessions WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(session.0),
            )
            .await?;
        if deleted == 0 {
            return Err(missing("session", session));
        }
        Ok(())
    }

    async fn delete_user_sessions(&self, tenant: TenantId, user: UserId) -> Result<u64> {
        Ok(self
            .db
            .write(
                Sql::new("DELETE FROM web_sessions WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.0)
                    .bind(user.0),
            )
            .await?)
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        Ok(self
            .db
            .write(Sql::new("DELETE FROM web_sessions WHERE expires_at <= $1").bind(seconds(now)))
            .await?)
    }

    async fn create_api_token(
        &self,
        tenant: TenantId,
        token: &NewApiToken,
        now: Timestamp,
    ) -> Result<ApiToken> {
        let name = validate::name(&token.name, "token name", 200)?;
        let hash = token_hash(&token.token_hash)?;
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = tx
            .one(
                Sql::new(
                    "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(tenant.0)
                .bind(token.user_id.0)
                .bind(name)
                .bind(hash)
                .bind(seconds(now)),
            )
            .await
            .on_violation(|v| match v {
                Violation::ForeignKey => Some(missing("user", token.user_id)),
                Violation::Unique => Some(StoreError::conflict("that API token is in use")),
                Violation::Check => None,
            })?;
        let row: ApiTokenRow = tx
            .one(
                Sql::new(format!(
                    "SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} WHERE t.tenant_id = $1 AND t.id = $2"
                ))
                .bind(tenant.0)
                .bind(id),
            )
            .await?;
        tx.commit().await?;
        ApiToken::try_from(row)
    }

    async fn api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        let rows: Vec<ApiTokenRow> = self
            .db
            .read_all(
                Sql::new(format!(
                    "SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} WHERE t.tenant_id = $1 \
                     ORDER BY t.created_at DESC, t.id DESC"
                ))
                .bind(tenant.0),
            )
            .await?;
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    async fn revoke_api_token(
        &self,
        tenant: TenantId,
        token: ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                Sql::new(
                    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(token.0)
                .bind(seconds(now)),
            )
            .await?;
        if changed == 0 {
            return Err(missing("API token", token));
        }
        let row: ApiTokenRow = tx
            .one(
                Sql::new(format!(
                    "SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} WHERE t.tenant_id = $1 AND t.id = $2"
                ))
                .bind(tenant.0)
                .bind(token.0),
            )
            .await?;
        tx.commit().await?;
        ApiToken::try_from(row)
    }

    async fn use_api_token(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated<ApiToken>>> {
        let Ok(hash) = token_hash(hash) else {
            return Ok(None);
        };
        let row: Option<ApiTokenRow> = self
            .db
            .read_optional(
                Sql::new(format!(
                    "SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} \
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
                ))
                .bind(hash),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut token = ApiToken::try_from(row)?;
        let user = match self.user(token.tenant_id, token.user_id).await {
            Ok(user) => user,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        if user.disabled {
            return Ok(None);
        }
        let stale = token
            .last_used_at
            .is_none_or(|at| seconds(now) - seconds(at) >= LAST_USED_RESOLUTION_SECS);
        if stale {
            // Revocation between the read and this write wins: the token is refused.
            let stamped = self
                .db
                .write(
                    Sql::new(
                        "UPDATE api_tokens SET last_used_at = $3 \
                         WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
                    )
                    .bind(token.tenant_id.0)
                    .bind(token.id.0)
                    .bind(seconds(now)),
                )
                .await?;
            if stamped == 0 {
                return Ok(None);
            }
            token.last_used_at = Some(instant(seconds(now))?);
        }
        Ok(Some(Authenticated {
            credential: token,
            user,
        }))
    }

    async fn set_calendar_feed(
        &self,
        tenant: TenantId,
        hash: &str,
        now: Timestamp,
    ) -> Result<CalendarFeed> {
        let hash = token_hash(hash)?;
        // One row per tenant: the new hash replaces the old one in the same statement, so no
        // moment exists in which both URLs work.
        let row: CalendarFeedRow = self
            .db
            .write_returning(
                Sql::new(
                    "INSERT INTO calendar_feeds (tenant_id, token_hash, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET \
                     token_hash = excluded.token_hash, created_at = excluded.created_at \
                     RETURNING tenant_id, created_at",
                )
                .bind(tenant.0)
                .bind(hash)
                .bind(seconds(now)),
            )
            .await
            .on_violation(|v| match v {
                Violation::ForeignKey => Some(missing("tenant", tenant)),
                Violation::Unique => Some(StoreError::conflict("that feed token is in use")),
                Violation::Check => None,
            })?;
        CalendarFeed::try_from(row)
    }

    async fn calendar_feed(&self, tenant: TenantId) -> Result<Option<CalendarFeed>> {
        let row: Option<CalendarFeedRow> = self
            .db
            .read_optional(
                Sql::new("SELECT tenant_id, created_at FROM calendar_feeds WHERE tenant_id = $1")
                    .bind(tenant.0),
            )
            .await?;
        row.map(CalendarFeed::try_from).transpose()
    }

    async fn revoke_calendar_feed(&self, tenant: TenantId) -> Result<bool> {
        let deleted = self
            .db
            .write(Sql::new("DELETE FROM calendar_feeds WHERE tenant_id = $1").bind(tenant.0))
            .await?;
        Ok(deleted > 0)
    }

    async fn calendar_feed_by_token(&self, hash: &str) -> Result<Option<CalendarFeed>> {
        let Ok(hash) = token_hash(hash) else {
            return Ok(None);
        };
        let row: Option<CalendarFeedRow> = self
            .db
            .read_optional(
                Sql::new("SELECT tenant_id, created_at FROM calendar_feeds WHERE token_hash = $1")
                    .bind(hash),
            )
            .await?;
        row.map(CalendarFeed::try_from).transpose()
    }
}
