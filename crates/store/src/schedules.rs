//! `scheduled_jobs` (built-in and user schedules) and `schedule_runs` (one row per fired
//! occurrence: the unique `(schedule_id, fire_time)` makes a fire happen once however many
//! schedulers run).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{StoreError, stmt};

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub agent: String,
    pub message: String,
    /// The schedule as given (`{"type": "cron", ...}`).
    pub spec: Option<Json>,
    pub deliver_to: Json,
    pub department: Option<String>,
    pub builtin_key: Option<String>,
    pub is_active: bool,
    pub last_run: Option<DateTime<Utc>>,
    pub next_run: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, name, description, agent, message, spec, deliver_to, department, builtin_key, \
                       is_active, last_run, next_run, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub agent: String,
    pub message: String,
    pub spec: Json,
    pub deliver_to: Json,
    pub department: String,
    pub next_run: Option<DateTime<Utc>>,
}

pub async fn create(db: &impl ConnectionTrait, s: NewSchedule) -> Result<ScheduleRow, StoreError> {
    ScheduleRow::find_by_statement(stmt(
        db,
        &format!(
            "INSERT INTO scheduled_jobs (id, user_id, name, description, agent, message, schedule, spec, deliver_to, \
                 department, next_run) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb::text, $7, $8, $9, $10) RETURNING {COLUMNS}"
        ),
        vec![
            Uuid::now_v7().into(),
            s.user_id.into(),
            s.name.into(),
            s.description.into(),
            s.agent.into(),
            s.message.into(),
            s.spec.into(),
            s.deliver_to.into(),
            s.department.into(),
            s.next_run.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "schedule (unknown user)"))?
    .ok_or_else(|| StoreError::Invalid("the schedule vanished".into()))
}

/// A built-in schedule from the configuration: created, or updated to match it (its last
/// fire is kept).
#[allow(clippy::too_many_arguments)]
pub async fn upsert_builtin(
    db: &impl ConnectionTrait,
    key: &str,
    system_user: Uuid,
    name: &str,
    agent: &str,
    message: &str,
    spec: Json,
    deliver_to: Json,
) -> Result<ScheduleRow, StoreError> {
    ScheduleRow::find_by_statement(stmt(
        db,
        &format!(
            "INSERT INTO scheduled_jobs (id, user_id, name, agent, message, schedule, spec, deliver_to, department, builtin_key) \
             VALUES ($1, $2, $3, $4, $5, $6::jsonb::text, $6, $7, 'management', $8) \
             ON CONFLICT (builtin_key) DO UPDATE SET name = EXCLUDED.name, agent = EXCLUDED.agent, \
                 message = EXCLUDED.message, schedule = EXCLUDED.schedule, spec = EXCLUDED.spec, \
                 deliver_to = EXCLUDED.deliver_to, updated_at = CASE WHEN scheduled_jobs.spec IS DISTINCT FROM EXCLUDED.spec \
                     OR scheduled_jobs.message IS DISTINCT FROM EXCLUDED.message THEN now() ELSE scheduled_jobs.updated_at END \
             RETURNING {COLUMNS}"
        ),
        vec![
            Uuid::now_v7().into(),
            system_user.into(),
            name.into(),
            agent.into(),
            message.into(),
            spec.into(),
            deliver_to.into(),
            key.into(),
        ],
    ))
    .one(db)
    .await?
    .ok_or_else(|| StoreError::Invalid("the schedule vanished".into()))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<ScheduleRow>, StoreError> {
    Ok(ScheduleRow::find_by_statement(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM scheduled_jobs WHERE id = $1"),
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

/// Every active schedule (what the scheduler evaluates each tick).
pub async fn active(db: &impl ConnectionTrait) -> Result<Vec<ScheduleRow>, StoreError> {
    Ok(ScheduleRow::find_by_statement(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM scheduled_jobs WHERE is_active AND spec IS NOT NULL ORDER BY id"),
        vec![],
    ))
    .all(db)
    .await?)
}

/// Schedules a user may see: their own, their department's, or (`all`) every one.
pub async fn visible(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    department: &str,
    all: bool,
) -> Result<Vec<ScheduleRow>, StoreError> {
    Ok(ScheduleRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {COLUMNS} FROM scheduled_jobs WHERE $3 OR user_id = $1 OR department = $2 \
             ORDER BY builtin_key IS NULL, created_at, id"
        ),
        vec![user_id.into(), department.into(), all.into()],
    ))
    .all(db)
    .await?)
}

/// How many user schedules `user_id` owns.
pub async fn count_owned(db: &impl ConnectionTrait, user_id: Uuid) -> Result<i64, StoreError> {
    #[derive(FromQueryResult)]
    struct N {
        n: i64,
    }
    Ok(N::find_by_statement(stmt(
        db,
        "SELECT count(*) AS n FROM scheduled_jobs WHERE user_id = $1 AND builtin_key IS NULL",
        vec![user_id.into()],
    ))
    .one(db)
    .await?
    .map(|r| r.n)
    .unwrap_or(0))
}

#[derive(Debug, Clone, Default)]
pub struct ScheduleUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub agent: Option<String>,
    pub message: Option<String>,
    pub spec: Option<Json>,
    pub deliver_to: Option<Json>,
    pub is_active: Option<bool>,
    /// Recomputed by the caller when the spec or the active flag changes.
    pub next_run: Option<Option<DateTime<Utc>>>,
}

