//! Every LLM call's usage, written to `llm_usage`.

use llm::{UsageRecord, UsageSink};
use store::DatabaseConnection;

pub struct StoreUsage {
    pub db: DatabaseConnection,
}

#[async_trait::async_trait]
impl UsageSink for StoreUsage {
    async fn record(&self, r: UsageRecord) {
        let row = store::llm_usage::NewUsage {
            provider: r.provider,
            model: r.model,
            purpose: Some(r.purpose),
            department: r.department,
            user_id: r.user_id,
            session_id: r.session_id,
            input_tokens: i32::try_from(r.input_tokens).unwrap_or(i32::MAX),
            output_tokens: i32::try_from(r.output_tokens).unwrap_or(i32::MAX),
            latency_ms: i32::try_from(r.latency_ms).unwrap_or(i32::MAX),
            outcome: if store::llm_usage::OUTCOMES.contains(&r.outcome.as_str()) { r.outcome } else { "error".into() },
            cost_usd: r.cost_usd,
        };
        if let Err(e) = store::llm_usage::record(&self.db, row).await {
            tracing::warn!(error = %e, "could not record LLM usage");
        }
    }
}
