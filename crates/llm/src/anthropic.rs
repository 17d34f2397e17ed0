//! Anthropic's Messages API (`POST {base_url}/v1/messages`), plain JSON or server-sent events.

use std::{collections::BTreeMap, time::Duration};

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use settings::{ProviderSettings, Secret};

use crate::{
    ChatRequest, ChatResponse, Content, EventSink, LlmError, LlmProvider, Message, Role, StopReason, StreamEvent,
    Usage,
    http::{self, IMAGE_OMITTED},
};

const NAME: &str = "anthropic";

/// Claude over the Messages API.
pub struct AnthropicProvider {
    client: reqwest::Client,
    url: String,
    api_key: Secret,
    version: String,
    model: String,
    max_tokens: u32,
    timeout: Duration,
    max_retries: u32,
    vision: bool,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider").field("url", &self.url).field("model", &self.model).finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// `max_tokens_default` applies when a request leaves `max_tokens` at 0.
    pub fn new(
        settings: &ProviderSettings,
        anthropic_version: &str,
        max_tokens_default: u32,
    ) -> Result<Self, LlmError> {
        let invalid = |message: String| LlmError::InvalidRequest { provider: NAME.into(), message };
        let base = settings.base_url.trim_end_matches('/');
        reqwest::Url::parse(base).map_err(|e| invalid(format!("base_url {base:?}: {e}")))?;
        HeaderValue::from_str(settings.api_key.expose())
            .map_err(|_| invalid("api_key is not a valid header".into()))?;
        HeaderValue::from_str(anthropic_version)
            .map_err(|_| invalid("anthropic_version is not a valid header".into()))?;
        Ok(Self {
            client: http::client(NAME)?,
            url: format!("{base}/v1/messages"),
            api_key: settings.api_key.clone(),
            version: anthropic_version.into(),
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
            "messages": wire_messages(&request.messages, self.vision),
        });
        if let Some(system) = request.system.as_deref().filter(|s| !s.trim().is_empty()) {
            body["system"] = json!(system);
        }
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
                .collect();
            body["tools"] = json!(tools);
        }
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if stream {
            body["stream"] = json!(true);
        }
        body
    }

    async fn send(&self, body: &Value) -> Result<reqwest::Response, LlmError> {
        let mut req = self
            .client
            .post(&self.url)
            .header("anthropic-version", &self.version)
            .header(CONTENT_TYPE, "application/json")
            .json(body);
        if !self.api_key.is_empty() {
            req = req.header("x-api-key", self.api_key.expose());
        }
        let resp = req.send().await.map_err(|e| http::transport_error(NAME, &e, self.timeout))?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(resp);
        }
        let retry_after = http::retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        let (kind, message) = match serde_json::from_str::<WireError>(&text) {
            Ok(e) => (Some(e.error.kind), e.error.message),
            Err(_) => (None, http::snippet(&text)),
        };
        Err(http::classify(NAME, status, kind.as_deref(), message, retry_after))
    }

    async fn read_json(&self, resp: reqwest::Response) -> Result<ChatResponse, LlmError> {
        let bytes = resp.bytes().await.map_err(|e| http::transport_error(NAME, &e, self.timeout))?;
        let wire: WireResponse = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Malformed { provider: NAME.into(), message: e.to_string() })?;
        let content = wire.content.into_iter().filter_map(content_block).collect();
        Ok(ChatResponse {
            content,
            stop_reason: stop_reason(wire.stop_reason.as_deref()),
            usage: wire.usage.into(),
            model: if wire.model.is_empty() { self.model.clone() } else { wire.model },
            provider: NAME.into(),
        })
    }

    async fn read_stream(&self, resp: reqwest::Response, events: Option<&EventSink>) -> Result<ChatResponse, LlmError> {
        let mut stream = resp.bytes_stream().eventsource();
        let mut state = StreamState { model: self.model.clone(), ..StreamState::default() };
        while let Some(event) = stream.next().await {
            let event = event.map_err(|e| match e {
                EventStreamError::Transport(e) => http::transport_error(NAME, &e, self.timeout),
                other => LlmError::Malformed { provider: NAME.into(), message: other.to_string() },
            })?;
            if event.data.trim().is_empty() {
                continue;
            }
            let data: Value = serde_json::from_str(&event.data).map_err(|e| LlmError::Malformed {
                provider: NAME.into(),
                message: format!("event {:?}: {e}", event.event),
            })?;
            if state.apply(&data, events)? {
                break;
            }
        }
        state.finish()
    }
}

