//! `outbox` (every delivery, rendered) and `email_log` (one row per e-mail recipient).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{StoreError, stmt};

pub const CHANNELS: &[&str] = &["email", "teams", "calendar", "push"];
pub const STATUSES: &[&str] = &["outbox", "sent", "failed"];

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct OutboxRow {
    pub id: Uuid,
    pub channel: String,
    pub status: String,
    pub user_id: Option<Uuid>,
    pub recipients: Json,
    pub subject: Option<String>,
    pub body: String,
    pub attachments: Json,
    pub detail: Option<Json>,
    pub job_id: Option<Uuid>,
    pub effect_key: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub channel: String,
    pub status: String,
    pub user_id: Option<Uuid>,
    /// E-mail addresses, or the channel name for Teams.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub body: String,
    pub attachments: Json,
    pub detail: Option<Json>,
    pub job_id: Option<Uuid>,
    /// The delivery's exactly-once key: a second insert with the same key returns the
    /// first row.
    pub effect_key: String,
    pub error: Option<String>,
}

/// Records a delivery (and, for e-mail, one `email_log` row per recipient) in one
/// statement. Returns the row and whether it was new.
pub async fn record(db: &impl ConnectionTrait, d: NewDelivery) -> Result<(OutboxRow, bool), StoreError> {
    if !CHANNELS.contains(&d.channel.as_str()) || !STATUSES.contains(&d.status.as_str()) {
        return Err(StoreError::Invalid(format!("unknown channel or status: {} {}", d.channel, d.status)));
    }
    let id = Uuid::now_v7();
    let recipients = serde_json::to_value(&d.recipients).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let inserted = OutboxRow::find_by_statement(stmt(
        db,
        "WITH o AS (INSERT INTO outbox (id, channel, status, user_id, recipients, subject, body, attachments, detail, \
                        job_id, effect_key, error, sent_at) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $3 = 'sent' THEN now() END) \
                    ON CONFLICT (effect_key) DO NOTHING RETURNING *), \
              l AS (INSERT INTO email_log (user_id, to_address, subject, status, outbox_id) \
                    SELECT o.user_id, r.addr, o.subject, o.status, o.id FROM o, \
                           jsonb_array_elements_text(o.recipients) AS r(addr) WHERE o.channel = 'email') \
         SELECT * FROM o",
        vec![
            id.into(),
            d.channel.into(),
            d.status.into(),
            d.user_id.into(),
            recipients.into(),
            d.subject.into(),
            d.body.into(),
            d.attachments.into(),
            d.detail.into(),
            d.job_id.into(),
            d.effect_key.clone().into(),
            d.error.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "delivery (unknown user)"))?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing =
        OutboxRow::find_by_statement(stmt(db, "SELECT * FROM outbox WHERE effect_key = $1", vec![d.effect_key.into()]))
            .one(db)
            .await?
            .ok_or_else(|| StoreError::Invalid("the delivery vanished".into()))?;
    Ok((existing, false))
}

#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub channel: Option<String>,
    pub status: Option<String>,
    pub user_id: Option<Uuid>,
}

/// Deliveries, newest first, and how many match.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &OutboxFilter,
    limit: u64,
    offset: u64,
) -> Result<(Vec<OutboxRow>, u64), StoreError> {
    if let Some(c) = &f.channel
        && !CHANNELS.contains(&c.as_str())
    {
        return Err(StoreError::Invalid(format!("channel must be one of {}", CHANNELS.join(", "))));
    }
    if let Some(s) = &f.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(StoreError::Invalid(format!("status must be one of {}", STATUSES.join(", "))));
    }
    let filter = "($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR user_id = $3)";
    let values: Vec<Value> = vec![f.channel.clone().into(), f.status.clone().into(), f.user_id.into()];
    let mut page = values.clone();
    page.push((limit.min(200) as i64).into());
    page.push((offset as i64).into());
    let rows = OutboxRow::find_by_statement(stmt(
        db,
        &format!("SELECT * FROM outbox WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"),
        page,
    ))
    .all(db)
    .await?;
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let total = Count::find_by_statement(stmt(db, &format!("SELECT count(*) AS n FROM outbox WHERE {filter}"), values))
        .one(db)
        .await?
        .map(|c| c.n as u64)
        .unwrap_or(0);
    Ok((rows, total))
}

/// E-mail recipients a user sent (or put in the outbox) since `since`, plus those of their
/// delivery jobs still waiting: what counts against the hourly cap.
pub async fn emails_since(db: &impl ConnectionTrait, user_id: Uuid, since: DateTime<Utc>) -> Result<i64, StoreError> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    Ok(Count::find_by_statement(stmt(
        db,
        "SELECT (SELECT count(*) FROM email_log WHERE user_id = $1 AND created_at >= $2 AND status <> 'failed') + \
                (SELECT coalesce(sum(jsonb_array_length(payload->'to') + jsonb_array_length(payload->'cc')), 0) \
                 FROM jobs WHERE kind = 'delivery.email' AND user_id = $1 \
                   AND status IN ('queued', 'running', 'retrying'))::bigint AS n",
        vec![user_id.into(), since.into()],
    ))
    .one(db)
    .await?
    .map(|c| c.n)
    .unwrap_or(0))
}

/// Deliveries of `channel` a user caused since `since`: recorded ones (not failed) plus
/// those still queued, for per-hour limits.
pub async fn deliveries_since(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    channel: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    Ok(Count::find_by_statement(stmt(
        db,
        "SELECT (SELECT count(*) FROM outbox WHERE user_id = $1 AND channel = $2 AND created_at >= $3 \
                   AND status <> 'failed') + \
                (SELECT count(*) FROM jobs WHERE kind = 'delivery.' || $2 AND user_id = $1 \
                   AND status IN ('queued', 'running', 'retrying')) AS n",
        vec![user_id.into(), channel.into(), since.into()],
    ))
    .one(db)
    .await?
    .map(|c| c.n)
    .unwrap_or(0))
}
