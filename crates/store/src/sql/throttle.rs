//! Failed sign-ins per key, in fixed windows: one upsert per failure, shared by every node.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::SqlStore;
use super::db::Sql;
use super::rows::{duration_secs, seconds};
use crate::error::{Result, StoreError};
use crate::store::SignInThrottle;

/// The longest key kept (an email address and a client address fit easily).
const MAX_KEY: usize = 600;

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(StoreError::invalid(
            "a sign-in throttle key must be 1 to 600 bytes",
        ));
    }
    Ok(())
}

#[async_trait]
impl SignInThrottle for SqlStore {
    async fn count_sign_in_failure(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<u32> {
        check_key(key)?;
        let now = seconds(now);
        let lapsed_before = now.saturating_sub(duration_secs(window).max(1));
        // One statement, so concurrent failures of one key are all counted.
        let (failures,): (i64,) = self
            .db
            .write_returning(
                Sql::new(
                    "INSERT INTO sign_in_failures (key, window_start, failures) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO UPDATE SET \
                     failures = CASE WHEN sign_in_failures.window_start <= $3 THEN 1 \
                     ELSE sign_in_failures.failures + 1 END, \
                     window_start = CASE WHEN sign_in_failures.window_start <= $3 THEN $2 \
                     ELSE sign_in_failures.window_start END \
                     RETURNING failures",
                )
                .bind(key)
                .bind(now)
                .bind(lapsed_before),
            )
            .await?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn clear_sign_in_failures(&self, key: &str) -> Result<()> {
        self.db
            .write(Sql::new("DELETE FROM sign_in_failures WHERE key = $1").bind(key))
            .await?;
        Ok(())
    }

    async fn forgive_sign_in_failure(&self, key: &str) -> Result<()> {
        self.db
            .write(
                Sql::new(
                    "UPDATE sign_in_failures SET failures = failures - 1 \
                     WHERE key = $1 AND failures > 0",
                )
                .bind(key),
            )
            .await?;
        Ok(())
    }

    async fn purge_sign_in_failures(&self, before: Timestamp) -> Result<u64> {
        Ok(self
            .db
            .write(
                Sql::new("DELETE FROM sign_in_failures WHERE window_start < $1")
                    .bind(seconds(before)),
            )
            .await?)
    }
}
