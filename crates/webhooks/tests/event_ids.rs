#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use webhooks::{EventSource, MAX_EVENT_ID_LEN, event_id};

type Headers = Vec<(&'static str, &'static str)>;

#[test]
fn github_uses_delivery_header() {
    let headers: Headers = vec![("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")];
    let body = json!({"id": "not-this"});
    assert_eq!(
        event_id(EventSource::Github, &headers, Some(&body)).as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(event_id(EventSource::Github, &Headers::new(), Some(&body)), None);
}

#[test]
fn stripe_uses_body_id() {
    let body = json!({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event"});
    assert_eq!(
        event_id(EventSource::Stripe, &Headers::new(), Some(&body)).as_deref(),
        Some("evt_1NG8Du2eZvKYlo2CUI79vXWy")
    );
    assert_eq!(event_id(EventSource::Stripe, &Headers::new(), None), None);
    assert_eq!(event_id(EventSource::Stripe, &Headers::new(), Some(&json!({"object": "event"}))), None);
}

#[test]
fn mezzofy_header_then_id_then_event_id() {
    let headers: Headers = vec![("X-Mezzofy-Event-Id", "hdr-1")];
    let both = json!({"id": "body-id", "event_id": "body-event-id"});
    assert_eq!(event_id(EventSource::Mezzofy, &headers, Some(&both)).as_deref(), Some("hdr-1"));
    assert_eq!(event_id(EventSource::Mezzofy, &Headers::new(), Some(&both)).as_deref(), Some("body-id"));
    let only_event_id = json!({"event_id": "body-event-id"});
    assert_eq!(event_id(EventSource::Mezzofy, &Headers::new(), Some(&only_event_id)).as_deref(), Some("body-event-id"));
    let numeric = json!({"id": 42});
    assert_eq!(event_id(EventSource::Mezzofy, &Headers::new(), Some(&numeric)).as_deref(), Some("42"));
    assert_eq!(event_id(EventSource::Mezzofy, &Headers::new(), Some(&json!({"other": 1}))), None);
}

#[test]
fn teams_uses_activity_id() {
    let activity =
        json!({"type": "message", "id": "1485983408511", "serviceUrl": "https://smba.trafficmanager.net/amer/"});
    assert_eq!(event_id(EventSource::Teams, &Headers::new(), Some(&activity)).as_deref(), Some("1485983408511"));
}

#[test]
fn generic_header_then_pointer() {
    let headers: Headers = vec![("X-Zap-Id", "zap-7")];
    let body = json!({"data": {"event": {"uuid": "u-9"}}});
    let src = EventSource::Generic { header: Some("x-zap-id"), json_pointer: Some("/data/event/uuid") };
    assert_eq!(event_id(src, &headers, Some(&body)).as_deref(), Some("zap-7"));
    assert_eq!(event_id(src, &Headers::new(), Some(&body)).as_deref(), Some("u-9"));
    let none = EventSource::Generic { header: None, json_pointer: None };
    assert_eq!(event_id(none, &headers, Some(&body)), None);
    let bad_pointer = EventSource::Generic { header: None, json_pointer: Some("/data/missing") };
    assert_eq!(event_id(bad_pointer, &headers, Some(&body)), None);
}

#[test]
fn empty_oversized_and_non_scalar_ids_are_none() {
    let long = "x".repeat(MAX_EVENT_ID_LEN + 1);
    let exact = "y".repeat(MAX_EVENT_ID_LEN);
    for (body, expected) in [
        (json!({"id": ""}), None),
        (json!({"id": "   "}), None),
        (json!({"id": long}), None),
        (json!({"id": exact.clone()}), Some(exact.as_str())),
        (json!({"id": {"nested": 1}}), None),
        (json!({"id": ["a"]}), None),
        (json!({"id": null}), None),
        (json!({"id": "  evt_trim  "}), Some("evt_trim")),
    ] {
        assert_eq!(event_id(EventSource::Stripe, &Headers::new(), Some(&body)).as_deref(), expected, "{body}");
    }
    let blank: Headers = vec![("X-GitHub-Delivery", " ")];
    assert_eq!(event_id(EventSource::Github, &blank, None), None);
}
