//! Firebase Cloud Messaging over the HTTP v1 API: a thin `reqwest` client authenticated with
//! a Google service account (a self-signed RS256 JWT exchanged for an OAuth access token),
//! with FCM's error model and retries. (The `fcm` crate targets the legacy API that Google
//! shut down.)
//!
//! ```ignore
//! let config = PushConfig::from_file("/etc/mezzofy/firebase.json", None, None)?;
//! let client = FcmClient::new(config)?;
//! let message = PushMessage::new(device_token, "Order shipped", "It arrives Tuesday")
//!     .with_data("order_id", "42")
//!     .with_priority(Priority::High);
//! match client.send(&message).await {
//!     Ok(name) => tracing::info!(%name, "pushed"),
//!     Err(PushError::Unregistered) => { /* delete the device token */ }
//!     Err(e) if e.is_retryable() => { /* try again later */ }
//!     Err(e) => return Err(e.into()),
//! }
//! ```
//!
//! With the `fake` feature, [`fake::FakeFcm`] is a loopback FCM + OAuth server for tests.

mod client;
mod config;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod message;
mod token;

pub use client::FcmClient;
pub use config::{DEFAULT_FCM_BASE_URL, DEFAULT_TOKEN_URI, PushConfig, ServiceAccount};
pub use error::PushError;
pub use message::{Priority, PushMessage, is_reserved_data_key};
pub use token::{AssertionClaims, FCM_SCOPE, JWT_BEARER_GRANT};
