//! Chat turns for the mobile app. Short turns run inline under `agents.inline_timeout_secs`;
//! background skills, and turns that outgrow the timeout, continue as `agent.turn` jobs
//! (committed before the answer says `queued`).

use agents::chat::{self, ChatError, ChatResponse, Turn, TurnJob};
use domain::Principal;
use domain::jobs::Queue;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::TransactionTrait;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::limit;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// What the user asked (at most 16,000 characters).
    pub message: String,
    /// Continue this session (the caller's own); omitted starts a new one.
    pub session_id: Option<Uuid>,
}

/// The answer of a send endpoint (`status` completed), or `queued` with `task_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendResponse {
    pub session_id: Uuid,
    /// completed | queued
    pub status: String,
    pub response: String,
    #[schema(value_type = Option<Object>)]
    pub input_processed: Option<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub artifacts: Vec<agents::ArtifactRef>,
    pub agent_used: Option<String>,
    pub tools_used: Vec<String>,
    /// The job continuing this turn (when queued): `GET /jobs/{task_id}`.
    pub task_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    /// anthropic | kimi | openai | offline | router
    pub provider: Option<String>,
    pub model: Option<String>,
    #[schema(value_type = Option<String>)]
    pub outcome: Option<agents::Outcome>,
    /// Side effects (e-mail, Teams, CRM writes, ...) the agent asked for after reading
    /// untrusted content: each waits for `POST /chat/confirm/{confirmation_id}`.
    #[schema(value_type = Vec<Object>)]
    pub pending_actions: Vec<agents::PendingAction>,
}

impl From<ChatResponse> for SendResponse {
    fn from(c: ChatResponse) -> Self {
        SendResponse {
            session_id: c.session_id,
            status: c.status,
            response: c.response,
            input_processed: c.input_processed,
            artifacts: c.artifacts,
            agent_used: c.agent_used,
            tools_used: c.tools_used,
            task_id: c.task_id,
            message_id: c.message_id,
            provider: c.provider,
            model: c.model,
            outcome: c.outcome,
            pending_actions: c.pending_actions,
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::SessionNotFound => ApiError::not_found("no such session"),
            ChatError::Invalid(m) => ApiError::unprocessable("invalid_message", m),
            ChatError::Store(s) => s.into(),
            ChatError::Llm(l) => ApiError::unavailable("llm_unavailable", l.to_string()),
        }
    }
}

/// Sends one message; answers inline or queues the turn. Nothing is written before the
/// answer is ready (then the question, answer, audit row and usage commit together), or
/// before the turn is handed to a job (then the question and the job commit together).
pub async fn send(ctx: &AppContext, caller: &Principal, req: SendRequest) -> ApiResult<(bool, SendResponse)> {
    limit(ctx, &format!("chat:{}", caller.user_id), ctx.settings.rate_limits.chat).await?;
    send_with(ctx, caller, &req.message, req.session_id, json!({"input_type": "text"})).await
}

/// [`send`] for a turn whose message metadata is given (media input: `input_type`,
/// `extracted_text`, `artifact_id`, ...). The caller has applied the rate limit. The same
/// turn as the streaming endpoints, without their events.
pub async fn send_with(
    ctx: &AppContext,
    caller: &Principal,
    message: &str,
    session_id: Option<Uuid>,
    metadata: serde_json::Value,
) -> ApiResult<(bool, SendResponse)> {
    let response = crate::live::run_turn(ctx, caller, message, session_id, metadata, &mut crate::live::Discard).await?;
    Ok((response.status == "queued", response))
}

