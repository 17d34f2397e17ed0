//! The manager: picks providers by language (and vision), retries, fails over, keeps a circuit
//! breaker per provider and records every attempt's usage and cost.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use settings::{LlmSettings, Price};
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    AnthropicProvider, ChatRequest, ChatResponse, EventSink, LlmError, LlmProvider, OpenAiProvider, StreamEvent, Usage,
    breaker::{BreakerState, CircuitBreaker, Clock, SystemClock},
    lang::{Language, detect},
    usage::{UsageRecord, UsageSink, cost_usd},
};

/// The longest wait before a retry, whatever `retry-after` says.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const BASE_BACKOFF: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open a circuit (0: never).
    pub failures: u32,
    /// How long an open circuit stays open before one trial call.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failures: 5, cooldown: Duration::from_secs(30) }
    }
}

impl From<&LlmSettings> for BreakerConfig {
    fn from(s: &LlmSettings) -> Self {
        Self { failures: s.breaker_failures, cooldown: Duration::from_secs(s.breaker_cooldown_secs) }
    }
}

/// Who asks and why: goes into usage records and picks the language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallContext {
    pub user_id: Option<Uuid>,
    pub department: Option<String>,
    pub session_id: Option<Uuid>,
    /// What the call is for (`chat`, `classify`, `summarize`...).
    pub purpose: String,
    /// Known language; `None` detects it from the request's user text.
    pub language: Option<Language>,
}

impl CallContext {
    pub fn new(purpose: impl Into<String>) -> Self {
        Self { purpose: purpose.into(), ..Self::default() }
    }
}

/// One try at one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub provider: String,
    pub model: String,
    /// `ok`, [`LlmError::outcome`], or `circuit_open` for a provider skipped by its breaker.
    pub outcome: String,
    pub latency_ms: u64,
    /// The error's text (no prompt in it).
    pub error: Option<String>,
}

/// A successful completion and how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub response: ChatResponse,
    pub language: Language,
    /// Every attempt in order; the last one is the success.
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderInfo {
    pub name: String,
    pub model: String,
    pub vision: bool,
}

struct Slot {
    provider: Arc<dyn LlmProvider>,
    breaker: CircuitBreaker,
}

pub struct LlmManager {
    slots: Vec<Slot>,
    prices: BTreeMap<String, Price>,
    usage: Arc<dyn UsageSink>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LlmManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmManager").field("providers", &self.providers()).finish_non_exhaustive()
    }
}

impl LlmManager {
    /// Every enabled provider of the settings (none: offline).
    pub fn from_settings(settings: &LlmSettings, usage: Arc<dyn UsageSink>) -> Result<Self, LlmError> {
        let mut providers: Vec<Arc<dyn LlmProvider>> = Vec::new();
        if settings.anthropic.is_enabled() {
            let p = AnthropicProvider::new(&settings.anthropic, &settings.anthropic_version, settings.max_tokens)?;
            providers.push(Arc::new(p));
        }
        for (name, s) in [("kimi", &settings.kimi), ("openai", &settings.openai)] {
            if s.is_enabled() {
                providers.push(Arc::new(OpenAiProvider::new(name, s, settings.max_tokens)?));
            }
        }
        Ok(Self::new(providers, BreakerConfig::from(settings), settings.prices.clone(), usage))
    }

    /// Providers are known by [`LlmProvider::name`].
    pub fn new(
        providers: Vec<Arc<dyn LlmProvider>>,
        breaker: BreakerConfig,
        prices: BTreeMap<String, Price>,
        usage: Arc<dyn UsageSink>,
    ) -> Self {
        let slots = providers
            .into_iter()
            .map(|provider| Slot { provider, breaker: CircuitBreaker::new(breaker.failures, breaker.cooldown) })
            .collect();
        Self { slots, prices, usage, clock: Arc::new(SystemClock) }
    }

    /// The clock the circuit breakers read (tests move a [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// No provider is configured: callers use their offline engine.
    pub fn is_offline(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.slots
            .iter()
            .map(|s| ProviderInfo {
                name: s.provider.name().to_string(),
                model: s.provider.model().to_string(),
                vision: s.provider.vision(),
            })
            .collect()
    }

    pub fn has_vision(&self) -> bool {
        self.slots.iter().any(|s| s.provider.vision())
    }

    pub fn breaker_state(&self, provider: &str) -> Option<BreakerState> {
        self.slots.iter().find(|s| s.provider.name() == provider).map(|s| s.breaker.state())
    }

    /// Provider names in the order a request in `language` tries them: Chinese → kimi,
    /// anthropic, openai; otherwise anthropic, kimi, openai; other names after those; with
    /// images, vision providers first.
    pub fn provider_order(&self, language: Language, images: bool) -> Vec<String> {
        self.ordered(language, images).iter().map(|s| s.provider.name().to_string()).collect()
    }

    fn ordered(&self, language: Language, images: bool) -> Vec<&Slot> {
        let preference: &[&str] = if language == Language::Chinese {
            &["kimi", "anthropic", "openai"]
        } else {
            &["anthropic", "kimi", "openai"]
        };
        let mut slots: Vec<&Slot> = self.slots.iter().collect();
        slots.sort_by_key(|s| {
            let rank = preference.iter().position(|n| *n == s.provider.name()).unwrap_or(preference.len());
            (images && !s.provider.vision(), rank)
        });
        slots
    }

