//! Publishing events to users and revocations to every api process.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Event, RealtimeError, revoke_channel, user_channel};

/// Publishes on the user channels and the revocation channel. Cheap to clone (shares the
/// multiplexed `ConnectionManager`; PUBLISH never blocks it).
#[derive(Clone)]
pub struct Publisher {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// "Close these sockets now": every connection of a user, or the connections registered with a
/// session key (token family id, jti, ...), or — when both are set — that user's connections
/// registered with that session key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default)]
    pub reason: String,
}

impl Revocation {
    /// Every connection of `user_id` (account disabled, password changed, logged out everywhere).
    pub fn user(user_id: Uuid, reason: impl Into<String>) -> Self {
        Self { user_id: Some(user_id), session: None, reason: reason.into() }
    }

    /// The connections registered with `session` (a token family or jti was revoked).
    pub fn session(session: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { user_id: None, session: Some(session.into()), reason: reason.into() }
    }
}

impl Publisher {
    /// Uses the project's Redis handle (its connection and key prefix).
    pub fn new(redis: &kv::Redis) -> Self {
        Self::from_connection(redis.conn(), redis.prefix())
    }

    pub fn from_connection(conn: ConnectionManager, prefix: &str) -> Self {
        Self { conn, prefix: Arc::from(prefix) }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Sends `event` to every live connection of `user_id` in every api process. Returns how many
    /// api processes (hubs) received it — 0 is normal when the user is offline. Fire and forget:
    /// nothing is stored (use a [`crate::TurnLog`] for what must survive a reconnect).
    pub async fn publish_to_user(&self, user_id: Uuid, event: &Event) -> Result<usize, RealtimeError> {
        self.publish(user_channel(&self.prefix, user_id), event.to_json()).await
    }

    /// Tells every api process to close the matching sockets at once.
    pub async fn publish_revocation(&self, revocation: &Revocation) -> Result<usize, RealtimeError> {
        let payload = serde_json::to_string(revocation).map_err(|e| RealtimeError::Malformed(e.to_string()))?;
        self.publish(revoke_channel(&self.prefix), payload).await
    }

    async fn publish(&self, channel: String, payload: String) -> Result<usize, RealtimeError> {
        let receivers: i64 =
            redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut self.conn.clone()).await?;
        Ok(usize::try_from(receivers).unwrap_or(0))
    }
}
