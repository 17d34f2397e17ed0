//! `delivery.email` and `delivery.teams`: performed once per job through
//! `JobContext::effect`, so a retried job never sends twice. No Microsoft 365 client is
//! configured in this build, so every delivery is recorded in the outbox with its full
//! rendered content (status `outbox`), and each e-mail recipient in `email_log`.

use agents::delivery::{EMAIL_JOB, EmailJob, TEAMS_JOB, TeamsJob};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::runtime::{JobContext, JobFailure, KindSpec, Registry};

async fn attachments(ctx: &JobContext, user: Uuid, ids: &[Uuid]) -> Result<Value, JobFailure> {
    let mut out = Vec::new();
    for id in ids {
        match store::artifacts::get(&ctx.db, *id).await.map_err(|e| JobFailure::retry(e.to_string()))? {
            Some(a) if a.user_id == user => out.push(json!({"id": a.id, "name": a.name, "type": a.kind, "size_bytes": a.size_bytes, "download_url": format!("/files/{}", a.id)})),
            _ => return Err(JobFailure::permanent(format!("attachment {id} is gone or not the sender's"))),
        }
    }
    Ok(Value::Array(out))
}

async fn email(ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: EmailJob =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    let files = attachments(&ctx, job.user_id, &job.attachments).await?;
    let db = ctx.db.clone();
    let job_id = ctx.job_id;
    ctx.effect("send", "email", |attempt| async move {
        let (row, _) = store::outbox::record(
            &db,
            store::outbox::NewDelivery {
                channel: "email".into(),
                status: "outbox".into(),
                user_id: Some(job.user_id),
                recipients: job.to.iter().chain(&job.cc).cloned().collect(),
                subject: Some(job.subject.clone()),
                body: job.html.clone(),
                attachments: files,
                detail: Some(
                    json!({"to": job.to, "cc": job.cc, "mode": "outbox", "reason": "Microsoft 365 is not configured"}),
                ),
                job_id: Some(job_id),
                effect_key: attempt.idempotency_key.clone(),
                error: None,
            },
        )
        .await
        .map_err(|e| JobFailure::retry(e.to_string()))?;
        Ok(json!({"outbox_id": row.id, "status": row.status, "recipients": row.recipients}))
    })
    .await
}

async fn teams(ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: TeamsJob =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    let files = attachments(&ctx, job.user_id, &job.attachments).await?;
    let db = ctx.db.clone();
    let job_id = ctx.job_id;
    ctx.effect("post", "teams", |attempt| async move {
        let (row, _) = store::outbox::record(
            &db,
            store::outbox::NewDelivery {
                channel: "teams".into(),
                status: "outbox".into(),
                user_id: Some(job.user_id),
                recipients: vec![job.channel.clone()],
                subject: None,
                body: job.text.clone(),
                attachments: files,
                detail: Some(
                    json!({"channel": job.channel, "mode": "outbox", "reason": "Microsoft 365 is not configured"}),
                ),
                job_id: Some(job_id),
                effect_key: attempt.idempotency_key.clone(),
                error: None,
            },
        )
        .await
        .map_err(|e| JobFailure::retry(e.to_string()))?;
        Ok(json!({"outbox_id": row.id, "status": row.status}))
    })
    .await
}

/// Adds the delivery job kinds to `registry`.
pub fn register(registry: Registry) -> Registry {
    registry.register(EMAIL_JOB, KindSpec::new(email)).register(TEAMS_JOB, KindSpec::new(teams))
}
