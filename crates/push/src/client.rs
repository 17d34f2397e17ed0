//! `messages:send` with retries and FCM v1 error classification.

use std::{fmt, time::Duration};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde_json::Value;

use crate::{PushConfig, PushError, PushMessage, token::TokenSource};

/// A Firebase Cloud Messaging HTTP v1 client for one project. Cheap to share (`Arc`) and
/// safe to use concurrently; the access token is shared by all sends.
pub struct FcmClient {
    http: reqwest::Client,
    send_url: String,
    project_id: String,
    tokens: TokenSource,
    max_retries: u32,
    max_retry_wait: Duration,
    initial_backoff: Duration,
}

impl fmt::Debug for FcmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcmClient").field("project_id", &self.project_id).field("send_url", &self.send_url).finish()
    }
}

/// How one attempt ended.
enum Attempt {
    Sent(String),
    /// 401 `UNAUTHENTICATED`: the access token (given) was refused.
    StaleToken(String),
    Failed(PushError),
}

impl FcmClient {
    pub fn new(config: PushConfig) -> Result<Self, PushError> {
        let key = config.service_account.encoding_key()?;
        let project_id = config.project_id().to_string();
        if project_id.is_empty() || project_id.contains(['/', '?', '#', ' ']) {
            return Err(PushError::Config { message: format!("invalid project id {project_id:?}") });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .timeout(config.timeout)
            .build()
            .map_err(|e| PushError::Config { message: format!("building the HTTP client: {e}") })?;
        let base = config.fcm_base_url.trim_end_matches('/');
        let send_url = format!("{base}/v1/projects/{project_id}/messages:send");
        let tokens = TokenSource::new(
            http.clone(),
            key,
            config.service_account.private_key_id().to_string(),
            config.service_account.client_email().to_string(),
            config.token_uri().to_string(),
        );
        Ok(FcmClient {
            http,
            send_url,
            project_id,
            tokens,
            max_retries: config.max_retries,
            max_retry_wait: config.max_retry_wait,
            initial_backoff: config.initial_backoff,
        })
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// Sends one message and returns FCM's name for it (`projects/{p}/messages/{id}`).
    ///
    /// Retries 429, 5xx and connection failures up to `max_retries` times, waiting what
    /// `Retry-After` says (a wait above `max_retry_wait` ends the retries at once) or an
    /// exponential backoff. A 401 drops the cached access token and retries once with a
    /// new one. Timeouts are not retried: FCM may have delivered the message.
    pub async fn send(&self, message: &PushMessage) -> Result<String, PushError> {
        message.validate()?;
        let body = message.to_request_body();
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            let error = match self.attempt(&body).await {
                Attempt::Sent(name) => return Ok(name),
                Attempt::StaleToken(used) if !refreshed => {
                    tracing::info!(project = %self.project_id, "FCM refused the access token; refreshing it");
                    self.tokens.invalidate(&used).await;
                    refreshed = true;
                    continue;
                }
                Attempt::StaleToken(_) => {
                    return Err(PushError::Auth { message: "FCM refused a freshly issued access token".into() });
                }
                Attempt::Failed(error) => error,
            };
            let Some(wait) = self.retry_wait(&error, retries) else { return Err(error) };
            retries += 1;
            tracing::warn!(project = %self.project_id, %error, retry = retries, wait_ms = wait.as_millis() as u64, "FCM send failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// The wait before the next retry, or `None` to give up with `error`.
    fn retry_wait(&self, error: &PushError, retries: u32) -> Option<Duration> {
        let retryable = match error {
            PushError::Throttled { .. } | PushError::Unavailable { .. } => true,
            // Only failures before the request went out: a timeout may have delivered it.
            PushError::Transport { message } => message.starts_with(CONNECT_PREFIX),
            _ => false,
        };
        if !retryable || retries >= self.max_retries {
            return None;
        }
        match error.retry_after() {
            Some(wait) if wait > self.max_retry_wait => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(retries)),
        }
    }

    /// `initial_backoff × 2^retries`, plus up to 25 % jitter, capped at `max_retry_wait`.
    fn backoff(&self, retries: u32) -> Duration {
        let base = self.initial_backoff.saturating_mul(2u32.saturating_pow(retries.min(16)));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let jitter = base.mul_f64(f64::from(nanos % 1000) / 4000.0);
        base.saturating_add(jitter).min(self.max_retry_wait)
    }

    async fn attempt(&self, body: &Value) -> Attempt {
        let token = match self.tokens.get().await {
            Ok(token) => token,
            Err(e) => return Attempt::Failed(e),
        };
        let response = match self.http.post(&self.send_url).bearer_auth(&token).json(body).send().await {
            Ok(response) => response,
            Err(e) => return Attempt::Failed(transport_error("FCM", &e)),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => return Attempt::Failed(transport_error("FCM", &e)),
        };
        if (200..300).contains(&status) {
            #[derive(Deserialize)]
            struct Sent {
                name: String,
            }
            return match serde_json::from_str::<Sent>(&text) {
                Ok(sent) if !sent.name.is_empty() => Attempt::Sent(sent.name),
                Ok(_) => Attempt::Failed(PushError::Decode { message: "empty message name".into() }),
                Err(e) => Attempt::Failed(PushError::Decode { message: format!("{e}: {}", snippet(&text)) }),
            };
        }
        let info = FcmErrorInfo::parse(&text);
        if status == 401 && info.fcm_code.as_deref() != Some("THIRD_PARTY_AUTH_ERROR") {
            return Attempt::StaleToken(token);
        }
        Attempt::Failed(classify(status, &headers, &info))
    }
}

/// What an FCM (Google API) error body says.
#[derive(Debug, Default)]
struct FcmErrorInfo {
    /// gRPC status name (`NOT_FOUND`, `INVALID_ARGUMENT`...).
    status: Option<String>,
    message: String,
    /// `google.firebase.fcm.v1.FcmError.errorCode` (`UNREGISTERED`...).
    fcm_code: Option<String>,
    /// `google.rpc.BadRequest` field violations' fields (`message.token`...).
    violated_fields: Vec<String>,
}

impl FcmErrorInfo {
    fn parse(body: &str) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            #[serde(default)]
            message: String,
            status: Option<String>,
            #[serde(default)]
            details: Vec<Value>,
        }
        let Ok(Envelope { error }) = serde_json::from_str::<Envelope>(body) else {
            return FcmErrorInfo { message: snippet(body), ..Default::default() };
        };
        let mut info = FcmErrorInfo { status: error.status, message: error.message, ..Default::default() };
        for detail in &error.details {
            let kind = detail["@type"].as_str().unwrap_or_default();
            if kind.ends_with("google.firebase.fcm.v1.FcmError") {
                info.fcm_code = detail["errorCode"].as_str().map(str::to_string);
            } else if kind.ends_with("google.rpc.BadRequest")
                && let Some(violations) = detail["fieldViolations"].as_array()
            {
                info.violated_fields.extend(violations.iter().filter_map(|v| v["field"].as_str().map(str::to_string)));
            }
        }
        info
    }

    fn describe(&self) -> String {
        let code = self.fcm_code.as_deref().or(self.status.as_deref());
        match code {
            Some(code) if !self.message.is_empty() => format!("{code}: {}", self.message),
            Some(code) => code.to_string(),
            None => self.message.clone(),
        }
    }
}

fn classify(status: u16, headers: &HeaderMap, info: &FcmErrorInfo) -> PushError {
    let code = info.fcm_code.as_deref();
    let message = info.describe();
    let about_token = info.violated_fields.iter().any(|f| f == "message.token")
        || info.message.to_ascii_lowercase().contains("registration token");
    match (status, code) {
        (_, Some("UNREGISTERED")) => PushError::Unregistered,
        (400, _) if about_token => PushError::Unregistered,
        (_, Some("SENDER_ID_MISMATCH" | "THIRD_PARTY_AUTH_ERROR")) | (401 | 403, _) => PushError::Auth { message },
        (429, _) | (_, Some("QUOTA_EXCEEDED")) => PushError::Throttled { retry_after: retry_after(headers) },
        (500..=599, _) | (_, Some("UNAVAILABLE" | "INTERNAL")) => {
            PushError::Unavailable { status, message, retry_after: retry_after(headers) }
        }
        (400, _) | (_, Some("INVALID_ARGUMENT")) => PushError::InvalidArgument { message },
        _ => PushError::Http { status, message },
    }
}

/// Classifies an error answer from any Google endpoint (used for the token endpoint too).
pub(crate) fn http_error(status: u16, headers: &HeaderMap, body: &str) -> PushError {
    classify(status, headers, &FcmErrorInfo::parse(body))
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Marks transport errors raised before the request was sent (safe to retry).
const CONNECT_PREFIX: &str = "connecting to";

pub(crate) fn transport_error(what: &str, e: &reqwest::Error) -> PushError {
    // The source chain names the cause; URLs carry no secrets here (the token is a header).
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    let message = if e.is_connect() {
        format!("{CONNECT_PREFIX} {what}{cause}")
    } else if e.is_timeout() {
        format!("{what} timed out{cause}")
    } else {
        format!("{what}: {e}{cause}")
    };
    PushError::Transport { message }
}

/// At most 200 characters of a body, for error messages.
fn snippet(body: &str) -> String {
    let s: String = body.chars().take(200).collect();
    if s.len() < body.len() { format!("{s}…") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = retry_after {
            h.insert(RETRY_AFTER, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn classifies_fcm_v1_errors() {
        let unregistered = r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert_eq!(http_error(404, &headers(None), unregistered), PushError::Unregistered);

        let bad_token = r#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"},{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"The registration token is not a valid FCM registration token"}]}]}}"#;
        assert_eq!(http_error(400, &headers(None), bad_token), PushError::Unregistered);

        let bad_data = r#"{"error":{"code":400,"message":"Invalid value at 'message.data[0].value' (TYPE_STRING), 1","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.data[0].value","description":"Invalid value"}]}]}}"#;
        assert!(
            matches!(http_error(400, &headers(None), bad_data), PushError::InvalidArgument { message } if message.contains("message.data[0].value"))
        );

        let mismatch = r#"{"error":{"code":403,"message":"SenderId mismatch","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"SENDER_ID_MISMATCH"}]}}"#;
        let e = http_error(403, &headers(None), mismatch);
        assert!(matches!(&e, PushError::Auth { message } if message.contains("SENDER_ID_MISMATCH")));
        assert!(!e.is_retryable());

        let quota = r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}"#;
        let e = http_error(429, &headers(Some("7")), quota);
        assert_eq!(e, PushError::Throttled { retry_after: Some(Duration::from_secs(7)) });
        assert!(e.is_retryable());

        let e = http_error(502, &headers(None), "<html>Bad Gateway</html>");
        assert!(matches!(e, PushError::Unavailable { status: 502, .. }));
        assert!(matches!(http_error(404, &headers(None), "{}"), PushError::Http { status: 404, .. }));
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(retry_after(&headers(Some("2"))), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&headers(Some("0.5"))), Some(Duration::from_millis(500)));
        assert_eq!(retry_after(&headers(Some("Wed, 21 Oct 2015 07:28:00 GMT"))), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let wait = retry_after(&headers(Some(&later))).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        assert_eq!(retry_after(&headers(Some("soon"))), None);
        assert_eq!(retry_after(&headers(None)), None);
    }
}
