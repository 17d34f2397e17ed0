//! Errors of webhook verification, each with a stable code and a recommended HTTP status.
//!
//! Messages (`Display`) are safe to send to the caller: they never contain a secret, an
//! expected signature, or any attacker-supplied text (only `&'static str` descriptions and
//! configured header names).

/// Why a webhook request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required header is absent (or empty). Holds the header name.
    #[error("missing header {0}")]
    MissingHeader(String),
    /// A header is present but cannot be parsed (e.g. `sha256=` followed by non-hex).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp outside the tolerance (too old)")]
    StaleTimestamp,
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp outside the tolerance (in the future)")]
    FutureTimestamp,
    /// No configured secret produces the given signature.
    #[error("signature does not match")]
    BadSignature,
    /// The scheme has no (usable) secret configured: a server-side misconfiguration.
    #[error("webhook verification is not configured")]
    NoSecretConfigured,
    /// A Bot Framework JWT failed validation.
    #[error("invalid token: {0}")]
    Jwt(JwtFailure),
    /// The Bot Framework OpenID metadata or signing keys could not be fetched and no usable
    /// cached key exists: a transient upstream failure, not the caller's fault.
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

impl VerifyError {
    /// Stable machine-readable code for API error bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::Malformed(_) => "malformed_header",
            Self::StaleTimestamp => "stale_timestamp",
            Self::FutureTimestamp => "future_timestamp",
            Self::BadSignature => "bad_signature",
            Self::NoSecretConfigured => "webhook_not_configured",
            Self::Jwt(_) => "invalid_token",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }

    /// Recommended HTTP status:
    /// - 401 for everything the sender got wrong (all signature, timestamp, header and token
    ///   failures; one status so that the status itself is no oracle);
    /// - 500 for [`VerifyError::NoSecretConfigured`] (our misconfiguration; senders retry 5xx);
    /// - 503 for [`VerifyError::KeysUnavailable`] (upstream key endpoint down; add
    ///   `Retry-After`; Bot Framework retries 5xx, so the activity is not lost).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NoSecretConfigured => 500,
            Self::KeysUnavailable => 503,
            _ => 401,
        }
    }

    /// True for failures that are not the sender's fault and may succeed on retry.
    pub fn is_server_side(&self) -> bool {
        matches!(self, Self::NoSecretConfigured | Self::KeysUnavailable)
    }
}

/// Why a Bot Framework JWT was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtFailure {
    /// Not three base64url parts / header or claims are not JSON.
    #[error("malformed token")]
    Malformed,
    /// `alg` is anything but RS256 (`none`, HS256, ...).
    #[error("algorithm not allowed")]
    Algorithm,
    /// The header has no `kid`.
    #[error("missing key id")]
    MissingKeyId,
    /// The `kid` is not among the published keys (after the allowed refetch).
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify with the published key.
    #[error("bad signature")]
    Signature,
    /// `iss` is missing or not the Bot Framework issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` is missing or not our app id.
    #[error("wrong audience")]
    Audience,
    /// `exp` is missing or not a number.
    #[error("missing expiry")]
    MissingExpiry,
    /// `exp` is more than the clock skew in the past.
    #[error("expired")]
    Expired,
    /// `nbf` is more than the clock skew in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// The `serviceurl` claim is missing or differs from the activity's `serviceUrl`.
    #[error("service url mismatch")]
    ServiceUrl,
    /// The signing key is not endorsed for the activity's channel.
    #[error("key not endorsed for channel")]
    Endorsement,
}

impl JwtFailure {
    /// Stable machine-readable sub-code (e.g. for logs and metrics).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::MissingKeyId => "missing_kid",
            Self::UnknownKey => "unknown_kid",
            Self::Signature => "signature",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::MissingExpiry => "missing_exp",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::ServiceUrl => "service_url",
            Self::Endorsement => "endorsement",
        }
    }
}

impl From<JwtFailure> for VerifyError {
    fn from(f: JwtFailure) -> Self {
        Self::Jwt(f)
    }
}
