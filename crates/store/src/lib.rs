//! PostgreSQL access. The only crate (with `migrations`) that knows sea-orm; every SQL
//! statement of the product lives here. Repository functions take `&impl ConnectionTrait`
//! so they work inside a caller's transaction as well as on the pool.

pub mod audit;
mod entities;
mod error;
pub mod tokens;
pub mod users;

use std::time::{Duration, Instant};

pub use error::StoreError;
use sea_orm::{ConnectOptions, Database, Statement};
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

/// Pool settings, filled from the configuration by the binaries.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout: Duration,
    pub acquire_timeout: Duration,
}

/// Opens the pool and checks the server answers. The error says where it tried to connect
/// (without the password) and why, in words an operator can act on.
pub async fn connect(url: &str, options: &PoolOptions) -> Result<DatabaseConnection, StoreError> {
    let mut opt = ConnectOptions::new(url.to_string());
    opt.max_connections(options.max_connections)
        .min_connections(options.min_connections)
        .connect_timeout(options.connect_timeout)
        .acquire_timeout(options.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .sqlx_logging(false);
    let target = redact_url(url);
    let db = Database::connect(opt)
        .await
        .map_err(|e| StoreError::Unreachable(format!("cannot connect to PostgreSQL at {target}: {}", describe(&e))))?;
    ping(&db).await.map_err(|e| StoreError::Unreachable(format!("PostgreSQL at {target} does not answer: {e}")))?;
    Ok(db)
}

fn describe(e: &sea_orm::DbErr) -> String {
    let s = e.to_string();
    if s.contains("Connection refused") {
        "connection refused (is PostgreSQL running and listening there?)".into()
    } else if s.contains("does not exist") {
        format!("{s} (create it, or run ./scripts/start.sh which does)")
    } else {
        s
    }
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Opens the pool described by the configuration.
pub async fn connect_configured(cfg: &settings::DatabaseSettings) -> Result<DatabaseConnection, StoreError> {
    connect(
        cfg.url.expose(),
        &PoolOptions {
            max_connections: cfg.max_connections,
            min_connections: cfg.min_connections,
            connect_timeout: Duration::from_secs(cfg.connect_timeout_secs),
            acquire_timeout: Duration::from_secs(cfg.acquire_timeout_secs),
        },
    )
    .await
}

/// Round-trip time of `SELECT 1`.
pub async fn ping(db: &impl ConnectionTrait) -> Result<Duration, StoreError> {
    let start = Instant::now();
    db.execute_raw(Statement::from_string(db.get_database_backend(), "SELECT 1")).await?;
    Ok(start.elapsed())
}

/// Migrations from `expected` that this database has not applied, in order.
pub async fn missing_migrations(db: &impl ConnectionTrait, expected: &[String]) -> Result<Vec<String>, StoreError> {
    let exists = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT to_regclass('public.seaql_migrations') IS NOT NULL AS present",
        ))
        .await?
        .map(|r| r.try_get::<bool>("", "present"))
        .transpose()?
        .unwrap_or(false);
    if !exists {
        return Ok(expected.to_vec());
    }
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT version FROM seaql_migrations"))
        .await?;
    let applied: Vec<String> = rows.iter().filter_map(|r| r.try_get::<String>("", "version").ok()).collect();
    Ok(expected.iter().filter(|m| !applied.contains(m)).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/d"), "postgres://u@h:5432/d");
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://@h:6379/0");
    }
}
