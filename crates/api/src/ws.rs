//! `GET /chat/ws`: the mobile app's live channel.
//!
//! The access token (query `token` or `Authorization`) and the origin are checked before the
//! upgrade. Afterwards the token is re-checked every few seconds and on every revocation
//! notice, so signing out (or a revoked session) closes the socket within seconds; the
//! socket also closes when the token expires, after `idle_timeout_secs` without a message
//! or pong, and on a message over `max_message_bytes`.
//!
//! Client messages: `text`, `speech_start` / `speech_audio` / `speech_end`, `camera_frame`,
//! `subscribe` (a job's progress), `cancel`, `ping`. Server events: `status`, `text_delta`,
//! `transcript`, `camera_analysis`, `task_queued`, `task_progress`, `complete`, `error`, and
//! whatever background jobs publish for the user (from any worker, to every api process).

use std::time::{Duration, Instant};

use actix_web::web::{Data, Payload, Query};
use actix_web::{HttpRequest, HttpResponse, get, http::header};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use base64::Engine as _;
use domain::Principal;
use domain::auth::Claims;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::authenticate;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::live::{self, Emit, Event};
use crate::speech::{SpeechSession, SpeechUpdate};

/// How often the token is checked again while the socket is open.
const AUTH_RECHECK: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, IntoParams)]
pub struct WsQuery {
    /// The access token (browsers cannot set headers on a WebSocket).
    pub token: Option<String>,
}

/// Opens the live channel. 401 before the upgrade for a missing, invalid, expired or
/// revoked token; 403 for an origin outside `server.cors_origins`.
#[utoipa::path(
    tag = "chat",
    params(WsQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Origin not allowed", body = ErrorBody),
    )
)]
#[get("/ws")]
pub async fn ws(ctx: Data<AppContext>, req: HttpRequest, body: Payload, q: Query<WsQuery>) -> ApiResult<HttpResponse> {
    check_origin(&ctx, &req)?;
    let token = match q.into_inner().token.filter(|t| !t.trim().is_empty()) {
        Some(t) => t,
        None => crate::auth::bearer(&req)?,
    };
    let (principal, claims) = authenticate(&ctx, &token).await?;
    let (response, session, stream) =
        actix_ws::handle(&req, body).map_err(|e| ApiError::bad_request("not_a_websocket", e.to_string()))?;
    let max = ctx.settings.realtime.max_message_bytes;
    let stream = stream.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    metrics::gauge!("mezzofy_ws_connections").increment(1.0);
    actix_web::rt::spawn(async move {
        let conn = Connection::new(ctx, principal, claims, token, session);
        conn.run(stream).await;
        metrics::gauge!("mezzofy_ws_connections").decrement(1.0);
    });
    Ok(response)
}

fn check_origin(ctx: &AppContext, req: &HttpRequest) -> ApiResult<()> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        // Native apps send no Origin; browsers always do.
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let allowed = &ctx.settings.server.cors_origins;
    if allowed.iter().any(|o| o == "*" || o == origin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("origin '{}' is not allowed", origin.chars().take(80).collect::<String>())))
    }
}

/// What the client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Text {
        message: String,
        session_id: Option<Uuid>,
    },
    SpeechStart {
        /// en | zh | ms (else the user's language, else detected).
        language: Option<String>,
        /// `pcm16` (16-bit little-endian mono, the default) or a container (`wav`, `webm`,
        /// `ogg`, `m4a`, `mp3`) whose chunks form one file.
        format: Option<String>,
        sample_rate: Option<u32>,
        session_id: Option<Uuid>,
    },
    SpeechAudio {
        data: String,
    },
    SpeechEnd,
    CameraFrame {
        data: String,
    },
    Subscribe {
        task_id: Uuid,
    },
    Cancel,
    Ping,
}

