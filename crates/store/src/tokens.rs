//! Token families and refresh tokens: the durable half of revocation (Redis holds the fast
//! copy; this is what survives a Redis restart).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::{StoreError, stmt};

pub struct NewFamily<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<&'a str>,
    pub ip_address: Option<&'a str>,
}

pub async fn create_family(db: &impl ConnectionTrait, f: NewFamily<'_>) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO token_families (id, user_id, expires_at, user_agent, ip_address) VALUES ($1, $2, $3, $4, $5)",
        vec![
            f.id.into(),
            f.user_id.into(),
            f.expires_at.into(),
            f.user_agent.map(|s| s.chars().take(300).collect::<String>()).into(),
            f.ip_address.map(str::to_string).into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn insert_refresh(
    db: &impl ConnectionTrait,
    jti: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO refresh_tokens (jti, family_id, user_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        vec![jti.into(), family_id.into(), user_id.into(), issued_at.into(), expires_at.into()],
    ))
    .await?;
    // The family lives as long as its newest refresh token.
    db.execute_raw(stmt(
        db,
        "UPDATE token_families SET expires_at = GREATEST(expires_at, $2) WHERE id = $1",
        vec![family_id.into(), expires_at.into()],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct RefreshState {
    pub jti: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub family_revoked: bool,
}

/// Reads a refresh token and locks its row until the transaction ends, so two concurrent
/// refreshes with the same token are serialised: exactly one rotates it.
pub async fn lock_refresh(db: &impl ConnectionTrait, jti: Uuid) -> Result<Option<RefreshState>, StoreError> {
    Ok(RefreshState::find_by_statement(stmt(
        db,
        "SELECT r.jti, r.family_id, r.user_id, r.used_at, r.expires_at, (f.revoked_at IS NOT NULL) AS family_revoked \
         FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id \
         WHERE r.jti = $1 FOR UPDATE OF r",
        vec![jti.into()],
    ))
    .one(db)
    .await?)
}

pub async fn mark_used(db: &impl ConnectionTrait, jti: Uuid, replaced_by: Uuid) -> Result<(), StoreError> {
    db.execute_raw(stmt(
        db,
        "UPDATE refresh_tokens SET used_at = now(), replaced_by = $2 WHERE jti = $1",
        vec![jti.into(), replaced_by.into()],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct RevokedFamily {
    pub id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Revokes one family (idempotent). Returns it with its expiry, or `None` if unknown.
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
) -> Result<Option<RevokedFamily>, StoreError> {
    Ok(RevokedFamily::find_by_statement(stmt(
        db,
        "UPDATE token_families SET revoked_at = COALESCE(revoked_at, now()), \
         revoked_reason = COALESCE(revoked_reason, $2) WHERE id = $1 RETURNING id, expires_at",
        vec![id.into(), reason.into()],
    ))
    .one(db)
    .await?)
}

/// Revokes every live family of a user (password change, deactivation).
pub async fn revoke_user_families(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    reason: &str,
) -> Result<Vec<RevokedFamily>, StoreError> {
    Ok(RevokedFamily::find_by_statement(stmt(
        db,
        "UPDATE token_families SET revoked_at = now(), revoked_reason = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id, expires_at",
        vec![user_id.into(), reason.into()],
    ))
    .all(db)
    .await?)
}

/// Whether a family is revoked; an unknown family counts as revoked.
pub async fn family_revoked(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT revoked_at IS NOT NULL AS revoked FROM token_families WHERE id = $1",
            vec![id.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<bool>("", "revoked")?,
        None => true,
    })
}

/// Revoked families that have not expired yet: what Redis must know after a restart.
pub async fn unexpired_revoked_families(db: &impl ConnectionTrait) -> Result<Vec<RevokedFamily>, StoreError> {
    Ok(RevokedFamily::find_by_statement(stmt(
        db,
        "SELECT id, expires_at FROM token_families WHERE revoked_at IS NOT NULL AND expires_at > now()",
        vec![],
    ))
    .all(db)
    .await?)
}