/// Writes the question and its `agent.turn` job in one transaction, then pushes the job.
pub async fn queue_turn(
    ctx: &AppContext,
    caller: &Principal,
    turn: &Turn,
    spent: Vec<llm::UsageRecord>,
    why: &str,
) -> ApiResult<SendResponse> {
    let payload = TurnJob {
        turn_id: turn.turn_id,
        user_id: caller.user_id,
        session_id: turn.session_id,
        message_id: turn.message_id,
    };
    let job = jobs::NewJob::new(Queue::Agent, agents::AGENT_TURN, &payload)
        .priority(70)
        .user(caller.user_id)
        .idempotency_key(format!("turn:{}", turn.turn_id))
        .max_attempts(3);
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    chat::store_message(&txn, caller, turn).await?;
    let enqueued = jobs::enqueue(&txn, job).await.map_err(ApiError::internal)?;
    chat::write_usage(&txn, spent).await;
    txn.commit().await.map_err(store::StoreError::from)?;
    // Pushed now when the lane has room, else by the sweeper from PostgreSQL; nothing is lost.
    ctx.transport.dispatch(&ctx.db, std::slice::from_ref(&enqueued)).await;
    Ok(SendResponse::queued(
        turn.session_id,
        turn.message_id,
        enqueued.id,
        format!("{why}: I'll post the answer to this conversation when it's ready (task {}).", enqueued.id),
    ))
}

impl SendResponse {
    /// The answer when the turn continues as job `task_id`.
    pub fn queued(session_id: Uuid, message_id: Uuid, task_id: Uuid, response: String) -> Self {
        SendResponse {
            session_id,
            status: "queued".into(),
            response,
            input_processed: None,
            artifacts: Vec::new(),
            agent_used: None,
            tools_used: Vec::new(),
            task_id: Some(task_id),
            message_id: Some(message_id),
            provider: None,
            model: None,
            outcome: None,
            pending_actions: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Default 50, at most 200.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub title: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub message_count: i64,
    pub last_message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

pub async fn sessions(ctx: &AppContext, caller: &Principal, q: SessionQuery) -> ApiResult<SessionList> {
    let rows =
        store::chat::sessions(&ctx.db, caller.user_id, q.limit.unwrap_or(50).clamp(1, 200), q.offset.unwrap_or(0))
            .await?;
    Ok(SessionList {
        sessions: rows
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                title: s.title,
                created_at: s.created_at,
                updated_at: s.updated_at,
                message_count: s.message_count,
                last_message: s.last_message,
            })
            .collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    /// user | assistant
    pub role: String,
    pub content: String,
    /// Agent, tools, provider, model, tokens and artifacts of an answer.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub session_id: Uuid,
    pub messages: Vec<MessageView>,
}

pub async fn history(ctx: &AppContext, caller: &Principal, session_id: Uuid) -> ApiResult<History> {
    let rows = store::chat::history(&ctx.db, caller.user_id, session_id, 1000)
        .await?
        .ok_or_else(|| ApiError::not_found("no such session"))?;
    Ok(History {
        session_id,
        messages: rows
            .into_iter()
            .map(|m| MessageView {
                id: m.id,
                role: m.role,
                content: m.content,
                metadata: m.metadata,
                created_at: m.created_at,
            })
            .collect(),
    })
}

/// What `POST /chat/confirm/{id}` did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmResponse {
    pub confirmation_id: Uuid,
    pub tool: String,
    /// done | failed
    pub status: String,
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub artifacts: Vec<agents::ArtifactRef>,
}

pub async fn confirm(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<ConfirmResponse> {
    use agents::consent::ConfirmError;
    let c = ctx.assistant.confirm(caller, id).await.map_err(|e| match e {
        ConfirmError::NotFound => ApiError::not_found("no such confirmation"),
        ConfirmError::Expired => ApiError::conflict("confirmation_expired", e.to_string()),
        ConfirmError::AlreadyConfirmed(_) => ApiError::conflict("already_confirmed", e.to_string()),
        ConfirmError::Store(s) => s.into(),
    })?;
    Ok(ConfirmResponse {
        confirmation_id: c.confirmation_id,
        tool: c.tool,
        status: c.status,
        result: c.result,
        artifacts: c.artifacts,
    })
}
