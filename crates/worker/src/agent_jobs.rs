//! `agent.turn`: a chat turn that runs in the background (a background skill, or a turn that
//! outgrew the api's inline timeout). Its result is the mobile chat response; the answer is
//! also stored in the session and published on the user's channel.

use std::sync::Arc;
use std::time::Duration;

use agents::chat::{self, ChatError, TurnJob};
use agents::{AGENT_TURN, Assistant};
use domain::RoleCatalog;
use domain::jobs::RetryPolicy;
use serde_json::{Value, json};

use crate::runtime::{JobContext, JobFailure, KindSpec, Registry, publish};

async fn turn(
    assistant: Arc<Assistant>,
    roles: Arc<RoleCatalog>,
    ctx: JobContext,
    payload: Value,
) -> Result<Value, JobFailure> {
    let job: TurnJob =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    ctx.progress(10, "Working on it…").await;
    let answer = chat::run_job(&assistant, &roles, job).await.map_err(turn_failure)?;
    let mut result = serde_json::to_value(&answer).map_err(|e| JobFailure::permanent(e.to_string()))?;
    result["task_id"] = json!(ctx.job_id);
    publish(&ctx.redis, ctx.user_id, json!({"type": "complete", "task_id": ctx.job_id, "response": result})).await;
    Ok(result)
}

/// How a failed turn is retried: invalid input and vanished sessions are permanent.
pub(crate) fn turn_failure(e: ChatError) -> JobFailure {
    match e {
        ChatError::Invalid(m) | ChatError::Llm(llm::LlmError::InvalidRequest { message: m, .. }) => {
            JobFailure::permanent(m)
        }
        ChatError::SessionNotFound => JobFailure::permanent("the session no longer exists"),
        other => JobFailure::retry(other.to_string()),
    }
}

/// `agent.task`: a schedule's or a webhook's work for an agent (see `agents::task`).
async fn task(
    assistant: Arc<Assistant>,
    roles: Arc<RoleCatalog>,
    ctx: JobContext,
    payload: Value,
) -> Result<Value, JobFailure> {
    let job: agents::task::TaskJob =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    ctx.progress(10, "Working on it…").await;
    let result = agents::task::run(&assistant, &roles, ctx.job_id, job).await.map_err(JobFailure::retry)?;
    publish(&ctx.redis, ctx.user_id, json!({"type": "complete", "task_id": ctx.job_id, "response": result})).await;
    Ok(result)
}

/// Adds the assistant's job kinds to `registry`.
pub fn register(
    registry: Registry,
    assistant: Arc<Assistant>,
    roles: Arc<RoleCatalog>,
    job_timeout: Duration,
) -> Registry {
    let (a, r) = (assistant.clone(), roles.clone());
    let turn_spec = KindSpec::new(move |ctx, payload| turn(a.clone(), r.clone(), ctx, payload))
        .retry(RetryPolicy::default())
        .limits(job_timeout, job_timeout + Duration::from_secs(30));
    let task_spec = KindSpec::new(move |ctx, payload| task(assistant.clone(), roles.clone(), ctx, payload))
        .retry(RetryPolicy::default())
        .limits(job_timeout, job_timeout + Duration::from_secs(30));
    registry.register(AGENT_TURN, turn_spec).register(agents::task::AGENT_TASK, task_spec)
}
