use std::time::Duration;

/// Why a provider call failed, classified so the manager knows whether another provider
/// (or a retry) can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// 429; `retry_after` from the provider's header when given.
    #[error("{provider}: rate limited{}", retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default())]
    RateLimited { provider: String, retry_after: Option<Duration>, message: String },
    /// Anthropic's 529 `overloaded_error` (and 503 from OpenAI-compatible servers).
    #[error("{provider}: overloaded: {message}")]
    Overloaded { provider: String, message: String },
    /// Any other 5xx.
    #[error("{provider}: server error {status}: {message}")]
    Server { provider: String, status: u16, message: String },
    /// No complete answer within the configured timeout.
    #[error("{provider}: timed out after {} s", after.as_secs())]
    Timeout { provider: String, after: Duration },
    /// Connection refused, reset, TLS or DNS failure.
    #[error("{provider}: network error: {message}")]
    Network { provider: String, message: String },
    /// 401/403: the key is wrong; another provider can still help.
    #[error("{provider}: authentication failed: {message}")]
    Auth { provider: String, message: String },
    /// 400/404/413/422: our request is wrong for this provider.
    #[error("{provider}: invalid request: {message}")]
    InvalidRequest { provider: String, message: String },
    /// The provider answered something we cannot read.
    #[error("{provider}: malformed response: {message}")]
    Malformed { provider: String, message: String },
    /// The circuit breaker is open for this provider.
    #[error("{provider}: circuit open after repeated failures")]
    CircuitOpen { provider: String },
    /// The caller cancelled (socket closed, `cancel` message).
    #[error("cancelled")]
    Cancelled,
    /// No provider is configured.
    #[error("no language model is configured")]
    NotConfigured,
}

impl LlmError {
    /// Whether trying another provider makes sense.
    pub fn fails_over(&self) -> bool {
        !matches!(self, LlmError::Cancelled | LlmError::NotConfigured)
    }

    /// Whether retrying the same provider may help (after a backoff).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Overloaded { .. }
                | LlmError::Server { .. }
                | LlmError::Timeout { .. }
                | LlmError::Network { .. }
        )
    }

    /// The `llm_usage.outcome` word for this failure.
    pub fn outcome(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Overloaded { .. } => "overloaded",
            LlmError::Timeout { .. } => "timeout",
            LlmError::Cancelled => "cancelled",
            _ => "error",
        }
    }
}
