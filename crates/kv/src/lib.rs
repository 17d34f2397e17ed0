//! Redis: the fast path and the transport. Holds the connection (one reconnecting
//! `ConnectionManager` with sane timeouts), key prefixing, the sliding-window rate limiter,
//! the revocation set and process presence. Nothing stored here is the only copy of
//! anything that matters: PostgreSQL is the truth.

pub mod presence;
pub mod ratelimit;
pub mod revocation;

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("{0}")]
    Unreachable(String),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
}

/// A handle to Redis with this deployment's key prefix. Cheap to clone.
#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct RedisOptions {
    pub key_prefix: String,
    pub response_timeout: Duration,
    pub connection_timeout: Duration,
}

impl Redis {
    /// Connects and checks the server answers `PING`. The connection reconnects by itself
    /// afterwards (a Redis restart costs the commands in flight, not the process).
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, KvError> {
        let target = redact(url);
        let client =
            redis::Client::open(url).map_err(|e| KvError::Unreachable(format!("invalid Redis URL {target}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.connection_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| KvError::Unreachable(format!("cannot connect to Redis at {target}: {}", describe(&e))))?;
        let redis = Self { conn, prefix: Arc::from(options.key_prefix.as_str()) };
        redis.ping().await.map_err(|e| KvError::Unreachable(format!("Redis at {target} does not answer: {e}")))?;
        Ok(redis)
    }

    /// Connects as the configuration describes.
    pub async fn connect_configured(cfg: &settings::RedisSettings) -> Result<Self, KvError> {
        Self::connect(
            cfg.url.expose(),
            &RedisOptions {
                key_prefix: cfg.key_prefix.clone(),
                response_timeout: Duration::from_millis(cfg.response_timeout_ms),
                connection_timeout: Duration::from_millis(cfg.connection_timeout_ms),
            },
        )
        .await
    }

    /// The full key for `suffix` under this deployment's prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{}", self.prefix, suffix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A connection handle (clones share one multiplexed connection).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub async fn ping(&self) -> Result<Duration, KvError> {
        let start = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut self.conn()).await?;
        Ok(start.elapsed())
    }

    /// Every key matching the glob `pattern` (SCAN, so Redis is never blocked).
    pub async fn scan(&self, pattern: &str) -> Result<Vec<String>, KvError> {
        let mut conn = self.conn();
        let mut cursor: u64 = 0;
        let mut found = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
            found.extend(keys);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    /// Deletes every key under this handle's prefix (tests and `mezzofy` maintenance only).
    pub async fn delete_prefixed(&self) -> Result<u64, KvError> {
        let keys = self.scan(&format!("{}*", escape_glob(&self.prefix))).await?;
        let mut deleted = 0u64;
        for chunk in keys.chunks(500) {
            let n: u64 = redis::cmd("UNLINK").arg(chunk).query_async(&mut self.conn()).await?;
            deleted += n;
        }
        Ok(deleted)
    }
}

/// Escapes `*`, `?`, `[`, `]` and `\\` so `s` matches itself in a Redis glob.
pub fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn describe(e: &redis::RedisError) -> String {
    let s = e.to_string();
    if s.contains("refused") { "connection refused (is Redis running and listening there?)".into() } else { s }
}

/// `redis://:secret@host:6379/0` → `redis://host:6379/0`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}{}", &url[..scheme + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("redis://:pw@h:6379/0"), "redis://h:6379/0");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
        assert_eq!(escape_glob("mz:[a]*"), "mz:\\[a\\]\\*");
    }
}
