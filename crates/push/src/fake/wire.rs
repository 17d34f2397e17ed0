//! FCM's and Google OAuth's answers, byte-compatible enough for clients' error handling.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const BAD_REQUEST_TYPE: &str = "type.googleapis.com/google.rpc.BadRequest";

pub(super) const UNAUTHENTICATED_MESSAGE: &str = "Request had invalid authentication credentials. Expected OAuth 2 access \
     token, login cookie or other valid authentication credential. See \
     https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// The gRPC status name Google APIs pair with an HTTP status.
pub(super) fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// A Google API error: `{"error":{"code","message","status","details"}}`.
pub(super) fn google_error(status: u16, message: &str, details: Vec<Value>) -> ResponseTemplate {
    let mut error = json!({ "code": status, "message": message, "status": status_name(status) });
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    ResponseTemplate::new(status).set_body_json(json!({ "error": error }))
}

pub(super) fn fcm_code(code: &str) -> Value {
    json!({ "@type": FCM_ERROR_TYPE, "errorCode": code })
}

pub(super) fn field_violation(field: &str, description: &str) -> Value {
    json!({ "@type": BAD_REQUEST_TYPE, "fieldViolations": [{ "field": field, "description": description }] })
}

/// 400 `INVALID_ARGUMENT` about one field.
pub(super) fn invalid_field(field: &str, message: &str) -> ResponseTemplate {
    google_error(400, message, vec![fcm_code("INVALID_ARGUMENT"), field_violation(field, message)])
}

/// 400 `INVALID_ARGUMENT` for a body that does not match the proto (unknown field, wrong type).
pub(super) fn invalid_payload(message: &str, field: &str) -> ResponseTemplate {
    let message = format!("Invalid JSON payload received. {message}");
    google_error(400, &message, vec![field_violation(field, &message)])
}

pub(super) fn unauthenticated() -> ResponseTemplate {
    google_error(401, UNAUTHENTICATED_MESSAGE, Vec::new())
        .insert_header("www-authenticate", "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"")
}

pub(super) fn unregistered() -> ResponseTemplate {
    google_error(404, "Requested entity was not found.", vec![fcm_code("UNREGISTERED")])
}

/// What FCM answers for a scripted failure of `status`.
pub(super) fn canned(status: u16, retry_after: Option<u64>) -> ResponseTemplate {
    let template = match status {
        400 => google_error(400, "Request contains an invalid argument.", vec![fcm_code("INVALID_ARGUMENT")]),
        401 => unauthenticated(),
        403 => google_error(403, "SenderId mismatch", vec![fcm_code("SENDER_ID_MISMATCH")]),
        404 => unregistered(),
        429 => google_error(
            429,
            "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute' of service \
             'fcm.googleapis.com'.",
            vec![fcm_code("QUOTA_EXCEEDED")],
        ),
        500 => google_error(500, "Internal error encountered.", vec![fcm_code("INTERNAL")]),
        503 => google_error(503, "The service is currently unavailable.", vec![fcm_code("UNAVAILABLE")]),
        other => google_error(other, "Scripted failure.", Vec::new()),
    };
    match retry_after {
        Some(secs) => template.insert_header("retry-after", secs.to_string().as_str()),
        None => template,
    }
}

/// An OAuth 2.0 error answer (`{"error","error_description"}`), as Google's token endpoint
/// sends them.
pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "error": error, "error_description": description }))
}