#[async_trait::async_trait]
impl LlmProvider for AnthropicProvider {
    fn name(&self) -> &str {
        NAME
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
        http::within(NAME, self.timeout, async {
            let resp = self.send(&body).await?;
            if events.is_some() { self.read_stream(resp, events).await } else { self.read_json(resp).await }
        })
        .await
    }
}

/// Messages in the API's shape: empty blocks dropped, consecutive same-role messages merged
/// (the API requires alternation), tool results first in a user turn.
fn wire_messages(messages: &[Message], vision: bool) -> Vec<Value> {
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::new();
    for m in messages {
        let blocks: Vec<Value> = m.content.iter().filter_map(|c| wire_block(c, vision)).collect();
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((role, existing)) if *role == m.role => existing.extend(blocks),
            _ => turns.push((m.role, blocks)),
        }
    }
    turns
        .into_iter()
        .map(|(role, blocks)| {
            let (mut results, rest): (Vec<Value>, Vec<Value>) =
                blocks.into_iter().partition(|b| b["type"] == "tool_result");
            results.extend(rest);
            let role = match role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": results})
        })
        .collect()
}

fn wire_block(c: &Content, vision: bool) -> Option<Value> {
    Some(match c {
        Content::Text { text } if text.trim().is_empty() => return None,
        Content::Text { text } => json!({"type": "text", "text": text}),
        Content::Image { media_type, data } if vision => {
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
        }
        Content::Image { .. } => json!({"type": "text", "text": IMAGE_OMITTED}),
        Content::ToolUse { id, name, input } => {
            // The API wants an object; arguments that were not JSON go back wrapped.
            let input = if input.is_object() { input.clone() } else { json!({"_raw": input}) };
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        Content::ToolResult { tool_use_id, content, is_error } => {
            let mut b = json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content});
            if *is_error {
                b["is_error"] = json!(true);
            }
            b
        }
    })
}

fn content_block(block: Value) -> Option<Content> {
    match block["type"].as_str() {
        Some("text") => Some(Content::Text { text: block["text"].as_str().unwrap_or_default().to_string() }),
        Some("tool_use") => Some(Content::ToolUse {
            id: block["id"].as_str().unwrap_or_default().to_string(),
            name: block["name"].as_str().unwrap_or_default().to_string(),
            input: block.get("input").cloned().unwrap_or_else(|| json!({})),
        }),
        other => {
            tracing::debug!(provider = NAME, block = ?other, "content block type not used");
            None
        }
    }
}

fn stop_reason(s: Option<&str>) -> StopReason {
    match s {
        Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        Some(other) => StopReason::Other(other.to_string()),
        None => StopReason::Other("none".into()),
    }
}

#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
}

#[derive(Deserialize)]
struct WireErrorBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: String,
    /// Kept as JSON: blocks we do not know (thinking, server tools) are skipped, not fatal.
    content: Vec<Value>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u32,
    #[serde(default)]
    output_tokens: u32,
    #[serde(default)]
    cache_creation_input_tokens: Option<u32>,
    #[serde(default)]
    cache_read_input_tokens: Option<u32>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        let cached = u.cache_creation_input_tokens.unwrap_or(0) + u.cache_read_input_tokens.unwrap_or(0);
        Usage { input_tokens: u.input_tokens + cached, output_tokens: u.output_tokens }
    }
}

enum Block {
    Text(String),
    Tool { id: String, name: String, json: String },
    Other,
}

#[derive(Default)]
struct StreamState {
    model: String,
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<String>,
    usage: Usage,
    stopped: bool,
}

