//! A persisted chat turn: the session, the user's message, the history the model sees,
//! the answer stored with its metadata, and the audit row. The api runs short turns inline
//! and the worker runs `agent.turn` jobs through the same functions.

use std::sync::Arc;

use domain::{Principal, RoleCatalog};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::audit::{NewEntry, Source as AuditSource};
use uuid::Uuid;

use crate::assistant::{AgentRequest, Assistant, HistoryMessage, Outcome, TurnResult, TurnSink};
use crate::router::Source;
use crate::tools::ArtifactRef;

/// The job kind of background turns.
pub const AGENT_TURN: &str = "agent.turn";

/// Longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 16_000;

/// The mobile contract's answer to every send endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub session_id: Uuid,
    /// `completed`, or `queued` (then `task_id` names the job).
    pub status: String,
    pub response: String,
    pub input_processed: Option<Value>,
    pub artifacts: Vec<ArtifactRef>,
    pub agent_used: Option<String>,
    pub tools_used: Vec<String>,
    pub task_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    /// Who answered: `anthropic`, `kimi`, `openai`, `offline` or `router`.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub outcome: Option<Outcome>,
}

/// The payload of an `agent.turn` job: ids only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnJob {
    pub turn_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// The user's message (already stored).
    pub message_id: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("no such session")]
    SessionNotFound,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("the language model failed: {0}")]
    Llm(#[from] llm::LlmError),
}

/// Checks the message and stores it: in the given session (which must be the caller's) or
/// a new one. Returns (session, message id).
pub async fn begin(
    db: &impl store::ConnectionTrait,
    principal: &Principal,
    message: &str,
    session_id: Option<Uuid>,
    metadata: Value,
) -> Result<(Uuid, Uuid), ChatError> {
    let message = message.trim();
    if message.is_empty() {
        return Err(ChatError::Invalid("message must not be empty".into()));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ChatError::Invalid(format!("message is longer than {MAX_MESSAGE_CHARS} characters")));
    }
    let session = match session_id {
        Some(id) => {
            store::chat::owned_session(db, principal.user_id, id).await?.ok_or(ChatError::SessionNotFound)?;
            id
        }
        None => store::chat::create_session(db, principal.user_id, message).await?,
    };
    let msg = store::chat::add_message(db, principal.user_id, session, "user", message, Some(metadata)).await?;
    Ok((session, msg))
}

/// Runs the turn for a stored user message and stores the answer.
pub async fn answer(
    assistant: &Assistant,
    principal: &Principal,
    session_id: Uuid,
    message_id: Uuid,
    turn_id: Uuid,
    source: Source,
    sink: Option<&TurnSink>,
) -> Result<ChatResponse, ChatError> {
    let db = &assistant.db;
    let n = assistant.settings.agents.history_messages;
    let mut history = store::chat::last_messages(db, session_id, n + 1).await?;
    let current = history
        .iter()
        .position(|m| m.id == message_id)
        .map(|i| history.remove(i))
        .or(store::chat::message(db, message_id).await?)
        .ok_or_else(|| ChatError::Invalid("the message of this turn is gone".into()))?;
    history.retain(|m| m.created_at <= current.created_at && (m.role == "user" || m.role == "assistant"));
    if history.len() as u64 > n {
        history.drain(..history.len() - n as usize);
    }
    let req = AgentRequest {
        principal: principal.clone(),
        message: current.content.clone(),
        input_type: current
            .metadata
            .as_ref()
            .and_then(|m| m.get("input_type"))
            .and_then(|v| v.as_str())
            .unwrap_or("text")
            .to_string(),
        extracted_text: current
            .metadata
            .as_ref()
            .and_then(|m| m.get("extracted_text"))
            .and_then(|v| v.as_str())
            .map(String::from),
        session_id: Some(session_id),
        turn_id,
        source,
        attachments: Vec::new(),
        conversation_history: history
            .into_iter()
            .map(|m| HistoryMessage { role: m.role, content: m.content })
            .collect(),
        agent: None,
        event: None,
    };
    let result = assistant.run(&req, sink).await?;
    finish(assistant, principal, session_id, turn_id, source, &result).await
}

