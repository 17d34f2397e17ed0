//! Chat sessions and their messages (`chat_sessions`, `conversations`). Every read is scoped
//! to the owner: another user's session is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement, Value};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::StoreError;

fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub message_count: i64,
    pub last_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct MessageRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub role: String,
    pub content: String,
    pub metadata: Option<Json>,
    pub created_at: DateTime<Utc>,
}

/// The session if `user_id` owns it.
pub async fn owned_session(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<SessionRow>, StoreError> {
    Ok(SessionRow::find_by_statement(stmt(
        db,
        "SELECT s.id, s.user_id, s.title, s.created_at, s.updated_at, \
                (SELECT count(*) FROM conversations c WHERE c.session_id = s.id) AS message_count, NULL::text AS last_message \
         FROM chat_sessions s WHERE s.id = $1 AND s.user_id = $2",
        vec![id.into(), user_id.into()],
    ))
    .one(db)
    .await?)
}

/// Creates a session titled from the first message.
pub async fn create_session(db: &impl ConnectionTrait, user_id: Uuid, first_message: &str) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let title: String = first_message.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(80).collect();
    db.execute_raw(stmt(
        db,
        "INSERT INTO chat_sessions (id, user_id, title) VALUES ($1, $2, $3)",
        vec![id.into(), user_id.into(), title.into()],
    ))
    .await
    .map_err(|e| StoreError::refused(e, "session (unknown user)"))?;
    Ok(id)
}

/// Appends a message and touches the session.
pub async fn add_message(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    session_id: Uuid,
    role: &str,
    content: &str,
    metadata: Option<Json>,
) -> Result<Uuid, StoreError> {
    if !matches!(role, "user" | "assistant" | "system" | "tool") {
        return Err(StoreError::Invalid(format!("'{role}' is not a message role")));
    }
    let id = Uuid::now_v7();
    db.execute_raw(stmt(
        db,
        "WITH m AS (INSERT INTO conversations (id, user_id, session_id, role, content, metadata) \
                    VALUES ($1, $2, $3, $4, $5, $6) RETURNING session_id) \
         UPDATE chat_sessions SET updated_at = now() WHERE id = (SELECT session_id FROM m)",
        vec![id.into(), user_id.into(), session_id.into(), role.into(), content.into(), metadata.into()],
    ))
    .await
    .map_err(|e| StoreError::refused(e, "message (unknown session)"))?;
    Ok(id)
}

pub async fn message(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<MessageRow>, StoreError> {
    Ok(MessageRow::find_by_statement(stmt(
        db,
        "SELECT id, session_id, role, content, metadata, created_at FROM conversations WHERE id = $1",
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

/// The user's sessions, most recently active first.
pub async fn sessions(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    limit: u64,
    offset: u64,
) -> Result<Vec<SessionRow>, StoreError> {
    Ok(SessionRow::find_by_statement(stmt(
        db,
        "SELECT s.id, s.user_id, s.title, s.created_at, s.updated_at, \
                (SELECT count(*) FROM conversations c WHERE c.session_id = s.id) AS message_count, \
                (SELECT left(c.content, 200) FROM conversations c WHERE c.session_id = s.id \
                  ORDER BY c.created_at DESC, c.id DESC LIMIT 1) AS last_message \
         FROM chat_sessions s WHERE s.user_id = $1 ORDER BY s.updated_at DESC, s.id DESC LIMIT $2 OFFSET $3",
        vec![user_id.into(), (limit.min(200) as i64).into(), (offset as i64).into()],
    ))
    .all(db)
    .await?)
}

/// Messages of a session the user owns, oldest first; `None` when it is not theirs.
pub async fn history(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    session_id: Uuid,
    limit: u64,
) -> Result<Option<Vec<MessageRow>>, StoreError> {
    if owned_session(db, user_id, session_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(last_messages(db, session_id, limit).await?))
}

/// The last `limit` messages of a session, oldest first (what the model sees as history).
pub async fn last_messages(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    limit: u64,
) -> Result<Vec<MessageRow>, StoreError> {
    Ok(MessageRow::find_by_statement(stmt(
        db,
        "SELECT * FROM (SELECT id, session_id, role, content, metadata, created_at FROM conversations \
                        WHERE session_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) m \
         ORDER BY created_at, id",
        vec![session_id.into(), (limit.min(1000) as i64).into()],
    ))
    .all(db)
    .await?)
}