pub async fn update(db: &impl ConnectionTrait, id: Uuid, u: ScheduleUpdate) -> Result<Option<ScheduleRow>, StoreError> {
    let (set_next, next) = match u.next_run {
        Some(n) => (true, n),
        None => (false, None),
    };
    Ok(ScheduleRow::find_by_statement(stmt(
        db,
        &format!(
            "UPDATE scheduled_jobs SET name = COALESCE($2, name), description = COALESCE($3, description), \
                 agent = COALESCE($4, agent), message = COALESCE($5, message), spec = COALESCE($6, spec), \
                 schedule = COALESCE($6::jsonb::text, schedule), deliver_to = COALESCE($7, deliver_to), \
                 is_active = COALESCE($8, is_active), next_run = CASE WHEN $9 THEN $10 ELSE next_run END, \
                 updated_at = now() \
             WHERE id = $1 RETURNING {COLUMNS}"
        ),
        vec![
            id.into(),
            u.name.into(),
            u.description.into(),
            u.agent.into(),
            u.message.into(),
            u.spec.into(),
            u.deliver_to.into(),
            u.is_active.into(),
            set_next.into(),
            next.into(),
        ],
    ))
    .one(db)
    .await?)
}

pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let r = db.execute_raw(stmt(db, "DELETE FROM scheduled_jobs WHERE id = $1", vec![id.into()])).await?;
    Ok(r.rows_affected() == 1)
}

/// Claims an occurrence: `Some(run id)` for the one caller that records it first, `None` for
/// every other scheduler (or a repeat).
pub async fn claim_fire(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    fire_time: DateTime<Utc>,
    manual: bool,
    skipped: u32,
) -> Result<Option<Uuid>, StoreError> {
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    Ok(Id::find_by_statement(stmt(
        db,
        "INSERT INTO schedule_runs (id, schedule_id, fire_time, manual, skipped) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (schedule_id, fire_time) DO NOTHING RETURNING id",
        vec![Uuid::now_v7().into(), schedule_id.into(), fire_time.into(), manual.into(), (skipped as i32).into()],
    ))
    .one(db)
    .await?
    .map(|r| r.id))
}

/// Records the job of a claimed run and moves the schedule's `last_run`/`next_run` on.
pub async fn fired(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    schedule_id: Uuid,
    job_id: Uuid,
    fire_time: DateTime<Utc>,
    next_run: Option<DateTime<Utc>>,
    manual: bool,
) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "WITH r AS (UPDATE schedule_runs SET job_id = $3 WHERE id = $1) \
         UPDATE scheduled_jobs SET last_run = CASE WHEN $6 THEN last_run ELSE GREATEST(last_run, $4) END, \
             next_run = CASE WHEN $6 THEN next_run ELSE $5 END, \
             is_active = CASE WHEN NOT $6 AND $5::timestamptz IS NULL THEN false ELSE is_active END \
         WHERE id = $2",
        vec![run_id.into(), schedule_id.into(), job_id.into(), fire_time.into(), next_run.into(), manual.into()],
    ))
    .await?;
    Ok(())
}

/// One fire of a schedule with its job's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct RunRow {
    pub id: Uuid,
    pub fire_time: DateTime<Utc>,
    pub manual: bool,
    pub skipped: i32,
    pub job_id: Option<Uuid>,
    pub status: Option<String>,
    pub result: Option<Json>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn history(db: &impl ConnectionTrait, schedule_id: Uuid, limit: u64) -> Result<Vec<RunRow>, StoreError> {
    Ok(RunRow::find_by_statement(stmt(
        db,
        "SELECT r.id, r.fire_time, r.manual, r.skipped, r.job_id, j.status, j.result, j.last_error AS error, \
                r.created_at, j.finished_at \
         FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id \
         WHERE r.schedule_id = $1 ORDER BY r.fire_time DESC, r.id DESC LIMIT $2",
        vec![schedule_id.into(), (limit.min(200) as i64).into()],
    ))
    .all(db)
    .await?)
}

/// Records when a schedule fires next (for the API), leaving `updated_at` alone.
pub async fn set_next_run(db: &impl ConnectionTrait, id: Uuid, next: Option<DateTime<Utc>>) -> Result<(), StoreError> {
    db.execute_raw(stmt(db, "UPDATE scheduled_jobs SET next_run = $2 WHERE id = $1", vec![id.into(), next.into()]))
        .await?;
    Ok(())
}
