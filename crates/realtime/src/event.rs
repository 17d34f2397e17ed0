//! The events sent to clients: JSON objects `{ "type": ..., ...fields }`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A server event: a JSON object with a string `type` (always present) and any other fields.
/// Serializes to exactly that object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Event(Value);

/// The JSON is not an object with a string `type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct InvalidEvent(pub String);

impl Event {
    /// An event of type `kind` with no other fields.
    pub fn new(kind: &str) -> Self {
        let mut map = Map::new();
        map.insert("type".into(), Value::String(kind.into()));
        Self(Value::Object(map))
    }

    /// Adds (or replaces) a field. The `type` field cannot be changed this way (ignored).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if key != "type"
            && let Value::Object(map) = &mut self.0
        {
            map.insert(key.into(), value.into());
        }
        self
    }

    /// The event's `type`.
    pub fn kind(&self) -> &str {
        self.0.get("type").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }

    pub fn into_value(self) -> Value {
        self.0
    }

    /// The JSON text (what goes on the wire: WebSocket text frame, SSE `data:`).
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }

    pub fn from_json(text: &str) -> Result<Self, InvalidEvent> {
        Self::from_slice(text.as_bytes())
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidEvent> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| InvalidEvent(e.to_string()))?;
        Self::try_from(value)
    }

    // --- the server events of the protocol ---

    /// `{"type":"status","message":...}`
    pub fn status(message: impl Into<String>) -> Self {
        Self::new("status").with("message", message.into())
    }

    /// `{"type":"transcript","text":...,"is_final":...}`
    pub fn transcript(text: impl Into<String>, is_final: bool) -> Self {
        Self::new("transcript").with("text", text.into()).with("is_final", is_final)
    }

    /// `{"type":"camera_analysis","description":...}`; add more fields with [`Event::with`].
    pub fn camera_analysis(description: impl Into<String>) -> Self {
        Self::new("camera_analysis").with("description", description.into())
    }

    /// `{"type":"task_queued","task_id":...,"estimated_seconds":...}` (the last one only when known).
    pub fn task_queued(task_id: Uuid, estimated_seconds: Option<u32>) -> Self {
        let e = Self::new("task_queued").with("task_id", task_id.to_string());
        match estimated_seconds {
            Some(s) => e.with("estimated_seconds", s),
            None => e,
        }
    }

    /// `{"type":"task_progress","task_id":...,"progress":0..=100,"message":...}` (progress is
    /// clamped to 100; `message` only when given).
    pub fn task_progress(task_id: Uuid, progress: u8, message: Option<&str>) -> Self {
        let e = Self::new("task_progress").with("task_id", task_id.to_string()).with("progress", progress.min(100));
        match message {
            Some(m) => e.with("message", m),
            None => e,
        }
    }

    /// `{"type":"complete","response":...}` (`response` is usually the text; any JSON is allowed).
    pub fn complete(response: impl Into<Value>) -> Self {
        Self::new("complete").with("response", response)
    }

    /// `{"type":"error","code":...,"message":...}`
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("error").with("code", code.into()).with("message", message.into())
    }

    /// `{"type":"text_delta","delta":...}`: a piece of the answer as it is generated.
    pub fn text_delta(delta: impl Into<String>) -> Self {
        Self::new("text_delta").with("delta", delta.into())
    }
}

impl TryFrom<Value> for Event {
    type Error = InvalidEvent;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match &value {
            Value::Object(map) => match map.get("type") {
                Some(Value::String(s)) if !s.is_empty() => Ok(Self(value)),
                Some(Value::String(_)) => Err(InvalidEvent("empty \"type\"".into())),
                Some(_) => Err(InvalidEvent("\"type\" is not a string".into())),
                None => Err(InvalidEvent("no \"type\" field".into())),
            },
            _ => Err(InvalidEvent("not a JSON object".into())),
        }
    }
}

impl From<Event> for Value {
    fn from(event: Event) -> Self {
        event.0
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::try_from(value).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn builders_match_the_protocol() {
        let id = Uuid::nil();
        assert_eq!(Event::status("thinking").into_value(), json!({"type": "status", "message": "thinking"}));
        assert_eq!(
            Event::transcript("hi", false).into_value(),
            json!({"type": "transcript", "text": "hi", "is_final": false})
        );
        assert_eq!(
            Event::camera_analysis("a cup").with("objects", json!(["cup"])).into_value(),
            json!({"type": "camera_analysis", "description": "a cup", "objects": ["cup"]})
        );
        assert_eq!(
            Event::task_queued(id, Some(30)).into_value(),
            json!({"type": "task_queued", "task_id": id.to_string(), "estimated_seconds": 30})
        );
        assert_eq!(
            Event::task_queued(id, None).into_value(),
            json!({"type": "task_queued", "task_id": id.to_string()})
        );
        assert_eq!(
            Event::task_progress(id, 250, Some("half")).into_value(),
            json!({"type": "task_progress", "task_id": id.to_string(), "progress": 100, "message": "half"})
        );
        assert_eq!(
            Event::task_progress(id, 5, None).into_value(),
            json!({"type": "task_progress", "task_id": id.to_string(), "progress": 5})
        );
        assert_eq!(Event::complete("done").into_value(), json!({"type": "complete", "response": "done"}));
        assert_eq!(
            Event::error("rate_limited", "slow down").into_value(),
            json!({"type": "error", "code": "rate_limited", "message": "slow down"})
        );
        assert_eq!(Event::text_delta("Hel").into_value(), json!({"type": "text_delta", "delta": "Hel"}));
    }

    #[test]
    fn type_is_required_and_fixed() {
        assert!(Event::from_json(r#"{"message": "x"}"#).is_err());
        assert!(Event::from_json(r#"{"type": 3}"#).is_err());
        assert!(Event::from_json(r#"{"type": ""}"#).is_err());
        assert!(Event::from_json(r#"["type"]"#).is_err());
        assert!(Event::from_json("not json").is_err());
        assert!(serde_json::from_str::<Event>(r#"{"x": 1}"#).is_err());
        let e = Event::from_json(r#"{"type": "custom", "n": 1}"#).unwrap();
        assert_eq!(e.kind(), "custom");
        assert_eq!(e.get("n"), Some(&json!(1)));
        let e = e.with("type", "other");
        assert_eq!(e.kind(), "custom");
        let round: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(round, e);
        assert_eq!(Event::from_json(&e.to_json()).unwrap(), e);
    }
}
