//! Every LLM call's usage, written to `llm_usage`. Inside a chat turn the records are
//! collected and written in the turn's own transaction (one commit per turn instead of one
//! per call); elsewhere each record is written at once.

use std::sync::{Arc, Mutex};

use llm::{UsageRecord, UsageSink};
use store::DatabaseConnection;

/// Usage records of the calls a turn has made so far.
pub type UsageBuffer = Arc<Mutex<Vec<UsageRecord>>>;

tokio::task_local! {
    static TURN_USAGE: UsageBuffer;
}

/// Runs `fut` with its LLM usage collected into `buffer` (calls made by tasks it spawns
/// are written directly).
pub async fn collecting<F: std::future::Future>(buffer: UsageBuffer, fut: F) -> F::Output {
    TURN_USAGE.scope(buffer, fut).await
}

/// Takes what `buffer` holds.
pub fn drain(buffer: &UsageBuffer) -> Vec<UsageRecord> {
    buffer.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
}

fn row(r: UsageRecord) -> store::llm_usage::NewUsage {
    store::llm_usage::NewUsage {
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
    }
}

/// The records that pass the table's checks (a refused one is logged and left out).
pub fn checked(records: Vec<UsageRecord>) -> Vec<store::llm_usage::CheckedUsage> {
    records
        .into_iter()
        .filter_map(|r| match store::llm_usage::check(row(r)) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "usage record refused");
                None
            }
        })
        .collect()
}

/// Writes `records` (inside the caller's transaction when given one).
pub async fn write(db: &impl store::ConnectionTrait, records: Vec<UsageRecord>) {
    for r in records {
        if let Err(e) = store::llm_usage::record(db, row(r)).await {
            tracing::warn!(error = %e, "could not record LLM usage");
        }
    }
}

pub struct StoreUsage {
    pub db: DatabaseConnection,
}

#[async_trait::async_trait]
impl UsageSink for StoreUsage {
    async fn record(&self, r: UsageRecord) {
        let pending = TURN_USAGE.try_with(|b| b.clone());
        match pending {
            Ok(buffer) => match buffer.lock() {
                Ok(mut b) => b.push(r),
                Err(_) => tracing::warn!("usage buffer poisoned; record dropped"),
            },
            Err(_) => write(&self.db, vec![r]).await,
        }
    }
}
