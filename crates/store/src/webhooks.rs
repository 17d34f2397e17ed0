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
