//! One way to run a statement on either database.
//!
//! The store's queries are plain SQL that both SQLite and PostgreSQL accept: `$1`-style
//! placeholders (SQLite reads `$N` as parameter N), `INTEGER`/`BIGINT` unix seconds, `TEXT`,
//! booleans, `RETURNING` and `ON CONFLICT … DO UPDATE`. A statement is a [`Sql`] — text plus typed
//! arguments — and [`Db`] / [`Tx`] run it on whichever backend the store was opened with. Rows
//! decode through `#[derive(sqlx::FromRow)]` structs, which sqlx makes generic over the row type,
//! so one struct serves both backends ([`FromBothRows`]).
//!
//! ## Fleet generations
//! The License Status page asks for a tenant's whole fleet on every view, and most views see
//! nothing new. Each tenant therefore has a *fleet generation*: a count bumped by every
//! transaction that changes what the fleet shows for that tenant (an instance's settings, its
//! customer's name, a reading, a failed attempt) — and by nothing else, so the poller's idle
//! lease sweeps, leases, sessions and tokens leave every cache valid. A transaction says that it
//! changed a tenant's fleet with [`Tx::fleet_changed`]; the count is bumped as the transaction
//! commits. SQLite keeps the counts in memory (one process owns the database, see `NodeLock`);
//! PostgreSQL keeps them in `fleet_generations`, shared by every node.
//!
//! SQLite keeps one *writer* connection and a pool of readers. SQLite allows one writer at a time
//! anyway; queueing writers in the pool (instead of letting them collide inside SQLite and back
//! off on `SQLITE_BUSY`) keeps throughput steady and makes every write transaction start
//! without lock-upgrade deadlocks. Reads run concurrently on the readers thanks to WAL.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments as _, AssertSqlSafe, FromRow, PgPool, Postgres, Sqlite, SqlitePool};

use crate::ids::TenantId;

/// SQLite's fleet generations: per tenant, bumped after each commit that changed its fleet.
#[derive(Debug, Default)]
pub(crate) struct Generations(Mutex<HashMap<TenantId, u64>>);

impl Generations {
    fn get(&self, tenant: TenantId) -> u64 {
        let counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(&tenant).copied().unwrap_or_default()
    }

    fn bump(&self, tenant: TenantId) {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(tenant).or_default() += 1;
    }
}

/// A typed statement argument. Every variant is nullable so that `NULL` keeps its SQL type
/// (PostgreSQL infers parameter types from them).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        Arg::Text(v.map(str::to_owned))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Bool(Some(v))
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Arg {
        Arg::Bytes(Some(v))
    }
}
impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Arg {
        Arg::Bytes(v)
    }
}

/// The placeholders `$from, $from+1, …` of `count` arguments: an `IN (…)` list.
pub(crate) fn params(from: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 6);
    for n in from..from + count {
        if n > from {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// The placeholders of `rows` rows of `cols` arguments each, from `$from` on: a multi-row
/// `VALUES (…), (…)` list.
pub(crate) fn value_rows(from: usize, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * (cols * 6 + 4));
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        out.push_str(&params(from + row * cols, cols));
        out.push(')');
    }
    out
}

/// The statement with its placeholders made anonymous (`?`) when they are `$1, $2, …, $n`,
/// each once and in that order; `None` when they are not (a placeholder used twice, say).
///
/// SQLite finds a named parameter's name by walking a list of all of them, and sqlx asks
/// for every parameter's name when it binds, so binding a statement of n named parameters
/// costs O(n²): 4,400 arguments of a multi-row insert took ~10 ms to bind. Anonymous
/// parameters have no names to walk.
fn anonymous(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut next, mut copied, mut i, mut quoted) = (1_usize, 0, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'$' if !quoted => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let number: usize = text.get(i + 1..i + 1 + digits)?.parse().ok()?;
                if number != next {
                    return None;
                }
                next += 1;
                out.push_str(&text[copied..i]);
                out.push('?');
                i += 1 + digits;
                copied = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// A statement and its arguments, in placeholder order (`$1`, `$2`, …).
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    text: Cow<'static, str>,
    args: Vec<Arg>,
}

