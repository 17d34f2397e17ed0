//! Sliding-window rate limiting: one Lua script per check, so the count and the admission
//! happen atomically in Redis (no read-then-write race between api processes). The window
//! is a sorted set of admission times; Redis's own clock is used, so processes with skewed
//! clocks agree.

use std::sync::LazyLock;
use std::time::Duration;

use crate::{KvError, Redis};

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local key = KEYS[1]
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local member = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local retry = window
if oldest[2] then retry = tonumber(oldest[2]) + window - now end
if retry < 1 then retry = 1 end
return {0, 0, retry}
"#,
    )
});

/// The answer to one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub remaining: u32,
    /// When refused: how long until a slot frees up.
    pub retry_after: Duration,
}

impl Decision {
    /// Whole seconds for a `Retry-After` header (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_micros().div_ceil(1_000_000).max(1) as u64
    }
}

/// Admits at most `limit` calls per `window` for `bucket` (e.g. `auth:ip:1.2.3.4`).
pub async fn check(redis: &Redis, bucket: &str, limit: u32, window: Duration) -> Result<Decision, KvError> {
    let key = redis.key(&format!("rl:{bucket}"));
    let member = uuid::Uuid::now_v7().to_string();
    let window_us = window.as_micros().max(1) as u64;
    let (allowed, remaining, retry_us): (i64, i64, i64) =
        SCRIPT.key(key).arg(window_us).arg(limit).arg(member).invoke_async(&mut redis.conn()).await?;
    Ok(Decision {
        allowed: allowed == 1,
        remaining: remaining.max(0) as u32,
        retry_after: Duration::from_micros(retry_us.max(0) as u64),
    })
}
