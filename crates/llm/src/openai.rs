//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`): Kimi (Moonshot),
//! OpenAI, and local servers (Ollama, vLLM, llama.cpp) that need no key.

use std::{collections::BTreeMap, time::Duration};

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use settings::{ProviderSettings, Secret};

use crate::{
    ChatRequest, ChatResponse, Content, EventSink, LlmError, LlmProvider, Message, Role, StopReason, StreamEvent,
    Usage,
    http::{self, IMAGE_OMITTED},
};

/// One OpenAI-compatible endpoint, recorded under `name` (`kimi`, `openai`).
pub struct OpenAiProvider {
    name: String,
    client: reqwest::Client,
    url: String,
    api_key: Secret,
    model: String,
    max_tokens: u32,
    timeout: Duration,
    max_retries: u32,
    vision: bool,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// `base_url` already ends in `/v1`; `max_tokens_default` applies when a request leaves
    /// `max_tokens` at 0.
    pub fn new(name: &str, settings: &ProviderSettings, max_tokens_default: u32) -> Result<Self, LlmError> {
        let invalid = |message: String| LlmError::InvalidRequest { provider: name.into(), message };
        let base = settings.base_url.trim_end_matches('/');
        reqwest::Url::parse(base).map_err(|e| invalid(format!("base_url {base:?}: {e}")))?;
        HeaderValue::from_str(&format!("Bearer {}", settings.api_key.expose()))
            .map_err(|_| invalid("api_key is not a valid header".into()))?;
        Ok(Self {
            name: name.into(),
            client: http::client(name)?,
            url: format!("{base}/chat/completions"),
            api_key: settings.api_key.clone(),
            model: settings.model.clone(),
            max_tokens: max_tokens_default.max(1),
            timeout: Duration::from_secs(settings.timeout_secs.max(1)),
            max_retries: settings.max_retries,
            vision: settings.vision,
        })
    }

    /// The JSON body for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Value {
        let max_tokens = if request.max_tokens == 0 { self.max_tokens } else { request.max_tokens };
        let mut body = json!({
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": wire_messages(request.system.as_deref(), &request.messages, self.vision),
        });
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.input_schema}})
                })
                .collect();
            body["tools"] = json!(tools);
        }
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    fn malformed(&self, message: impl Into<String>) -> LlmError {
        LlmError::Malformed { provider: self.name.clone(), message: message.into() }
    }

    async fn send(&self, body: &Value) -> Result<reqwest::Response, LlmError> {
        let mut req = self.client.post(&self.url).header(CONTENT_TYPE, "application/json").json(body);
        if !self.api_key.is_empty() {
            req = req.header(AUTHORIZATION, format!("Bearer {}", self.api_key.expose()));
        }
        let resp = req.send().await.map_err(|e| http::transport_error(&self.name, &e, self.timeout))?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(resp);
        }
        let retry_after = http::retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        let (kind, message) = match serde_json::from_str::<Value>(&text) {
            Ok(v) if v["error"].is_object() => error_fields(&v["error"]),
            _ => (None, http::snippet(&text)),
        };
        Err(http::classify(&self.name, status, kind.as_deref(), message, retry_after))
    }

    async fn read_json(&self, resp: reqwest::Response) -> Result<ChatResponse, LlmError> {
        let bytes = resp.bytes().await.map_err(|e| http::transport_error(&self.name, &e, self.timeout))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| self.malformed(e.to_string()))?;
        if value["error"].is_object() {
            let (kind, message) = error_fields(&value["error"]);
            return Err(http::stream_error(&self.name, kind.as_deref().unwrap_or("server_error"), message));
        }
        let wire: WireResponse = serde_json::from_value(value).map_err(|e| self.malformed(e.to_string()))?;
        let choice = wire.choices.into_iter().next().ok_or_else(|| self.malformed("no choices"))?;
        let mut content = Vec::new();
        let text = match choice.message.content {
            Some(Value::String(s)) => s,
            // Some servers answer with content parts.
            Some(Value::Array(parts)) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
            _ => String::new(),
        };
        if !text.is_empty() {
            content.push(Content::Text { text });
        }
        for (i, call) in choice.message.tool_calls.unwrap_or_default().into_iter().enumerate() {
            let input = match call.function.arguments {
                Value::String(raw) => http::tool_input(&raw),
                Value::Null => json!({}),
                other => other,
            };
            let id = if call.id.is_empty() { format!("call_{i}") } else { call.id };
            content.push(Content::ToolUse { id, name: call.function.name, input });
        }
        Ok(ChatResponse {
            content,
            stop_reason: stop_reason(choice.finish_reason.as_deref()),
            usage: wire.usage.map(Usage::from).unwrap_or_default(),
            model: if wire.model.is_empty() { self.model.clone() } else { wire.model },
            provider: self.name.clone(),
        })
    }

    async fn read_stream(&self, resp: reqwest::Response, events: Option<&EventSink>) -> Result<ChatResponse, LlmError> {
        let mut stream = resp.bytes_stream().eventsource();
        let mut state = StreamState { model: self.model.clone(), ..StreamState::default() };
        while let Some(event) = stream.next().await {
            let event = event.map_err(|e| match e {
                EventStreamError::Transport(e) => http::transport_error(&self.name, &e, self.timeout),
                other => self.malformed(other.to_string()),
            })?;
            let data = event.data.trim();
            if data == "[DONE]" {
                state.done = true;
                break;
            }
            if data.is_empty() {
                continue;
            }
            let chunk: Value = serde_json::from_str(data).map_err(|e| self.malformed(format!("chunk: {e}")))?;
            state.apply(&self.name, &chunk, events)?;
        }
        state.finish(&self.name)
    }
}

