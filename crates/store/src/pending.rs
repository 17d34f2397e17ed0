//! `pending_actions`: side-effecting tool calls held for the user's consent because the
//! agent had read untrusted content when it asked for them.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{StoreError, stmt};

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct PendingRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub turn_id: Uuid,
    pub tool: String,
    pub input: Json,
    pub reason: String,
    pub status: String,
    pub result: Option<Json>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewPending {
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub turn_id: Uuid,
    pub tool: String,
    pub input: Json,
    pub reason: String,
    pub ttl: std::time::Duration,
}

/// Holds a call for consent. The same call (turn, tool, input) held twice is one row.
pub async fn hold(db: &impl ConnectionTrait, p: NewPending) -> Result<PendingRow, StoreError> {
    let secs = p.ttl.as_secs().max(1) as i64;
    PendingRow::find_by_statement(stmt(
        db,
        "WITH i AS (INSERT INTO pending_actions (id, user_id, session_id, turn_id, tool, input, reason, expires_at) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) \
                    ON CONFLICT (turn_id, tool, input) DO NOTHING RETURNING *) \
         SELECT * FROM i UNION ALL \
         SELECT * FROM pending_actions WHERE turn_id = $4 AND tool = $5 AND input = $6 AND NOT EXISTS (SELECT 1 FROM i)",
        vec![
            Uuid::now_v7().into(),
            p.user_id.into(),
            p.session_id.into(),
            p.turn_id.into(),
            p.tool.into(),
            p.input.into(),
            p.reason.into(),
            secs.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "pending action (unknown user)"))?
    .ok_or_else(|| StoreError::Invalid("the pending action vanished".into()))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<PendingRow>, StoreError> {
    Ok(PendingRow::find_by_statement(stmt(db, "SELECT * FROM pending_actions WHERE id = $1", vec![id.into()]))
        .one(db)
        .await?)
}

/// Why a confirmation could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRefused {
    /// No such action, or another user's.
    NotFound,
    Expired,
    /// Already confirmed (running or done); carries the status.
    AlreadyConfirmed(String),
}

/// Claims a pending action for running: only its owner, only before it expires, only once
/// (`pending` → `running` in one statement, so two concurrent confirmations run it once).
pub async fn claim(
    db: &impl ConnectionTrait,
    id: Uuid,
    user_id: Uuid,
) -> Result<Result<PendingRow, ClaimRefused>, StoreError> {
    let claimed = PendingRow::find_by_statement(stmt(
        db,
        "UPDATE pending_actions SET status = 'running', confirmed_at = now() \
         WHERE id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > now() RETURNING *",
        vec![id.into(), user_id.into()],
    ))
    .one(db)
    .await?;
    if let Some(row) = claimed {
        return Ok(Ok(row));
    }
    Ok(Err(match get(db, id).await? {
        Some(row) if row.user_id == user_id => {
            if row.status == "pending" {
                ClaimRefused::Expired
            } else {
                ClaimRefused::AlreadyConfirmed(row.status)
            }
        }
        _ => ClaimRefused::NotFound,
    }))
}

/// Records how a claimed action ended (`done` or `failed`) and its result.
pub async fn finish(db: &impl ConnectionTrait, id: Uuid, ok: bool, result: Json) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "UPDATE pending_actions SET status = $2, result = $3 WHERE id = $1 AND status = 'running'",
        vec![id.into(), (if ok { "done" } else { "failed" }).into(), result.into()],
    ))
    .await?;
    Ok(())
}
