//! Chat sessions and their messages (`chat_sessions`, `conversations`). Every read is scoped
//! to the owner: another user's session is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{StoreError, stmt};

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

/// Whether `user_id` owns the session (one indexed lookup).
pub async fn owns_session(db: &impl ConnectionTrait, user_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
    #[derive(FromQueryResult)]
    struct Found {
        #[allow(dead_code)]
        id: Uuid,
    }
    Ok(Found::find_by_statement(stmt(
        db,
        "SELECT id FROM chat_sessions WHERE id = $1 AND user_id = $2",
        vec![id.into(), user_id.into()],
    ))
    .one(db)
    .await?
    .is_some())
}

/// Creates a session titled from the first message.
pub async fn create_session(db: &impl ConnectionTrait, user_id: Uuid, first_message: &str) -> Result<Uuid, StoreError> {
    create_session_with_id(db, Uuid::now_v7(), user_id, first_message).await
}

/// Creates a session with a chosen id (the api picks ids before it writes).
pub async fn create_session_with_id(
    db: &impl ConnectionTrait,
    id: Uuid,
    user_id: Uuid,
    first_message: &str,
) -> Result<Uuid, StoreError> {
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
    add_message_with_id(db, Uuid::now_v7(), user_id, session_id, role, content, metadata).await
}

/// [`add_message`] with a chosen id.
pub async fn add_message_with_id(
    db: &impl ConnectionTrait,
    id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    role: &str,
    content: &str,
    metadata: Option<Json>,
) -> Result<Uuid, StoreError> {
    if !matches!(role, "user" | "assistant" | "system" | "tool") {
        return Err(StoreError::Invalid(format!("'{role}' is not a message role")));
    }
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

/// Merges `patch` into a message's metadata (e.g. the text a media job extracted).
pub async fn merge_message_metadata(db: &impl ConnectionTrait, id: Uuid, patch: Json) -> Result<bool, StoreError> {
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE conversations SET metadata = COALESCE(metadata, '{}'::jsonb) || $2 WHERE id = $1",
            vec![id.into(), patch.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
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
    owned_history(db, user_id, session_id, limit).await
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

/// Everything a finished turn writes.
#[derive(Debug, Clone)]
pub struct TurnRecord {
    pub user_id: Uuid,
    pub department: String,
    pub session_id: Uuid,
    /// Create the session (titled from the question) first.
    pub new_session: bool,
    /// The question, unless it was stored before (a turn run by a job).
    pub question: Option<(Uuid, String, Json)>,
    pub answer_id: Uuid,
    pub answer: String,
    pub answer_metadata: Json,
    /// `audit_log` row: action, source and details.
    pub audit_action: String,
    pub audit_source: String,
    pub audit_details: Json,
    pub usage: Vec<crate::llm_usage::CheckedUsage>,
}

/// Writes a turn — the session when new, the question, the answer, the audit row and the
/// LLM usage — in one statement, so it is all there or none of it is (and costs one round
/// trip and one commit).
pub async fn record_turn(db: &impl ConnectionTrait, t: TurnRecord) -> Result<(), StoreError> {
    let title: String = t
        .question
        .as_ref()
        .map(|(_, q, _)| q.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(80).collect())
        .unwrap_or_default();
    let (q_id, q_text, q_meta) = match t.question {
        Some((id, text, meta)) => (Some(id), Some(text), Some(meta)),
        None => (None, None, None),
    };
    let usage = serde_json::to_value(&t.usage).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let sql = format!(
        "WITH s AS (INSERT INTO chat_sessions (id, user_id, title) SELECT $1, $2, $3 WHERE $4 RETURNING id), \
              touch AS (UPDATE chat_sessions SET updated_at = now() WHERE id = $1 AND NOT $4), \
              q AS (INSERT INTO conversations (id, user_id, session_id, role, content, metadata) \
                    SELECT $5, $2, $1, 'user', $6, $7 WHERE $5::uuid IS NOT NULL), \
              a AS (INSERT INTO conversations (id, user_id, session_id, role, content, metadata) \
                    VALUES ($8, $2, $1, 'assistant', $9, $10)), \
              au AS (INSERT INTO audit_log (user_id, department, action, source, details) VALUES ($2, $11, $12, $13, $14)), \
              u AS ({}) \
         SELECT 1",
        crate::llm_usage::insert_many_sql(15)
    );
    db.execute_raw(stmt(
        db,
        &sql,
        vec![
            t.session_id.into(),
            t.user_id.into(),
            title.into(),
            t.new_session.into(),
            q_id.into(),
            q_text.into(),
            q_meta.into(),
            t.answer_id.into(),
            t.answer.into(),
            t.answer_metadata.into(),
            t.department.into(),
            t.audit_action.into(),
            t.audit_source.into(),
            t.audit_details.into(),
            usage.into(),
        ],
    ))
    .await
    .map_err(|e| StoreError::refused(e, "chat turn (unknown user or session)"))?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct OwnedRow {
    id: Option<Uuid>,
    session_id: Option<Uuid>,
    role: Option<String>,
    content: Option<String>,
    metadata: Option<Json>,
    created_at: Option<DateTime<Utc>>,
}

/// The last `limit` messages of the user's session, oldest first, checking ownership in
/// the same query: `None` when the session is not theirs (or does not exist).
pub async fn owned_history(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    session_id: Uuid,
    limit: u64,
) -> Result<Option<Vec<MessageRow>>, StoreError> {
    let rows = OwnedRow::find_by_statement(stmt(
        db,
        "SELECT m.id, m.session_id, m.role, m.content, m.metadata, m.created_at \
         FROM chat_sessions s LEFT JOIN LATERAL ( \
              SELECT id, session_id, role, content, metadata, created_at FROM conversations \
              WHERE session_id = s.id ORDER BY created_at DESC, id DESC LIMIT $3) m ON true \
         WHERE s.id = $1 AND s.user_id = $2",
        vec![session_id.into(), user_id.into(), (limit.min(1000) as i64).into()],
    ))
    .all(db)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out: Vec<MessageRow> = rows
        .into_iter()
        .filter_map(|r| {
            Some(MessageRow {
                id: r.id?,
                session_id: r.session_id?,
                role: r.role?,
                content: r.content?,
                metadata: r.metadata,
                created_at: r.created_at?,
            })
        })
        .collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(Some(out))
}
