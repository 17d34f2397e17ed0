//! The fake's answers in each wire format: JSON bodies, SSE bodies and error bodies as the
//! real services send them.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::Format;

/// A model answer: text and/or tool calls.
pub(super) struct Answer<'a> {
    pub text: Option<&'a str>,
    pub calls: &'a [(String, Value)],
    pub model: &'a str,
    /// Prefix of tool-call ids (unique per request shape, equal for equal requests).
    pub id: &'a str,
    pub input_tokens: u64,
}

impl Answer<'_> {
    fn output_tokens(&self) -> u64 {
        let text = self.text.map_or(0, str::len);
        let calls: usize = self.calls.iter().map(|(_, input)| input.to_string().len()).sum();
        ((text + calls) / 4) as u64
    }

    fn call_id(&self, format: Format, i: usize) -> String {
        match format {
            Format::Anthropic => format!("toolu_{}_{i}", self.id),
            Format::OpenAi => format!("call_{}_{i}", self.id),
        }
    }
}

/// Splits `s` into pieces of at most `n` characters.
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

fn sse(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("cache-control", "no-cache").set_body_raw(body, "text/event-stream")
}

fn json_body(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
}

pub(super) fn error(
    format: Format,
    status: u16,
    kind: &str,
    message: &str,
    retry_after: Option<u64>,
) -> ResponseTemplate {
    let body = error_body(format, kind, message);
    let mut t = json_body(status, &body);
    if let Some(secs) = retry_after {
        t = t.insert_header("retry-after", secs.to_string().as_str());
    }
    t
}

fn error_body(format: Format, kind: &str, message: &str) -> Value {
    match format {
        Format::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
        Format::OpenAi => json!({"error": {"message": message, "type": kind, "param": null, "code": kind}}),
    }
}

pub(super) fn malformed(format: Format, stream: bool) -> ResponseTemplate {
    match (format, stream) {
        (_, false) => ResponseTemplate::new(200).set_body_raw("{\"this is\": not json", "application/json"),
        (Format::Anthropic, true) => sse("event: message_start\ndata: {oops\n\n".into()),
        (Format::OpenAi, true) => sse("data: {oops\n\n".into()),
    }
}

pub(super) fn answer(format: Format, a: &Answer<'_>, stream: bool) -> ResponseTemplate {
    match (format, stream) {
        (Format::Anthropic, false) => json_body(200, &anthropic_json(a)),
        (Format::Anthropic, true) => sse(anthropic_events(a, None)),
        (Format::OpenAi, false) => json_body(200, &openai_json(a)),
        (Format::OpenAi, true) => sse(openai_chunks(a, None)),
    }
}

/// Streams `a`'s text, then fails with an error event (a non-streaming request gets the error
/// as a 500 with that body).
pub(super) fn fail_mid_stream(
    format: Format,
    a: &Answer<'_>,
    stream: bool,
    kind: &str,
    message: &str,
) -> ResponseTemplate {
    if !stream {
        return error(format, 500, kind, message, None);
    }
    let err = error_body(format, kind, message);
    match format {
        Format::Anthropic => sse(anthropic_events(a, Some(&err))),
        Format::OpenAi => sse(openai_chunks(a, Some(&err))),
    }
}

fn anthropic_json(a: &Answer<'_>) -> Value {
    let mut content = Vec::new();
    if let Some(text) = a.text {
        content.push(json!({"type": "text", "text": text}));
    }
    for (i, (name, input)) in a.calls.iter().enumerate() {
        content.push(json!({"type": "tool_use", "id": a.call_id(Format::Anthropic, i), "name": name, "input": input}));
    }
    json!({
        "id": format!("msg_{}", a.id), "type": "message", "role": "assistant", "model": a.model,
        "content": content,
        "stop_reason": if a.calls.is_empty() { "end_turn" } else { "tool_use" }, "stop_sequence": null,
        "usage": {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens()},
    })
}