#[async_trait::async_trait]
impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn vision(&self) -> bool {
        self.vision
    }
    fn max_retries(&self) -> u32 {
        self.max_retries
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn complete(&self, request: &ChatRequest, events: Option<&EventSink>) -> Result<ChatResponse, LlmError> {
        let body = self.request_body(request, events.is_some());
        http::within(&self.name, self.timeout, async {
            let resp = self.send(&body).await?;
            if events.is_some() { self.read_stream(resp, events).await } else { self.read_json(resp).await }
        })
        .await
    }
}

/// System first; tool results become `tool` messages right after the assistant turn that
/// asked for them; user turns with images become content parts.
fn wire_messages(system: Option<&str>, messages: &[Message], vision: bool) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(system) = system.filter(|s| !s.trim().is_empty()) {
        out.push(json!({"role": "system", "content": system}));
    }
    for m in messages {
        match m.role {
            Role::User => {
                let mut parts = Vec::new();
                let mut images = false;
                for c in &m.content {
                    match c {
                        Content::ToolResult { tool_use_id, content, is_error } => {
                            let content = if *is_error { format!("error: {content}") } else { content.clone() };
                            out.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": content}));
                        }
                        Content::Text { text } if !text.is_empty() => parts.push(json!({"type": "text", "text": text})),
                        Content::Image { media_type, data } if vision => {
                            images = true;
                            let url = format!("data:{media_type};base64,{data}");
                            parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
                        }
                        Content::Image { .. } => parts.push(json!({"type": "text", "text": IMAGE_OMITTED})),
                        Content::Text { .. } | Content::ToolUse { .. } => {}
                    }
                }
                if parts.is_empty() {
                    continue;
                }
                let content = if images {
                    json!(parts)
                } else {
                    json!(parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"))
                };
                out.push(json!({"role": "user", "content": content}));
            }
            Role::Assistant => {
                let text = m.text();
                let calls: Vec<Value> = m
                    .content
                    .iter()
                    .filter_map(|c| match c {
                        Content::ToolUse { id, name, input } => {
                            let arguments = match input {
                                Value::String(raw) => raw.clone(),
                                other => other.to_string(),
                            };
                            Some(json!({"id": id, "type": "function",
                                "function": {"name": name, "arguments": arguments}}))
                        }
                        _ => None,
                    })
                    .collect();
                if text.is_empty() && calls.is_empty() {
                    continue;
                }
                let mut msg = json!({"role": "assistant", "content": text});
                if !calls.is_empty() {
                    msg["tool_calls"] = json!(calls);
                }
                out.push(msg);
            }
        }
    }
    out
}

fn error_fields(error: &Value) -> (Option<String>, String) {
    let kind = error["code"].as_str().or_else(|| error["type"].as_str()).map(str::to_string);
    (kind, error["message"].as_str().unwrap_or_default().to_string())
}

fn stop_reason(s: Option<&str>) -> StopReason {
    match s {
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
        None => StopReason::Other("none".into()),
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    /// A JSON string by the spec; some servers send an object.
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens }
    }
}

#[derive(Default)]
struct Call {
    id: String,
    name: String,
    arguments: String,
    started: bool,
}

#[derive(Default)]
struct StreamState {
    model: String,
    text: String,
    calls: BTreeMap<u64, Call>,
    finish: Option<String>,
    usage: Usage,
    done: bool,
}

