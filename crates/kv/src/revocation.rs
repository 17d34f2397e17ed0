//! The fast copy of token-family revocation. PostgreSQL (`token_families.revoked_at`) is the
//! truth; Redis holds one key per revoked family for the per-request check, plus a marker
//! saying the set was loaded. After a Redis restart or flush the marker is gone, callers see
//! [`Status::Unknown`], ask PostgreSQL, and reload the set.

use std::time::Duration;

use redis::AsyncCommands;
use uuid::Uuid;

use crate::{KvError, Redis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Revoked,
    NotRevoked,
    /// Redis does not hold the revocation set (restarted or flushed): ask the database.
    Unknown,
}

fn family_key(redis: &Redis, family: Uuid) -> String {
    redis.key(&format!("revoked:fam:{family}"))
}

fn marker_key(redis: &Redis) -> String {
    redis.key("revoked:loaded")
}

pub async fn status(redis: &Redis, family: Uuid) -> Result<Status, KvError> {
    let (revoked, loaded): (bool, bool) = redis::pipe()
        .exists(family_key(redis, family))
        .exists(marker_key(redis))
        .query_async(&mut redis.conn())
        .await?;
    Ok(if revoked {
        Status::Revoked
    } else if loaded {
        Status::NotRevoked
    } else {
        Status::Unknown
    })
}

/// Marks a family revoked for `ttl` (the family's remaining lifetime).
pub async fn revoke(redis: &Redis, family: Uuid, ttl: Duration) -> Result<(), KvError> {
    let secs = ttl.as_secs().max(1);
    let _: () = redis.conn().set_ex(family_key(redis, family), 1, secs).await?;
    Ok(())
}

/// Loads the whole set (from the database) and sets the marker.
pub async fn load(redis: &Redis, families: &[(Uuid, Duration)]) -> Result<(), KvError> {
    let mut pipe = redis::pipe();
    for (family, ttl) in families {
        pipe.set_ex(family_key(redis, *family), 1, ttl.as_secs().max(1)).ignore();
    }
    pipe.set(marker_key(redis), 1).ignore();
    let _: () = pipe.query_async(&mut redis.conn()).await?;
    Ok(())
}

/// Takes a short lock so only one process reloads the set at a time.
pub async fn try_lock_reload(redis: &Redis) -> Result<bool, KvError> {
    let set: Option<String> = redis::cmd("SET")
        .arg(redis.key("revoked:reload-lock"))
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(30)
        .query_async(&mut redis.conn())
        .await?;
    Ok(set.is_some())
}

pub async fn unlock_reload(redis: &Redis) -> Result<(), KvError> {
    let _: () = redis.conn().del(redis.key("revoked:reload-lock")).await?;
    Ok(())
}
