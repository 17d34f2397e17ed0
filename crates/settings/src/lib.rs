//! Configuration of every Mezzofy process.
//!
//! Layers, lowest first: built-in defaults (identical to `config/config.example.yaml`, a test
//! keeps them in step), the YAML file (`MEZZOFY_CONFIG`, else `config/config.yaml` when it
//! exists), then environment variables: the well-known names (`DATABASE_URL`, `REDIS_URL`,
//! `JWT_SECRET`, `API_BIND`, `MEZZOFY_DATA_DIR`, `MEZZOFY_ENV`, ...) and, for any key,
//! `MEZZOFY__SECTION__KEY`. Unknown keys and invalid values are errors that name the key.

mod input;
mod integrations;
mod llm;
mod load;
mod model;
mod secret;
pub mod telemetry;
mod webhooks;

pub use input::{InputSettings, RealtimeSettings};
pub use integrations::{Ms365Settings, PushSettings, StorageKind, StorageSettings, WebSettings};
pub use llm::{AgentSettings, DeliverySettings, LlmSettings, Price, ProviderSettings};
pub use load::{ConfigError, Sources, load, load_roles};
pub use model::*;
pub use secret::Secret;
pub use webhooks::{RouteDelivery, SignatureScheme, WebhookRoute, WebhookSettings, WebhookSource};
