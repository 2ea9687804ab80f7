//! The one error type of the store.
//!
//! Callers act on the variant: [`StoreError::NotFound`], [`StoreError::Conflict`] and
//! [`StoreError::Invalid`] carry a sentence a user can read (the web layer shows it as is);
//! [`StoreError::Crypto`] and [`StoreError::NodeLocked`] say what the operator must fix;
//! [`StoreError::Backend`] is internal and its message is meant for logs only.
//!
//! Constraint violations are mapped where the query runs (see `sql::db::Violation`), so the
//! message names the thing the user typed ("a customer named \"Acme\" already exists"), never a
//! constraint name. No message ever contains a secret: secrets are bound as query parameters,
//! which database errors do not echo, and connection URLs are redacted before they are shown.

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or belongs to another tenant (the two are indistinguishable).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `instance 42`.
        what: String,
    },
    /// The change would break a uniqueness or reference rule.
    #[error("{what}")]
    Conflict {
        /// A sentence saying what clashes, e.g. `a customer named "Acme" already exists`.
        what: String,
    },
    /// The input is not acceptable.
    #[error("{what}")]
    Invalid {
        /// A sentence saying what is wrong with the input.
        what: String,
    },
    /// The secret key cannot decrypt what is stored.
    #[error(
        "the secret key cannot decrypt stored credentials — is RUNWAY_SECRET_KEY the one this \
         database was created with?"
    )]
    Crypto,
    /// A second Runway process tried to use the same SQLite database.
    #[error(
        "this SQLite database is in use by another Runway node (pid {pid}); use PostgreSQL to run \
         several nodes"
    )]
    NodeLocked {
        /// The other process, as it wrote itself into the lock file (`unknown` if unreadable).
        pid: String,
    },
    /// The database was migrated by a newer Runway than this one; it is left untouched.
    #[error(
        "this database was written by Runway {written_by}; this is {this} (its schema {schema} \
         is newer than this release's {known}): upgrade Runway, or restore a backup made by this \
         release; the database was left untouched"
    )]
    NewerSchema {
        /// The release that last migrated it, as it recorded itself (`a newer release` if it
        /// did not).
        written_by: String,
        /// Its schema version.
        schema: i64,
        /// This build's release.
        this: &'static str,
        /// The newest schema this build knows.
        known: i64,
    },
    /// The database failed; the message is for logs, not for users.
    #[error("database error: {message}")]
    Backend {
        /// What the driver said (never contains bound values such as secrets).
        message: String,
    },
}

impl StoreError {
    /// A [`StoreError::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> StoreError {
        StoreError::NotFound { what: what.into() }
    }

    /// A [`StoreError::Conflict`] saying `what`.
    pub fn conflict(what: impl Into<String>) -> StoreError {
        StoreError::Conflict { what: what.into() }
    }

    /// A [`StoreError::Invalid`] saying `what`.
    pub fn invalid(what: impl Into<String>) -> StoreError {
        StoreError::Invalid { what: what.into() }
    }

    /// The same error, its sentence prefixed with what it is about (`Acme / HQ: …`), for
    /// operations on many things at once; the other variants are left as they are.
    #[must_use]
    pub fn about(self, subject: &str) -> StoreError {
        match self {
            StoreError::NotFound { what } => StoreError::NotFound {
                what: format!("{subject}: {what}"),
            },
            StoreError::Conflict { what } => StoreError::Conflict {
                what: format!("{subject}: {what}"),
            },
            StoreError::Invalid { what } => StoreError::Invalid {
                what: format!("{subject}: {what}"),
            },
            other => other,
        }
    }

    /// A [`StoreError::Backend`] from anything displayable.
    pub fn backend(message: impl std::fmt::Display) -> StoreError {
        StoreError::Backend {
            message: message.to_string(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    /// Unmapped driver errors: violations still get a generic but truthful variant.
    fn from(err: sqlx::Error) -> StoreError {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &err {
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    return StoreError::conflict("a record with the same name already exists");
                }
                ErrorKind::ForeignKeyViolation => {
                    return StoreError::conflict(
                        "the record refers to, or is referred to by, another record",
                    );
                }
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return StoreError::invalid(format!(
                        "the database refused the value: {}",
                        db.message()
                    ));
                }
                _ => {}
            }
        }
        StoreError::backend(err)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::backend(format!("migrating the database schema failed: {err}"))
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