impl Sql {
    /// A statement with no arguments yet.
    pub(crate) fn new(text: impl Into<Cow<'static, str>>) -> Sql {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds the next argument.
    pub(crate) fn bind(mut self, arg: impl Into<Arg>) -> Sql {
        self.args.push(arg.into());
        self
    }

    /// Adds the next arguments, in order.
    pub(crate) fn bind_all<A: Into<Arg>>(mut self, args: impl IntoIterator<Item = A>) -> Sql {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    fn sqlite(&self) -> Result<(AssertSqlSafe<Cow<'static, str>>, SqliteArguments), sqlx::Error> {
        let mut args = SqliteArguments::default();
        for arg in &self.args {
            match arg {
                Arg::Int(v) => args.add(*v),
                Arg::Text(v) => args.add(v.clone()),
                Arg::Bool(v) => args.add(*v),
                Arg::Bytes(v) => args.add(v.clone()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        let text = match anonymous(&self.text) {
            Some(text) => Cow::Owned(text),
            None => self.text.clone(),
        };
        Ok((AssertSqlSafe(text), args))
    }

    fn postgres(&self) -> Result<(AssertSqlSafe<Cow<'static, str>>, PgArguments), sqlx::Error> {
        let mut args = PgArguments::default();
        for arg in &self.args {
            match arg {
                Arg::Int(v) => args.add(*v),
                Arg::Text(v) => args.add(v.clone()),
                Arg::Bool(v) => args.add(*v),
                Arg::Bytes(v) => args.add(v.clone()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok((AssertSqlSafe(self.text.clone()), args))
    }
}

/// A row struct both backends can decode.
pub(crate) trait FromBothRows:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> FromBothRows for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// The connection pools of an open store.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// SQLite: many readers, one writer (the same single pool for `sqlite::memory:`).
    Sqlite {
        readers: SqlitePool,
        writer: SqlitePool,
        /// Each tenant's fleet generation (see the module docs). One process owns a SQLite
        /// database (see `NodeLock`), so an unchanged count means an unchanged fleet.
        generations: Arc<Generations>,
    },
    /// PostgreSQL: one pool.
    Postgres(PgPool),
}

impl Db {
    /// Rows of a read-only statement.
    pub(crate) async fn read_all<T: FromBothRows>(&self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Db::Sqlite { readers, .. } => {
                let (text, args) = sql.sqlite()?;
                sqlx::query_as_with::<Sqlite, T, _>(text, args)
                    .fetch_all(readers)
                    .await
            }
            Db::Postgres(pool) => {
                let (text, args) = sql.postgres()?;
                sqlx::query_as_with::<Postgres, T, _>(text, args)
                    .fetch_all(pool)
                    .await
            }
        }
    }

    /// At most one row of a read-only statement.
    pub(crate) async fn read_optional<T: FromBothRows>(
        &self,
        sql: Sql,
    ) -> Result<Option<T>, sqlx::Error> {
        match self {
            Db::Sqlite { readers, .. } => {
                let (text, args) = sql.sqlite()?;
                sqlx::query_as_with::<Sqlite, T, _>(text, args)
                    .fetch_optional(readers)
                    .await
            }
            Db::Postgres(pool) => {
                let (text, args) = sql.postgres()?;
                sqlx::query_as_with::<Postgres, T, _>(text, args)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    /// Runs a writing statement outside a transaction; returns the rows it affected. It must
    /// not change what a fleet shows (such writes go through [`Db::begin`] and
    /// [`Tx::fleet_changed`]).
    pub(crate) async fn write(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Db::Sqlite { writer, .. } => {
                let (text, args) = sql.sqlite()?;
                Ok(sqlx::query_with::<Sqlite, _>(text, args)
                    .execute(writer)
                    .await?
                    .rows_affected())
            }
            Db::Postgres(pool) => {
                let (text, args) = sql.postgres()?;
                Ok(sqlx::query_with::<Postgres, _>(text, args)
                    .execute(pool)
                    .await?
                    .rows_affected())
            }
        }
    }

    /// Runs a writing statement outside a transaction and returns the one row it returns
    /// (`RETURNING`); like [`Db::write`], it must not change what a fleet shows.
    pub(crate) async fn write_returning<T: FromBothRows>(
        &self,
        sql: Sql,
    ) -> Result<T, sqlx::Error> {
        match self {
            Db::Sqlite { writer, .. } => {
                let (text, args) = sql.sqlite()?;
                sqlx::query_as_with::<Sqlite, T, _>(text, args)
                    .fetch_one(writer)
                    .await
            }
            Db::Postgres(pool) => {
                let (text, args) = sql.postgres()?;
                sqlx::query_as_with::<Postgres, T, _>(text, args)
                    .fetch_one(pool)
                    .await
            }
        }
    }

    /// Starts a write transaction (on SQLite, on the writer connection).
    pub(crate) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let inner = match self {
            Db::Sqlite {
                writer,
                generations,
                ..
            } => TxInner::Sqlite(writer.begin().await?, Arc::clone(generations)),
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            fleet_changed: None,
        })
    }

    /// The rows of a read-only statement about `tenant`'s fleet with the fleet generation they
    /// are consistent with, or [`AtGeneration::Unchanged`] with the caller's copy when the
    /// tenant's fleet has not changed since the generation `known` was read at.
    ///
    /// SQLite reads the in-memory count before the query: a change landing during it leaves a
    /// higher count, so the next call queries again. PostgreSQL reads the shared count and the
    /// rows in one repeatable-read snapshot.
    pub(crate) async fn read_fleet_unless_unchanged<T: FromBothRows, C>(
        &self,
        tenant: TenantId,
        sql: Sql,
        known: Option<(u64, C)>,
    ) -> Result<AtGeneration<T, C>, sqlx::Error> {
        match self {
            Db::Sqlite {
                readers,
                generations,
                ..
            } => {
                let generation = generations.get(tenant);
                if let Some((at, copy)) = known
                    && at == generation
                {
                    return Ok(AtGeneration::Unchanged(copy));
                }
                let (text, args) = sql.sqlite()?;
                let rows = sqlx::query_as_with::<Sqlite, T, _>(text, args)
                    .fetch_all(readers)
                    .await?;
                Ok(AtGeneration::Read(generation, rows))
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                let count: Option<(i64,)> =
                    sqlx::query_as("SELECT n FROM fleet_generations WHERE tenant_id = $1")
                        .bind(tenant.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let generation = count.map_or(0, |(n,)| u64::try_from(n).unwrap_or_default());
                if let Some((at, copy)) = known
                    && at == generation
                {
                    tx.rollback().await?;
                    return Ok(AtGeneration::Unchanged(copy));
                }
                let (text, args) = sql.postgres()?;
                let rows = sqlx::query_as_with::<Postgres, T, _>(text, args)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.rollback().await?;
                Ok(AtGeneration::Read(generation, rows))
            }
        }
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite {
                readers, writer, ..
            } => {
                writer.close().await;
                readers.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The last statement of a PostgreSQL transaction that changed a tenant's fleet (see
/// `0004_fleet_generations.sql`). It locks that tenant's row only, so other tenants' writes —
/// and writes that change no fleet — never queue on it.
const BUMP_FLEET_GENERATION: &str = "INSERT INTO fleet_generations (tenant_id, n) VALUES ($1, 1) \
     ON CONFLICT (tenant_id) DO UPDATE SET n = fleet_generations.n + 1";

/// What [`Db::read_all_unless_unchanged`] found.
pub(crate) enum AtGeneration<T, C> {
    /// Nothing was written since the caller's copy was read: here it is back.
    Unchanged(C),
    /// The rows, consistent with this write generation.
    Read(u64, Vec<T>),
}

/// A write transaction; dropped without [`Tx::commit`], it rolls back.
pub(crate) struct Tx {
    inner: TxInner,
    /// The tenant whose fleet this transaction changed, if any.
    fleet_changed: Option<TenantId>,
}

enum TxInner {
    /// With the store's fleet generations, bumped once the transaction has committed.
    Sqlite(sqlx::Transaction<'static, Sqlite>, Arc<Generations>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// Marks the transaction as changing what `tenant`'s fleet shows: its fleet generation is
    /// bumped as it commits (see the module docs).
    pub(crate) fn fleet_changed(&mut self, tenant: TenantId) {
        debug_assert!(
            self.fleet_changed.is_none_or(|t| t == tenant),
            "one transaction changes one tenant's fleet"
        );
        self.fleet_changed = Some(tenant);
    }

    /// Every row the statement returns.
    pub(crate) async fn all<T: FromBothRows>(&mut self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        match &mut self.inner {
            TxInner::Sqlite(tx, _) => {
                let (text, args) = sql.sqlite()?;
                sqlx::query_as_with::<Sqlite, T, _>(text, args)
                    .fetch_all(&mut **tx)
                    .await
            }
            TxInner::Postgres(tx) => {
                let (text, args) = sql.postgres()?;
                sqlx::query_as_with::<Postgres, T, _>(text, args)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
    }

    /// At most one row.
    pub(crate) async fn optional<T: FromBothRows>(
        &mut self,
        sql: Sql,
    ) -> Result<Option<T>, sqlx::Error> {
        match &mut self.inner {
            TxInner::Sqlite(tx, _) => {
                let (text, args) = sql.sqlite()?;
                sqlx::query_as_with::<Sqlite, T, _>(text, args)
                    .fetch_optional(&mut **tx)
                    .await
            }
            TxInner::Postgres(tx) => {
                let (text, args) = sql.postgres()?;
                sqlx::query_as_with::<Postgres, T, _>(text, args)
                    .fetch_optional(&mut **tx)
                    .await
            }
        }
    }

    /// Exactly one row (a missing row is `sqlx::Error::RowNotFound`).
    pub(crate) async fn one<T: FromBothRows>(&mut self, sql: Sql) -> Result<T, sqlx::Error> {
        self.optional(sql).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Runs a statement; returns the rows it affected.
    pub(crate) async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        match &mut self.inner {
            TxInner::Sqlite(tx, _) => {
                let (text, args) = sql.sqlite()?;
                Ok(sqlx::query_with::<Sqlite, _>(text, args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected())
            }
            TxInner::Postgres(tx) => {
                let (text, args) = sql.postgres()?;
                Ok(sqlx::query_with::<Postgres, _>(text, args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected())
            }
        }
    }

    /// Makes the transaction's writes durable, bumping the fleet generation it changed.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self.inner {
            TxInner::Sqlite(tx, generations) => {
                tx.commit().await?;
                if let Some(tenant) = self.fleet_changed {
                    generations.bump(tenant);
                }
                Ok(())
            }
            TxInner::Postgres(mut tx) => {
                if let Some(tenant) = self.fleet_changed {
                    sqlx::query(BUMP_FLEET_GENERATION)
                        .bind(tenant.0)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
        }
    }
}

/// The kind of constraint a failed statement violated, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
    Check,
}

/// Classifies a driver error as a constraint violation.
pub(crate) fn violation(err: &sqlx::Error) -> Option<Violation> {
    use sqlx::error::ErrorKind;
    match err {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => Some(Violation::Unique),
            ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
            ErrorKind::CheckViolation | ErrorKind::NotNullViolation => Some(Violation::Check),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{anonymous, params, value_rows};

    #[test]
    fn placeholders_in_order_and_used_once_become_anonymous() {
        assert_eq!(
            anonymous("SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)").as_deref(),
            Some("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
        );
        let values = format!("INSERT INTO t (a, b) VALUES {}", value_rows(1, 2, 2));
        assert_eq!(
            anonymous(&values).as_deref(),
            Some("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)")
        );
        assert_eq!(params(3, 2), "$3, $4");
        assert_eq!(
            anonymous("SELECT '$2', 1 FROM t WHERE a = $1").as_deref(),
            Some("SELECT '$2', 1 FROM t WHERE a = ?"),
            "a dollar in a literal is text"
        );
        assert_eq!(anonymous("SELECT 1").as_deref(), Some("SELECT 1"));
    }

    #[test]
    fn placeholders_reused_or_out_of_order_keep_their_numbers() {
        assert_eq!(anonymous("UPDATE t SET a = $2 WHERE b = $1"), None);
        assert_eq!(anonymous("UPDATE t SET a = $1, b = $1"), None);
        assert_eq!(anonymous("SELECT $1, $3"), None);
        assert_eq!(anonymous("SELECT $ FROM t"), None);
    }
}
