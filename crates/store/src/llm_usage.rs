//! `llm_usage`: one row per call to a language model (tokens, latency, outcome, cost).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use crate::{StoreError, stmt};

/// How a call ended.
pub const OUTCOMES: &[&str] = &["ok", "error", "timeout", "rate_limited", "overloaded", "failed_over"];

#[derive(Debug, Clone, Default)]
pub struct NewUsage {
    /// anthropic, openai, … (`""` when unknown).
    pub provider: String,
    pub model: String,
    /// chat, classify, summarize, …
    pub purpose: Option<String>,
    pub department: Option<String>,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub input_tokens: i32,
    pub output_tokens: i32,
    pub latency_ms: i32,
    /// One of [`OUTCOMES`].
    pub outcome: String,
    pub cost_usd: Option<f64>,
}

fn invalid(msg: String) -> StoreError {
    StoreError::Invalid(msg)
}

/// A usage row that passed [`check`], ready to insert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckedUsage {
    provider: String,
    model: String,
    purpose: Option<String>,
    department: Option<String>,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
    input_tokens: i32,
    output_tokens: i32,
    latency_ms: i32,
    outcome: String,
    cost_usd: Option<f64>,
}

/// Negative counts, an unknown outcome or a non-finite or negative cost are refused.
pub fn check(u: NewUsage) -> Result<CheckedUsage, StoreError> {
    let model = u.model.trim();
    if model.is_empty() || model.len() > 200 {
        return Err(invalid("model must be 1 to 200 characters".into()));
    }
    let outcome = u.outcome.trim().to_lowercase();
    if !OUTCOMES.contains(&outcome.as_str()) {
        return Err(invalid(format!("outcome must be one of {}, not {:?}", OUTCOMES.join(", "), u.outcome)));
    }
    for (field, v) in
        [("input_tokens", u.input_tokens), ("output_tokens", u.output_tokens), ("latency_ms", u.latency_ms)]
    {
        if v < 0 {
            return Err(invalid(format!("{field} must not be negative, not {v}")));
        }
    }
    if let Some(c) = u.cost_usd
        && !(c.is_finite() && (0.0..1_000_000.0).contains(&c))
    {
        return Err(invalid(format!("cost_usd must be between 0 and 1,000,000, not {c}")));
    }
    let blank_to_none = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(CheckedUsage {
        provider: u.provider.trim().to_lowercase(),
        model: model.to_string(),
        purpose: blank_to_none(u.purpose),
        department: blank_to_none(u.department),
        user_id: u.user_id,
        session_id: u.session_id,
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        latency_ms: u.latency_ms,
        outcome,
        cost_usd: u.cost_usd,
    })
}

/// The INSERT of a JSON array of [`CheckedUsage`] (`$n` is the array), for use inside a
/// larger statement.
pub(crate) fn insert_many_sql(param: usize) -> String {
    format!(
        "INSERT INTO llm_usage (provider, model, purpose, department, user_id, session_id, input_tokens, \
             output_tokens, latency_ms, outcome, cost_usd) \
         SELECT provider, model, purpose, department, user_id, session_id, input_tokens, output_tokens, latency_ms, \
                outcome, cost_usd::numeric \
         FROM jsonb_to_recordset(${param}::jsonb) AS x(provider text, model text, purpose text, department text, \
              user_id uuid, session_id uuid, input_tokens int, output_tokens int, latency_ms int, outcome text, \
              cost_usd float8)"
    )
}

/// Records one call. Besides [`check`]'s rules, a `user_id` that is not a user is refused.
pub async fn record(db: &impl ConnectionTrait, u: NewUsage) -> Result<(), StoreError> {
    let row = check(u)?;
    let rows = serde_json::to_value(vec![row]).map_err(|e| invalid(e.to_string()))?;
    db.execute_raw(stmt(db, &insert_many_sql(1), vec![rows.into()]))
        .await
        .map_err(|e| StoreError::refused(e, "llm usage (unknown user)"))?;
    Ok(())
}

/// Calls per provider and model in `[from, to)`, the busiest first.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct UsageSummaryRow {
    pub provider: String,
    pub model: String,
    pub calls: i64,
    /// Calls whose outcome was not `ok`.
    pub failed_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Sum of the recorded costs (calls without a cost count as 0).
    pub cost_usd: f64,
    pub avg_latency_ms: Option<f64>,
}

pub async fn summary(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UsageSummaryRow>, StoreError> {
    if from > to {
        return Err(invalid(format!("the period's start ({from}) is after its end ({to})")));
    }
    Ok(UsageSummaryRow::find_by_statement(stmt(
        db,
        "SELECT provider, model, count(*) AS calls, count(*) FILTER (WHERE outcome <> 'ok') AS failed_calls, \
                COALESCE(sum(input_tokens), 0)::bigint AS input_tokens, \
                COALESCE(sum(output_tokens), 0)::bigint AS output_tokens, \
                COALESCE(sum(cost_usd), 0)::float8 AS cost_usd, avg(latency_ms)::float8 AS avg_latency_ms \
         FROM llm_usage WHERE created_at >= $1 AND created_at < $2 \
         GROUP BY provider, model ORDER BY calls DESC, provider, model",
        vec![from.into(), to.into()],
    ))
    .all(db)
    .await?)
}