fn anthropic_events(a: &Answer<'_>, fail: Option<&Value>) -> String {
    let mut out = String::new();
    let mut event = |name: &str, data: Value| out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_{}", a.id), "type": "message", "role": "assistant", "model": a.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": a.input_tokens, "output_tokens": 1}}}),
    );
    event("ping", json!({"type": "ping"}));
    let mut index = 0;
    if let Some(text) = a.text {
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        );
        for piece in pieces(text, 5) {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": piece}}),
            );
        }
        if let Some(err) = fail {
            event("error", err.clone());
            return out;
        }
        event("content_block_stop", json!({"type": "content_block_stop", "index": 0}));
        index = 1;
    }
    for (i, (name, input)) in a.calls.iter().enumerate() {
        let at = index + i;
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": at,
            "content_block": {"type": "tool_use", "id": a.call_id(Format::Anthropic, i), "name": name, "input": {}}}),
        );
        let json = input.to_string();
        let half = json.chars().count() / 2;
        for piece in [json.chars().take(half).collect::<String>(), json.chars().skip(half).collect()] {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": at,
                "delta": {"type": "input_json_delta", "partial_json": piece}}),
            );
        }
        event("content_block_stop", json!({"type": "content_block_stop", "index": at}));
    }
    if let Some(err) = fail {
        event("error", err.clone());
        return out;
    }
    let stop = if a.calls.is_empty() { "end_turn" } else { "tool_use" };
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
        "usage": {"output_tokens": a.output_tokens()}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out
}

fn openai_usage(a: &Answer<'_>) -> Value {
    let out = a.output_tokens();
    json!({"prompt_tokens": a.input_tokens, "completion_tokens": out, "total_tokens": a.input_tokens + out})
}

fn openai_json(a: &Answer<'_>) -> Value {
    let mut message = json!({"role": "assistant", "content": a.text});
    if !a.calls.is_empty() {
        let calls: Vec<Value> = a
            .calls
            .iter()
            .enumerate()
            .map(|(i, (name, input))| {
                json!({"id": a.call_id(Format::OpenAi, i), "type": "function",
                    "function": {"name": name, "arguments": input.to_string()}})
            })
            .collect();
        message["tool_calls"] = json!(calls);
    }
    json!({
        "id": format!("chatcmpl-{}", a.id), "object": "chat.completion", "created": 0, "model": a.model,
        "choices": [{"index": 0, "message": message,
            "finish_reason": if a.calls.is_empty() { "stop" } else { "tool_calls" }}],
        "usage": openai_usage(a),
    })
}

fn openai_chunks(a: &Answer<'_>, fail: Option<&Value>) -> String {
    let mut out = String::new();
    let id = format!("chatcmpl-{}", a.id);
    let mut chunk = |choices: Value, usage: Value| {
        let data = json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": a.model,
            "choices": choices, "usage": usage});
        out.push_str(&format!("data: {data}\n\n"));
    };
    let delta = |d: Value, finish: Value| json!([{"index": 0, "delta": d, "finish_reason": finish}]);
    chunk(delta(json!({"role": "assistant", "content": ""}), Value::Null), Value::Null);
    for piece in pieces(a.text.unwrap_or_default(), 5) {
        chunk(delta(json!({"content": piece}), Value::Null), Value::Null);
    }
    if let Some(err) = fail {
        out.push_str(&format!("data: {err}\n\n"));
        return out;
    }
    for (i, (name, input)) in a.calls.iter().enumerate() {
        let start = json!({"tool_calls": [{"index": i, "id": a.call_id(Format::OpenAi, i), "type": "function",
            "function": {"name": name, "arguments": ""}}]});
        chunk(delta(start, Value::Null), Value::Null);
        for piece in pieces(&input.to_string(), 7) {
            let d = json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]});
            chunk(delta(d, Value::Null), Value::Null);
        }
    }
    let finish = if a.calls.is_empty() { "stop" } else { "tool_calls" };
    chunk(delta(json!({}), json!(finish)), Value::Null);
    chunk(json!([]), openai_usage(a));
    out.push_str("data: [DONE]\n\n");
    out
}
