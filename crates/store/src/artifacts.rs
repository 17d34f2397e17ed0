//! `artifacts`: files users uploaded and files the agents generated, each owned by a user.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use crate::{StoreError, stmt};

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct ArtifactRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    /// The detected kind: pdf, docx, csv, png, …
    pub kind: String,
    pub name: String,
    /// Storage key (relative to the artifact store).
    pub path: String,
    pub size_bytes: Option<i64>,
    pub content_type: String,
    /// upload | generated
    pub source: String,
    /// image | video | audio | file (uploads)
    pub category: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, user_id, session_id, type AS kind, name, path, size_bytes, content_type, source, category, created_at";

#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub size_bytes: i64,
    pub content_type: String,
    pub source: String,
    pub category: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, a: NewArtifact) -> Result<ArtifactRow, StoreError> {
    ArtifactRow::find_by_statement(stmt(
        db,
        &format!(
            "INSERT INTO artifacts (id, user_id, session_id, type, name, path, size_bytes, content_type, source, category) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        ),
        vec![
            a.id.into(),
            a.user_id.into(),
            a.session_id.into(),
            a.kind.into(),
            a.name.into(),
            a.path.into(),
            a.size_bytes.into(),
            a.content_type.into(),
            a.source.into(),
            a.category.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "artifact (unknown user)"))?
    .ok_or_else(|| StoreError::Invalid("the artifact was not stored".into()))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<ArtifactRow>, StoreError> {
    Ok(ArtifactRow::find_by_statement(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM artifacts WHERE id = $1"),
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

/// The user's artifacts, newest first, and how many there are.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    limit: u64,
    offset: u64,
) -> Result<(Vec<ArtifactRow>, u64), StoreError> {
    let rows = ArtifactRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {COLUMNS} FROM artifacts WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ),
        vec![user_id.into(), (limit.min(200) as i64).into(), (offset as i64).into()],
    ))
    .all(db)
    .await?;
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let total = Count::find_by_statement(stmt(
        db,
        "SELECT count(*) AS n FROM artifacts WHERE user_id = $1",
        vec![user_id.into()],
    ))
    .one(db)
    .await?
    .map(|c| c.n as u64)
    .unwrap_or(0);
    Ok((rows, total))
}

/// Deletes the row; returns it (its `path` names the bytes to remove) or `None`.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<ArtifactRow>, StoreError> {
    Ok(ArtifactRow::find_by_statement(stmt(
        db,
        &format!("DELETE FROM artifacts WHERE id = $1 RETURNING {COLUMNS}"),
        vec![id.into()],
    ))
    .one(db)
    .await?)
}
