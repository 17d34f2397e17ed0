//! The live channels: the WebSocket (`GET /chat/ws`) and Server-Sent Events
//! (`POST /chat/stream`, resumed with `GET /chat/stream/{id}` on any api process).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestApp, Tokens};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

use crate::auth::error_code;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Generous upper bound for anything that should happen "soon" on a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

/// A question the finance agent sends to the model (no skill answers it offline).
const LLM_QUESTION: &str = "How did revenue do last month?";
/// A question the offline assistant answers honestly ("No language model is configured").
const OFFLINE_QUESTION: &str = "What is the refund policy for annual plans?";

// ---------------------------------------------------------------- helpers

async fn with_fake_claude(adjust: impl FnOnce(&mut settings::Settings)) -> (TestApp, llm::fake::FakeLlm) {
    let fake = llm::fake::FakeLlm::anthropic().await;
    let provider = fake.settings("claude-sonnet-4-6");
    let app = TestApp::spawn_with(move |s| {
        s.llm.anthropic = provider;
        s.agents.llm_classifier = false;
        adjust(s);
    })
    .await;
    (app, fake)
}

fn ws_url(app: &TestApp) -> String {
    format!("ws://127.0.0.1:{}/chat/ws", app.port)
}

/// Opens the socket with `?token=`, and/or an `Authorization: Bearer`, and/or an `Origin`.
/// `Err((status, body))` when the server refuses the upgrade.
async fn try_connect(
    app: &TestApp,
    query_token: Option<&str>,
    bearer: Option<&str>,
    origin: Option<&str>,
) -> Result<Ws, (u16, Value)> {
    let url = match query_token {
        Some(t) => format!("{}?token={t}", ws_url(app)),
        None => ws_url(app),
    };
    let mut req = url.into_client_request().unwrap();
    if let Some(b) = bearer {
        req.headers_mut().insert("authorization", format!("Bearer {b}").parse().unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, res)) => {
            assert_eq!(res.status(), 101);
            Ok(ws)
        }
        Err(tungstenite::Error::Http(res)) => {
            let body = res.body().as_deref().map(|b| serde_json::from_slice(b).unwrap_or(Value::Null));
            Err((res.status().as_u16(), body.unwrap_or(Value::Null)))
        }
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

/// Connects and waits until the connection's loop runs (and so is registered with the hub):
/// a `ping` is answered with `pong`.
async fn connect(app: &TestApp, token: &str) -> Ws {
    let mut ws = try_connect(app, Some(token), None, None).await.unwrap_or_else(|e| panic!("refused: {e:?}"));
    send(&mut ws, json!({"type": "ping"})).await;
    let seen = until(&mut ws, |e| e["type"] == "pong", WAIT).await;
    assert_eq!(seen.len(), 1, "a fresh socket sent events before the pong: {seen:?}");
    ws
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

enum Got {
    Event(Value),
    Closed(Option<CloseFrame>),
    TimedOut,
}

/// The next event (text frame as JSON), the close, or nothing within `wait`.
async fn next(ws: &mut Ws, wait: Duration) -> Got {
    let end = Instant::now() + wait;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match timeout(left, ws.next()).await {
            Err(_) => return Got::TimedOut,
            Ok(None) | Ok(Some(Err(_))) => return Got::Closed(None),
            Ok(Some(Ok(Message::Text(t)))) => {
                return Got::Event(serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("not JSON ({e}): {t}")));
            }
            Ok(Some(Ok(Message::Close(f)))) => return Got::Closed(f),
            Ok(Some(Ok(Message::Binary(b)))) => panic!("unexpected binary frame of {} bytes", b.len()),
            Ok(Some(Ok(_))) => {} // ping / pong frames
        }
    }
}

/// Events up to and including the first matching `done`; panics on close or timeout.
async fn until(ws: &mut Ws, done: impl Fn(&Value) -> bool, wait: Duration) -> Vec<Value> {
    let end = Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        match next(ws, end.saturating_duration_since(Instant::now())).await {
            Got::Event(e) => {
                let stop = done(&e);
                seen.push(e);
                if stop {
                    return seen;
                }
            }
            Got::Closed(f) => panic!("socket closed ({f:?}) after {seen:#?}"),
            Got::TimedOut => panic!("timed out; events so far: {seen:#?}"),
        }
    }
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// Waits until `hubs` api processes are subscribed to this app's user channels (events
/// published before that are lost). Probes a random user, so no socket sees the probes.
async fn hubs_ready(app: &TestApp, hubs: usize) {
    let publisher = realtime::Publisher::new(&app.redis);
    let probe = realtime::Event::new("probe");
    let ok = TestApp::eventually(WAIT, || {
        let publisher = publisher.clone();
        let probe = probe.clone();
        async move { publisher.publish_to_user(Uuid::new_v4(), &probe).await.unwrap_or(0) >= hubs }
    })
    .await;
    assert!(ok, "the api processes' hubs never subscribed");
}

async fn history(app: &TestApp, token: &str, session: &str) -> (StatusCode, Value) {
    let res = app.get(&format!("/chat/history/{session}"), token).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Checks a streamed turn's events: `turn`, then statuses, then text deltas, then `complete`;
/// returns the concatenated deltas.
fn check_turn_order(events: &[Value]) -> String {
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"turn"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"complete"), "{kinds:?}");
    let middle = &kinds[1..kinds.len() - 1];
    let first_delta = middle.iter().position(|k| *k == "text_delta").unwrap_or_else(|| panic!("no delta: {kinds:?}"));
    assert!(middle[..first_delta].iter().all(|k| *k == "status"), "{kinds:?}");
    assert!(middle[first_delta..].iter().all(|k| *k == "text_delta"), "{kinds:?}");
    events.iter().filter(|e| e["type"] == "text_delta").map(|e| e["delta"].as_str().unwrap()).collect()
}

