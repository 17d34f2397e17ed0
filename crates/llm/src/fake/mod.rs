//! Scriptable fake LLM servers on loopback (feature `fake`), speaking Anthropic's Messages API
//! or the OpenAI chat-completions format, streaming or not, for this and other crates' tests.
//!
//! Usage numbers are deterministic: input tokens = the request body's JSON length / 4 (without
//! the `stream` fields, so a streaming and a plain request agree), output tokens = the answer
//! text's length plus its tool inputs' JSON length, / 4. Tool-call ids depend on the number of
//! messages in the request, so equal requests get equal ids.
//!
//! ```ignore
//! let fake = FakeLlm::anthropic().await;
//! fake.push(Reply::tool_call("sales_report", json!({"month": "2026-03"})));
//! fake.push(Reply::text("Done."));
//! let settings = fake.settings("claude-sonnet-4-6");
//! // ... run the code under test, then:
//! let requests = fake.received().await;
//! assert_eq!(requests[0].header("x-api-key"), Some("test-key-anthropic"));
//! ```

mod wire;

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use settings::{ProviderSettings, Secret};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

/// The wire format a fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `POST /v1/messages`, `event:`/`data:` SSE.
    Anthropic,
    /// `POST /v1/chat/completions`, `data:` SSE ending in `[DONE]`.
    OpenAi,
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Text(String),
    ToolCall {
        name: String,
        input: Value,
    },
    /// Several tool calls in one answer.
    ToolCalls(Vec<(String, Value)>),
    /// Text followed by tool calls.
    TextAndTools {
        text: String,
        calls: Vec<(String, Value)>,
    },
    /// An error status with the format's error body (`body_type`: `overloaded_error`,
    /// `rate_limit_error`, `api_error`, `invalid_request_error`...).
    Error {
        status: u16,
        body_type: String,
        message: String,
        retry_after: Option<u64>,
    },
    /// The inner reply after a delay (before any byte is sent).
    Slow(Duration, Box<Reply>),
    /// A 200 whose body cannot be parsed.
    Malformed,
    /// Streams `text`, then an error event (non-streaming requests get a 500 with the body).
    FailMidStream {
        text: String,
        body_type: String,
        message: String,
    },
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text(text.into())
    }

    pub fn tool_call(name: impl Into<String>, input: Value) -> Self {
        Reply::ToolCall { name: name.into(), input }
    }

    pub fn error(status: u16, body_type: &str, message: &str) -> Self {
        Reply::Error { status, body_type: body_type.into(), message: message.into(), retry_after: None }
    }

    /// Anthropic's 529 `overloaded_error`.
    pub fn overloaded() -> Self {
        Reply::error(529, "overloaded_error", "Overloaded")
    }

    /// 429 `rate_limit_error` with `retry-after: secs`.
    pub fn rate_limited(secs: u64) -> Self {
        Reply::Error {
            status: 429,
            body_type: "rate_limit_error".into(),
            message: "Rate limited".into(),
            retry_after: Some(secs),
        }
    }

    pub fn slow(delay: Duration, reply: Reply) -> Self {
        Reply::Slow(delay, Box::new(reply))
    }
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub path: String,
    /// Lower-case names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// `Null` when the body was not JSON.
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn is_stream(&self) -> bool {
        self.body["stream"] == Value::Bool(true)
    }
}

struct Script {
    format: Format,
    name: String,
    queue: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
}

/// A fake provider on `127.0.0.1:<random port>`.
pub struct FakeLlm {
    server: MockServer,
    script: Arc<Script>,
}

impl std::fmt::Debug for FakeLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLlm").field("name", &self.script.name).field("uri", &self.server.uri()).finish()
    }
}

impl FakeLlm {
    /// An Anthropic Messages API named `anthropic`.
    pub async fn anthropic() -> Self {
        Self::start(Format::Anthropic, "anthropic").await
    }

    /// An OpenAI-compatible server named `openai`.
    pub async fn openai() -> Self {
        Self::start(Format::OpenAi, "openai").await
    }

    /// An OpenAI-compatible server named `kimi`.
    pub async fn kimi() -> Self {
        Self::start(Format::OpenAi, "kimi").await
    }

    /// `name` only changes the echo text and the key of [`FakeLlm::settings`].
    pub async fn start(format: Format, name: &str) -> Self {
        Self::start_with(format, name, true).await
    }

    /// An Anthropic fake that does not keep the requests it receives (for benchmarks:
    /// recording every body costs memory and time; [`FakeLlm::received`] stays empty).
    pub async fn anthropic_unrecorded() -> Self {
        Self::start_with(Format::Anthropic, "anthropic", false).await
    }

