//! Where every provider attempt's tokens, latency, outcome and cost go. The binaries write
//! them to `llm_usage` through `store`; tests keep them in memory.

use std::{collections::BTreeMap, sync::Mutex};

use serde::Serialize;
use settings::Price;
use uuid::Uuid;

use crate::Usage;

/// One provider attempt (a retry is another record; a failed attempt has zero tokens).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRecord {
    pub provider: String,
    pub model: String,
    pub purpose: String,
    pub department: Option<String>,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub latency_ms: u64,
    /// `ok`, or [`crate::LlmError::outcome`].
    pub outcome: String,
    /// From the price table; `None` when the model has no price.
    pub cost_usd: Option<f64>,
}

#[async_trait::async_trait]
pub trait UsageSink: Send + Sync {
    /// Called inline after each attempt: keep it quick (queue the write if it is slow).
    async fn record(&self, record: UsageRecord);
}

/// Drops records.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoUsage;

#[async_trait::async_trait]
impl UsageSink for NoUsage {
    async fn record(&self, _record: UsageRecord) {}
}

/// Keeps records in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryUsage(Mutex<Vec<UsageRecord>>);

impl MemoryUsage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn records(&self) -> Vec<UsageRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl UsageSink for MemoryUsage {
    async fn record(&self, record: UsageRecord) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    }
}

/// The price of `usage` for the first of `models` found in `prices`: an exact name, else the
/// longest priced name the model starts with (`claude-sonnet-4-6` prices
/// `claude-sonnet-4-6-20260101`).
pub fn cost_usd(prices: &BTreeMap<String, Price>, models: &[&str], usage: Usage) -> Option<f64> {
    let price = models.iter().find_map(|m| prices.get(*m)).or_else(|| {
        models.iter().find_map(|m| {
            prices
                .iter()
                .filter(|(name, _)| m.starts_with(name.as_str()))
                .max_by_key(|(name, _)| name.len())
                .map(|(_, p)| p)
        })
    })?;
    Some(
        (f64::from(usage.input_tokens) * price.input_per_mtok + f64::from(usage.output_tokens) * price.output_per_mtok)
            / 1_000_000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        let prices: BTreeMap<String, Price> = [
            ("claude-sonnet-4-6".to_string(), Price { input_per_mtok: 3.0, output_per_mtok: 15.0 }),
            ("gpt-4o".to_string(), Price { input_per_mtok: 2.5, output_per_mtok: 10.0 }),
            ("gpt-4o-mini".to_string(), Price { input_per_mtok: 0.15, output_per_mtok: 0.6 }),
        ]
        .into();
        let u = Usage { input_tokens: 1_000_000, output_tokens: 2_000_000 };
        assert_eq!(cost_usd(&prices, &["claude-sonnet-4-6"], u), Some(33.0));
        assert_eq!(cost_usd(&prices, &["claude-sonnet-4-6-20260101"], u), Some(33.0));
        assert_eq!(cost_usd(&prices, &["gpt-4o-mini-2024-07-18"], u), Some(1.35));
        assert_eq!(cost_usd(&prices, &["llama3", "gpt-4o"], u), Some(22.5));
        assert_eq!(cost_usd(&prices, &["llama3"], u), None);
    }
}
