//! A persisted chat turn: the session, the user's message, the history the model sees,
//! the answer stored with its metadata, and the audit row. The api runs short turns inline
//! and the worker runs `agent.turn` jobs through the same functions.

use std::sync::Arc;

use domain::{Principal, RoleCatalog};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::TransactionTrait;
use store::audit::Source as AuditSource;
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
    /// Side effects the agent asked for after reading untrusted content: not done until the
    /// user confirms each with `POST /chat/confirm/{confirmation_id}`.
    pub pending_actions: Vec<crate::tools::PendingAction>,
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

/// A checked turn whose rows are not written yet: ids are chosen up front so the turn
/// can be written in one transaction when its answer is ready (or with its job).
#[derive(Debug, Clone)]
pub struct Turn {
    pub turn_id: Uuid,
    pub session_id: Uuid,
    /// The session does not exist yet.
    pub new_session: bool,
    pub message_id: Uuid,
    pub message: String,
    pub metadata: Value,
    /// The session's last messages (what the model sees), read with the ownership check.
    pub history: Vec<HistoryMessage>,
}

pub fn check_message(message: &str) -> Result<&str, ChatError> {
    let message = message.trim();
    if message.is_empty() {
        return Err(ChatError::Invalid("message must not be empty".into()));
    }
    if message.contains('\0') {
        return Err(ChatError::Invalid("message must not contain NUL (U+0000) characters".into()));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ChatError::Invalid(format!("message is longer than {MAX_MESSAGE_CHARS} characters")));
    }
    Ok(message)
}

/// Checks the message and the session (which must be the caller's) and reads its last
/// `history_len` messages; writes nothing.
pub async fn prepare(
    db: &impl store::ConnectionTrait,
    principal: &Principal,
    message: &str,
    session_id: Option<Uuid>,
    metadata: Value,
    history_len: u64,
) -> Result<Turn, ChatError> {
    let message = check_message(message)?.to_string();
    let (session_id, new_session, history) = match session_id {
        Some(id) => {
            let rows = store::chat::owned_history(db, principal.user_id, id, history_len)
                .await?
                .ok_or(ChatError::SessionNotFound)?;
            let history = rows
                .into_iter()
                .filter(|m| m.role == "user" || m.role == "assistant")
                .map(|m| HistoryMessage { role: m.role, content: m.content })
                .collect();
            (id, false, history)
        }
        None => (Uuid::now_v7(), true, Vec::new()),
    };
    Ok(Turn {
        turn_id: Uuid::now_v7(),
        session_id,
        new_session,
        message_id: Uuid::now_v7(),
        message,
        metadata,
        history,
    })
}

/// Writes the turn's session (when new) and the user's message, e.g. in the transaction
/// that also enqueues its job.
pub async fn store_message(
    db: &impl store::ConnectionTrait,
    principal: &Principal,
    turn: &Turn,
) -> Result<(), ChatError> {
    if turn.new_session {
        store::chat::create_session_with_id(db, turn.session_id, principal.user_id, &turn.message).await?;
    }
    store::chat::add_message_with_id(
        db,
        turn.message_id,
        principal.user_id,
        turn.session_id,
        "user",
        &turn.message,
        Some(turn.metadata.clone()),
    )
    .await?;
    Ok(())
}

/// The normalized request of a chat turn; `metadata` is the user's message metadata
/// (`input_type`, `extracted_text`).
pub fn turn_request(
    principal: &Principal,
    message: &str,
    metadata: Option<&Value>,
    session_id: Uuid,
    turn_id: Uuid,
    source: Source,
    conversation_history: Vec<HistoryMessage>,
) -> AgentRequest {
    let field = |k: &str| metadata.and_then(|m| m.get(k)).and_then(|v| v.as_str());
    AgentRequest {
        principal: principal.clone(),
        message: message.to_string(),
        input_type: field("input_type").unwrap_or("text").to_string(),
        extracted_text: field("extracted_text").map(String::from),
        session_id: Some(session_id),
        turn_id,
        source,
        attachments: Vec::new(),
        conversation_history,
        agent: None,
        event: None,
    }
}