    async fn start_with(format: Format, name: &str, record: bool) -> Self {
        let builder = MockServer::builder();
        let server = if record { builder.start().await } else { builder.disable_request_recording().start().await };
        let script = Arc::new(Script {
            format,
            name: name.into(),
            queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply::Text(format!("fake {name} reply"))),
        });
        Mock::given(any()).respond_with(Responder(script.clone())).mount(&server).await;
        Self { server, script }
    }

    pub fn format(&self) -> Format {
        self.script.format
    }

    /// The `base_url` to configure: the server for Anthropic, `.../v1` for OpenAI.
    pub fn base_url(&self) -> String {
        match self.script.format {
            Format::Anthropic => self.server.uri(),
            Format::OpenAi => format!("{}/v1", self.server.uri()),
        }
    }

    /// Settings pointing at this fake: key `test-key-<name>`, timeout 5 s, no retries, vision.
    pub fn settings(&self, model: &str) -> ProviderSettings {
        ProviderSettings {
            enabled: true,
            api_key: Secret::new(format!("test-key-{}", self.script.name)),
            base_url: self.base_url(),
            model: model.into(),
            timeout_secs: 5,
            max_retries: 0,
            vision: true,
        }
    }

    /// Queues a reply; requests take replies in order.
    pub fn push(&self, reply: Reply) {
        lock(&self.script.queue).push_back(reply);
    }

    /// What requests get once the queue is empty (default: text `fake <name> reply`).
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.script.default) = reply;
    }

    /// Replies still queued.
    pub fn pending(&self) -> usize {
        lock(&self.script.queue).len()
    }

    /// Every request received so far, in order.
    pub async fn received(&self) -> Vec<Received> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let mut headers = BTreeMap::<String, String>::new();
                for (name, value) in &r.headers {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    headers
                        .entry(name.as_str().to_ascii_lowercase())
                        .and_modify(|v| {
                            v.push_str(", ");
                            v.push_str(&value);
                        })
                        .or_insert(value);
                }
                let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                Received { path: r.url.path().to_string(), headers, body }
            })
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Responder(Arc<Script>);

impl wiremock::Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let script = &self.0;
        let format = script.format;
        let expected = match format {
            Format::Anthropic => "/v1/messages",
            Format::OpenAi => "/v1/chat/completions",
        };
        if request.method.as_str() != "POST" || request.url.path() != expected {
            let kind = if format == Format::Anthropic { "not_found_error" } else { "invalid_request_error" };
            return wire::error(format, 404, kind, "Not found", None);
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return wire::error(format, 400, "invalid_request_error", "body is not JSON", None);
        };
        let reply = lock(&script.queue).pop_front().unwrap_or_else(|| lock(&script.default).clone());
        let stream = body["stream"] == Value::Bool(true);
        let model = body["model"].as_str().unwrap_or("fake-model").to_string();
        let id = format!("fake_{}", body["messages"].as_array().map_or(0, Vec::len));
        // Deterministic and equal for a streaming and a non-streaming request of one prompt.
        let mut prompt = body.clone();
        if let Some(fields) = prompt.as_object_mut() {
            fields.remove("stream");
            fields.remove("stream_options");
        }
        let input_tokens = (prompt.to_string().len() / 4) as u64;
        render(format, &reply, stream, &model, &id, input_tokens)
    }
}

fn render(format: Format, reply: &Reply, stream: bool, model: &str, id: &str, input_tokens: u64) -> ResponseTemplate {
    let answer = |text: Option<&str>, calls: &[(String, Value)]| {
        let a = wire::Answer { text, calls, model, id, input_tokens };
        wire::answer(format, &a, stream)
    };
    match reply {
        Reply::Text(text) => answer(Some(text), &[]),
        Reply::ToolCall { name, input } => answer(None, &[(name.clone(), input.clone())]),
        Reply::ToolCalls(calls) => answer(None, calls),
        Reply::TextAndTools { text, calls } => answer(Some(text), calls),
        Reply::Error { status, body_type, message, retry_after } => {
            wire::error(format, *status, body_type, message, *retry_after)
        }
        Reply::Slow(delay, inner) => render(format, inner, stream, model, id, input_tokens).set_delay(*delay),
        Reply::Malformed => wire::malformed(format, stream),
        Reply::FailMidStream { text, body_type, message } => {
            let a = wire::Answer { text: Some(text), calls: &[], model, id, input_tokens };
            wire::fail_mid_stream(format, &a, stream, body_type, message)
        }
    }
}
