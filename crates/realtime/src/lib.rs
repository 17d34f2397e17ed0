//! Events to users' live connections across api processes, and replayable turn event logs.
//!
//! * [`Publisher`] (any process): `PUBLISH {prefix}rt:user:{user_id}` with an [`Event`] as JSON,
//!   and `PUBLISH {prefix}rt:revoke` with a [`Revocation`].
//! * [`Hub`] (one per api process): one dedicated pub/sub connection `PSUBSCRIBE`d to
//!   `{prefix}rt:user:*` and `SUBSCRIBE`d to `{prefix}rt:revoke`; forwards to the local
//!   [`Subscription`]s through bounded queues (a slow client loses its own events, nobody else's).
//! * [`TurnLog`]: the events of one chat turn in a Redis Stream `{prefix}rt:turn:{turn_id}`, so an
//!   SSE client that reconnects with `Last-Event-ID` (to any api process) resumes where it was.
//! * [`speech`] and [`RateGate`]: pure helpers for live speech and camera frames.
//!
//! Wiring in the api: start one [`Hub`] at boot (it opens its own pub/sub connection; the
//! shared `kv::Redis` connection cannot be used for that) and keep it in the app state. Per
//! WebSocket: `let mut sub = hub.register(user)` (or [`Hub::register_with`] and a session key),
//! then loop on `select!(sub.recv(), socket.recv())`: write `Delivery::Event` as a text frame,
//! close the socket on `Delivery::Revoked` or `None`. Events a slow client cannot take are
//! dropped for it ([`Subscription::dropped`]); never buffer them elsewhere. Pub/sub is fire and
//! forget: what must survive a reconnect goes through a [`TurnLog`] (SSE: `follow` with the
//! parsed `Last-Event-ID`, `id:` = the [`EventId`]).

mod event;
mod hub;
mod publisher;
mod rategate;
pub mod speech;
mod turnlog;

pub use event::{Event, InvalidEvent};
pub use hub::{Delivery, Hub, HubOptions, Registration, Subscription};
pub use publisher::{Publisher, Revocation};
pub use rategate::RateGate;
pub use turnlog::{Batch, EventId, TurnLog, TurnLogOptions, TurnReader};

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// A `Last-Event-ID` (or other event id) that is not `<ms>-<seq>`: map to HTTP 400.
    #[error("invalid event id {0:?}: expected <milliseconds>-<sequence>")]
    InvalidEventId(String),
    /// The turn's log does not exist: never started, or expired. Map to 404/410 and let the
    /// client load the finished message from the database.
    #[error("turn log not found (never started or expired)")]
    TurnNotFound,
    /// The event the client resumes after is no longer in the log (trimmed by `MAXLEN`):
    /// resuming would silently skip events, so the client must reload instead.
    #[error("the event to resume after is no longer in the turn log")]
    ResumeGap,
    /// An entry or a payload that is not what this crate writes.
    #[error("malformed data in Redis: {0}")]
    Malformed(String),
    #[error("timed out waiting for Redis")]
    Timeout,
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The pub/sub channel of a user's events.
pub fn user_channel(prefix: &str, user_id: Uuid) -> String {
    format!("{}{user_id}", user_channel_prefix(prefix))
}

pub(crate) fn user_channel_prefix(prefix: &str) -> String {
    format!("{prefix}rt:user:")
}

/// The pub/sub channel of revocations (close sockets now).
pub fn revoke_channel(prefix: &str) -> String {
    format!("{prefix}rt:revoke")
}

/// The stream key of a turn's event log.
pub fn turn_key(prefix: &str, turn_id: Uuid) -> String {
    format!("{prefix}rt:turn:{turn_id}")
}
