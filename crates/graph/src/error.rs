//! What can go wrong calling Graph.

use std::time::Duration;

/// A failed Graph or token call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The token endpoint refused the credentials (`error` / `error_description`, e.g.
    /// `invalid_client` / `AADSTS7000215: Invalid client secret provided. ...`).
    #[error("token request failed ({status} {code}): {message}")]
    Auth { status: u16, code: String, message: String },
    /// Graph answered an error (`{"error":{"code","message","innerError":{"request-id"}}}`).
    /// `code` is `HTTP <status>` when the body was not Graph's error JSON.
    #[error("Graph error {status} {code}: {message}")]
    Api { status: u16, code: String, message: String, request_id: Option<String> },
    /// Still throttled after the configured retries, or asked to wait longer than
    /// `max_retry_wait`; `retry_after` is what the server last asked for.
    #[error("throttled by Graph; retry after {retry_after:?}")]
    Throttled { retry_after: Duration },
    /// No usable HTTP answer (connection, TLS, timeout...).
    #[error("transport error: {0}")]
    Transport(String),
    /// A success answer that could not be understood, or a bad URL or configuration.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl GraphError {
    /// Whether trying the same call later may succeed: throttling, 5xx, transport failures.
    /// Anything else (bad request, not found, bad credentials) is permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            GraphError::Throttled { .. } | GraphError::Transport(_) => true,
            GraphError::Api { status, .. } | GraphError::Auth { status, .. } => *status >= 500 || *status == 429,
            GraphError::Decode(_) => false,
        }
    }

    /// The HTTP status, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Api { status, .. } | GraphError::Auth { status, .. } => Some(*status),
            GraphError::Throttled { .. } => Some(429),
            GraphError::Transport(_) | GraphError::Decode(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> GraphError {
        GraphError::Api { status, code: "x".into(), message: "m".into(), request_id: None }
    }

    #[test]
    fn retryable_classification() {
        assert!(GraphError::Throttled { retry_after: Duration::from_secs(1) }.is_retryable());
        assert!(GraphError::Transport("reset".into()).is_retryable());
        assert!(api(500).is_retryable());
        assert!(api(503).is_retryable());
        assert!(!api(400).is_retryable());
        assert!(!api(404).is_retryable());
        assert!(!GraphError::Auth { status: 401, code: "invalid_client".into(), message: "m".into() }.is_retryable());
        assert!(!GraphError::Decode("bad json".into()).is_retryable());
    }
}
