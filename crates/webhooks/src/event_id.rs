//! Event-id extraction for duplicate detection.

use serde_json::Value;

use crate::headers::HeaderLookup;
use crate::scheme::header;

/// Longest id returned; longer values yield `None` (the caller then hashes the body).
pub const MAX_EVENT_ID_LEN: usize = 256;

/// Where a webhook came from, and so where its delivery/event id lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource<'a> {
    /// `X-Mezzofy-Event-Id` header, else body `id`, else body `event_id`.
    Mezzofy,
    /// `X-GitHub-Delivery` header (a GUID per delivery; redeliveries reuse it).
    Github,
    /// Body `id` (`evt_...`).
    Stripe,
    /// Bot Framework / Teams activity: body `id`.
    Teams,
    /// `header` if set and present, else the JSON Pointer (RFC 6901, e.g. `/data/id`).
    Generic {
        /// Header holding the id.
        header: Option<&'a str>,
        /// JSON Pointer into the body.
        json_pointer: Option<&'a str>,
    },
}

/// The event id of a verified webhook, or `None` when there is none (the caller then hashes
/// the raw body). Ids are trimmed; empty ids and ids longer than [`MAX_EVENT_ID_LEN`] are
/// `None`. JSON numbers are accepted and rendered in decimal.
pub fn event_id<H: HeaderLookup + ?Sized>(
    source: EventSource<'_>,
    headers: &H,
    json: Option<&Value>,
) -> Option<String> {
    let from_header = |name: &str| headers.get(name).and_then(clean);
    let from_json = |pointer: &str| json.and_then(|j| j.pointer(pointer)).and_then(value_id);
    match source {
        EventSource::Github => from_header(header::GITHUB_DELIVERY),
        EventSource::Stripe | EventSource::Teams => from_json("/id"),
        EventSource::Mezzofy => {
            from_header(header::MEZZOFY_EVENT_ID).or_else(|| from_json("/id")).or_else(|| from_json("/event_id"))
        }
        EventSource::Generic { header, json_pointer } => {
            header.and_then(from_header).or_else(|| json_pointer.and_then(from_json))
        }
    }
}

fn value_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Number(n) => clean(&n.to_string()),
        _ => None,
    }
}

fn clean(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= MAX_EVENT_ID_LEN).then(|| s.to_owned())
}
