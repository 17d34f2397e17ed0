//! Both wire formats against the fake servers: headers, bodies, tool round trips, streaming,
//! and error classification.

mod common;

use std::time::Duration;

use common::*;
use llm::{
    ChatRequest, ChatResponse, Content, LlmError, LlmProvider, Message, Role, StopReason, StreamEvent, ToolSpec,
    fake::{FakeLlm, Reply},
};
use serde_json::json;

fn report_tool() -> ToolSpec {
    ToolSpec {
        name: "sales_report".into(),
        description: "Sales figures for a month".into(),
        input_schema: json!({"type": "object", "properties": {"month": {"type": "string"}}}),
    }
}

async fn stream(p: &dyn LlmProvider, req: &ChatRequest) -> (Result<ChatResponse, LlmError>, Vec<StreamEvent>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let result = p.complete(req, Some(&tx)).await;
    drop(tx);
    (result, drain(rx))
}

#[tokio::test]
async fn anthropic_text_round_trip() {
    let fake = FakeLlm::anthropic().await;
    let p = anthropic(&fake, |_| {});
    let req = ChatRequest {
        system: Some("Be brief.".into()),
        messages: vec![Message::user("Hello")],
        temperature: Some(0.25),
        ..ChatRequest::default()
    };
    let r = p.complete(&req, None).await.unwrap();
    assert_eq!(r.text(), "fake anthropic reply");
    assert_eq!((r.provider.as_str(), r.model.as_str(), &r.stop_reason), ("anthropic", CLAUDE, &StopReason::EndTurn));
    assert_eq!(r.usage.output_tokens, 5);
    assert!(r.usage.input_tokens > 10);

    let sent = fake.received().await;
    assert_eq!(sent.len(), 1);
    let s = &sent[0];
    assert_eq!(s.path, "/v1/messages");
    assert_eq!(s.header("x-api-key"), Some("test-key-anthropic"));
    assert_eq!(s.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(s.header("content-type"), Some("application/json"));
    assert_eq!(s.header("authorization"), None);
    assert_eq!(
        s.body,
        json!({"model": CLAUDE, "max_tokens": 1024, "system": "Be brief.", "temperature": 0.25,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]})
    );
}

#[tokio::test]
async fn openai_text_round_trip_with_and_without_key() {
    let fake = FakeLlm::kimi().await;
    let p = openai("kimi", KIMI, &fake, |_| {});
    let req = ChatRequest { system: Some("Be brief.".into()), max_tokens: 99, ..ask("你好") };
    let r = p.complete(&req, None).await.unwrap();
    assert_eq!(r.text(), "fake kimi reply");
    assert_eq!((r.provider.as_str(), r.model.as_str(), &r.stop_reason), ("kimi", KIMI, &StopReason::EndTurn));
    assert_eq!(r.usage.output_tokens, 3);

    let local = openai("openai", "llama3", &fake, |s| s.api_key = Default::default());
    local.complete(&ask("hi"), None).await.unwrap();

    let sent = fake.received().await;
    assert_eq!(sent[0].path, "/v1/chat/completions");
    assert_eq!(sent[0].header("authorization"), Some("Bearer test-key-kimi"));
    assert_eq!(sent[0].header("x-api-key"), None);
    assert_eq!(
        sent[0].body,
        json!({"model": KIMI, "max_tokens": 99, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好"}]})
    );
    assert_eq!(sent[1].header("authorization"), None, "a keyless local server gets no bearer");
}

#[tokio::test]
async fn anthropic_tool_round_trip() {
    let fake = FakeLlm::anthropic().await;
    fake.push(Reply::tool_call("sales_report", json!({"month": "2026-03"})));
    fake.push(Reply::text("March: 42 orders."));
    let p = anthropic(&fake, |_| {});
    let mut req = ChatRequest { tools: vec![report_tool()], ..ask("How did March go?") };

    let first = p.complete(&req, None).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    let (id, name, input) =
        first.tool_calls().next().map(|(i, n, v)| (i.to_string(), n.to_string(), v.clone())).unwrap();
    assert_eq!((name.as_str(), &input), ("sales_report", &json!({"month": "2026-03"})));

    req.messages.push(Message { role: Role::Assistant, content: first.content.clone() });
    req.messages.push(Message {
        role: Role::User,
        content: vec![Content::ToolResult { tool_use_id: id.clone(), content: "42 orders".into(), is_error: false }],
    });
    let second = p.complete(&req, None).await.unwrap();
    assert_eq!(second.text(), "March: 42 orders.");

    let sent = fake.received().await;
    assert_eq!(
        sent[0].body["tools"],
        json!([{"name": "sales_report", "description": "Sales figures for a month",
        "input_schema": {"type": "object", "properties": {"month": {"type": "string"}}}}])
    );
    let messages = &sent[1].body["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": id, "name": "sales_report", "input": {"month": "2026-03"}}]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "42 orders"}]})
    );
}