impl StreamState {
    /// One event's data; `true` once the message is complete.
    fn apply(&mut self, data: &Value, events: Option<&EventSink>) -> Result<bool, LlmError> {
        let index = data["index"].as_u64().unwrap_or(0);
        match data["type"].as_str().unwrap_or_default() {
            "message_start" => {
                let message = &data["message"];
                if let Some(model) = message["model"].as_str().filter(|m| !m.is_empty()) {
                    self.model = model.to_string();
                }
                if let Ok(usage) = serde_json::from_value::<WireUsage>(message["usage"].clone()) {
                    self.usage = usage.into();
                }
            }
            "content_block_start" => {
                let block = &data["content_block"];
                let str_of = |k: &str| block[k].as_str().unwrap_or_default().to_string();
                let new = match block["type"].as_str() {
                    Some("text") => {
                        let text = str_of("text");
                        if !text.is_empty() {
                            http::emit(events, StreamEvent::TextDelta(text.clone()));
                        }
                        Block::Text(text)
                    }
                    Some("tool_use") => {
                        let (id, name) = (str_of("id"), str_of("name"));
                        http::emit(events, StreamEvent::ToolCallStarted { id: id.clone(), name: name.clone() });
                        Block::Tool { id, name, json: String::new() }
                    }
                    _ => Block::Other,
                };
                self.blocks.insert(index, new);
            }
            "content_block_delta" => {
                let delta = &data["delta"];
                match (delta["type"].as_str(), self.blocks.get_mut(&index)) {
                    (Some("text_delta"), Some(Block::Text(text))) => {
                        let piece = delta["text"].as_str().unwrap_or_default();
                        text.push_str(piece);
                        if !piece.is_empty() {
                            http::emit(events, StreamEvent::TextDelta(piece.to_string()));
                        }
                    }
                    (Some("input_json_delta"), Some(Block::Tool { json, .. })) => {
                        json.push_str(delta["partial_json"].as_str().unwrap_or_default());
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_string());
                }
                let usage = &data["usage"];
                if let Some(out) = usage["output_tokens"].as_u64() {
                    self.usage.output_tokens = u32::try_from(out).unwrap_or(u32::MAX);
                }
                if let Some(input) = usage["input_tokens"].as_u64().filter(|n| *n > 0) {
                    self.usage.input_tokens = u32::try_from(input).unwrap_or(u32::MAX);
                }
            }
            "message_stop" => {
                self.stopped = true;
                return Ok(true);
            }
            "error" => {
                let e = &data["error"];
                let kind = e["type"].as_str().unwrap_or("api_error");
                let message = e["message"].as_str().unwrap_or_default().to_string();
                return Err(http::stream_error(NAME, kind, message));
            }
            // `ping`, `content_block_stop` (inputs are parsed at the end) and future events.
            _ => {}
        }
        Ok(false)
    }

    fn finish(self) -> Result<ChatResponse, LlmError> {
        if !self.stopped {
            return Err(LlmError::Network {
                provider: NAME.into(),
                message: "stream ended before message_stop".into(),
            });
        }
        let content = self
            .blocks
            .into_values()
            .filter_map(|b| match b {
                Block::Text(text) => Some(Content::Text { text }),
                Block::Tool { id, name, json } => Some(Content::ToolUse { id, name, input: http::tool_input(&json) }),
                Block::Other => None,
            })
            .collect();
        Ok(ChatResponse {
            content,
            stop_reason: stop_reason(self.stop_reason.as_deref()),
            usage: self.usage,
            model: self.model,
            provider: NAME.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_turns_and_orders_tool_results() {
        let messages = vec![
            Message::user("hi"),
            Message::user("   "),
            Message {
                role: Role::Assistant,
                content: vec![Content::ToolUse { id: "t1".into(), name: "x".into(), input: json!("not json") }],
            },
            Message::user("and"),
            Message {
                role: Role::User,
                content: vec![Content::ToolResult { tool_use_id: "t1".into(), content: "ok".into(), is_error: true }],
            },
            Message {
                role: Role::User,
                content: vec![Content::Image { media_type: "image/png".into(), data: "AA".into() }],
            },
        ];
        let wire = wire_messages(&messages, false);
        assert_eq!(wire.len(), 3);
        assert_eq!(wire[0], json!({"role": "user", "content": [{"type": "text", "text": "hi"}]}));
        assert_eq!(wire[1]["content"][0]["input"], json!({"_raw": "not json"}));
        let last = wire[2]["content"].as_array().unwrap();
        assert_eq!(last[0], json!({"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": true}));
        assert_eq!(last[1]["text"], "and");
        assert_eq!(last[2]["text"], IMAGE_OMITTED);
    }

    #[test]
    fn stream_error_event() {
        let mut s = StreamState::default();
        let err = s.apply(&json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}), None);
        assert!(matches!(err, Err(LlmError::Overloaded { .. })));
        assert!(StreamState::default().finish().is_err());
    }
}
