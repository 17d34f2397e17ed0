//! `webhook_events`: every accepted delivery, stored once per (source, provider event id).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{StoreError, stmt};

pub const STATUSES: &[&str] = &["received", "processing", "completed", "failed"];

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct EventRow {
    pub id: Uuid,
    pub source: String,
    pub event_type: String,
    pub event_id: String,
    pub payload: Json,
    pub status: String,
    pub job_id: Option<Uuid>,
    pub result: Option<Json>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, source, event_type, event_id, payload, status, job_id, result, error, created_at, updated_at, processed_at";

/// Stores an event; a second delivery with the same `(source, event_id)` stores nothing and
/// returns the first. Returns the row and whether it is new.
pub async fn record(
    db: &impl ConnectionTrait,
    id: Uuid,
    source: &str,
    event_type: &str,
    event_id: &str,
    payload: Json,
    job_id: Option<Uuid>,
) -> Result<(EventRow, bool), StoreError> {
    let inserted = EventRow::find_by_statement(stmt(
        db,
        &format!(
            "INSERT INTO webhook_events (id, source, event_type, event_id, payload, job_id) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, event_id) DO NOTHING RETURNING {COLUMNS}"
        ),
        vec![id.into(), source.into(), event_type.into(), event_id.into(), payload.into(), job_id.into()],
    ))
    .one(db)
    .await?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = EventRow::find_by_statement(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM webhook_events WHERE source = $1 AND event_id = $2"),
        vec![source.into(), event_id.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| StoreError::Invalid("the webhook event vanished".into()))?;
    Ok((existing, false))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<EventRow>, StoreError> {
    Ok(EventRow::find_by_statement(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM webhook_events WHERE id = $1"),
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

/// Moves an event to `processing` (from `received` or a failed/interrupted `processing`).
pub async fn start(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "UPDATE webhook_events SET status = 'processing', updated_at = now() WHERE id = $1 AND status <> 'completed'",
        vec![id.into()],
    ))
    .await?;
    Ok(())
}

/// Records how processing ended.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: Uuid,
    ok: bool,
    result: Json,
    error: Option<String>,
) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "UPDATE webhook_events SET status = $2, result = $3, error = $4, processed_at = now(), updated_at = now() \
         WHERE id = $1",
        vec![id.into(), (if ok { "completed" } else { "failed" }).into(), result.into(), error.into()],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub status: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Events, newest first, and how many match.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &EventFilter,
    limit: u64,
    offset: u64,
) -> Result<(Vec<EventRow>, u64), StoreError> {
    if let Some(s) = &f.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(StoreError::Invalid(format!("status must be one of {}", STATUSES.join(", "))));
    }
    let filter = "($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR event_type = $2) \
                  AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR created_at >= $4) \
                  AND ($5::timestamptz IS NULL OR created_at < $5)";
    let values: Vec<Value> =
        vec![f.source.clone().into(), f.event_type.clone().into(), f.status.clone().into(), f.from.into(), f.to.into()];
    let mut page = values.clone();
    page.push((limit.min(200) as i64).into());
    page.push((offset as i64).into());
    let rows = EventRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {COLUMNS} FROM webhook_events WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
        ),
        page,
    ))
    .all(db)
    .await?;
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let total =
        Count::find_by_statement(stmt(db, &format!("SELECT count(*) AS n FROM webhook_events WHERE {filter}"), values))
            .one(db)
            .await?
            .map(|c| c.n as u64)
            .unwrap_or(0);
    Ok((rows, total))
}

/// One event of [`record_batch`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub source: String,
    pub event_type: String,
    pub event_id: String,
    pub payload: Json,
    /// The id its job gets when the event is new.
    pub job_id: Uuid,
}

/// The job written with each new event of [`record_batch`].
#[derive(Debug, Clone)]
pub struct EventJob {
    pub queue: String,
    pub kind: String,
    pub priority: i16,
    pub lane: String,
    pub max_attempts: i32,
}

/// What became of one event of a batch, in input order.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct BatchOutcome {
    /// The stored row: this event's, or the first delivery's for a duplicate. `None` only
    /// when a concurrent writer stored the same event while this statement ran (look it up).
    pub row_id: Option<Uuid>,
    /// Stored now (else a duplicate of an earlier or a same-batch delivery).
    pub is_new: bool,
}

/// Stores many events and a job for each new one in ONE statement (atomic, one round trip
/// and one commit for the lot): `(source, event_id)` duplicates, against stored rows or
/// within the batch, store nothing and point at the first delivery. The job payload is
/// `{"event": <event row id>}` with idempotency key `webhook:<event row id>`.
pub async fn record_batch(
    db: &impl ConnectionTrait,
    events: &[NewEvent],
    job: &EventJob,
) -> Result<Vec<BatchOutcome>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let col = |f: &dyn Fn(&NewEvent) -> String| -> Value { events.iter().map(f).collect::<Vec<String>>().into() };
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let job_ids: Vec<Uuid> = events.iter().map(|e| e.job_id).collect();
    let rows = BatchOutcome::find_by_statement(stmt(
        db,
        "WITH input AS ( \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[]) \
                 WITH ORDINALITY AS t(id, source, event_type, event_id, payload, job_id, n)), \
         ins AS ( \
             INSERT INTO webhook_events (id, source, event_type, event_id, payload, job_id) \
             SELECT DISTINCT ON (source, event_id) id, source, event_type, event_id, payload::jsonb, job_id \
             FROM input ORDER BY source, event_id, n \
             ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id), \
         jobs_ins AS ( \
             INSERT INTO jobs (id, queue, kind, priority, lane, payload, run_at, idempotency_key, max_attempts) \
             SELECT i.job_id, $7, $8, $9, $10, jsonb_build_object('event', i.id), now(), 'webhook:' || i.id, $11 \
             FROM ins JOIN input i ON i.id = ins.id \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id) \
         SELECT COALESCE(ins.id, old.id) AS row_id, COALESCE(ins.id = input.id, false) AS is_new \
         FROM input \
         LEFT JOIN ins ON ins.source = input.source AND ins.event_id = input.event_id \
         LEFT JOIN webhook_events old ON old.source = input.source AND old.event_id = input.event_id \
         ORDER BY input.n",
        vec![
            ids.into(),
            col(&|e| e.source.clone()),
            col(&|e| e.event_type.clone()),
            col(&|e| e.event_id.clone()),
            col(&|e| e.payload.to_string()),
            job_ids.into(),
            job.queue.clone().into(),
            job.kind.clone().into(),
            job.priority.into(),
            job.lane.clone().into(),
            job.max_attempts.into(),
        ],
    ))
    .all(db)
    .await?;
    if rows.len() != events.len() {
        return Err(StoreError::Invalid(format!("batch of {} events gave {} outcomes", events.len(), rows.len())));
    }
    Ok(rows)
}

/// The stored row of `(source, event_id)`, if any.
pub async fn find_by_event_id(
    db: &impl ConnectionTrait,
    source: &str,
    event_id: &str,
) -> Result<Option<Uuid>, StoreError> {
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    Ok(Id::find_by_statement(stmt(
        db,
        "SELECT id FROM webhook_events WHERE source = $1 AND event_id = $2",
        vec![source.into(), event_id.into()],
    ))
    .one(db)
    .await?
    .map(|r| r.id))
}
