//! Job kinds every worker runs. Product features (agents, deliveries, webhooks) register
//! theirs here as they are built.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::runtime::{JobContext, JobFailure, KindSpec, Registry};

/// `maintenance.selftest`: proves a worker runs jobs end to end. Waits `sleep_ms` (checking
/// for a stop request), records one effect, and returns which worker ran it. Operators can
/// enqueue it (`mezzofy jobs selftest`); tests use it to crash workers mid-job.
pub const SELFTEST: &str = "maintenance.selftest";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelftestPayload {
    #[serde(default)]
    sleep_ms: u64,
}

async fn selftest(ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let p: SelftestPayload =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(p.sleep_ms.min(600_000));
    while tokio::time::Instant::now() < deadline {
        if ctx.should_stop() {
            return Err(JobFailure::retry("asked to stop"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ctx.progress(50, "waited").await;
    let effect = ctx
        .effect("record", "selftest", |a| async move { Ok(json!({"recorded": true, "effect_attempt": a.attempt})) })
        .await?;
    Ok(json!({"ok": true, "attempt": ctx.attempt, "effect": effect}))
}

pub fn registry() -> Registry {
    Registry::default().register(SELFTEST, KindSpec::new(selftest))
}
