//! What to send, and its FCM HTTP v1 JSON form.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::PushError;

/// Delivery priority on Android (`android.priority`) and iOS (`apns-priority` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Wakes the device (Android `HIGH`, APNs `10`).
    High,
    /// Battery-friendly (Android `NORMAL`, APNs `5`).
    Normal,
}

/// One notification to one device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The FCM registration token of the device.
    pub token: String,
    /// The notification's title and body; when both are empty no `notification` is sent
    /// (a data-only message).
    pub title: String,
    pub body: String,
    /// Key/value payload for the app. FCM accepts string values only; keys `from`,
    /// `message_type` and those starting with `google.` or `gcm.` are reserved.
    pub data: BTreeMap<String, String>,
    /// `None` leaves FCM's defaults.
    pub priority: Option<Priority>,
}

impl PushMessage {
    pub fn new(token: impl Into<String>, title: impl Into<String>, body: impl Into<String>) -> Self {
        PushMessage {
            token: token.into(),
            title: title.into(),
            body: body.into(),
            data: BTreeMap::new(),
            priority: None,
        }
    }

    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// What FCM would reject without a device being involved.
    pub fn validate(&self) -> Result<(), PushError> {
        let invalid = |message: String| Err(PushError::InvalidArgument { message });
        if self.token.trim().is_empty() {
            return invalid("the device token is empty".into());
        }
        for key in self.data.keys() {
            if is_reserved_data_key(key) {
                return invalid(format!("data key `{key}` is reserved by FCM"));
            }
        }
        Ok(())
    }

    /// The `messages:send` request body: `{"message": {...}}`.
    pub fn to_request_body(&self) -> Value {
        let mut message = Map::new();
        message.insert("token".into(), json!(self.token));
        if !self.title.is_empty() || !self.body.is_empty() {
            let mut notification = Map::new();
            if !self.title.is_empty() {
                notification.insert("title".into(), json!(self.title));
            }
            if !self.body.is_empty() {
                notification.insert("body".into(), json!(self.body));
            }
            message.insert("notification".into(), Value::Object(notification));
        }
        if !self.data.is_empty() {
            message.insert("data".into(), json!(self.data));
        }
        if let Some(priority) = self.priority {
            let (android, apns) = match priority {
                Priority::High => ("HIGH", "10"),
                Priority::Normal => ("NORMAL", "5"),
            };
            message.insert("android".into(), json!({ "priority": android }));
            message.insert("apns".into(), json!({ "headers": { "apns-priority": apns } }));
        }
        json!({ "message": message })
    }
}

/// FCM's reserved data keys.
pub fn is_reserved_data_key(key: &str) -> bool {
    key == "from" || key == "message_type" || key.starts_with("google.") || key.starts_with("gcm.")
}
