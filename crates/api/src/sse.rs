//! Server-Sent Events for clients that cannot hold a WebSocket: `POST /chat/stream` (or
//! `POST /chat/send` with `Accept: text/event-stream`) runs a turn and streams its events.
//!
//! The turn runs on its own, not tied to the request: its events are written to a short-lived
//! Redis stream (`realtime.turn_events_ttl_secs`) and the response follows that stream. A
//! client that loses the connection reconnects with `GET /chat/stream/{stream_id}` and
//! `Last-Event-ID` — to any api process — and gets every event after that id, then the
//! rest live. Only the user who started the turn can read it (the stream's key is derived
//! from the user and the stream id).

use std::time::Duration;

use actix_web::web::{Bytes, Data, Json, Path};
use actix_web::{HttpRequest, HttpResponse, get, post};
use domain::Principal;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::chat::SendRequest;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::live;

/// Seconds between keep-alive comments on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The key of a user's turn stream: another user's resume finds nothing (404).
fn log_id(user: Uuid, stream_id: Uuid) -> Uuid {
    let digest = Sha256::new().chain_update(user.as_bytes()).chain_update(stream_id.as_bytes()).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// Streams a chat turn as Server-Sent Events: `stream` (the id to resume with), `status`,
/// `text_delta`, `task_queued`, then `complete` with the chat response, or `error`.
#[utoipa::path(
    tag = "chat",
    request_body = SendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "text/event-stream of the turn's events"),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/stream")]
pub async fn stream(ctx: Data<AppContext>, caller: Authenticated, body: Json<SendRequest>) -> ApiResult<HttpResponse> {
    start(ctx, caller.principal, body.into_inner()).await
}

/// Starts the turn in the background and answers with its event stream.
pub async fn start(ctx: Data<AppContext>, caller: Principal, req: SendRequest) -> ApiResult<HttpResponse> {
    // Refusals a client can act on are HTTP errors, before the stream starts.
    live::limit(&ctx, &caller).await?;
    agents::chat::check_message(&req.message).map_err(ApiError::from)?;
    let stream_id = Uuid::now_v7();
    let log = log_id(caller.user_id, stream_id);
    let turn_log = ctx.turn_log.clone();
    // The first event, written before the response starts, names the stream for resume.
    turn_log
        .append(log, &realtime::Event::new("stream").with("stream_id", stream_id.to_string()))
        .await
        .map_err(realtime_error)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    // Writes the turn's events to Redis in order.
    let writer = {
        let turn_log = turn_log.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                let Ok(event) = realtime::Event::try_from(e) else { continue };
                if let Err(err) = turn_log.append(log, &event).await {
                    tracing::warn!(error = %err, "could not record a streamed turn event");
                }
            }
            if let Err(err) = turn_log.finish(log).await {
                tracing::warn!(error = %err, "could not close a streamed turn's event log");
            }
        })
    };
    let turn_ctx = ctx.clone();
    tokio::spawn(async move {
        let mut out = tx;
        live::run_turn_reporting(
            turn_ctx,
            caller,
            req.message,
            req.session_id,
            json!({"input_type": "text"}),
            &mut out,
        )
        .await;
        drop(out);
        let _ = writer.await;
    });
    Ok(respond(follow(ctx, log, None)))
}

/// Resumes a turn's event stream after `Last-Event-ID` (or from the start without it).
#[utoipa::path(
    tag = "chat",
    params(("stream_id" = Uuid, Path), ("Last-Event-ID" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "text/event-stream: the events after Last-Event-ID"),
        (status = 400, description = "Malformed Last-Event-ID", body = ErrorBody),
        (status = 404, description = "Unknown, expired, or another user's stream", body = ErrorBody),
    )
)]
#[get("/stream/{stream_id}")]
pub async fn resume(
    ctx: Data<AppContext>,
    caller: Authenticated,
    req: HttpRequest,
    id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let log = log_id(caller.principal.user_id, id.into_inner());
    let invalid = || ApiError::bad_request("invalid_last_event_id", "Last-Event-ID is not an event id of a stream");
    let after = match req.headers().get("last-event-id") {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(|s| s.trim().parse::<realtime::EventId>().ok()).ok_or_else(invalid)?),
    };
    ctx.turn_log.check_resume(log, after).await.map_err(|e| match e {
        realtime::RealtimeError::InvalidEventId(_) => invalid(),
        realtime::RealtimeError::TurnNotFound => ApiError::not_found("no such stream (it may have expired)"),
        realtime::RealtimeError::ResumeGap => ApiError::conflict(
            "resume_gap",
            "the events after Last-Event-ID are no longer kept; load the answer with GET /chat/history/{session_id}",
        ),
        other => realtime_error(other),
    })?;
    Ok(respond(follow(ctx, log, after)))
}

fn follow(
    ctx: Data<AppContext>,
    log: Uuid,
    after: Option<realtime::EventId>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + 'static {
    let turn_log = ctx.turn_log.clone();
    let events = turn_log.follow(log, after);
    let keep_alive = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(KEEP_ALIVE).await;
        Some((Ok(Bytes::from_static(b": keep-alive\n\n")), ()))
    });
    let events = events.map(|r| match r {
        Ok((id, event)) => {
            let kind = event.kind().to_string();
            Ok(Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {}\n\n", event.to_json())))
        }
        Err(e) => {
            let e = json!({"type": "error", "code": "stream_failed", "message": e.to_string()});
            Ok(Bytes::from(format!("event: error\ndata: {e}\n\n")))
        }
    });
    // Ends with the events; the keep-alive only fills silences.
    futures_util::stream::select(
        events.map(Some).chain(futures_util::stream::once(async { None })),
        keep_alive.map(Some),
    )
    .take_while(|x| std::future::ready(x.is_some()))
    .filter_map(std::future::ready)
}

fn respond(body: impl Stream<Item = Result<Bytes, actix_web::Error>> + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

fn realtime_error(e: realtime::RealtimeError) -> ApiError {
    ApiError::unavailable("realtime_unavailable", e.to_string())
}