struct Connection {
    ctx: Data<AppContext>,
    principal: Principal,
    claims: Claims,
    token: String,
    session: Session,
    /// Events from this connection's own tasks (turns, speech, camera).
    out_tx: mpsc::Sender<Event>,
    out_rx: mpsc::Receiver<Event>,
    turn: Option<JoinHandle<()>>,
    speech: Option<SpeechSession>,
    camera: realtime::RateGate,
    camera_busy: bool,
    /// Frames dropped because one was still being analysed.
    camera_dropped: u64,
    last_seen: Instant,
}

impl Connection {
    fn new(ctx: Data<AppContext>, principal: Principal, claims: Claims, token: String, session: Session) -> Self {
        let queue = ctx.settings.realtime.connection_queue;
        let (out_tx, out_rx) = mpsc::channel(queue);
        let fps = ctx.settings.realtime.camera_fps.max(1);
        Self {
            camera: realtime::RateGate::new(Duration::from_millis(1000 / u64::from(fps))),
            ctx,
            principal,
            claims,
            token,
            session,
            out_tx,
            out_rx,
            turn: None,
            speech: None,
            camera_busy: false,
            camera_dropped: 0,
            last_seen: Instant::now(),
        }
    }

    async fn run(mut self, mut stream: actix_ws::AggregatedMessageStream) {
        let rt = &self.ctx.settings.realtime;
        let mut ping = tokio::time::interval(Duration::from_secs(rt.ping_secs));
        let idle = Duration::from_secs(rt.idle_timeout_secs);
        let mut recheck = tokio::time::interval(AUTH_RECHECK);
        let expires_in =
            Duration::from_secs(u64::try_from(self.claims.exp - chrono::Utc::now().timestamp()).unwrap_or(0));
        let expiry = tokio::time::sleep(expires_in);
        tokio::pin!(expiry);
        let mut hub = self.ctx.hub.register_with(
            self.principal.user_id,
            realtime::Registration { session: Some(self.claims.fam.to_string()), queue: Some(rt.connection_queue) },
        );
        let mut speech_tick = tokio::time::interval(Duration::from_secs(rt.speech_partial_secs));
        let close: Option<CloseReason> = loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    None => break None,
                    Some(Err(e)) => {
                        let too_big = matches!(e, actix_ws::ProtocolError::Overflow);
                        let _ = self.send(&live::error(if too_big { "message_too_large" } else { "protocol_error" }, e.to_string())).await;
                        break Some(CloseReason { code: if too_big { CloseCode::Size } else { CloseCode::Protocol }, description: Some(e.to_string()) });
                    }
                    Some(Ok(m)) => {
                        self.last_seen = Instant::now();
                        match m {
                            AggregatedMessage::Text(t) => self.on_text(&t).await,
                            AggregatedMessage::Binary(_) => {
                                self.send(&live::error("unsupported_message", "send JSON text messages")).await;
                            }
                            AggregatedMessage::Ping(p) => { let _ = self.session.pong(&p).await; }
                            AggregatedMessage::Pong(_) => {}
                            AggregatedMessage::Close(_) => break None,
                        }
                    }
                },
                Some(event) = self.out_rx.recv() => {
                    if self.is_stale_partial(&event) {
                        continue;
                    }
                    self.on_own_event(&event);
                    if !self.send(&event).await { break None; }
                }
                delivery = hub.recv() => match delivery {
                    Some(realtime::Delivery::Event(e)) => {
                        if !self.send(e.as_value()).await { break None; }
                    }
                    Some(realtime::Delivery::Revoked(reason)) => {
                        self.send(&live::error("token_revoked", format!("this session has been signed out ({reason})"))).await;
                        break Some(policy_close("signed out"));
                    }
                    None => break Some(CloseReason { code: CloseCode::Restart, description: Some("server restarting".into()) }),
                },
                _ = ping.tick() => {
                    if self.last_seen.elapsed() > idle {
                        break Some(CloseReason { code: CloseCode::Normal, description: Some("idle".into()) });
                    }
                    if self.session.ping(b"").await.is_err() { break None; }
                }
                _ = recheck.tick() => {
                    if let Err(e) = authenticate(&self.ctx, &self.token).await
                        && e.status() == actix_web::http::StatusCode::UNAUTHORIZED
                    {
                        self.send(&live::error_of(&e)).await;
                        break Some(policy_close("signed out"));
                    }
                }
                _ = &mut expiry => {
                    self.send(&live::error("token_expired", "the access token expired; reconnect with a fresh one")).await;
                    break Some(policy_close("token expired"));
                }
                _ = speech_tick.tick(), if self.speech.as_ref().is_some_and(SpeechSession::wants_partial) => {
                    self.speech_partial();
                }
            }
        };
        if let Some(t) = self.turn.take() {
            // Closing the socket cancels the turn (and its LLM request); nothing is written.
            t.abort();
        }
        let dropped = hub.dropped();
        if dropped > 0 {
            tracing::info!(user = %self.principal.user_id, dropped, "slow WebSocket client: events were dropped");
        }
        let _ = self.session.close(close).await;
    }

    /// Sends one event; false when the socket is gone.
    async fn send(&mut self, event: &Value) -> bool {
        self.session.text(event.to_string()).await.is_ok()
    }

    /// A partial transcript computed for an utterance that has ended (its final transcript
    /// was sent) or was cancelled.
    fn is_stale_partial(&self, event: &Value) -> bool {
        event["type"] == "transcript"
            && event["is_final"] == false
            && self.speech.as_ref().map(|s| json!(s.utterance_id())) != Some(event["utterance_id"].clone())
    }

    fn on_own_event(&mut self, event: &Value) {
        match event["type"].as_str() {
            Some("complete") | Some("error") if event["source"].as_str() != Some("camera") => {
                self.turn = None;
            }
            Some("camera_analysis") => self.camera_busy = false,
            Some("error") => self.camera_busy = false,
            _ => {}
        }
    }

    async fn on_text(&mut self, text: &str) {
        let msg: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                self.send(&live::error("invalid_message", format!("not a client message: {e}"))).await;
                return;
            }
        };
        match msg {
            ClientMessage::Text { message, session_id } => {
                self.start_turn(message, session_id, json!({"input_type": "text"})).await;
            }
            ClientMessage::Cancel => {
                if let Some(t) = self.turn.take() {
                    t.abort();
                    self.send(&json!({"type": "status", "message": "Cancelled."})).await;
                }
                if self.speech.take().is_some() {
                    self.send(&json!({"type": "status", "message": "Speech cancelled."})).await;
                }
            }
            ClientMessage::Ping => {
                self.send(&json!({"type": "pong"})).await;
            }
            ClientMessage::Subscribe { task_id } => self.subscribe(task_id).await,
            ClientMessage::SpeechStart { language, format, sample_rate, session_id } => {
                match SpeechSession::start(&self.ctx, language, format, sample_rate, session_id) {
                    Ok(s) => {
                        self.speech = Some(s);
                        self.send(&live::status("Listening…")).await;
                    }
                    Err(e) => {
                        self.send(&live::error_of(&e)).await;
                    }
                }
            }
            ClientMessage::SpeechAudio { data } => {
                let Some(speech) = self.speech.as_mut() else {
                    self.send(&live::error("no_speech", "send speech_start first")).await;
                    return;
                };
                let bytes = match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
                    Ok(b) => b,
                    Err(_) => {
                        self.send(&live::error("invalid_audio", "speech_audio data is not base64")).await;
                        return;
                    }
                };
                if let Err(e) = speech.push(&bytes) {
                    self.speech = None;
                    self.send(&live::error_of(&e)).await;
                }
            }
            ClientMessage::SpeechEnd => {
                let Some(speech) = self.speech.take() else {
                    self.send(&live::error("no_speech", "send speech_start first")).await;
                    return;
                };
                self.speech_final(speech).await;
            }
            ClientMessage::CameraFrame { data } => self.camera_frame(data).await,
        }
    }

    async fn start_turn(&mut self, message: String, session_id: Option<Uuid>, metadata: Value) {
        if self.turn.as_ref().is_some_and(|t| !t.is_finished()) {
            self.send(&live::error("turn_in_progress", "wait for the current answer, or send cancel")).await;
            return;
        }
        let ctx = self.ctx.clone();
        let caller = self.principal.clone();
        let mut out = self.out_tx.clone();
        self.turn = Some(tokio::spawn(async move {
            if let Err(e) = live::limit(&ctx, &caller).await {
                out.emit(live::error_of(&e)).await;
                return;
            }
            live::run_turn_reporting(ctx, caller, message, session_id, metadata, &mut out).await;
        }));
    }

    async fn subscribe(&mut self, task_id: Uuid) {
        match store::jobs::get(&self.ctx.db, task_id).await {
            Ok(Some(job)) if job.user_id == Some(self.principal.user_id) => {
                let event = json!({
                    "type": "task_progress",
                    "task_id": task_id,
                    "status": job.status,
                    "progress": job.progress_percent.unwrap_or(0),
                    "message": job.progress_message,
                });
                self.send(&event).await;
            }
            Ok(_) => {
                self.send(&live::error("not_found", "no such task")).await;
            }
            Err(e) => {
                let e = ApiError::from(e);
                self.send(&live::error_of(&e)).await;
            }
        }
    }

    fn speech_partial(&mut self) {
        let Some(speech) = self.speech.as_mut() else { return };
        let out = self.out_tx.clone();
        speech.partial(move |update: SpeechUpdate| {
            let _ = out.try_send(json!({
                "type": "transcript",
                "text": update.text,
                "is_final": false,
                "utterance_id": update.utterance_id,
            }));
        });
    }

    async fn speech_final(&mut self, speech: SpeechSession) {
        self.send(&live::status("Transcribing…")).await;
        let session_id = speech.session_id();
        let utterance_id = speech.utterance_id();
        match speech.finish().await {
            Ok(fin) if !fin.text.trim().is_empty() => {
                let event = json!({
                    "type": "transcript",
                    "text": fin.text,
                    "is_final": true,
                    "language": fin.language,
                    "utterance_id": utterance_id,
                });
                self.send(&event).await;
                let metadata = json!({"input_type": "speech", "language": fin.language});
                self.start_turn(fin.text, session_id, metadata).await;
            }
            Ok(_) => {
                self.send(&live::error("no_speech_recognized", "no words were recognized in the audio")).await;
            }
            Err(e) => {
                self.send(&live::error_of(&e)).await;
            }
        }
    }

    async fn camera_frame(&mut self, data: String) {
        // At most `camera_fps` frames are analysed; others (and frames arriving while one
        // is being analysed) are dropped and counted.
        if self.camera_busy {
            self.camera_dropped += 1;
            return;
        }
        if !self.camera.allow() {
            return;
        }
        let bytes = match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
            Ok(b) => b,
            Err(_) => {
                self.send(&live::error("invalid_frame", "camera_frame data is not base64")).await;
                return;
            }
        };
        self.camera_busy = true;
        let dropped = self.camera.dropped() + self.camera_dropped;
        let intake = self.ctx.intake.clone();
        let out = self.out_tx.clone();
        tokio::spawn(async move {
            let event = match intake.camera_frame(bytes).await {
                Ok(a) => json!({
                    "type": "camera_analysis",
                    "description": a.description,
                    "text": a.text,
                    "width": a.width,
                    "height": a.height,
                    "dropped_frames": dropped,
                }),
                Err(e) => json!({"type": "error", "source": "camera", "code": e.code(), "message": e.to_string()}),
            };
            let _ = out.send(event).await;
        });
    }
}

fn policy_close(why: &str) -> CloseReason {
    CloseReason { code: CloseCode::Policy, description: Some(why.into()) }
}
