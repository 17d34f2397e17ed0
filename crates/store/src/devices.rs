//! `devices`: the push tokens of each user's app installs.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use crate::{StoreError, stmt};

pub const PLATFORMS: &[&str] = &["android", "ios", "web"];

#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct DeviceRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token: String,
    pub platform: String,
    pub app_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Registers `token` for `user_id`. A token already registered (to anyone: an install that
/// changed hands after a sign-out) now belongs to this user. Returns the row and whether it
/// was new.
pub async fn register(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    token: &str,
    platform: &str,
    app_version: Option<&str>,
) -> Result<(DeviceRow, bool), StoreError> {
    if !PLATFORMS.contains(&platform) {
        return Err(StoreError::Invalid(format!("platform must be one of {}", PLATFORMS.join(", "))));
    }
    #[derive(FromQueryResult)]
    struct Upserted {
        id: Uuid,
        user_id: Uuid,
        token: String,
        platform: String,
        app_version: Option<String>,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        inserted: bool,
    }
    let row = Upserted::find_by_statement(stmt(
        db,
        "INSERT INTO devices (id, user_id, token, platform, app_version) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (token) DO UPDATE SET user_id = EXCLUDED.user_id, platform = EXCLUDED.platform, \
             app_version = EXCLUDED.app_version, last_seen_at = now() \
         RETURNING *, (xmax = 0) AS inserted",
        vec![
            Uuid::now_v7().into(),
            user_id.into(),
            token.into(),
            platform.into(),
            app_version.map(String::from).into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "device (unknown user or malformed token)"))?
    .ok_or_else(|| StoreError::Invalid("the device vanished".into()))?;
    Ok((
        DeviceRow {
            id: row.id,
            user_id: row.user_id,
            token: row.token,
            platform: row.platform,
            app_version: row.app_version,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
        },
        row.inserted,
    ))
}

/// The user's devices, most recently seen first.
pub async fn for_user(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<DeviceRow>, StoreError> {
    Ok(DeviceRow::find_by_statement(stmt(
        db,
        "SELECT * FROM devices WHERE user_id = $1 ORDER BY last_seen_at DESC, id",
        vec![user_id.into()],
    ))
    .all(db)
    .await?)
}

/// Removes the user's device by id. Returns whether it existed (and was theirs).
pub async fn remove(db: &impl ConnectionTrait, user_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
    let r = db
        .execute_raw(stmt(db, "DELETE FROM devices WHERE id = $1 AND user_id = $2", vec![id.into(), user_id.into()]))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Forgets a token the push service reported as no longer registered.
pub async fn forget_token(db: &impl ConnectionTrait, token: &str) -> Result<bool, StoreError> {
    let r = db.execute_raw(stmt(db, "DELETE FROM devices WHERE token = $1", vec![token.into()])).await?;
    Ok(r.rows_affected() == 1)
}
