//! Process presence: each worker and scheduler reports itself every few seconds; health
//! endpoints list the ones seen recently.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::{KvError, Redis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub name: String,
    pub kind: String,
    pub pid: u32,
    pub host: String,
    pub version: String,
    pub started_at: u64,
    pub last_seen: u64,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn hash_key(redis: &Redis, kind: &str) -> String {
    redis.key(&format!("procs:{kind}"))
}

/// Reports `info` as alive now.
pub async fn heartbeat(redis: &Redis, info: &mut ProcessInfo) -> Result<(), KvError> {
    info.last_seen = now();
    let json = serde_json::to_string(info).unwrap_or_default();
    let _: () = redis.conn().hset(hash_key(redis, &info.kind), &info.name, json).await?;
    Ok(())
}

/// Removes a process on clean shutdown.
pub async fn remove(redis: &Redis, kind: &str, name: &str) -> Result<(), KvError> {
    let _: () = redis.conn().hdel(hash_key(redis, kind), name).await?;
    Ok(())
}

/// Processes of `kind` seen within `max_age_secs`; older entries are pruned.
pub async fn live(redis: &Redis, kind: &str, max_age_secs: u64) -> Result<Vec<ProcessInfo>, KvError> {
    let key = hash_key(redis, kind);
    let all: std::collections::HashMap<String, String> = redis.conn().hgetall(&key).await?;
    let cutoff = now().saturating_sub(max_age_secs);
    let mut alive = Vec::new();
    let mut stale = Vec::new();
    for (name, json) in all {
        match serde_json::from_str::<ProcessInfo>(&json) {
            Ok(p) if p.last_seen >= cutoff => alive.push(p),
            _ => stale.push(name),
        }
    }
    if !stale.is_empty() {
        let _: () = redis.conn().hdel(&key, stale).await?;
    }
    alive.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(alive)
}

/// Reports this process every `interval` until `shutdown` resolves, then removes it.
/// Redis trouble is logged and retried at the next beat; it never stops the process.
pub async fn report_until(
    redis: &Redis,
    mut info: ProcessInfo,
    interval: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut healthy = true;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {
                match heartbeat(redis, &mut info).await {
                    Ok(()) if !healthy => {
                        tracing::info!("Redis is reachable again");
                        healthy = true;
                    }
                    Ok(()) => {}
                    Err(e) => {
                        if healthy {
                            tracing::warn!(error = %e, "heartbeat failed; retrying");
                        }
                        healthy = false;
                    }
                }
            }
        }
    }
    if let Err(e) = remove(redis, &info.kind, &info.name).await {
        tracing::warn!(error = %e, "could not deregister on shutdown");
    }
}

impl ProcessInfo {
    /// Describes this process: a unique name (kind, host, pid, random suffix), so a
    /// restarted process never reuses a dead one's name.
    pub fn this_process(kind: &str, version: &str) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown-host".into());
        let pid = std::process::id();
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
        let started_at = now();
        Self {
            name: format!("{kind}-{host}-{pid}-{suffix}"),
            kind: kind.into(),
            pid,
            host,
            version: version.into(),
            started_at,
            last_seen: started_at,
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        _ = term => tracing::info!("SIGTERM received; shutting down"),
    }
}
