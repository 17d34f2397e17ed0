//! Language-model and agent settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Secret;

/// One LLM provider endpoint. A provider with an `api_key` is enabled; a keyless local
/// server (Ollama, vLLM, llama.cpp) is enabled with `enabled: true`.
/// Keys left out of a provider's section keep that provider's defaults (the loader merges
/// the file over the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    pub enabled: bool,
    #[serde(default)]
    pub api_key: Secret,
    pub base_url: String,
    pub model: String,
    /// Seconds for a whole completion (streamed or not).
    pub timeout_secs: u64,
    /// Retries on the same provider (429/5xx/timeouts) before failing over.
    pub max_retries: u32,
    /// Whether the model accepts image input.
    pub vision: bool,
}

impl ProviderSettings {
    fn new(base_url: &str, model: &str, vision: bool) -> Self {
        Self {
            enabled: false,
            api_key: Secret::default(),
            base_url: base_url.into(),
            model: model.into(),
            timeout_secs: 60,
            max_retries: 1,
            vision,
        }
    }

    /// Configured to be used: a key, or explicitly enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled || !self.api_key.is_empty()
    }
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmSettings {
    /// Claude (Messages API). `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`.
    pub anthropic: ProviderSettings,
    /// Kimi (Moonshot, OpenAI-compatible). `KIMI_API_KEY`, `KIMI_BASE_URL`, `KIMI_MODEL`.
    pub kimi: ProviderSettings,
    /// Any OpenAI-compatible server. `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`.
    pub openai: ProviderSettings,
    /// `anthropic-version` header.
    pub anthropic_version: String,
    /// Output token cap per call.
    pub max_tokens: u32,
    /// Consecutive failures that open a provider's circuit.
    pub breaker_failures: u32,
    /// Seconds an open circuit stays open before one trial call.
    pub breaker_cooldown_secs: u64,
    /// Price table by model name, for `llm_usage.cost_usd`.
    pub prices: BTreeMap<String, Price>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        let prices = [
            ("claude-sonnet-4-6", 3.0, 15.0),
            ("claude-haiku-4-5", 1.0, 5.0),
            ("moonshot-v1-128k", 8.4, 8.4),
            ("moonshot-v1-32k", 3.4, 3.4),
            ("gpt-4o-mini", 0.15, 0.6),
        ]
        .into_iter()
        .map(|(m, i, o)| (m.to_string(), Price { input_per_mtok: i, output_per_mtok: o }))
        .collect();
        Self {
            anthropic: ProviderSettings::new("https://api.anthropic.com", "claude-sonnet-4-6", true),
            kimi: ProviderSettings::new("https://api.moonshot.cn/v1", "moonshot-v1-128k", false),
            openai: ProviderSettings::new("https://api.openai.com/v1", "gpt-4o-mini", true),
            anthropic_version: "2023-06-01".into(),
            max_tokens: 2048,
            breaker_failures: 5,
            breaker_cooldown_secs: 30,
            prices,
        }
    }
}

impl LlmSettings {
    pub fn any_enabled(&self) -> bool {
        self.anthropic.is_enabled() || self.kimi.is_enabled() || self.openai.is_enabled()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSettings {
    /// Tool-use rounds per turn (default 5).
    pub max_iterations: u32,
    /// Per-agent overrides, e.g. `{sales: 8}`.
    pub max_iterations_per_agent: BTreeMap<String, u32>,
    /// Earlier messages of the session given to the model.
    pub history_messages: u64,
    /// Seconds a turn may run inside the request before it continues as a background job.
    pub inline_timeout_secs: u64,
    /// Seconds a background turn may run.
    pub job_timeout_secs: u64,
    /// Ask the LLM to classify intent when keywords do not decide (needs a model).
    pub llm_classifier: bool,
    /// Who "the CEO", "the CFO", "the sales manager" are: role word → email.
    pub directory: BTreeMap<String, String>,
}

impl Default for AgentSettings {
    fn default() -> Self {
        let directory = [
            ("ceo", "ceo@mezzofy.com"),
            ("coo", "ops@mezzofy.com"),
            ("cfo", "cfo@mezzofy.com"),
            ("sales_manager", "sales.manager@mezzofy.com"),
            ("marketing_manager", "marketing@mezzofy.com"),
            ("support_manager", "support-manager@mezzofy.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            max_iterations: 5,
            max_iterations_per_agent: BTreeMap::new(),
            history_messages: 20,
            inline_timeout_secs: 25,
            job_timeout_secs: 600,
            llm_classifier: true,
            directory,
        }
    }
}

impl AgentSettings {
    pub fn iterations_for(&self, agent: &str) -> u32 {
        self.max_iterations_per_agent.get(agent).copied().unwrap_or(self.max_iterations).max(1)
    }
}

/// Outlook, Teams, calendar and push delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// E-mail recipients one user may send to per hour (every mode counts, outbox included).
    pub email_per_hour: u32,
    /// Push notifications one user may trigger per hour.
    pub push_per_hour: u32,
    pub ms365: crate::Ms365Settings,
    pub push: crate::PushSettings,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            email_per_hour: 30,
            push_per_hour: 120,
            ms365: crate::Ms365Settings::default(),
            push: crate::PushSettings::default(),
        }
    }
}