    /// One completion with retries and failover. Streams to `events` when given; once answer
    /// text has been streamed, a failure is returned as is (another provider would repeat it).
    pub async fn complete(
        &self,
        request: &ChatRequest,
        ctx: &CallContext,
        events: Option<&EventSink>,
    ) -> Result<Completion, LlmError> {
        if self.slots.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        let language = ctx.language.unwrap_or_else(|| detect(&request.all_user_text()));
        let span = tracing::info_span!("llm.complete", purpose = %ctx.purpose, %language, streaming = events.is_some());
        self.run(request, ctx, events, language).instrument(span).await
    }

    async fn run(
        &self,
        request: &ChatRequest,
        ctx: &CallContext,
        events: Option<&EventSink>,
        language: Language,
    ) -> Result<Completion, LlmError> {
        let mut attempts = Vec::new();
        let mut last_error: Option<LlmError> = None;
        for slot in self.ordered(language, request.has_images()) {
            let provider = slot.provider.as_ref();
            let (name, model) = (provider.name().to_string(), provider.model().to_string());
            let budget_start = Instant::now();
            let mut retries = 0;
            loop {
                if !slot.breaker.allow(self.clock.now()) {
                    tracing::info!(provider = %name, model = %model, outcome = "circuit_open", "llm provider skipped");
                    attempts.push(Attempt {
                        provider: name.clone(),
                        model: model.clone(),
                        outcome: "circuit_open".into(),
                        latency_ms: 0,
                        error: None,
                    });
                    last_error.get_or_insert(LlmError::CircuitOpen { provider: name.clone() });
                    break;
                }
                let started = Instant::now();
                let (result, streamed_text) = call(provider, request, events).await;
                let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                match result {
                    Ok(response) => {
                        slot.breaker.record_success();
                        tracing::info!(provider = %name, model = %response.model, latency_ms,
                            input_tokens = response.usage.input_tokens, output_tokens = response.usage.output_tokens,
                            outcome = "ok", "llm attempt");
                        self.record(ctx, &name, &model, &response.model, response.usage, latency_ms, "ok").await;
                        attempts.push(Attempt {
                            provider: name,
                            model: response.model.clone(),
                            outcome: "ok".into(),
                            latency_ms,
                            error: None,
                        });
                        return Ok(Completion { response, language, attempts });
                    }
                    Err(error) => {
                        match error {
                            // The provider answered; the request was at fault.
                            LlmError::InvalidRequest { .. } => slot.breaker.record_success(),
                            ref e if e.fails_over() => slot.breaker.record_failure(self.clock.now()),
                            _ => {}
                        }
                        let outcome = error.outcome();
                        tracing::warn!(provider = %name, model = %model, latency_ms, outcome, error = %error,
                            "llm attempt failed");
                        self.record(ctx, &name, &model, &model, Usage::default(), latency_ms, outcome).await;
                        attempts.push(Attempt {
                            provider: name.clone(),
                            model: model.clone(),
                            outcome: outcome.into(),
                            latency_ms,
                            error: Some(error.to_string()),
                        });
                        if streamed_text || !error.fails_over() {
                            return Err(error);
                        }
                        let wait = backoff(retries, &error);
                        let retry = error.retryable()
                            && retries < provider.max_retries()
                            && budget_start.elapsed() + wait < provider.timeout();
                        last_error = Some(error);
                        if !retry {
                            break;
                        }
                        retries += 1;
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        Err(last_error.unwrap_or(LlmError::NotConfigured))
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        ctx: &CallContext,
        provider: &str,
        configured_model: &str,
        model: &str,
        usage: Usage,
        latency_ms: u64,
        outcome: &str,
    ) {
        self.usage
            .record(UsageRecord {
                provider: provider.into(),
                model: model.into(),
                purpose: ctx.purpose.clone(),
                department: ctx.department.clone(),
                user_id: ctx.user_id,
                session_id: ctx.session_id,
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                latency_ms,
                outcome: outcome.into(),
                cost_usd: cost_usd(&self.prices, &[model, configured_model], usage),
            })
            .await;
    }
}

/// 250 ms, 500 ms, 1 s, 2 s...; `retry-after` when the provider gave one; never above 2 s.
fn backoff(retries: u32, error: &LlmError) -> Duration {
    let wait = match error {
        LlmError::RateLimited { retry_after: Some(after), .. } => *after,
        _ => BASE_BACKOFF.saturating_mul(1 << retries.min(4)),
    };
    wait.min(MAX_BACKOFF)
}

/// One provider call. When streaming, events pass through our own channel so we know
/// whether answer text already reached the user.
async fn call(
    provider: &dyn LlmProvider,
    request: &ChatRequest,
    events: Option<&EventSink>,
) -> (Result<ChatResponse, LlmError>, bool) {
    let Some(user) = events else {
        return (provider.complete(request, None).await, false);
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut streamed_text = false;
    let run = async move {
        let result = provider.complete(request, Some(&tx)).await;
        drop(tx);
        result
    };
    let forward = async {
        while let Some(event) = rx.recv().await {
            if matches!(&event, StreamEvent::TextDelta(t) if !t.is_empty()) {
                streamed_text = true;
            }
            let _ = user.send(event);
        }
    };
    let (result, ()) = tokio::join!(run, forward);
    (result, streamed_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped() {
        let server = LlmError::Server { provider: "p".into(), status: 500, message: String::new() };
        assert_eq!(backoff(0, &server), Duration::from_millis(250));
        assert_eq!(backoff(2, &server), Duration::from_secs(1));
        assert_eq!(backoff(9, &server), MAX_BACKOFF);
        let limited = LlmError::RateLimited {
            provider: "p".into(),
            retry_after: Some(Duration::from_secs(60)),
            message: String::new(),
        };
        assert_eq!(backoff(0, &limited), MAX_BACKOFF);
    }
}
