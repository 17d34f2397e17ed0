use std::time::Duration;

/// Why a push failed. Messages never contain key material, access tokens or JWT assertions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The service-account file or the configuration is unusable.
    #[error("push configuration: {message}")]
    Config { message: String },
    /// The device token is no longer (or never was) valid: FCM's `UNREGISTERED`, or
    /// `INVALID_ARGUMENT` about `message.token`. Delete the token; do not retry.
    #[error("the device token is unregistered or invalid")]
    Unregistered,
    /// FCM rejected the message (or it was rejected before sending). Permanent.
    #[error("invalid push message: {message}")]
    InvalidArgument { message: String },
    /// `429 QUOTA_EXCEEDED` that outlived the retries or asked for a wait above the cap.
    #[error("FCM quota exceeded{}", after(*retry_after))]
    Throttled { retry_after: Option<Duration> },
    /// FCM (or the token endpoint) is down: 500 `INTERNAL`, 503 `UNAVAILABLE`, other 5xx.
    #[error("FCM unavailable (HTTP {status}): {message}{}", after(*retry_after))]
    Unavailable { status: u16, message: String, retry_after: Option<Duration> },
    /// Getting an access token failed, the token was refused twice in a row (401), or the
    /// sender may not send to this token/project (403 `SENDER_ID_MISMATCH`,
    /// `PERMISSION_DENIED`, `THIRD_PARTY_AUTH_ERROR`). Permanent until fixed.
    #[error("FCM authentication failed: {message}")]
    Auth { message: String },
    /// Any other HTTP error status (e.g. 404 `NOT_FOUND` for an unknown project). Permanent.
    #[error("FCM answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// The request could not be sent or its answer not read (connect error, timeout, reset).
    #[error("FCM transport error: {message}")]
    Transport { message: String },
    /// A success answer that could not be understood.
    #[error("could not decode the FCM answer: {message}")]
    Decode { message: String },
}

fn after(retry_after: Option<Duration>) -> String {
    retry_after.map(|d| format!(" (retry after {} s)", d.as_secs_f64())).unwrap_or_default()
}

impl PushError {
    /// Whether sending the same message again later may succeed (the client has already
    /// retried up to `max_retries` times when it returns one of these).
    pub fn is_retryable(&self) -> bool {
        matches!(self, PushError::Throttled { .. } | PushError::Unavailable { .. } | PushError::Transport { .. })
    }

    /// Whether the caller should delete the device token.
    pub fn is_unregistered(&self) -> bool {
        matches!(self, PushError::Unregistered)
    }

    /// The server's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PushError::Throttled { retry_after } | PushError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
