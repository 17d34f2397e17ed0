//! Exactly-once side effects. Before a job sends an e-mail, posts to Teams, pushes or writes
//! a CRM row, it records the effect under a key derived from the job and the step; after
//! the effect succeeds it marks the row done. A retried or re-delivered job finds the row
//! done and skips the effect, reusing its recorded result.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// Perform the effect now (`attempt` > 1 means an earlier try may have been interrupted
    /// between performing it and recording it: use the provider's idempotency key if any).
    Proceed { attempt: i32 },
    /// Already performed; here is what it returned.
    Done(Option<Json>),
}

pub async fn begin(db: &impl ConnectionTrait, key: &str, job_id: Uuid, kind: &str) -> Result<Begin, StoreError> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO effects (key, job_id, kind, status) VALUES ($1, $2, $3, 'started') \
             ON CONFLICT (key) DO UPDATE SET attempts = effects.attempts + 1 WHERE effects.status = 'started' \
             RETURNING attempts",
            [key.into(), job_id.into(), kind.into()],
        ))
        .await?;
    if let Some(r) = row {
        return Ok(Begin::Proceed { attempt: r.try_get::<i32>("", "attempts")? });
    }
    let done = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT result FROM effects WHERE key = $1",
            [key.into()],
        ))
        .await?;
    Ok(Begin::Done(done.and_then(|r| r.try_get::<Option<Json>>("", "result").ok().flatten())))
}

pub async fn finish(db: &impl ConnectionTrait, key: &str, result: Json) -> Result<(), StoreError> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE effects SET status = 'done', result = $2, completed_at = now() WHERE key = $1",
        [key.into(), result.into()],
    ))
    .await?;
    Ok(())
}

/// Effects recorded for a job (diagnostics and tests).
pub async fn count_done(db: &impl ConnectionTrait, job_id: Uuid) -> Result<i64, StoreError> {
    let r = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM effects WHERE job_id = $1 AND status = 'done'",
            [job_id.into()],
        ))
        .await?;
    Ok(r.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0))
}

/// Forgets a started effect that certainly did not happen (the provider refused it), so the
/// next try starts clean (attempt 1) instead of looking like a retry after an unknown outcome.
pub async fn abandon(db: &impl ConnectionTrait, key: &str) -> Result<(), StoreError> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM effects WHERE key = $1 AND status = 'started'",
        [key.into()],
    ))
    .await?;
    Ok(())
}
