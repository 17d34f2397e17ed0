//! What both wire formats share: the HTTP client, error classification, retry-after headers,
//! the whole-call timeout and tool-argument parsing.

use std::{future::Future, time::Duration};

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::{EventSink, LlmError, StreamEvent};

/// Text shown to a model without vision instead of an image.
pub(crate) const IMAGE_OMITTED: &str = "[image omitted: this model cannot see images]";

pub(crate) fn client(provider: &str) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| LlmError::Network { provider: provider.into(), message: format!("building the HTTP client: {e}") })
}

/// `retry-after-ms` or `retry-after` in (possibly fractional) seconds; HTTP dates are ignored.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(ms) = get("retry-after-ms").filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after").filter(|v| v.is_finite() && *v >= 0.0).map(Duration::from_secs_f64)
}

/// At most 200 characters of a body, for error messages (bodies are never logged whole).
pub(crate) fn snippet(body: &str) -> String {
    let s: String = body.chars().take(200).collect();
    if s.len() < body.len() { format!("{s}…") } else { s }
}

/// An error status plus what the body said (`kind` is the provider's error type or code).
pub(crate) fn classify(
    provider: &str,
    status: u16,
    kind: Option<&str>,
    message: String,
    retry_after: Option<Duration>,
) -> LlmError {
    let provider = provider.to_string();
    match (status, kind) {
        (_, Some("insufficient_quota")) => LlmError::Auth { provider, message },
        (529, _) | (_, Some("overloaded_error")) => LlmError::Overloaded { provider, message },
        (429, _) | (_, Some("rate_limit_error")) => LlmError::RateLimited { provider, retry_after, message },
        (503, _) => LlmError::Overloaded { provider, message },
        (500..=599, _) => LlmError::Server { provider, status, message },
        (401 | 403, _) => LlmError::Auth { provider, message },
        (400..=499, _) => LlmError::InvalidRequest { provider, message },
        _ => LlmError::Malformed { provider, message: format!("unexpected status {status}: {message}") },
    }
}

/// An error reported inside a stream (no HTTP status): classified by its type or code.
pub(crate) fn stream_error(provider: &str, kind: &str, message: String) -> LlmError {
    let status = match kind {
        "overloaded_error" => 529,
        "rate_limit_error" | "rate_limit_exceeded" | "too_many_requests" => 429,
        "authentication_error" | "invalid_api_key" => 401,
        "permission_error" => 403,
        "invalid_request_error" | "request_too_large" | "context_length_exceeded" => 400,
        "not_found_error" | "model_not_found" => 404,
        "insufficient_quota" => 402,
        _ => 500,
    };
    classify(provider, status, Some(kind), message, None)
}

/// A failure to send the request or to read its body.
pub(crate) fn transport_error(provider: &str, e: &reqwest::Error, after: Duration) -> LlmError {
    if e.is_timeout() {
        return LlmError::Timeout { provider: provider.into(), after };
    }
    // The source chain names the cause (refused, reset, DNS) without the URL's query.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    LlmError::Network { provider: provider.into(), message }
}

/// Runs a whole call (request and every byte of its answer) within `after`.
pub(crate) async fn within<T>(
    provider: &str,
    after: Duration,
    call: impl Future<Output = Result<T, LlmError>>,
) -> Result<T, LlmError> {
    tokio::time::timeout(after, call)
        .await
        .unwrap_or_else(|_| Err(LlmError::Timeout { provider: provider.into(), after }))
}

/// Tool arguments as the model wrote them: `{}` when empty, the raw string when not JSON (so
/// the agent can report a tool error instead of failing the whole answer).
pub(crate) fn tool_input(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(Default::default());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Forwards an event; a closed receiver (the user went away) is not our failure.
pub(crate) fn emit(events: Option<&EventSink>, event: StreamEvent) {
    if let Some(tx) = events {
        let _ = tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let c = |s, k| classify("p", s, k, "m".into(), None);
        assert!(matches!(c(529, None), LlmError::Overloaded { .. }));
        assert!(matches!(c(503, None), LlmError::Overloaded { .. }));
        assert!(matches!(c(429, Some("rate_limit_error")), LlmError::RateLimited { .. }));
        assert!(matches!(c(429, Some("insufficient_quota")), LlmError::Auth { .. }));
        assert!(matches!(c(500, Some("api_error")), LlmError::Server { status: 500, .. }));
        assert!(matches!(c(401, None), LlmError::Auth { .. }));
        assert!(matches!(c(403, None), LlmError::Auth { .. }));
        assert!(matches!(c(413, None), LlmError::InvalidRequest { .. }));
        assert!(matches!(c(302, None), LlmError::Malformed { .. }));
        assert!(matches!(stream_error("p", "overloaded_error", "x".into()), LlmError::Overloaded { .. }));
        assert!(matches!(stream_error("p", "weird", "x".into()), LlmError::Server { .. }));
    }

    #[test]
    fn retry_after_header() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn tool_inputs() {
        assert_eq!(tool_input(""), serde_json::json!({}));
        assert_eq!(tool_input("{\"a\":1}"), serde_json::json!({"a": 1}));
        assert_eq!(tool_input("{\"a\":"), Value::String("{\"a\":".into()));
        assert_eq!(snippet(&"x".repeat(300)).chars().count(), 201);
    }
}
