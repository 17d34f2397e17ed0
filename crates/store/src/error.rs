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
