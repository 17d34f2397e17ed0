//! `media.process`: a long video sent to `/chat/send-media`. The job reads the stored upload,
//! takes frames and the audio track, transcribes and reads them (progress goes to the user's
//! live connections), stores the extracted text on the user's message, and then answers the
//! turn like `agent.turn` (the answer lands in the session and is published as `complete`).
//! A retried job whose text is already stored does not process the video again.

use std::sync::Arc;
use std::time::Duration;

use agents::Assistant;
use agents::chat::{self, TurnJob};
use agents::intake::{Intake, IntakeError, MEDIA_PROCESS, MediaJob};
use domain::RoleCatalog;
use domain::jobs::RetryPolicy;
use files::Category;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::runtime::{JobContext, JobFailure, KindSpec, Registry, publish};

/// Largest stored video read back (the upload limit).
const MAX_VIDEO_BYTES: u64 = 100 * 1024 * 1024;

fn failure(e: IntakeError) -> JobFailure {
    match e.status() {
        502..=504 => JobFailure::retry(e.to_string()),
        _ => JobFailure::permanent(e.to_string()),
    }
}

async fn process(
    assistant: Arc<Assistant>,
    roles: Arc<RoleCatalog>,
    intake: Arc<Intake>,
    ctx: JobContext,
    payload: Value,
) -> Result<Value, JobFailure> {
    let job: MediaJob =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    let db = &assistant.db;
    let message = store::chat::message(db, job.message_id)
        .await
        .map_err(|e| JobFailure::retry(e.to_string()))?
        .ok_or_else(|| JobFailure::permanent("the question of this video no longer exists"))?;
    let meta = message.metadata.clone().unwrap_or(Value::Null);
    let summary = if meta.get("extracted_text").is_some() {
        meta["input_processed"].clone()
    } else {
        extract(&assistant, &intake, &ctx, &job, meta["language"].as_str()).await?
    };
    ctx.progress(92, "Answering…").await;
    let turn =
        TurnJob { turn_id: job.turn_id, user_id: job.user_id, session_id: job.session_id, message_id: job.message_id };
    let answer = chat::run_job(&assistant, &roles, turn).await.map_err(crate::agent_jobs::turn_failure)?;
    let mut result = serde_json::to_value(&answer).map_err(|e| JobFailure::permanent(e.to_string()))?;
    result["task_id"] = json!(ctx.job_id);
    result["input_processed"] = summary;
    publish(&ctx.redis, ctx.user_id, json!({"type": "complete", "task_id": ctx.job_id, "response": result})).await;
    Ok(result)
}

/// Processes the stored video and writes its text onto the user's message.
async fn extract(
    assistant: &Assistant,
    intake: &Intake,
    ctx: &JobContext,
    job: &MediaJob,
    language: Option<&str>,
) -> Result<Value, JobFailure> {
    let db = &assistant.db;
    let artifact = store::artifacts::get(db, job.artifact_id)
        .await
        .map_err(|e| JobFailure::retry(e.to_string()))?
        .filter(|a| a.user_id == job.user_id)
        .ok_or_else(|| JobFailure::permanent("the uploaded video no longer exists"))?;
    let detected = files::Detected::from_kind(&artifact.kind)
        .ok_or_else(|| JobFailure::permanent(format!("'{}' is not a known media type", artifact.kind)))?;
    let storage = &assistant.integrations.storage;
    let bytes =
        storage.read_all(&artifact.path, MAX_VIDEO_BYTES).await.map_err(|e| JobFailure::retry(e.to_string()))?;
    let dir = storage.temp_dir();
    tokio::fs::create_dir_all(&dir).await.map_err(|e| JobFailure::retry(e.to_string()))?;
    // Removed when dropped, however the job ends.
    let tmp = tempfile::Builder::new()
        .prefix("media-")
        .suffix(&format!(".{}", detected.extension))
        .tempfile_in(&dir)
        .map_err(|e| JobFailure::retry(e.to_string()))?
        .into_temp_path();
    tokio::fs::write(&tmp, &bytes).await.map_err(|e| JobFailure::retry(e.to_string()))?;
    drop(bytes);

    // Progress from the processors (sync callbacks) is reported by a companion task.
    let (tx, mut rx) = mpsc::unbounded_channel::<(u8, String)>();
    let reporter = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut last = std::time::Instant::now() - Duration::from_secs(10);
            while let Some((pct, msg)) = rx.recv().await {
                // At most one report a second (each is a row update and a publish).
                if last.elapsed() >= Duration::from_secs(1) || pct >= 90 {
                    ctx.progress(pct, &msg).await;
                    last = std::time::Instant::now();
                }
            }
        })
    };
    let report = move |pct: u8, msg: &str| {
        let _ = tx.send((pct, msg.to_string()));
    };
    let processed = intake.process_with_progress(&tmp, &detected, Category::Video, language, &report).await;
    drop(report);
    let _ = reporter.await;
    let processed = processed.map_err(failure)?;
    let mut summary = processed.summary;
    summary["artifact_id"] = json!(job.artifact_id);
    let patch = json!({"extracted_text": processed.extracted_text, "input_processed": summary});
    store::chat::merge_message_metadata(db, job.message_id, patch)
        .await
        .map_err(|e| JobFailure::retry(e.to_string()))?;
    Ok(summary)
}

/// Adds `media.process` to `registry`.
pub fn register(
    registry: Registry,
    assistant: Arc<Assistant>,
    roles: Arc<RoleCatalog>,
    intake: Arc<Intake>,
    job_timeout: Duration,
) -> Registry {
    // Processing a long video and then answering: twice the agent budget.
    let limit = job_timeout * 2;
    let spec =
        KindSpec::new(move |ctx, payload| process(assistant.clone(), roles.clone(), intake.clone(), ctx, payload))
            .retry(RetryPolicy::default())
            .limits(limit, limit + Duration::from_secs(30));
    registry.register(MEDIA_PROCESS, spec)
}
