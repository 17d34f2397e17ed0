//! LLM usage and cost per provider and model (permission `usage_read`).

use chrono::{DateTime, Duration, Utc};
use domain::{Permission, Principal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Start (RFC 3339); default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (RFC 3339); default now.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageRow {
    pub provider: String,
    pub model: String,
    pub calls: i64,
    /// Calls that did not succeed (rate limited, overloaded, timed out, errors).
    pub failed_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// From the configured price table (`llm.prices`).
    pub cost_usd: f64,
    pub avg_latency_ms: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub rows: Vec<UsageRow>,
    pub total_calls: i64,
    pub total_cost_usd: f64,
}

pub async fn report(ctx: &AppContext, caller: &Principal, q: UsageQuery) -> ApiResult<UsageReport> {
    caller.require(Permission::UsageRead)?;
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - Duration::days(30));
    if from > to {
        return Err(ApiError::bad_request("invalid_period", "from must not be after to"));
    }
    let rows = store::llm_usage::summary(&ctx.db, from, to).await?;
    let rows: Vec<UsageRow> = rows
        .into_iter()
        .map(|r| UsageRow {
            provider: r.provider,
            model: r.model,
            calls: r.calls,
            failed_calls: r.failed_calls,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_usd: r.cost_usd,
            avg_latency_ms: r.avg_latency_ms,
        })
        .collect();
    Ok(UsageReport {
        from,
        to,
        total_calls: rows.iter().map(|r| r.calls).sum(),
        total_cost_usd: rows.iter().map(|r| r.cost_usd).sum(),
        rows,
    })
}
