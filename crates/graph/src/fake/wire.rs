//! Response building blocks: Graph and Entra ID (AAD) error bodies, JSON answers, ids.

use base64::{Engine, engine::general_purpose::URL_SAFE};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// A response plus its status (wiremock's template does not expose it; the log wants it).
pub(super) struct Out {
    pub status: u16,
    pub tpl: Box<ResponseTemplate>,
}

/// Handlers return `Err` for early error answers, so validation can use `?`.
pub(super) type Handled = Result<Out, Out>;

impl Out {
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.tpl = Box::new(self.tpl.insert_header(name, value.as_ref()));
        self
    }
}

pub(super) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A JSON answer with Graph's `request-id` headers.
pub(super) fn json(status: u16, body: Value) -> Out {
    let id = uuid::Uuid::new_v4().to_string();
    Out {
        status,
        tpl: Box::new(
            ResponseTemplate::new(status)
                .insert_header("request-id", id.as_str())
                .insert_header("client-request-id", id.as_str())
                .set_body_json(body),
        ),
    }
}

/// An answer without a body (202 Accepted and the like).
pub(super) fn empty(status: u16) -> Out {
    let id = uuid::Uuid::new_v4().to_string();
    Out {
        status,
        tpl: Box::new(
            ResponseTemplate::new(status)
                .insert_header("request-id", id.as_str())
                .insert_header("client-request-id", id.as_str()),
        ),
    }
}

/// Graph's error JSON: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub(super) fn graph_error(status: u16, code: &str, message: &str) -> Out {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({"error": {
        "code": code,
        "message": message,
        "innerError": {"date": now(), "request-id": id, "client-request-id": id},
    }});
    Out {
        status,
        tpl: Box::new(
            ResponseTemplate::new(status)
                .insert_header("request-id", id.as_str())
                .insert_header("client-request-id", id.as_str())
                .set_body_json(body),
        ),
    }
}

/// 400 `RequestBodyRead`, Graph's answer to JSON that does not fit the resource type.
pub(super) fn body_read(message: impl AsRef<str>) -> Out {
    graph_error(400, "RequestBodyRead", message.as_ref())
}

/// The token endpoint's error JSON (`error`, `error_description` starting `AADSTS<n>:`...).
pub(super) fn aad_error(status: u16, error: &str, aadsts: u32, description: &str) -> Out {
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let ts = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {ts}"
        ),
        "error_codes": [aadsts],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
    });
    Out { status, tpl: Box::new(ResponseTemplate::new(status).set_body_json(body)) }
}

/// An Exchange-style item id (`AAMkAG...=`): URL-safe base64, so `-`, `_` and `=` occur.
pub(super) fn item_id(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE.encode(uuid::Uuid::new_v4().as_bytes()))
}

/// A JWT-shaped opaque token (unsigned; the fake only compares it with what it issued).
pub(super) fn access_token(tenant: &str, client_id: &str) -> String {
    let part = |v: Value| URL_SAFE.encode(v.to_string()).trim_end_matches('=').to_string();
    format!(
        "{}.{}.fake-signature",
        part(json!({"typ": "JWT", "alg": "none"})),
        part(json!({
            "aud": "https://graph.microsoft.com",
            "tid": tenant,
            "appid": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
        }))
    )
}

/// A Teams join URL.
pub(super) fn join_url() -> String {
    format!("https://teams.microsoft.com/l/meetup-join/19%3ameeting_{}%40thread.v2/0", uuid::Uuid::new_v4().simple())
}
