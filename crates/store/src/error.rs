use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached at all (startup, health).
    #[error("{0}")]
    Unreachable(String),
    /// A unique constraint refused the write; the string names what collided.
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The caller sent a value the store refuses (unknown status, negative amount, a
    /// reference to a row that does not exist). The message names the field.
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Maps a unique violation to `Conflict(what)`, anything else to `Db`.
    pub(crate) fn unique(e: DbErr, what: &'static str) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what),
            _ => StoreError::Db(e),
        }
    }
}

impl StoreError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        StoreError::Invalid(msg.into())
    }

    /// Maps a foreign-key or check violation (a value validation let through) to
    /// `Invalid(what)`, a unique violation to `Conflict(what)`, anything else to `Db`.
    pub(crate) fn refused(e: DbErr, what: &'static str) -> Self {
        match e.sql_err() {
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                StoreError::Invalid(format!("{what}: a referenced row does not exist"))
            }
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what),
            _ if e.to_string().contains("violates check constraint") => {
                StoreError::Invalid(format!("{what}: a value is out of range"))
            }
            _ => StoreError::Db(e),
        }
    }
}
