//! The `jobs` table: the truth of the job system. Every state change is one conditional
//! UPDATE, so concurrent workers, sweepers and admins cannot both win: a job is claimed by
//! one worker, replayed once, completed once.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{StoreError, stmt};

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct JobRow {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub priority: i16,
    pub lane: String,
    pub payload: Json,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    pub user_id: Option<Uuid>,
    pub progress_percent: Option<i16>,
    pub progress_message: Option<String>,
    pub result: Option<Json>,
    pub last_error: Option<String>,
    pub worker: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub pushed_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub priority: i16,
    pub lane: String,
    pub payload: Json,
    /// `None`: now, by the database's clock.
    pub run_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub user_id: Option<Uuid>,
    pub max_attempts: i32,
}

/// Inserts a job, or returns the existing one with the same idempotency key
/// (`created == false`). Runs in the caller's transaction.
pub async fn insert(db: &impl ConnectionTrait, j: NewJob) -> Result<(JobRow, bool), StoreError> {
    let key = j.idempotency_key.clone();
    let row = JobRow::find_by_statement(stmt(
        db,
        "INSERT INTO jobs (id, queue, kind, priority, lane, payload, run_at, idempotency_key, user_id, max_attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, now()), $8, $9, $10) \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
        vec![
            j.id.into(),
            j.queue.into(),
            j.kind.into(),
            j.priority.into(),
            j.lane.into(),
            j.payload.into(),
            j.run_at.into(),
            j.idempotency_key.into(),
            j.user_id.into(),
            j.max_attempts.into(),
        ],
    ))
    .one(db)
    .await?;
    if let Some(row) = row {
        return Ok((row, true));
    }
    let existing =
        JobRow::find_by_statement(stmt(db, "SELECT * FROM jobs WHERE idempotency_key = $1", vec![key.into()]))
            .one(db)
            .await?
            .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("idempotency conflict without a row".into())))?;
    Ok((existing, false))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<JobRow>, StoreError> {
    Ok(JobRow::find_by_statement(stmt(db, "SELECT * FROM jobs WHERE id = $1", vec![id.into()])).one(db).await?)
}

/// Records that these jobs were just handed to Redis (`pushed = true`), or makes them
/// eligible for an immediate re-push (`false`: a worker hands back what it took from Redis
/// but did not start, or a push failed). Only jobs still waiting change.
pub async fn set_pushed(db: &impl ConnectionTrait, ids: &[Uuid], pushed: bool) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = if pushed {
        "UPDATE jobs SET pushed_at = now() WHERE id = ANY($1) AND status IN ('queued','retrying')"
    } else {
        "UPDATE jobs SET pushed_at = NULL WHERE id = ANY($1) AND status IN ('queued','retrying')"
    };
    db.execute_raw(stmt(db, sql, vec![ids.to_vec().into()])).await?;
    Ok(())
}

/// Takes a due job for `worker`: `queued`/`retrying` → `running`, attempts + 1. `None` when
/// the job is not claimable (already running elsewhere, finished, cancelled, not yet due):
/// a duplicate delivery from Redis is then dropped here.
pub async fn claim(db: &impl ConnectionTrait, id: Uuid, worker: &str) -> Result<Option<JobRow>, StoreError> {
    Ok(JobRow::find_by_statement(stmt(
        db,
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = $2, heartbeat_at = now(), \
         started_at = COALESCE(started_at, now()), updated_at = now() \
         WHERE id = $1 AND status IN ('queued','retrying') AND run_at <= now() RETURNING *",
        vec![id.into(), worker.into()],
    ))
    .one(db)
    .await?)
}