/// Stores the answer and the audit row; returns the mobile response.
async fn finish(
    assistant: &Assistant,
    principal: &Principal,
    session_id: Uuid,
    turn_id: Uuid,
    source: Source,
    r: &TurnResult,
) -> Result<ChatResponse, ChatError> {
    let metadata = json!({
        "turn_id": turn_id,
        "agent": r.agent_used,
        "tools": r.tools_used,
        "provider": r.provider,
        "model": r.model,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "artifacts": r.artifacts,
        "outcome": r.outcome,
        "route": r.route_reason,
        "skill": r.skill,
    });
    let id = store::chat::add_message(
        &assistant.db,
        principal.user_id,
        session_id,
        "assistant",
        &r.response,
        Some(metadata),
    )
    .await?;
    let audit = NewEntry {
        user_id: Some(principal.user_id),
        department: Some(principal.department.as_str()),
        action: "chat.turn",
        source: match source {
            Source::Mobile => AuditSource::Mobile,
            Source::Webhook => AuditSource::Webhook,
            Source::Scheduler => AuditSource::Scheduler,
            Source::Teams => AuditSource::Teams,
        },
        details: json!({
            "session_id": session_id, "turn_id": turn_id, "agent": r.agent_used, "tools": r.tools_used,
            "provider": r.provider, "model": r.model, "outcome": r.outcome, "skill": r.skill,
        }),
        ip_address: None,
        request_id: None,
    };
    store::audit::record(&assistant.db, audit).await?;
    Ok(ChatResponse {
        session_id,
        status: "completed".into(),
        response: r.response.clone(),
        input_processed: None,
        artifacts: r.artifacts.clone(),
        agent_used: r.agent_used.map(|a| a.to_string()),
        tools_used: r.tools_used.clone(),
        task_id: None,
        message_id: Some(id),
        provider: Some(r.provider.clone()),
        model: r.model.clone(),
        outcome: Some(r.outcome),
    })
}

/// The `agent.turn` job body: rebuild the caller from the users table (a deactivated user's
/// queued turn does not run), answer, return the chat response as the job's result.
pub async fn run_job(assistant: &Assistant, roles: &Arc<RoleCatalog>, job: TurnJob) -> Result<ChatResponse, ChatError> {
    let user = store::users::by_id(&assistant.db, job.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| ChatError::Invalid("the user of this turn no longer exists or is deactivated".into()))?;
    let principal = Principal {
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        department: user.department,
        role: user.role.clone(),
        permissions: roles.permissions_of(&user.role),
    };
    // A retried job whose answer is already stored returns it instead of answering twice.
    if let Some(done) = stored_answer(assistant, job.session_id, job.turn_id).await? {
        return Ok(done);
    }
    answer(assistant, &principal, job.session_id, job.message_id, job.turn_id, Source::Mobile, None).await
}

async fn stored_answer(
    assistant: &Assistant,
    session_id: Uuid,
    turn_id: Uuid,
) -> Result<Option<ChatResponse>, ChatError> {
    let recent = store::chat::last_messages(&assistant.db, session_id, 50).await?;
    let Some(m) = recent.into_iter().rev().find(|m| {
        m.role == "assistant"
            && m.metadata.as_ref().and_then(|x| x.get("turn_id")).and_then(|v| v.as_str())
                == Some(turn_id.to_string().as_str())
    }) else {
        return Ok(None);
    };
    let meta = m.metadata.unwrap_or(Value::Null);
    Ok(Some(ChatResponse {
        session_id,
        status: "completed".into(),
        response: m.content,
        input_processed: None,
        artifacts: serde_json::from_value(meta["artifacts"].clone()).unwrap_or_default(),
        agent_used: meta["agent"].as_str().map(String::from),
        tools_used: serde_json::from_value(meta["tools"].clone()).unwrap_or_default(),
        task_id: None,
        message_id: Some(m.id),
        provider: meta["provider"].as_str().map(String::from),
        model: meta["model"].as_str().map(String::from),
        outcome: serde_json::from_value(meta["outcome"].clone()).ok(),
    }))
}

/// Builds the process's assistant from settings: providers (none → offline), usage
/// recorded in PostgreSQL, the built-in tools, the knowledge directory and skills.
pub fn build(settings: Arc<settings::Settings>, db: store::DatabaseConnection) -> anyhow::Result<Assistant> {
    let usage = Arc::new(crate::usage::StoreUsage { db: db.clone() });
    let llm = llm::LlmManager::from_settings(&settings.llm, usage)?;
    let assistant = Assistant::load(db, Arc::new(llm), crate::tools::ToolRegistry::with_builtin(), settings)?;
    Ok(assistant)
}
