//! Language models: one provider-neutral conversation model ([`types`]), providers that speak
//! the real wire formats (Anthropic Messages API, OpenAI-compatible chat completions), and a
//! manager that picks a provider by language, fails over, trips a circuit breaker and
//! records every call's usage and cost.
//!
//! This crate knows HTTP and JSON but no database: usage goes to a [`UsageSink`] that the
//! binaries implement over `store`.

use std::time::Duration;

pub mod anthropic;
pub mod breaker;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod http;
pub mod lang;
pub mod manager;
pub mod openai;
pub mod types;
pub mod usage;

pub use anthropic::AnthropicProvider;
pub use breaker::{CircuitBreaker, Clock, ManualClock, SystemClock};
pub use error::LlmError;
pub use lang::{Language, detect};
pub use manager::{Attempt, BreakerConfig, CallContext, Completion, LlmManager, ProviderInfo};
pub use openai::OpenAiProvider;
pub use types::*;
pub use usage::{MemoryUsage, NoUsage, UsageRecord, UsageSink};

/// A chat-completion provider.
#[async_trait::async_trait]
pub trait LlmProvider: Send + Sync {
    /// Provider name as recorded (`anthropic`, `kimi`, `openai`).
    fn name(&self) -> &str;
    /// The configured model.
    fn model(&self) -> &str;
    /// Whether it accepts image blocks.
    fn vision(&self) -> bool;
    /// Retries the manager may make on this provider for retryable errors (default none).
    fn max_retries(&self) -> u32 {
        0
    }
    /// The whole-call time budget; the manager never starts a retry past it (default 60 s).
    fn timeout(&self) -> Duration {
        Duration::from_secs(60)
    }
    /// One completion. With `events`, the provider streams and forwards text deltas and
    /// tool-call starts as they arrive; the returned response is the same either way.
    async fn complete(&self, request: &ChatRequest, events: Option<&EventSink>) -> Result<ChatResponse, LlmError>;
}