#[tokio::test]
async fn openai_tool_round_trip_with_two_calls() {
    let fake = FakeLlm::openai().await;
    fake.push(Reply::ToolCalls(vec![
        ("sales_report".into(), json!({"month": "2026-03"})),
        ("sales_report".into(), json!({"month": "2026-02"})),
    ]));
    let p = openai("openai", OPENAI, &fake, |_| {});
    let mut req = ChatRequest { tools: vec![report_tool()], ..ask("Compare March and February") };
    let first = p.complete(&req, None).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    let ids: Vec<String> = first.tool_calls().map(|(id, _, _)| id.to_string()).collect();
    assert_eq!(ids.len(), 2);

    req.messages.push(Message { role: Role::Assistant, content: first.content.clone() });
    req.messages.push(Message {
        role: Role::User,
        content: vec![
            Content::ToolResult { tool_use_id: ids[0].clone(), content: "42".into(), is_error: false },
            Content::ToolResult { tool_use_id: ids[1].clone(), content: "no data".into(), is_error: true },
        ],
    });
    p.complete(&req, None).await.unwrap();

    let sent = fake.received().await;
    assert_eq!(
        sent[0].body["tools"],
        json!([{"type": "function", "function": {"name": "sales_report", "description": "Sales figures for a month",
            "parameters": {"type": "object", "properties": {"month": {"type": "string"}}}}}])
    );
    let m = &sent[1].body["messages"];
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(
        m[1]["tool_calls"][0],
        json!({"id": ids[0], "type": "function",
            "function": {"name": "sales_report", "arguments": "{\"month\":\"2026-03\"}"}})
    );
    assert_eq!(m[2], json!({"role": "tool", "tool_call_id": ids[0], "content": "42"}));
    assert_eq!(m[3], json!({"role": "tool", "tool_call_id": ids[1], "content": "error: no data"}));
}

