//! Is this token family revoked? Redis answers fast; PostgreSQL answers when Redis has
//! lost its copy (restart, flush) or cannot be reached. A token is accepted only when one
//! of them positively says "not revoked": the check fails closed.

use std::time::Duration;

use chrono::Utc;
use kv::revocation::{self, Status};
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::ApiError;

pub async fn is_revoked(ctx: &AppContext, family: Uuid) -> Result<bool, ApiError> {
    match revocation::status(&ctx.redis, family).await {
        Ok(Status::Revoked) => Ok(true),
        Ok(Status::NotRevoked) => Ok(false),
        Ok(Status::Unknown) => {
            let revoked = from_database(ctx, family).await?;
            reload_in_background(ctx);
            Ok(revoked)
        }
        Err(e) => {
            tracing::warn!(error = %e, "revocation check: Redis failed, asking PostgreSQL");
            from_database(ctx, family).await
        }
    }
}

async fn from_database(ctx: &AppContext, family: Uuid) -> Result<bool, ApiError> {
    store::tokens::family_revoked(&ctx.db, family).await.map_err(|e| {
        tracing::error!(error = %e, "revocation check failed in PostgreSQL too; refusing the token");
        ApiError::unavailable("auth_unavailable", "cannot verify the token right now; try again shortly")
    })
}

/// Reloads Redis's revocation set from PostgreSQL (one process at a time).
fn reload_in_background(ctx: &AppContext) {
    let db = ctx.db.clone();
    let redis = ctx.redis.clone();
    tokio::spawn(async move {
        match revocation::try_lock_reload(&redis).await {
            Ok(true) => {}
            _ => return,
        }
        let result = async {
            let rows = store::tokens::unexpired_revoked_families(&db).await.map_err(|e| e.to_string())?;
            let now = Utc::now();
            let list: Vec<(Uuid, Duration)> =
                rows.iter().map(|r| (r.id, (r.expires_at - now).to_std().unwrap_or(Duration::from_secs(1)))).collect();
            revocation::load(&redis, &list).await.map_err(|e| e.to_string())?;
            Ok::<usize, String>(list.len())
        }
        .await;
        match result {
            Ok(n) => tracing::info!(families = n, "revocation set reloaded into Redis"),
            Err(e) => tracing::warn!(error = %e, "revocation set reload failed"),
        }
        let _ = revocation::unlock_reload(&redis).await;
    });
}

/// Pushes families already revoked in PostgreSQL to Redis. A Redis failure here is logged,
/// not fatal: PostgreSQL has the truth and the per-request check falls back to it.
pub async fn revoke_families(ctx: &AppContext, families: &[store::tokens::RevokedFamily]) {
    let now = Utc::now();
    for f in families {
        let ttl = (f.expires_at - now).to_std().unwrap_or(Duration::from_secs(1));
        if let Err(e) = revocation::revoke(&ctx.redis, f.id, ttl).await {
            tracing::warn!(error = %e, "could not copy a revocation to Redis; PostgreSQL still holds it");
        }
        // Open WebSockets of this session close now (else at their next periodic check).
        let notice = realtime::Revocation::session(f.id.to_string(), "signed out");
        if let Err(e) = ctx.publisher.publish_revocation(&notice).await {
            tracing::debug!(error = %e, "could not publish a revocation notice");
        }
    }
}
