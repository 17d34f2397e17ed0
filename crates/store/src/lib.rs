//! PostgreSQL access. The only crate (with `migrations`) that knows sea-orm; every SQL
//! statement of the product lives here. Repository functions take `&impl ConnectionTrait`
//! so they work inside a caller's transaction as well as on the pool.

pub mod artifacts;
pub mod audit;
pub mod chat;
pub mod company;
pub mod demo;
pub mod devices;
pub mod effects;
mod entities;
mod error;
pub mod jobs;
pub mod llm_usage;
pub mod outbox;
pub mod pending;
pub mod schedules;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::time::{Duration, Instant};

pub use error::StoreError;

/// A raw SQL statement with positional values, for the connection's backend.
pub(crate) fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}
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
    if let Some(addr) = tcp_target(url) {
        // A quick probe turns "pool timed out" into the actual reason.
        match tokio::time::timeout(options.connect_timeout, tokio::net::TcpStream::connect(&addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let why = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    "connection refused (is PostgreSQL running and listening there?)".to_string()
                } else {
                    e.to_string()
                };
                return Err(StoreError::Unreachable(format!("cannot connect to PostgreSQL at {target}: {why}")));
            }
            Err(_) => {
                return Err(StoreError::Unreachable(format!(
                    "cannot connect to PostgreSQL at {target}: no answer within {} s",
                    options.connect_timeout.as_secs()
                )));
            }
        }
    }
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

/// `host:port` of a TCP PostgreSQL URL (`None` for Unix sockets or unparseable URLs).
fn tcp_target(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = rest.split(['/', '?']).next()?;
    let hostport = authority.rsplit('@').next()?;
    if hostport.is_empty() || hostport.starts_with('%') || url.contains("host=/") {
        return None;
    }
    if hostport.starts_with('[') {
        return Some(if hostport.contains("]:") { hostport.to_string() } else { format!("{hostport}:5432") });
    }
    Some(if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:5432") })
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

/// Fails with the fix in the message unless every migration in `expected` is applied.
pub async fn require_schema(db: &impl ConnectionTrait, expected: &[String]) -> Result<(), StoreError> {
    let missing = missing_migrations(db, expected).await?;
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(StoreError::Unreachable(format!(
            "the database is not migrated ({} migration(s) missing, first: {first}); run `mezzofy migrate`",
            missing.len()
        ))),
    }
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
    fn finds_tcp_targets() {
        assert_eq!(tcp_target("postgres://u:p@db.example:6543/x").as_deref(), Some("db.example:6543"));
        assert_eq!(tcp_target("postgresql://localhost/x?sslmode=require").as_deref(), Some("localhost:5432"));
        assert_eq!(tcp_target("postgres://[::1]:5433/x").as_deref(), Some("[::1]:5433"));
        assert_eq!(tcp_target("postgres:///x?host=/var/run/postgresql"), None);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/d"), "postgres://u@h:5432/d");
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://@h:6379/0");
    }
}

/// Maintenance helpers for tools and tests that manage databases themselves (creating a
/// database from a template, for example). Not used by the product's request paths.
pub mod maintenance {
    use std::time::Duration;

    use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

    use crate::StoreError;

    /// A pool of at most `max` connections, without the startup checks of [`crate::connect`].
    pub async fn open(url: &str, max: u32) -> Result<DatabaseConnection, StoreError> {
        let mut opt = ConnectOptions::new(url.to_string());
        opt.max_connections(max).min_connections(1).sqlx_logging(false).connect_timeout(Duration::from_secs(10));
        Ok(Database::connect(opt).await?)
    }

    /// Runs SQL that takes no parameters (DDL, `CREATE DATABASE`, ...).
    pub async fn execute(db: &DatabaseConnection, sql: &str) -> Result<(), StoreError> {
        db.execute_unprepared(sql).await?;
        Ok(())
    }

    /// The `n` column of a parameterless counting query (`SELECT count(*) AS n ...`), for
    /// benchmarks and diagnostics.
    pub async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, StoreError> {
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
        Ok(match row {
            Some(r) => r.try_get::<i64>("", "n")?,
            None => 0,
        })
    }

    pub async fn database_exists(db: &DatabaseConnection, name: &str) -> Result<bool, StoreError> {
        Ok(db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT 1 AS one FROM pg_database WHERE datname = $1",
                [name.into()],
            ))
            .await?
            .is_some())
    }
}