#[tokio::test]
async fn images_in_both_formats() {
    let (a, o) = (FakeLlm::anthropic().await, FakeLlm::openai().await);
    let image = Content::Image { media_type: "image/png".into(), data: "iVBORw0K".into() };
    let req = ChatRequest {
        messages: vec![Message {
            role: Role::User,
            content: vec![Content::Text { text: "What is this?".into() }, image],
        }],
        ..ChatRequest::default()
    };
    anthropic(&a, |_| {}).complete(&req, None).await.unwrap();
    openai("openai", OPENAI, &o, |_| {}).complete(&req, None).await.unwrap();
    assert_eq!(
        a.received().await[0].body["messages"][0]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}})
    );
    assert_eq!(
        o.received().await[0].body["messages"][0]["content"],
        json!([{"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}])
    );
}

/// Streamed deltas arrive in order, tool starts follow, and the final response equals the
/// non-streaming one, in both formats.
#[tokio::test]
async fn streaming_equals_non_streaming() {
    for fake in [FakeLlm::anthropic().await, FakeLlm::openai().await] {
        let reply = Reply::TextAndTools {
            text: "Let me check the figures for March and February.".into(),
            calls: vec![("sales_report".into(), json!({"month": "2026-03", "region": "SG"}))],
        };
        fake.push(reply.clone());
        fake.push(reply);
        let p = match fake.format() {
            llm::fake::Format::Anthropic => anthropic(&fake, |_| {}),
            llm::fake::Format::OpenAi => openai("openai", OPENAI, &fake, |_| {}),
        };
        let req = ChatRequest { tools: vec![report_tool()], ..ask("How did March go?") };
        let plain = p.complete(&req, None).await.unwrap();
        let (streamed, events) = stream(p.as_ref(), &req).await;
        let streamed = streamed.unwrap();
        assert_eq!(streamed, plain, "{:?}", fake.format());
        assert!(events.len() > 3, "several deltas");
        assert_eq!(streamed_text(&events), "Let me check the figures for March and February.");
        let (id, _, _) = plain.tool_calls().next().unwrap();
        assert_eq!(
            events.last(),
            Some(&StreamEvent::ToolCallStarted { id: id.to_string(), name: "sales_report".into() })
        );
        let sent = fake.received().await;
        assert!(!sent[0].is_stream() && sent[1].is_stream());
        if fake.format() == llm::fake::Format::OpenAi {
            assert_eq!(sent[1].body["stream_options"], json!({"include_usage": true}));
        }
    }
}

#[tokio::test]
async fn malformed_answers_are_malformed() {
    for fake in [FakeLlm::anthropic().await, FakeLlm::openai().await] {
        fake.set_default(Reply::Malformed);
        let p = match fake.format() {
            llm::fake::Format::Anthropic => anthropic(&fake, |_| {}),
            llm::fake::Format::OpenAi => openai("openai", OPENAI, &fake, |_| {}),
        };
        let plain = p.complete(&ask("hi"), None).await;
        assert!(matches!(plain, Err(LlmError::Malformed { .. })), "{plain:?}");
        let (streamed, _) = stream(p.as_ref(), &ask("hi")).await;
        assert!(matches!(streamed, Err(LlmError::Malformed { .. })), "{streamed:?}");
    }
}

#[tokio::test]
async fn errors_are_classified() {
    let a = FakeLlm::anthropic().await;
    let o = FakeLlm::openai().await;
    let pa = anthropic(&a, |_| {});
    let po = openai("openai", OPENAI, &o, |_| {});
    type Check = fn(&LlmError) -> bool;
    let cases: Vec<(Reply, Check)> = vec![
        (Reply::overloaded(), |e| matches!(e, LlmError::Overloaded { .. })),
        (
            Reply::rate_limited(7),
            |e| matches!(e, LlmError::RateLimited { retry_after: Some(d), .. } if *d == Duration::from_secs(7)),
        ),
        (Reply::error(500, "api_error", "boom"), |e| matches!(e, LlmError::Server { status: 500, .. })),
        (Reply::error(503, "server_error", "busy"), |e| matches!(e, LlmError::Overloaded { .. })),
        (Reply::error(401, "authentication_error", "bad key"), |e| matches!(e, LlmError::Auth { .. })),
        (Reply::error(403, "permission_error", "no"), |e| matches!(e, LlmError::Auth { .. })),
        (Reply::error(400, "invalid_request_error", "bad"), |e| matches!(e, LlmError::InvalidRequest { .. })),
        (Reply::error(413, "request_too_large", "big"), |e| matches!(e, LlmError::InvalidRequest { .. })),
    ];
    for (reply, ok) in cases {
        for (fake, p) in [(&a, &pa), (&o, &po)] {
            fake.push(reply.clone());
            let err = p.complete(&ask("hi"), None).await.unwrap_err();
            assert!(ok(&err), "{reply:?} → {err:?}");
        }
    }
    // The error's text carries the provider's message.
    a.push(Reply::error(400, "invalid_request_error", "max_tokens: too large"));
    let err = pa.complete(&ask("hi"), None).await.unwrap_err();
    assert_eq!(err.to_string(), "anthropic: invalid request: max_tokens: too large");
}

#[tokio::test]
async fn error_event_mid_stream() {
    for fake in [FakeLlm::anthropic().await, FakeLlm::openai().await] {
        fake.push(Reply::FailMidStream {
            text: "Hello there".into(),
            body_type: "overloaded_error".into(),
            message: "Overloaded".into(),
        });
        let p = match fake.format() {
            llm::fake::Format::Anthropic => anthropic(&fake, |_| {}),
            llm::fake::Format::OpenAi => openai("openai", OPENAI, &fake, |_| {}),
        };
        let (result, events) = stream(p.as_ref(), &ask("hi")).await;
        assert!(matches!(result, Err(LlmError::Overloaded { .. })), "{result:?}");
        assert_eq!(streamed_text(&events), "Hello there");
    }
}

#[tokio::test]
async fn slow_answer_times_out_and_refused_connection_is_network() {
    let fake = FakeLlm::anthropic().await;
    fake.push(Reply::slow(Duration::from_secs(3), Reply::text("late")));
    let p = anthropic(&fake, |s| s.timeout_secs = 1);
    let started = std::time::Instant::now();
    let err = p.complete(&ask("hi"), None).await.unwrap_err();
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2500));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = openai("openai", OPENAI, &fake, |s| s.base_url = format!("http://127.0.0.1:{port}/v1"));
    let err = refused.complete(&ask("hi"), None).await.unwrap_err();
    assert!(matches!(err, LlmError::Network { .. }), "{err:?}");
}