/// Extends the lease; `false` when the job is no longer this worker's (cancelled, or taken
/// over after a missed heartbeat): the handler should stop.
pub async fn heartbeat(db: &impl ConnectionTrait, id: Uuid, worker: &str) -> Result<bool, StoreError> {
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE jobs SET heartbeat_at = now() WHERE id = $1 AND status = 'running' AND worker = $2",
            vec![id.into(), worker.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn progress(
    db: &impl ConnectionTrait,
    id: Uuid,
    worker: &str,
    percent: i16,
    message: &str,
) -> Result<bool, StoreError> {
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE jobs SET progress_percent = $3, progress_message = $4, heartbeat_at = now(), updated_at = now() \
             WHERE id = $1 AND status = 'running' AND worker = $2",
            vec![id.into(), worker.into(), percent.clamp(0, 100).into(), message.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn complete(db: &impl ConnectionTrait, id: Uuid, worker: &str, result: Json) -> Result<bool, StoreError> {
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE jobs SET status = 'completed', result = $3, progress_percent = 100, finished_at = now(), \
             updated_at = now(), heartbeat_at = NULL WHERE id = $1 AND status = 'running' AND worker = $2",
            vec![id.into(), worker.into(), result.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records a failed attempt: `retrying` in `retry_in` (from the database's clock), or `dead`
/// when `retry_in` is `None`. Returns the new status, or `None` if the job was no longer this
/// worker's.
pub async fn fail(
    db: &impl ConnectionTrait,
    id: Uuid,
    worker: &str,
    error: &str,
    retry_in: Option<std::time::Duration>,
) -> Result<Option<String>, StoreError> {
    let error: String = error.chars().take(4000).collect();
    let row = db
        .query_one_raw(stmt(
            db,
            "UPDATE jobs SET status = CASE WHEN $4::float8 IS NULL THEN 'dead' ELSE 'retrying' END, \
             run_at = CASE WHEN $4::float8 IS NULL THEN run_at ELSE now() + make_interval(secs => $4::float8) END, \
             last_error = $3, pushed_at = NULL, heartbeat_at = NULL, \
             finished_at = CASE WHEN $4::float8 IS NULL THEN now() ELSE NULL END, updated_at = now() \
             WHERE id = $1 AND status = 'running' AND worker = $2 RETURNING status",
            vec![id.into(), worker.into(), error.into(), retry_in.map(|d| d.as_secs_f64()).into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<String>("", "status")).transpose()?)
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct DueJob {
    pub id: Uuid,
    pub queue: String,
    pub lane: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct DueLane {
    pub queue: String,
    pub lane: String,
}

/// Lanes with due jobs not handed to Redis in the last `min_secs` seconds.
pub async fn due_lanes(db: &impl ConnectionTrait, min_secs: i64) -> Result<Vec<DueLane>, StoreError> {
    Ok(DueLane::find_by_statement(stmt(
        db,
        "SELECT DISTINCT queue, lane FROM jobs WHERE status IN ('queued','retrying') AND run_at <= now() \
         AND (pushed_at IS NULL OR pushed_at < now() - make_interval(secs => $1))",
        vec![(min_secs as f64).into()],
    ))
    .all(db)
    .await?)
}

/// Due jobs of one lane not handed to Redis in the last `repush_after_secs` (never pushed,
/// pushed before a crash or a Redis flush), highest priority and oldest first, marked pushed
/// atomically so two sweepers do not take the same rows.
pub async fn take_due(
    db: &impl ConnectionTrait,
    queue: &str,
    lane: &str,
    limit: u64,
    repush_after_secs: i64,
) -> Result<Vec<DueJob>, StoreError> {
    Ok(DueJob::find_by_statement(stmt(
        db,
        "UPDATE jobs SET pushed_at = now() WHERE id IN ( \
             SELECT id FROM jobs WHERE queue = $3 AND lane = $4 AND status IN ('queued','retrying') AND run_at <= now() \
             AND (pushed_at IS NULL OR pushed_at < now() - make_interval(secs => $2)) \
             ORDER BY priority DESC, run_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, queue, lane",
        vec![(limit as i64).into(), (repush_after_secs as f64).into(), queue.into(), lane.into()],
    ))
    .all(db)
    .await?)
}

/// Running jobs whose worker stopped heart-beating before `stale_after_secs` ago go back
/// to `queued` (their attempt counts as failed), or to `dead` when out of attempts.
pub async fn recover_stale(db: &impl ConnectionTrait, stale_after_secs: i64) -> Result<Vec<JobRow>, StoreError> {
    Ok(JobRow::find_by_statement(stmt(
        db,
        "UPDATE jobs SET \
             status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
             finished_at = CASE WHEN attempts >= max_attempts THEN now() ELSE NULL END, \
             last_error = 'worker ' || COALESCE(worker, '?') || ' stopped heart-beating during attempt ' || attempts, \
             run_at = now(), pushed_at = NULL, heartbeat_at = NULL, updated_at = now() \
         WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1) RETURNING *",
        vec![(stale_after_secs as f64).into()],
    ))
    .all(db)
    .await?)
}

/// Cancels a job that has not finished. A running handler notices at its next heartbeat.
pub async fn cancel(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<JobRow>, StoreError> {
    Ok(JobRow::find_by_statement(stmt(
        db,
        "UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now(), heartbeat_at = NULL \
         WHERE id = $1 AND status IN ('queued','retrying','running') RETURNING *",
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

/// Puts dead jobs back in their queue with a fresh attempt budget. Only rows still `dead`
/// change, so two admins replaying the same job at once replay it once.
pub async fn replay(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<DueJob>, StoreError> {
    Ok(DueJob::find_by_statement(stmt(
        db,
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), pushed_at = NULL, finished_at = NULL, \
         updated_at = now() WHERE id = ANY($1) AND status = 'dead' RETURNING id, queue, lane",
        vec![ids.to_vec().into()],
    ))
    .all(db)
    .await?)
}

/// Replays up to `limit` dead jobs (oldest first), optionally of one queue.
pub async fn replay_oldest(
    db: &impl ConnectionTrait,
    queue: Option<&str>,
    limit: u64,
) -> Result<Vec<DueJob>, StoreError> {
    Ok(DueJob::find_by_statement(stmt(
        db,
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), pushed_at = NULL, finished_at = NULL, \
         updated_at = now() WHERE id IN ( \
             SELECT id FROM jobs WHERE status = 'dead' AND ($1::text IS NULL OR queue = $1) \
             ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id, queue, lane",
        vec![queue.map(str::to_string).into(), (limit as i64).into()],
    ))
    .all(db)
    .await?)
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub user_id: Option<Uuid>,
}

/// Newest first, with the total.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &JobFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<JobRow>, u64), StoreError> {
    let values: Vec<Value> = vec![
        f.status.clone().into(),
        f.queue.clone().into(),
        f.kind.clone().into(),
        f.user_id.into(),
        (limit as i64).into(),
        (offset as i64).into(),
    ];
    let filter = "($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR queue = $2) \
                  AND ($3::text IS NULL OR kind = $3) AND ($4::uuid IS NULL OR user_id = $4)";
    let total = db
        .query_one_raw(stmt(db, &format!("SELECT count(*) AS n FROM jobs WHERE {filter}"), values[..4].to_vec()))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64;
    let rows = JobRow::find_by_statement(stmt(
        db,
        &format!("SELECT * FROM jobs WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"),
        values,
    ))
    .all(db)
    .await?;
    Ok((rows, total))
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct QueueStats {
    pub queue: String,
    pub queued: i64,
    pub running: i64,
    pub retrying: i64,
    pub dead: i64,
    pub completed: i64,
    pub cancelled: i64,
    /// Seconds the oldest due, unclaimed job has waited.
    pub oldest_waiting_secs: Option<f64>,
    pub completed_last_minute: i64,
    pub completed_last_hour: i64,
}

pub async fn stats(db: &impl ConnectionTrait) -> Result<Vec<QueueStats>, StoreError> {
    Ok(QueueStats::find_by_statement(stmt(
        db,
        "SELECT q.queue, \
           count(j.id) FILTER (WHERE j.status = 'queued') AS queued, \
           count(j.id) FILTER (WHERE j.status = 'running') AS running, \
           count(j.id) FILTER (WHERE j.status = 'retrying') AS retrying, \
           count(j.id) FILTER (WHERE j.status = 'dead') AS dead, \
           count(j.id) FILTER (WHERE j.status = 'completed') AS completed, \
           count(j.id) FILTER (WHERE j.status = 'cancelled') AS cancelled, \
           EXTRACT(EPOCH FROM now() - min(j.run_at) FILTER (WHERE j.status IN ('queued','retrying') AND j.run_at <= now()))::float8 AS oldest_waiting_secs, \
           count(j.id) FILTER (WHERE j.status = 'completed' AND j.finished_at > now() - interval '1 minute') AS completed_last_minute, \
           count(j.id) FILTER (WHERE j.status = 'completed' AND j.finished_at > now() - interval '1 hour') AS completed_last_hour \
         FROM unnest(ARRAY['agent','media','webhook','delivery','maintenance']) AS q(queue) \
         LEFT JOIN jobs j ON j.queue = q.queue GROUP BY q.queue ORDER BY q.queue",
        vec![],
    ))
    .all(db)
    .await?)
}

/// Hands a running job back (worker shutdown): `queued` at once, the interrupted attempt
/// not counted.
pub async fn release(db: &impl ConnectionTrait, id: Uuid, worker: &str) -> Result<bool, StoreError> {
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE jobs SET status = 'queued', attempts = GREATEST(attempts - 1, 0), worker = NULL, heartbeat_at = NULL, \
             pushed_at = NULL, run_at = now(), updated_at = now() WHERE id = $1 AND status = 'running' AND worker = $2",
            vec![id.into(), worker.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}
