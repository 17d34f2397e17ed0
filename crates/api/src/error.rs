//! The api's one error type: an explicit status, a stable machine-readable code and a human
//! message, as JSON. Internal causes go to the log (once, here), never to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable identifier clients can branch on (`invalid_credentials`, `rate_limited`, ...).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; retry in {retry_after_secs} s"),
            )
        }
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self { retry_after: Some(5), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message) }
    }

    /// An unexpected failure: logged here with its cause, reported to the client opaquely.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "an internal error occurred; it has been logged")
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        res.json(ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message.clone() } })
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict(what) => ApiError::conflict("conflict", format!("{what} already exists")),
            store::StoreError::Invalid(m) => ApiError::unprocessable("invalid_value", m),
            store::StoreError::Unreachable(m) => {
                tracing::error!(error = %m, "database unreachable");
                ApiError::unavailable("database_unavailable", "the database is unavailable; try again shortly")
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<kv::KvError> for ApiError {
    fn from(e: kv::KvError) -> Self {
        tracing::error!(error = %e, "redis failure");
        ApiError::unavailable("redis_unavailable", "a backing service is unavailable; try again shortly")
    }
}

impl From<domain::principal::Forbidden> for ApiError {
    fn from(e: domain::principal::Forbidden) -> Self {
        ApiError::forbidden(e.to_string())
    }
}

/// Malformed JSON bodies: 400 for syntax (including bad UTF-8), 422 for the wrong shape
/// (missing fields, wrong types), 413 for too large, 415 for another content type.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this endpoint accepts",
        ),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        E::Deserialize(e) if e.is_data() => ApiError::unprocessable("invalid_body", clean_serde(&e.to_string())),
        E::Deserialize(e) => ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {}", clean_serde(&e.to_string())),
        ),
        E::Payload(_) => ApiError::bad_request("invalid_body", "the request body could not be read"),
        _ => ApiError::bad_request("invalid_json", "the body is not valid JSON"),
    };
    api.into()
}

pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", format!("invalid query string: {}", clean_serde(&err.to_string()))).into()
}

pub fn path_error(_err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found(format!("nothing at {}", truncate(req.path(), 200))).into()
}

/// serde messages can quote the offending input; keep them short.
fn clean_serde(s: &str) -> String {
    truncate(s, 300)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A processing failure: its status and code, a message without server internals (the
/// whole error is logged).
impl From<agents::intake::IntakeError> for ApiError {
    fn from(e: agents::intake::IntakeError) -> Self {
        match StatusCode::from_u16(e.status()) {
            Ok(status) if status != StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::info!(error = %e, code = e.code(), "input processing refused");
                ApiError::new(status, e.code(), e.public_message())
            }
            _ => ApiError::internal(e),
        }
    }
}