/// Answers a prepared turn and writes it — session, question, answer, audit row and LLM
/// usage — in one transaction. Usage of the calls made goes into `usage` as they finish, so
/// a caller that gives up on the turn can still record what was spent.
pub async fn answer_turn(
    assistant: &Assistant,
    principal: &Principal,
    turn: &Turn,
    source: Source,
    sink: Option<&TurnSink>,
    usage: crate::usage::UsageBuffer,
    route: Option<crate::router::Route>,
) -> Result<ChatResponse, ChatError> {
    let db = &assistant.db;
    let req = turn_request(
        principal,
        &turn.message,
        Some(&turn.metadata),
        turn.session_id,
        turn.turn_id,
        source,
        turn.history.clone(),
    );
    let route = route.unwrap_or_else(|| assistant.route_quick(&req));
    let result = crate::usage::collecting(usage.clone(), assistant.run_routed(&req, route, sink)).await?;
    let question = Some((turn.message_id, turn.message.clone(), turn.metadata.clone()));
    finish(db, principal, turn.session_id, turn.new_session, question, turn.turn_id, source, &result, &usage).await
}

/// Writes usage rows inside a savepoint, so a refused row cannot spoil the turn.
pub async fn write_usage(txn: &store::DatabaseTransaction, records: Vec<llm::UsageRecord>) {
    if records.is_empty() {
        return;
    }
    match txn.begin().await {
        Ok(sp) => {
            crate::usage::write(&sp, records).await;
            if let Err(e) = sp.commit().await {
                tracing::warn!(error = %e, "could not record LLM usage");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not record LLM usage"),
    }
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
    let message = check_message(message)?;
    let session = match session_id {
        Some(id) => {
            if !store::chat::owns_session(db, principal.user_id, id).await? {
                return Err(ChatError::SessionNotFound);
            }
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
    let history = history.into_iter().map(|m| HistoryMessage { role: m.role, content: m.content }).collect();
    let req =
        turn_request(principal, &current.content, current.metadata.as_ref(), session_id, turn_id, source, history);
    let usage = crate::usage::UsageBuffer::default();
    let result = crate::usage::collecting(usage.clone(), assistant.run(&req, sink)).await?;
    finish(db, principal, session_id, false, None, turn_id, source, &result, &usage).await
}

/// Writes the turn (see [`store::chat::record_turn`]); returns the mobile response.
#[allow(clippy::too_many_arguments)]
async fn finish(
    db: &impl store::ConnectionTrait,
    principal: &Principal,
    session_id: Uuid,
    new_session: bool,
    question: Option<(Uuid, String, Value)>,
    turn_id: Uuid,
    source: Source,
    r: &TurnResult,
    usage: &crate::usage::UsageBuffer,
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
        "pending_actions": r.pending_actions,
    });
    let audit_source = match source {
        Source::Mobile => AuditSource::Mobile,
        Source::Webhook => AuditSource::Webhook,
        Source::Scheduler => AuditSource::Scheduler,
        Source::Teams => AuditSource::Teams,
    };
    let answer_id = Uuid::now_v7();
    store::chat::record_turn(
        db,
        store::chat::TurnRecord {
            user_id: principal.user_id,
            department: principal.department.as_str().to_string(),
            session_id,
            new_session,
            question,
            answer_id,
            answer: r.response.clone(),
            answer_metadata: metadata,
            audit_action: "chat.turn".into(),
            audit_source: audit_source.as_str().into(),
            audit_details: json!({
                "session_id": session_id, "turn_id": turn_id, "agent": r.agent_used, "tools": r.tools_used,
                "provider": r.provider, "model": r.model, "outcome": r.outcome, "skill": r.skill,
            }),
            usage: crate::usage::checked(crate::usage::drain(usage)),
        },
    )
    .await?;
    Ok(ChatResponse {
        session_id,
        status: "completed".into(),
        response: r.response.clone(),
        input_processed: None,
        artifacts: r.artifacts.clone(),
        agent_used: r.agent_used.map(|a| a.to_string()),
        tools_used: r.tools_used.clone(),
        task_id: None,
        message_id: Some(answer_id),
        provider: Some(r.provider.clone()),
        model: r.model.clone(),
        outcome: Some(r.outcome),
        pending_actions: r.pending_actions.clone(),
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
        pending_actions: serde_json::from_value(meta["pending_actions"].clone()).unwrap_or_default(),
    }))
}

/// Builds the process's assistant from settings: providers (none → offline), usage
/// recorded in PostgreSQL, the built-in tools, the knowledge directory and skills.
pub fn build(settings: Arc<settings::Settings>, db: store::DatabaseConnection) -> anyhow::Result<Assistant> {
    let usage = Arc::new(crate::usage::StoreUsage { db: db.clone() });
    let llm = llm::LlmManager::from_settings(&settings.llm, usage)?;
    let integrations = crate::integrations::Integrations::from_settings(&settings)?;
    let mut assistant = Assistant::load(db, Arc::new(llm), crate::tools::ToolRegistry::with_builtin(), settings)?;
    assistant.integrations = Arc::new(integrations);
    Ok(assistant)
}