// ---------------------------------------------------------------- SSE helpers

#[derive(Debug, Clone, PartialEq)]
struct SseEvent {
    id: Option<String>,
    event: String,
    data: Value,
}

struct Sse {
    res: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    fn new(res: reqwest::Response) -> Self {
        assert_eq!(res.status(), StatusCode::OK);
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self { res, buf: Vec::new() }
    }

    /// The next event (keep-alive comments skipped); `None` at the end of the stream.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8(self.buf.drain(..pos + 2).collect()).unwrap();
                let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() {
                    continue; // a comment
                }
                return Some(SseEvent { id, event, data: serde_json::from_str(&data).unwrap() });
            }
            match timeout(WAIT, self.res.chunk()).await.expect("SSE stream stalled").unwrap() {
                Some(b) => self.buf.extend_from_slice(&b),
                None => return None,
            }
        }
    }

    async fn rest(mut self) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Some(e) = self.next().await {
            all.push(e);
        }
        all
    }
}

fn event_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

// ---------------------------------------------------------------- 1. auth before the upgrade

#[tokio::test]
async fn realtime_socket_is_authenticated_and_origin_checked_before_the_upgrade() {
    let app = TestApp::spawn_with(|s| s.server.cors_origins = vec!["https://app.example".into()]).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;

    let (status, body) =
        try_connect(&app, None, None, None).await.err().unwrap_or_else(|| panic!("no token must be refused"));
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("missing_token")), "{body}");
    let (status, body) =
        try_connect(&app, Some("not-a-jwt"), None, None).await.err().unwrap_or_else(|| panic!("bad token"));
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    let (status, _) =
        try_connect(&app, None, Some("not-a-jwt"), None).await.err().unwrap_or_else(|| panic!("bad bearer"));
    assert_eq!(status, 401);
    // A refresh token is not an access token.
    let (status, _) =
        try_connect(&app, Some(&t.refresh), None, None).await.err().unwrap_or_else(|| panic!("refresh token"));
    assert_eq!(status, 401);

    // An origin outside server.cors_origins: 403 even with a valid token.
    let (status, body) = try_connect(&app, Some(&t.access), None, Some("https://evil.example"))
        .await
        .err()
        .unwrap_or_else(|| panic!("evil origin"));
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");

    // Both ways of sending the token work, with a listed origin or none (native apps).
    for (query, bearer, origin) in [
        (Some(t.access.as_str()), None, None),
        (None, Some(t.access.as_str()), None),
        (Some(t.access.as_str()), None, Some("https://app.example")),
    ] {
        let mut ws = try_connect(&app, query, bearer, origin).await.unwrap_or_else(|e| panic!("refused: {e:?}"));
        send(&mut ws, json!({"type": "ping"})).await;
        let seen = until(&mut ws, |e| e["type"] == "pong", WAIT).await;
        assert_eq!(seen, vec![json!({"type": "pong"})]);
    }

    // After logout the token no longer opens a socket.
    let gone = app.tokens(&user).await;
    let res = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&gone.access)
        .json(&json!({"refresh_token": gone.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, body) =
        try_connect(&app, Some(&gone.access), None, None).await.err().unwrap_or_else(|| panic!("revoked token"));
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_revoked")), "{body}");
    let (status, _) =
        try_connect(&app, None, Some(&gone.access), None).await.err().unwrap_or_else(|| panic!("revoked bearer"));
    assert_eq!(status, 401);
    // The other session of the same user is not affected.
    assert!(try_connect(&app, Some(&t.access), None, None).await.is_ok());
}

// ---------------------------------------------------------------- 2. a streamed text turn

#[tokio::test]
async fn realtime_text_turn_streams_deltas_then_completes_and_is_stored() {
    let (app, fake) = with_fake_claude(|_| {}).await;
    let answer = "Revenue rose 12% last month, led by the loyalty product and strong e-gift card sales.";
    fake.push(llm::fake::Reply::text(answer));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;

    send(&mut ws, json!({"type": "text", "message": LLM_QUESTION})).await;
    let events = until(&mut ws, |e| e["type"] == "complete" || e["type"] == "error", WAIT).await;
    let joined = check_turn_order(&events);
    assert!(of_type(&events, "text_delta").len() >= 2, "the answer was not streamed in pieces: {events:#?}");
    let complete = events.last().unwrap();
    let response = &complete["response"];
    assert_eq!(response["response"], answer, "{complete}");
    assert_eq!(joined, answer);
    assert_eq!(response["status"], "completed");
    assert_eq!(response["provider"], "anthropic");
    let sid = response["session_id"].as_str().unwrap();
    assert_eq!(events[0]["session_id"], sid, "the turn event names the session");
    assert!(events[0]["turn_id"].as_str().unwrap().parse::<Uuid>().is_ok());
    // The model was asked to stream.
    let received = fake.received().await;
    assert_eq!(received.len(), 1);
    assert!(received[0].is_stream(), "the LLM request did not ask for a stream");

    let (status, h) = history(&app, &t.access, sid).await;
    assert_eq!(status, StatusCode::OK);
    let messages = h["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{h}");
    assert_eq!((messages[0]["role"].as_str(), messages[0]["content"].as_str()), (Some("user"), Some(LLM_QUESTION)));
    assert_eq!((messages[1]["role"].as_str(), messages[1]["content"].as_str()), (Some("assistant"), Some(answer)));

    // A second turn on the same socket continues the session.
    send(&mut ws, json!({"type": "text", "message": "And the month before?", "session_id": sid})).await;
    let events = until(&mut ws, |e| e["type"] == "complete" || e["type"] == "error", WAIT).await;
    assert_eq!(events.last().unwrap()["response"]["session_id"], sid, "{events:#?}");
    assert_eq!(history(&app, &t.access, sid).await.1["messages"].as_array().unwrap().len(), 4);
}

// ---------------------------------------------------------------- 3. offline

#[tokio::test]
async fn realtime_text_turn_without_a_model_completes_offline() {
    let app = TestApp::spawn().await;
    let user = app.create_user("support_agent").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    send(&mut ws, json!({"type": "text", "message": OFFLINE_QUESTION})).await;
    let events = until(&mut ws, |e| e["type"] == "complete" || e["type"] == "error", WAIT).await;
    assert_eq!(events[0]["type"], "turn", "{events:#?}");
    let complete = events.last().unwrap();
    assert_eq!(complete["type"], "complete", "{events:#?}");
    let r = &complete["response"];
    for key in ["session_id", "status", "response", "artifacts", "agent_used", "tools_used", "provider"] {
        assert!(r.get(key).is_some(), "missing {key} in {r}");
    }
    assert_eq!(r["status"], "completed");
    assert_eq!(r["provider"], "offline");
    assert!(r["response"].as_str().unwrap().contains("No language model is configured"), "{r}");
    assert_eq!(r["session_id"], events[0]["session_id"]);
    let (status, h) = history(&app, &t.access, r["session_id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["messages"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------- 4. invalid messages

#[tokio::test]
async fn realtime_invalid_messages_get_an_error_and_the_socket_stays_open() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    for bad in [
        "not json".to_string(),
        json!({"type": "dance"}).to_string(),
        json!({"message": "no type"}).to_string(),
        json!({"type": "text"}).to_string(),
        json!({"type": "subscribe", "task_id": "not-a-uuid"}).to_string(),
    ] {
        ws.send(Message::text(bad.clone())).await.unwrap();
        let events = until(&mut ws, |_| true, WAIT).await;
        assert_eq!(events[0]["type"], "error", "{bad}: {events:?}");
        assert_eq!(events[0]["code"], "invalid_message", "{bad}: {events:?}");
        assert!(events[0]["message"].is_string());
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let events = until(&mut ws, |_| true, WAIT).await;
    assert_eq!(events[0]["code"], "unsupported_message");
    // Speech audio without speech_start, and another user's (or no) task.
    send(&mut ws, json!({"type": "speech_audio", "data": "AAAA"})).await;
    assert_eq!(until(&mut ws, |_| true, WAIT).await[0]["code"], "no_speech");
    send(&mut ws, json!({"type": "subscribe", "task_id": Uuid::now_v7()})).await;
    assert_eq!(until(&mut ws, |_| true, WAIT).await[0]["code"], "not_found");
    // Still open.
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(until(&mut ws, |_| true, WAIT).await, vec![json!({"type": "pong"})]);
}

// ---------------------------------------------------------------- 5. cross-process push

#[tokio::test]
async fn realtime_events_reach_every_device_of_the_user_on_every_process_and_nobody_else() {
    let app = TestApp::spawn().await;
    let other_process = app.sibling().await;
    let user = app.create_user("sales_rep").await;
    let stranger = app.create_user("sales_rep").await;
    let phone = app.tokens(&user).await;
    let tablet = app.tokens(&user).await;
    let st = app.tokens(&stranger).await;
    let mut on_a = connect(&app, &phone.access).await;
    let mut on_b = connect(&other_process, &tablet.access).await;
    let mut stranger_ws = connect(&app, &st.access).await;
    hubs_ready(&app, 2).await;

    let task = Uuid::now_v7();
    let event = realtime::Event::task_progress(task, 42, Some("Half way"));
    let publisher = realtime::Publisher::new(&app.redis);
    let hubs = publisher.publish_to_user(user.id, &event).await.unwrap();
    assert_eq!(hubs, 2, "both api processes receive the user's events");
    for ws in [&mut on_a, &mut on_b] {
        let got = until(ws, |_| true, WAIT).await;
        assert_eq!(got, vec![event.as_value().clone()]);
        assert_eq!(got[0]["progress"], 42);
        assert_eq!(got[0]["task_id"], task.to_string());
    }
    // The stranger's socket got nothing: its next event is the answer to its ping.
    send(&mut stranger_ws, json!({"type": "ping"})).await;
    assert_eq!(until(&mut stranger_ws, |_| true, WAIT).await, vec![json!({"type": "pong"})]);

    // `subscribe` answers with the job's state from the database, for its owner only.
    let (job, _) = store::jobs::insert(
        &app.db,
        store::jobs::NewJob {
            id: Uuid::now_v7(),
            queue: "agent".into(),
            kind: "agent.turn".into(),
            priority: 50,
            lane: "normal".into(),
            payload: json!({}),
            run_at: None,
            idempotency_key: None,
            user_id: Some(user.id),
            max_attempts: 1,
        },
    )
    .await
    .unwrap();
    send(&mut on_b, json!({"type": "subscribe", "task_id": job.id})).await;
    let got = until(&mut on_b, |_| true, WAIT).await;
    assert_eq!(got[0]["type"], "task_progress", "{got:?}");
    assert_eq!(
        (got[0]["task_id"].as_str(), got[0]["status"].as_str()),
        (Some(job.id.to_string().as_str()), Some("queued"))
    );
    send(&mut stranger_ws, json!({"type": "subscribe", "task_id": job.id})).await;
    let got = until(&mut stranger_ws, |_| true, WAIT).await;
    assert_eq!((got[0]["type"].as_str(), got[0]["code"].as_str()), (Some("error"), Some("not_found")), "{got:?}");
}

// ---------------------------------------------------------------- 6. revocation closes the socket

#[tokio::test]
async fn realtime_logout_closes_the_socket_within_seconds() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let other_device = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    let mut other_ws = connect(&app, &other_device.access).await;
    hubs_ready(&app, 1).await;

    let started = Instant::now();
    let res = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&t.access)
        .json(&json!({"refresh_token": t.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let mut events = Vec::new();
    let frame = loop {
        match next(&mut ws, Duration::from_secs(10)).await {
            Got::Event(e) => events.push(e),
            Got::Closed(f) => break f,
            Got::TimedOut => panic!("the socket stayed open 10 s after logout; events: {events:?}"),
        }
    };
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "closed after {elapsed:?}, not within seconds");
    assert_revoked_close("after logout", &events, frame.as_ref());

    // The user's other session keeps its socket.
    send(&mut other_ws, json!({"type": "ping"})).await;
    assert_eq!(until(&mut other_ws, |_| true, WAIT).await, vec![json!({"type": "pong"})]);
}

/// A signed-out socket gets exactly one `token_revoked` error, then a 1008 (policy) close.
fn assert_revoked_close(label: &str, events: &[Value], frame: Option<&CloseFrame>) {
    let kinds: Vec<(&str, &str)> =
        events.iter().map(|e| (e["type"].as_str().unwrap_or(""), e["code"].as_str().unwrap_or(""))).collect();
    assert_eq!(kinds, vec![("error", "token_revoked")], "{label}: events before the close: {events:?}, then {frame:?}");
    assert_eq!(frame.map(|f| f.code), Some(CloseCode::Policy), "{label}: {frame:?}");
}

/// Every signed-out socket is told why and closed with 1008, never with 1012 "server
/// restarting" (which tells the client to reconnect).
#[tokio::test]
async fn realtime_every_signed_out_socket_gets_token_revoked_and_a_policy_close() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    hubs_ready(&app, 1).await;
    for round in 0..30 {
        let t = app.tokens(&user).await;
        let mut ws = connect(&app, &t.access).await;
        let res =
            app.client.post(app.url("/auth/logout")).bearer_auth(&t.access).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut events = Vec::new();
        let frame = loop {
            match next(&mut ws, Duration::from_secs(10)).await {
                Got::Event(e) => events.push(e),
                Got::Closed(f) => break f,
                Got::TimedOut => panic!("round {round}: still open 10 s after logout"),
            }
        };
        assert_revoked_close("after logout", &events, frame.as_ref());
    }
}

// ---------------------------------------------------------------- 7. camera frames

fn red_png() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("mzt-cam-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("red.png");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=64x64",
            "-frames:v",
            "1",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

#[tokio::test]
async fn realtime_camera_frames_are_analysed_at_most_once_per_second() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    let frame = base64::engine::general_purpose::STANDARD.encode(red_png());

    let first_sent = Instant::now();
    for _ in 0..5 {
        send(&mut ws, json!({"type": "camera_frame", "data": frame})).await;
    }
    let events = until(&mut ws, |e| e["type"] == "camera_analysis" || e["type"] == "error", WAIT).await;
    let analysis = events.last().unwrap();
    assert_eq!(analysis["type"], "camera_analysis", "{events:?}");
    assert_eq!((analysis["width"].as_u64(), analysis["height"].as_u64()), (Some(64), Some(64)), "{analysis}");
    assert_eq!(analysis["dropped_frames"], 0, "{analysis}");
    assert_eq!(of_type(&events, "camera_analysis").len(), 1);

    // A frame inside the same second is dropped by the rate gate (the first one is done).
    let mut dropped = 4;
    if first_sent.elapsed() < Duration::from_millis(800) {
        send(&mut ws, json!({"type": "camera_frame", "data": frame})).await;
        dropped += 1;
    }
    // The gate opens one interval after the frame that passed.
    tokio::time::sleep_until(first_sent + Duration::from_millis(1100)).await;
    let passed = Instant::now();
    send(&mut ws, json!({"type": "camera_frame", "data": frame})).await;
    let events = until(&mut ws, |e| e["type"] == "camera_analysis" || e["type"] == "error", WAIT).await;
    let second = events.last().unwrap();
    assert_eq!(second["type"], "camera_analysis", "{events:?}");
    assert_eq!(second["dropped_frames"], dropped, "{second}");
    assert_eq!(of_type(&events, "camera_analysis").len(), 1);

    // Frames that are not base64, or not an image, get an error; the camera keeps working.
    tokio::time::sleep_until(passed + Duration::from_millis(1100)).await;
    let passed = Instant::now();
    send(&mut ws, json!({"type": "camera_frame", "data": "!!not base64!!"})).await;
    let events = until(&mut ws, |e| e["type"] == "error", WAIT).await;
    assert_eq!(events.last().unwrap()["code"], "invalid_frame", "{events:?}");
    tokio::time::sleep_until(passed + Duration::from_millis(1100)).await;
    let passed = Instant::now();
    let junk = base64::engine::general_purpose::STANDARD.encode(b"this is not an image at all");
    send(&mut ws, json!({"type": "camera_frame", "data": junk})).await;
    let events = until(&mut ws, |e| e["type"] == "error" || e["type"] == "camera_analysis", WAIT).await;
    let err = events.last().unwrap();
    assert_eq!((err["type"].as_str(), err["source"].as_str()), (Some("error"), Some("camera")), "{events:?}");
    tokio::time::sleep_until(passed + Duration::from_millis(1100)).await;
    send(&mut ws, json!({"type": "camera_frame", "data": frame})).await;
    let events = until(&mut ws, |e| e["type"] == "error" || e["type"] == "camera_analysis", WAIT).await;
    assert_eq!(events.last().unwrap()["type"], "camera_analysis", "{events:?}");
}

// ---------------------------------------------------------------- 8. live speech

fn tone(samples: usize, offset: usize) -> Vec<u8> {
    (0..samples)
        .flat_map(|i| {
            let t = (i + offset) as f64 / 16_000.0;
            (((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16).to_le_bytes()
        })
        .collect()
}

async fn speech_app() -> (TestApp, media::fake::FakeWhisper) {
    let fake = media::fake::FakeWhisper::start().await;
    fake.set_transcript(OFFLINE_QUESTION, "en");
    let url = fake.base_url();
    let app = TestApp::spawn_with(move |s| s.input.transcription_base_url = url).await;
    (app, fake)
}

#[tokio::test]
async fn realtime_live_speech_gives_partials_then_a_final_transcript_and_an_answer() {
    let (app, fake) = speech_app().await;
    let user = app.create_user("support_agent").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;

    send(&mut ws, json!({"type": "speech_start", "format": "pcm16", "sample_rate": 16000, "language": "en"})).await;
    let events = until(&mut ws, |_| true, WAIT).await;
    assert_eq!(events[0]["type"], "status", "{events:?}");
    let mut audio = Vec::new();
    for i in 0..5 {
        let chunk = tone(1600, i * 1600); // 0.1 s each
        audio.extend_from_slice(&chunk);
        send(
            &mut ws,
            json!({"type": "speech_audio", "data": base64::engine::general_purpose::STANDARD.encode(&chunk)}),
        )
        .await;
    }
    let events = until(&mut ws, |e| e["type"] == "transcript" || e["type"] == "error", WAIT).await;
    let partial = events.last().unwrap();
    assert_eq!(partial["type"], "transcript", "{events:?}");
    assert_eq!(partial["is_final"], false, "{partial}");
    assert_eq!(partial["text"], OFFLINE_QUESTION);

    send(&mut ws, json!({"type": "speech_end"})).await;
    let events = until(&mut ws, |e| e["type"] == "complete" || e["type"] == "error", WAIT).await;
    let transcripts = of_type(&events, "transcript");
    assert_eq!(transcripts.len(), 1, "{events:#?}");
    let fin = transcripts[0];
    assert_eq!(fin["is_final"], true, "{fin}");
    assert_eq!(fin["text"], OFFLINE_QUESTION);
    assert_eq!(fin["language"], "en");
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let at = |k: &str| kinds.iter().position(|x| *x == k).unwrap_or_else(|| panic!("no {k}: {kinds:?}"));
    assert!(at("transcript") < at("turn") && at("turn") < at("complete"), "{kinds:?}");
    let r = &events.last().unwrap()["response"];
    assert_eq!(events.last().unwrap()["type"], "complete", "{events:#?}");
    assert!(r["response"].as_str().unwrap().contains("No language model is configured"), "{r}");

    // The spoken question is stored as the user's message, marked as speech.
    let (_, h) = history(&app, &t.access, r["session_id"].as_str().unwrap()).await;
    assert_eq!(h["messages"][0]["content"], OFFLINE_QUESTION, "{h}");
    assert_eq!(h["messages"][0]["metadata"]["input_type"], "speech", "{h}");

    // The recognizer got multipart uploads of WAV files; the last is the whole utterance.
    let requests = fake.requests();
    assert!(requests.len() >= 2, "a partial and a final transcription: {requests:?}");
    for r in &requests {
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.model.as_deref(), Some("base"));
        assert!(r.file_name.as_deref().unwrap_or_default().ends_with(".wav"), "{r:?}");
        assert!(r.file_bytes > 44, "{r:?}");
    }
    assert_eq!(requests.last().unwrap().file_bytes, 44 + audio.len(), "the final transcription covers all audio");
}

/// A partial transcription still running when `speech_end` arrives must not show up after
/// the final transcript.
#[tokio::test]
async fn realtime_no_partial_transcript_arrives_after_the_final_one() {
    let (app, fake) = speech_app().await;
    fake.set_delay(Some(Duration::from_millis(700)));
    let user = app.create_user("support_agent").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    send(&mut ws, json!({"type": "speech_start"})).await;
    until(&mut ws, |e| e["type"] == "status", WAIT).await;
    let chunk = tone(8000, 0);
    send(&mut ws, json!({"type": "speech_audio", "data": base64::engine::general_purpose::STANDARD.encode(&chunk)}))
        .await;
    // A partial transcription is in flight ...
    assert!(TestApp::eventually(WAIT, || async { !fake.requests().is_empty() }).await);
    // ... when the speech ends.
    send(&mut ws, json!({"type": "speech_end"})).await;
    let events = until(&mut ws, |e| e["type"] == "complete" || e["type"] == "error", WAIT).await;
    let transcripts: Vec<&Value> = of_type(&events, "transcript");
    let final_at = transcripts.iter().position(|e| e["is_final"] == true).expect("a final transcript");
    assert_eq!(final_at, transcripts.len() - 1, "a partial came after the final transcript: {events:#?}");
}

// ---------------------------------------------------------------- 9. SSE and resume

#[tokio::test]
async fn realtime_sse_stream_resumes_on_another_process_without_gaps_or_duplicates() {
    let (app, fake) = with_fake_claude(|_| {}).await;
    let answer = "Revenue rose 12% last month; the loyalty product led the growth.";
    fake.push(llm::fake::Reply::slow(Duration::from_millis(1500), llm::fake::Reply::text(answer)));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await;
    let other_process = app.sibling().await;

    let res = app
        .client
        .post(app.url("/chat/stream"))
        .bearer_auth(&t.access)
        .json(&json!({"message": LLM_QUESTION}))
        .send()
        .await
        .unwrap();
    let mut sse = Sse::new(res);
    let first = sse.next().await.expect("a first event");
    assert_eq!(first.event, "stream", "{first:?}");
    assert_eq!(first.data["type"], "stream");
    let stream_id: Uuid = first.data["stream_id"].as_str().unwrap().parse().unwrap();
    // Read up to the `turn` event (the model is still thinking), then lose the connection.
    let mut seen = vec![first];
    while seen.last().unwrap().event != "turn" {
        seen.push(sse.next().await.expect("the stream ended early"));
    }
    drop(sse);
    assert!(seen.iter().all(|e| e.id.is_some() && e.data["type"] == e.event.as_str()), "{seen:?}");
    let last_id = seen.last().unwrap().id.clone().unwrap();

    let resume = |app: &TestApp, token: &str, last: Option<&str>| {
        let mut req = app.client.get(app.url(&format!("/chat/stream/{stream_id}"))).bearer_auth(token);
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l);
        }
        req.send()
    };
    let rest = Sse::new(resume(&other_process, &t.access, Some(&last_id)).await.unwrap()).rest().await;
    assert_eq!(rest.last().map(|e| e.event.as_str()), Some("complete"), "{rest:#?}");
    let mut ids: Vec<(u64, u64)> = seen.iter().map(|e| event_id(e.id.as_deref().unwrap())).collect();
    ids.extend(rest.iter().map(|e| event_id(e.id.as_deref().unwrap())));
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids not strictly increasing: {ids:?}");
    assert!(rest.iter().all(|e| e.event != "stream" && e.event != "turn"), "duplicates: {rest:#?}");

    // The whole stream from the start (no Last-Event-ID) is exactly what was seen, then the rest.
    let full = Sse::new(resume(&other_process, &t.access, None).await.unwrap()).rest().await;
    let mut joined = seen.clone();
    joined.extend(rest.iter().cloned());
    assert_eq!(full, joined, "resume skipped or repeated events");
    let events: Vec<Value> = full[1..].iter().map(|e| e.data.clone()).collect();
    let deltas = check_turn_order(&events);
    assert_eq!(deltas, answer);
    let complete = &rest.last().unwrap().data;
    assert_eq!(complete["response"]["response"], answer);
    let sid = complete["response"]["session_id"].as_str().unwrap();
    assert_eq!(history(&app, &t.access, sid).await.1["messages"][1]["content"], answer);

    // Resuming after the last event gives an empty, finished stream.
    let last = rest.last().unwrap().id.clone().unwrap();
    assert_eq!(Sse::new(resume(&app, &t.access, Some(&last)).await.unwrap()).rest().await, vec![]);

    // Malformed Last-Event-ID: 400. Another user, or an unknown stream: 404.
    for bad in ["abc", "12", "-1-2", "1-x"] {
        let res = resume(&other_process, &t.access, Some(bad)).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(res).await, "invalid_last_event_id");
    }
    let stranger = app.create_user("finance_manager").await;
    let st = app.tokens(&stranger).await;
    let res = resume(&other_process, &st.access, None).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = resume(&app, &st.access, Some(&last_id)).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .get(app.url(&format!("/chat/stream/{}", Uuid::now_v7())))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.client.get(app.url(&format!("/chat/stream/{stream_id}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn realtime_chat_send_with_accept_event_stream_streams() {
    let (app, fake) = with_fake_claude(|_| {}).await;
    fake.set_default(llm::fake::Reply::text("Streamed over SSE."));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await;
    let res = app
        .client
        .post(app.url("/chat/send"))
        .bearer_auth(&t.access)
        .header("Accept", "application/json;q=0.5, text/event-stream")
        .json(&json!({"message": LLM_QUESTION}))
        .send()
        .await
        .unwrap();
    let all = Sse::new(res).rest().await;
    assert_eq!(all[0].event, "stream", "{all:#?}");
    assert!(all[0].data["stream_id"].as_str().unwrap().parse::<Uuid>().is_ok());
    let last = all.last().unwrap();
    assert_eq!(last.event, "complete", "{all:#?}");
    assert_eq!(last.data["response"]["response"], "Streamed over SSE.");
    // Without the header, the usual JSON.
    let res = app
        .client
        .post(app.url("/chat/send"))
        .bearer_auth(&t.access)
        .json(&json!({"message": LLM_QUESTION}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
}

// ---------------------------------------------------------------- 10. slow clients

/// Reads `ws` until an event of type `marker` arrives, while publishing that marker every
/// 100 ms (a small queue may drop any single event). Returns the `seq`s of the `bulk` events
/// read before it, or `None` when the marker never came.
async fn read_until_marker(app: &TestApp, user: Uuid, ws: &mut Ws, marker: &str) -> Option<Vec<u64>> {
    let publisher = realtime::Publisher::new(&app.redis);
    let done = Arc::new(AtomicBool::new(false));
    let publish = {
        let done = done.clone();
        let event = realtime::Event::new(marker);
        async move {
            let end = Instant::now() + WAIT;
            while !done.load(Ordering::Acquire) && Instant::now() < end {
                publisher.publish_to_user(user, &event).await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let read = async {
        let mut seqs = Vec::new();
        let got = loop {
            match next(ws, WAIT).await {
                Got::Event(e) if e["type"] == "bulk" => seqs.push(e["seq"].as_u64().unwrap()),
                Got::Event(e) if e["type"] == marker => break true,
                Got::Event(e) if e["type"] == "last" => {} // an earlier marker
                Got::Event(e) => panic!("unexpected {e}"),
                Got::Closed(f) => panic!("socket closed: {f:?}"),
                Got::TimedOut => break false,
            }
        };
        done.store(true, Ordering::Release);
        got.then_some(seqs)
    };
    tokio::join!(publish, read).1
}

#[tokio::test]
async fn realtime_a_client_that_never_reads_does_not_stall_the_others() {
    let app = TestApp::spawn_with(|s| s.realtime.connection_queue = 4).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let mut stalled = connect(&app, &t.access).await; // not read until the end
    let mut fast = connect(&app, &t.access).await;
    hubs_ready(&app, 1).await;

    // 500 events of 32 KiB (16 MiB): far more than the stalled socket's buffers hold.
    let padding = "x".repeat(32 * 1024);
    let publisher = realtime::Publisher::new(&app.redis);
    let publish = async {
        for seq in 0..500u32 {
            let e = realtime::Event::new("bulk").with("seq", seq).with("pad", padding.as_str());
            publisher.publish_to_user(user.id, &e).await.unwrap();
        }
    };
    // The fast client reads while they are published, then waits for a "last" marker.
    let read = async {
        let mut seqs = Vec::new();
        loop {
            match next(&mut fast, Duration::from_secs(3)).await {
                Got::Event(e) if e["type"] == "bulk" => {
                    let seq = e["seq"].as_u64().unwrap();
                    seqs.push(seq);
                    if seq == 499 {
                        return seqs;
                    }
                }
                Got::Event(e) => panic!("unexpected {e}"),
                Got::Closed(f) => panic!("fast socket closed: {f:?}"),
                Got::TimedOut => return seqs, // the last one was dropped (or it stalled): see below
            }
        }
    };
    let ((), mut seqs) = tokio::join!(publish, read);
    if seqs.last() != Some(&499) {
        let more = read_until_marker(&app, user.id, &mut fast, "last").await;
        let more = more.unwrap_or_else(|| panic!("the fast client stalled after {} events", seqs.len()));
        seqs.extend(more);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "out of order or repeated: {seqs:?}");
    assert!(seqs.len() >= 100, "the fast client lost most events: {}", seqs.len());

    // The stalled client lost events (its own, from its small queue): nothing piled up for it.
    let slow = read_until_marker(&app, user.id, &mut stalled, "end").await.expect("the stalled socket recovers");
    assert!(slow.windows(2).all(|w| w[0] < w[1]), "out of order or repeated: {slow:?}");
    assert!(slow.len() < 500, "every event was kept for a client that did not read");
}

// ---------------------------------------------------------------- 11. message size

#[tokio::test]
async fn realtime_a_message_over_the_size_limit_closes_the_socket() {
    let app = TestApp::spawn_with(|s| s.realtime.max_message_bytes = 4096).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    // Under the limit: fine.
    let padded = json!({"type": "ping", "pad": "y".repeat(3000)});
    send(&mut ws, padded).await;
    assert_eq!(until(&mut ws, |_| true, WAIT).await, vec![json!({"type": "pong"})]);

    send(&mut ws, json!({"type": "text", "message": "z".repeat(8000)})).await;
    let mut events = Vec::new();
    let frame = loop {
        match next(&mut ws, WAIT).await {
            Got::Event(e) => events.push(e),
            Got::Closed(f) => break f,
            Got::TimedOut => panic!("still open after an oversized message; events: {events:?}"),
        }
    };
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["code"], "message_too_large", "{events:?}");
    assert_eq!(frame.expect("a close frame").code, CloseCode::Size);
}

// ---------------------------------------------------------------- 12. cancel

#[tokio::test]
async fn realtime_cancel_stops_the_turn_and_stores_nothing() {
    let (app, fake) = with_fake_claude(|_| {}).await;
    let slow = Duration::from_secs(3);
    fake.push(llm::fake::Reply::slow(slow, llm::fake::Reply::text("This answer must never arrive.")));
    fake.set_default(llm::fake::Reply::text("The second answer."));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;

    send(&mut ws, json!({"type": "text", "message": LLM_QUESTION})).await;
    let events = until(&mut ws, |e| e["type"] == "turn", WAIT).await;
    let sid = events.last().unwrap()["session_id"].as_str().unwrap().to_string();
    // The model has the request (and is slow to answer).
    assert!(TestApp::eventually(WAIT, || async { !fake.received().await.is_empty() }).await);
    let asked = Instant::now();
    // A second text while the first runs is refused.
    send(&mut ws, json!({"type": "text", "message": "another"})).await;
    let events = until(&mut ws, |e| e["type"] == "error", WAIT).await;
    assert_eq!(events.last().unwrap()["code"], "turn_in_progress", "{events:?}");

    send(&mut ws, json!({"type": "cancel"})).await;
    let events = until(&mut ws, |e| e["type"] == "status" && e["message"] == "Cancelled.", WAIT).await;
    assert!(of_type(&events, "complete").is_empty(), "{events:?}");
    // Past the moment the model would have answered: no delta, no complete.
    let quiet_until = asked + slow + Duration::from_millis(1500);
    loop {
        match next(&mut ws, quiet_until.saturating_duration_since(Instant::now())).await {
            Got::TimedOut => break,
            Got::Event(e) => assert!(e["type"] == "status", "after cancel: {e}"),
            Got::Closed(f) => panic!("closed: {f:?}"),
        }
    }
    let (status, h) = history(&app, &t.access, &sid).await;
    if status == StatusCode::OK {
        let msgs = h["messages"].as_array().unwrap();
        assert!(msgs.iter().all(|m| m["role"] != "assistant"), "a cancelled turn stored an answer: {h}");
    } else {
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Cancel with nothing running says nothing; the socket takes a new turn.
    send(&mut ws, json!({"type": "cancel"})).await;
    send(&mut ws, json!({"type": "text", "message": LLM_QUESTION})).await;
    let events = until(&mut ws, |e| e["type"] == "complete" || e["type"] == "error", WAIT).await;
    assert_eq!(events[0]["type"], "turn", "a cancel with nothing running sent something: {events:?}");
    assert_eq!(events.last().unwrap()["response"]["response"], "The second answer.", "{events:?}");
}

// ---------------------------------------------------------------- turn events vs a small queue

/// Deltas may be dropped for a client that reads slowly, but the turn's final `complete`
/// must always arrive.
#[tokio::test]
async fn realtime_complete_is_delivered_even_when_deltas_overflow_a_small_queue() {
    let (app, fake) = with_fake_claude(|s| s.realtime.connection_queue = 4).await;
    // About 60 000 deltas: megabytes of frames, more than the socket buffers hold.
    let answer = "Revenue grew in every region. ".repeat(10_000);
    let answer = answer.trim().to_string();
    fake.set_default(llm::fake::Reply::text(answer.clone()));
    let user = app.create_user("finance_manager").await;
    let t: Tokens = app.tokens(&user).await;
    let mut ws = connect(&app, &t.access).await;
    send(&mut ws, json!({"type": "text", "message": LLM_QUESTION})).await;
    let sid = until(&mut ws, |e| e["type"] == "turn", WAIT).await.last().unwrap()["session_id"].clone();
    // The client does not read until the answer is stored (the turn is over) ...
    let stored = TestApp::eventually(Duration::from_secs(60), || async {
        let sessions: Value = app.get("/chat/sessions", &t.access).await.json().await.unwrap();
        sessions["sessions"].as_array().unwrap().iter().any(|s| s["id"] == sid && s["message_count"] == 2)
    })
    .await;
    assert!(stored, "the answer was never stored");
    // ... and then still gets the `complete`.
    let mut deltas = 0usize;
    loop {
        match next(&mut ws, WAIT).await {
            Got::Event(e) if e["type"] == "text_delta" => deltas += 1,
            Got::Event(e) if e["type"] == "complete" => {
                assert_eq!(e["response"]["response"].as_str().map(str::len), Some(answer.len()));
                break;
            }
            Got::Event(e) => panic!("unexpected {e}"),
            Got::Closed(f) => panic!("closed {f:?}"),
            Got::TimedOut => panic!("no complete after {deltas} deltas: it was dropped"),
        }
    }
}

/// What a client can fix is an HTTP error before any stream starts: an empty message is a 422
/// and the chat rate limit a 429 with `Retry-After` — for `/chat/stream` and for
/// `/chat/send` with `Accept: text/event-stream` — and nothing is stored.
#[tokio::test]
async fn realtime_sse_refusals_are_http_errors_before_the_stream() {
    // Three per window: like `/chat/send`, a refused message counts too.
    let app = TestApp::spawn_with(|s| s.rate_limits.chat = 3).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let post = |path: &'static str, body: Value, sse: bool| {
        let mut req = app.client.post(app.url(path)).bearer_auth(&t).json(&body);
        if sse {
            req = req.header("Accept", "text/event-stream");
        }
        req.send()
    };
    let res = post("/chat/stream", json!({"message": "   "}), false).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(res).await, "invalid_message");
    // Two more turns are allowed in the window; the next is refused before streaming.
    for _ in 0..2 {
        let res = post("/chat/stream", json!({"message": OFFLINE_QUESTION}), false).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        let body = res.text().await.unwrap();
        assert!(body.contains("event: complete"), "{body}");
    }
    let res = post("/chat/send", json!({"message": OFFLINE_QUESTION}), true).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let sessions: Value = app.get("/chat/sessions", &t).await.json().await.unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 2, "{sessions}");
}
