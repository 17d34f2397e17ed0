//! A chat turn whose progress streams to the client (the WebSocket and Server-Sent Events):
//! `status` and `text_delta` events while it runs, then `complete` with the chat response,
//! or `task_queued` + `complete` (status `queued`) when it continues as a job, or `error`.
//! Same rules as `POST /chat/send`: nothing is written before the answer (or the job) is
//! ready, and a turn that is cancelled (dropped) writes nothing.

use std::time::Duration;

use actix_web::web::Data;
use agents::Source;
use agents::assistant::TurnEvent;
use agents::chat::{self as turn_chat};
use agents::usage::UsageBuffer;
use domain::Principal;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::chat::{SendResponse, queue_turn};
use crate::context::AppContext;
use crate::error::ApiError;

/// One event for the client, `{"type": ..., ...}`.
pub type Event = Value;

pub fn status(message: impl Into<String>) -> Event {
    json!({"type": "status", "message": message.into()})
}

pub fn error(code: &str, message: impl Into<String>) -> Event {
    json!({"type": "error", "code": code, "message": message.into()})
}

/// The `error` event of an api error (its stable code and message).
pub fn error_of(e: &ApiError) -> Event {
    error(e.code(), e.message())
}

pub fn complete(response: &SendResponse) -> Event {
    json!({"type": "complete", "response": response})
}

/// Where the events go; `false` when the client is gone (the turn is then not continued
/// for it, but what was already decided stands).
pub trait Emit: Send {
    fn emit(&mut self, event: Event) -> impl std::future::Future<Output = bool> + Send;
}

/// Progress that may be dropped for a slow client; everything else is waited for.
fn droppable(event: &Event) -> bool {
    matches!(event["type"].as_str(), Some("status" | "text_delta"))
}

impl Emit for mpsc::Sender<Event> {
    async fn emit(&mut self, event: Event) -> bool {
        if droppable(&event) {
            // Not worth blocking a turn for: a full queue drops them.
            return !matches!(self.try_send(event), Err(mpsc::error::TrySendError::Closed(_)));
        }
        self.send(event).await.is_ok()
    }
}

/// For callers that want only the final response (`POST /chat/send`).
pub struct Discard;

impl Emit for Discard {
    async fn emit(&mut self, _: Event) -> bool {
        true
    }
}

impl Emit for mpsc::UnboundedSender<Event> {
    async fn emit(&mut self, event: Event) -> bool {
        self.send(event).is_ok()
    }
}

/// Runs one text turn for `caller`, emitting its events; returns the final response (also
/// emitted as `complete`). `metadata` is the user's message metadata (`input_type`, ...).
/// The caller applies the chat rate limit ([`limit`]).
pub async fn run_turn(
    ctx: &AppContext,
    caller: &Principal,
    message: &str,
    session_id: Option<Uuid>,
    metadata: Value,
    out: &mut impl Emit,
) -> Result<SendResponse, ApiError> {
    let assistant = &ctx.assistant;
    let history = ctx.settings.agents.history_messages;
    let turn = turn_chat::prepare(&ctx.db, caller, message, session_id, metadata, history).await?;
    // Routing reads the message only.
    let probe = turn_chat::turn_request(
        caller,
        &turn.message,
        Some(&turn.metadata),
        turn.session_id,
        turn.turn_id,
        Source::Mobile,
        Vec::new(),
    );
    let route = assistant.route_quick(&probe);
    if assistant.is_background(&route) {
        let queued = queue_turn(ctx, caller, &turn, Vec::new(), "This runs in the background").await?;
        out.emit(task_queued(&queued)).await;
        out.emit(complete(&queued)).await;
        return Ok(queued);
    }
    out.emit(json!({"type": "turn", "turn_id": turn.turn_id, "session_id": turn.session_id})).await;
    let usage = UsageBuffer::default();
    let (sink, mut events) = mpsc::unbounded_channel::<TurnEvent>();
    let timeout = Duration::from_secs(ctx.settings.agents.inline_timeout_secs);
    let answer =
        turn_chat::answer_turn(assistant, caller, &turn, Source::Mobile, Some(&sink), usage.clone(), Some(route));
    let mut answer = std::pin::pin!(tokio::time::timeout(timeout, answer));
    let result = loop {
        tokio::select! {
            biased;
            Some(e) = events.recv() => {
                let event = match e {
                    TurnEvent::Status(m) => status(m),
                    TurnEvent::TextDelta(d) => json!({"type": "text_delta", "delta": d}),
                };
                if !out.emit(event).await {
                    // The client left: dropping the turn stops the LLM request; nothing is written.
                    return Err(ApiError::bad_request("client_gone", "the client disconnected"));
                }
            }
            r = &mut answer => break r,
        }
    };
    // Deltas sent after the answer resolved but before the loop saw them.
    while let Ok(e) = events.try_recv() {
        if let TurnEvent::TextDelta(d) = e {
            out.emit(json!({"type": "text_delta", "delta": d})).await;
        }
    }
    let response: SendResponse = match result {
        Ok(r) => r.map_err(ApiError::from)?.into(),
        Err(_) => {
            tracing::info!(turn_id = %turn.turn_id, "turn outgrew the inline timeout; continuing as a job");
            let spent = agents::usage::drain(&usage);
            let queued = queue_turn(ctx, caller, &turn, spent, "This is taking a while").await?;
            out.emit(task_queued(&queued)).await;
            queued
        }
    };
    out.emit(complete(&response)).await;
    Ok(response)
}

fn task_queued(r: &SendResponse) -> Event {
    json!({"type": "task_queued", "task_id": r.task_id, "session_id": r.session_id})
}

/// The per-user chat rate limit (shared with `/chat/send`).
pub async fn limit(ctx: &AppContext, caller: &Principal) -> Result<(), ApiError> {
    crate::auth::limit(ctx, &format!("chat:{}", caller.user_id), ctx.settings.rate_limits.chat).await
}

/// Runs a turn and turns a failure into an `error` event.
pub async fn run_turn_reporting(
    ctx: Data<AppContext>,
    caller: Principal,
    message: String,
    session_id: Option<Uuid>,
    metadata: Value,
    out: &mut impl Emit,
) -> Option<SendResponse> {
    match run_turn(&ctx, &caller, &message, session_id, metadata, out).await {
        Ok(r) => Some(r),
        Err(e) => {
            if e.code() != "client_gone" {
                out.emit(error_of(&e)).await;
            }
            None
        }
    }
}
