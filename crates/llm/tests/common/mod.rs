//! Shared set-up for the integration tests: fake providers and a manager over them.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use llm::{
    AnthropicProvider, BreakerConfig, ChatRequest, LlmManager, LlmProvider, MemoryUsage, Message, OpenAiProvider,
    StreamEvent, fake::FakeLlm,
};
use settings::{LlmSettings, ProviderSettings};

pub const CLAUDE: &str = "claude-sonnet-4-6";
pub const KIMI: &str = "moonshot-v1-128k";
pub const OPENAI: &str = "gpt-4o-mini";

pub fn anthropic(fake: &FakeLlm, tweak: impl FnOnce(&mut ProviderSettings)) -> Arc<dyn LlmProvider> {
    let mut s = fake.settings(CLAUDE);
    tweak(&mut s);
    Arc::new(AnthropicProvider::new(&s, "2023-06-01", 1024).unwrap())
}

pub fn openai(
    name: &str,
    model: &str,
    fake: &FakeLlm,
    tweak: impl FnOnce(&mut ProviderSettings),
) -> Arc<dyn LlmProvider> {
    let mut s = fake.settings(model);
    tweak(&mut s);
    Arc::new(OpenAiProvider::new(name, &s, 1024).unwrap())
}

pub struct Setup {
    pub anthropic: FakeLlm,
    pub kimi: FakeLlm,
    pub openai: FakeLlm,
    pub usage: Arc<MemoryUsage>,
}

impl Setup {
    pub async fn new() -> Self {
        Self {
            anthropic: FakeLlm::anthropic().await,
            kimi: FakeLlm::kimi().await,
            openai: FakeLlm::openai().await,
            usage: Arc::new(MemoryUsage::new()),
        }
    }

    /// A manager over all three fakes with the default prices.
    pub fn manager(&self, breaker: BreakerConfig, tweak_anthropic: impl FnOnce(&mut ProviderSettings)) -> LlmManager {
        let providers = vec![
            openai("openai", OPENAI, &self.openai, |_| {}),
            openai("kimi", KIMI, &self.kimi, |_| {}),
            anthropic(&self.anthropic, tweak_anthropic),
        ];
        LlmManager::new(providers, breaker, LlmSettings::default().prices, self.usage.clone())
    }

    pub async fn counts(&self) -> (usize, usize, usize) {
        (self.anthropic.received().await.len(), self.kimi.received().await.len(), self.openai.received().await.len())
    }
}

pub fn ask(text: &str) -> ChatRequest {
    ChatRequest { messages: vec![Message::user(text)], ..ChatRequest::default() }
}

/// Everything sent on a closed channel.
pub fn drain(mut rx: tokio::sync::mpsc::UnboundedReceiver<StreamEvent>) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

/// The text deltas joined.
pub fn streamed_text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(t) => Some(t.as_str()),
            StreamEvent::ToolCallStarted { .. } => None,
        })
        .collect()
}
