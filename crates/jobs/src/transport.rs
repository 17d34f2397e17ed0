//! Redis transport over apalis-redis, with the settings that avoid its known defects
//! (see ARCHITECTURE.md): our own `ConnectionManager` (10 s timeout, reconnecting), a short
//! heartbeat so an idle worker polls at least every second, orphan recovery after two missed
//! beats, idempotent pushes, no Redis-side locking (O(backlog) per job), acks recorded (so a
//! worker's in-flight set stays small and finished tasks can be trimmed by [`vacuum`]), and a
//! Redis backlog kept small because only due jobs are pushed, in bounded batches.

use std::time::Duration;

use apalis::prelude::TaskSink;
use apalis_redis::{Config, RedisStorage};
use domain::jobs::{Lane, Queue};
use kv::Redis;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Enqueued, JobError};

/// What travels through Redis: the job's id, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    pub id: Uuid,
}

/// The apalis queue of one lane of one queue.
pub fn queue_name(prefix: &str, queue: Queue, lane: Lane) -> String {
    format!("{prefix}jobs:{}:{}", queue.as_str(), lane.as_str())
}

/// Most job ids waiting in Redis per lane. apalis-redis pushes every task into the lane's
/// scheduled set and promotes all due ones with one `RPUSH ... unpack(ids)`, which fails
/// for 8,000 or more ids and then fails every fetch (the lane is stuck). So PostgreSQL
/// holds any overflow and the sweeper tops the lane up as it drains.
pub const MAX_BACKLOG: u64 = 1000;

/// Heartbeat of apalis workers: also the longest an idle worker waits before polling again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// apalis configuration for a lane.
pub fn apalis_config(prefix: &str, queue: Queue, lane: Lane) -> Config {
    Config::default()
        .queue(queue_name(prefix, queue, lane))
        .heartbeat_interval(POLL_INTERVAL)
        .missed_heartbeats(20)
        .batch_size(4)
        .lock_tasks(false)
        .persist_results(true)
        .emit_events(false)
        .idempotency_ttl(Some(Duration::from_secs(60)))
}

/// Pushes job ids to their lanes. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    redis: Redis,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    fn storage(&self, queue: Queue, lane: Lane) -> RedisStorage<JobRef> {
        RedisStorage::new(self.redis.conn()).with_config(apalis_config(self.redis.prefix(), queue, lane))
    }

    /// Job ids waiting in Redis for a lane (scheduled set plus active list).
    pub async fn backlog(&self, queue: Queue, lane: Lane) -> Result<u64, JobError> {
        let c = apalis_config(self.redis.prefix(), queue, lane);
        let (scheduled, active): (u64, u64) = redis::pipe()
            .zcard(c.scheduled_jobs_set())
            .llen(c.active_jobs_list())
            .query_async(&mut self.redis.conn())
            .await
            .map_err(|e| JobError::Transport(e.to_string()))?;
        Ok(scheduled + active)
    }

    /// Pushes several job ids of one lane in one round trip.
    pub async fn push_many(&self, ids: &[Uuid], queue: Queue, lane: Lane) -> Result<(), JobError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut storage = self.storage(queue, lane);
        storage
            .push_bulk(ids.iter().map(|id| JobRef { id: *id }).collect())
            .await
            .map_err(|e| JobError::Transport(e.to_string()))
    }

    /// Pushes one job id.
    pub async fn push(&self, id: Uuid, queue: Queue, lane: Lane) -> Result<(), JobError> {
        let mut storage = self.storage(queue, lane);
        storage.push(JobRef { id }).await.map_err(|e| JobError::Transport(e.to_string()))
    }

    /// After commit: pushes the jobs that are due now and records the push. A failure, or a
    /// lane whose Redis backlog is full, is logged, not returned: the job is committed and
    /// the sweeper will push it.
    pub async fn dispatch(&self, db: &impl store::ConnectionTrait, jobs: &[Enqueued]) {
        let mut pushed = Vec::with_capacity(jobs.len());
        // Room left in each lane: read from Redis once per lane, then counted down here.
        let mut room: std::collections::HashMap<(Queue, Lane), u64> = std::collections::HashMap::new();
        for j in jobs.iter().filter(|j| j.due_now) {
            let lane = (j.queue, j.lane);
            if let std::collections::hash_map::Entry::Vacant(slot) = room.entry(lane) {
                let free = match self.backlog(j.queue, j.lane).await {
                    Ok(n) => MAX_BACKLOG.saturating_sub(n),
                    Err(e) => {
                        tracing::warn!(job = %j.id, error = %e, "Redis unavailable; the sweeper will push the job");
                        0
                    }
                };
                slot.insert(free);
            }
            let Some(left) = room.get_mut(&lane).filter(|left| **left > 0) else { continue };
            match self.push(j.id, j.queue, j.lane).await {
                Ok(()) => {
                    *left -= 1;
                    pushed.push(j.id);
                }
                Err(e) => tracing::warn!(job = %j.id, error = %e, "push failed; the sweeper will push it"),
            }
        }
        if let Err(e) = store::jobs::set_pushed(db, &pushed, true).await {
            tracing::warn!(error = %e, "could not record pushes; the sweeper may push again (harmless)");
        }
    }
}

/// Removes what apalis-redis keeps of finished tasks (ids in `{queue}:done` and `:dead`,
/// their payloads in `{queue}:data`, their metadata hashes), which it never trims by itself.
/// Everything about a job that matters is in PostgreSQL. Returns the tasks removed.
pub async fn vacuum(redis: &Redis, batch: u32) -> Result<u64, JobError> {
    static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
        redis::Script::new(
            r#"
local removed = 0
for s = 1, 2 do
  local ids = redis.call('SPOP', KEYS[s], ARGV[1])
  for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[3], id)
    redis.call('DEL', KEYS[4] .. ':' .. id)
    removed = removed + 1
  end
end
return removed
"#,
        )
    });
    let mut total = 0u64;
    for queue in Queue::ALL {
        for lane in Lane::ALL {
            let c = apalis_config(redis.prefix(), queue, lane);
            let n: u64 = SCRIPT
                .key(c.done_jobs_set())
                .key(c.dead_jobs_set())
                .key(c.job_data_hash())
                .key(c.job_meta_hash())
                .arg(batch)
                .invoke_async(&mut redis.conn())
                .await
                .map_err(|e| JobError::Transport(e.to_string()))?;
            total += n;
            total += forget_departed_workers(redis, &c).await?;
        }
    }
    Ok(total)
}

/// apalis keeps a metadata hash per worker name and never deletes it, even after its orphan
/// recovery has removed the worker. Every worker start has a new name, so these would pile
/// up: delete the hashes of workers no longer registered.
async fn forget_departed_workers(redis: &Redis, c: &Config) -> Result<u64, JobError> {
    let err = |e: redis::RedisError| JobError::Transport(e.to_string());
    let prefix = format!("{}:workers:metadata:", c.workers_set().trim_end_matches(":workers"));
    let keys =
        redis.scan(&format!("{}*", kv::escape_glob(&prefix))).await.map_err(|e| JobError::Transport(e.to_string()))?;
    let mut conn = redis.conn();
    let mut removed = 0u64;
    for key in keys {
        let Some(name) = key.strip_prefix(&prefix) else { continue };
        let registered: Option<f64> =
            redis::cmd("ZSCORE").arg(c.workers_set()).arg(name).query_async(&mut conn).await.map_err(err)?;
        if registered.is_none() {
            let _: u64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.map_err(err)?;
            removed += 1;
        }
    }
    Ok(removed)
}