impl StreamState {
    fn apply(&mut self, provider: &str, chunk: &Value, events: Option<&EventSink>) -> Result<(), LlmError> {
        if chunk["error"].is_object() {
            let (kind, message) = error_fields(&chunk["error"]);
            return Err(http::stream_error(provider, kind.as_deref().unwrap_or("server_error"), message));
        }
        if let Some(model) = chunk["model"].as_str().filter(|m| !m.is_empty()) {
            self.model = model.to_string();
        }
        // The final usage chunk (`choices: []`); Kimi puts usage on the choice instead.
        let choice = &chunk["choices"][0];
        for usage in [&chunk["usage"], &choice["usage"]] {
            if usage.is_object()
                && let Ok(u) = serde_json::from_value::<WireUsage>(usage.clone())
            {
                self.usage = u.into();
            }
        }
        let delta = &choice["delta"];
        if let Some(piece) = delta["content"].as_str().filter(|p| !p.is_empty()) {
            self.text.push_str(piece);
            http::emit(events, StreamEvent::TextDelta(piece.to_string()));
        }
        for (pos, tc) in delta["tool_calls"].as_array().into_iter().flatten().enumerate() {
            let index = tc["index"].as_u64().unwrap_or(pos as u64);
            let call = self.calls.entry(index).or_default();
            if let Some(id) = tc["id"].as_str().filter(|s| !s.is_empty()) {
                call.id = id.to_string();
            }
            if let Some(name) = tc["function"]["name"].as_str().filter(|s| !s.is_empty())
                && call.name.is_empty()
            {
                call.name = name.to_string();
            }
            match &tc["function"]["arguments"] {
                Value::String(s) => call.arguments.push_str(s),
                Value::Null => {}
                other => call.arguments.push_str(&other.to_string()),
            }
            if !call.started && !call.name.is_empty() {
                call.started = true;
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                http::emit(events, StreamEvent::ToolCallStarted { id: call.id.clone(), name: call.name.clone() });
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.finish = Some(reason.to_string());
        }
        Ok(())
    }

    fn finish(self, provider: &str) -> Result<ChatResponse, LlmError> {
        if !self.done && self.finish.is_none() {
            return Err(LlmError::Network { provider: provider.into(), message: "stream ended before [DONE]".into() });
        }
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(Content::Text { text: self.text });
        }
        for (index, call) in self.calls {
            let id = if call.id.is_empty() { format!("call_{index}") } else { call.id };
            content.push(Content::ToolUse { id, name: call.name, input: http::tool_input(&call.arguments) });
        }
        Ok(ChatResponse {
            content,
            stop_reason: stop_reason(self.finish.as_deref()),
            usage: self.usage,
            model: self.model,
            provider: provider.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_openai_shape() {
        let messages = vec![
            Message::user("hi"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Content::Text { text: "let me look".into() },
                    Content::ToolUse { id: "c1".into(), name: "f".into(), input: json!({"a": 1}) },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Content::ToolResult { tool_use_id: "c1".into(), content: "42".into(), is_error: false },
                    Content::Text { text: "what now".into() },
                    Content::Image { media_type: "image/png".into(), data: "AA".into() },
                ],
            },
        ];
        let wire = wire_messages(Some("be brief"), &messages, true);
        assert_eq!(wire[0], json!({"role": "system", "content": "be brief"}));
        assert_eq!(wire[1], json!({"role": "user", "content": "hi"}));
        assert_eq!(wire[2]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
        assert_eq!(wire[3], json!({"role": "tool", "tool_call_id": "c1", "content": "42"}));
        assert_eq!(wire[4]["content"][1]["image_url"]["url"], "data:image/png;base64,AA");
    }

    #[test]
    fn stream_tool_calls_accumulate() {
        let mut s = StreamState::default();
        let chunks = [
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "g", "arguments": "{oops"}}]}, "finish_reason": "tool_calls"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}}),
        ];
        for c in &chunks {
            s.apply("kimi", c, None).unwrap();
        }
        let r = s.finish("kimi").unwrap();
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert_eq!(r.usage, Usage { input_tokens: 5, output_tokens: 7 });
        let calls: Vec<_> = r.tool_calls().collect();
        assert_eq!(calls[0], ("c1", "f", &json!({"a": 1})));
        assert_eq!(calls[1].2, &json!("{oops"));
        let err =
            StreamState::default().apply("kimi", &json!({"error": {"message": "x", "type": "server_error"}}), None);
        assert!(matches!(err, Err(LlmError::Server { .. })));
    }
}
