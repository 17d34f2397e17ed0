use std::time::Duration;

use domain::{Permission, Principal};
use kv::presence::ProcessInfo;
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::AppContext;
use crate::error::ApiResult;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /health`: enough for a load balancer, nothing an attacker can use.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicHealth {
    /// `ok` or `degraded`.
    pub status: &'static str,
    pub version: &'static str,
    /// `ok` or `down`.
    pub database: &'static str,
    /// `ok` or `down`.
    pub redis: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentHealth {
    /// `ok` or `down`.
    pub status: &'static str,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessHealth {
    pub name: String,
    pub pid: u32,
    pub host: String,
    pub version: String,
    pub started_at: u64,
    pub last_seen: u64,
}

/// `GET /admin/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminHealth {
    pub status: &'static str,
    pub version: &'static str,
    pub environment: String,
    pub uptime_secs: u64,
    pub database: ComponentHealth,
    pub redis: ComponentHealth,
    /// Worker processes that reported in the last 30 s.
    pub workers: Vec<ProcessHealth>,
    /// Scheduler processes that reported in the last 30 s.
    pub schedulers: Vec<ProcessHealth>,
    /// Per-queue counts, oldest waiting age and throughput.
    pub queues: Vec<crate::jobs::QueueView>,
    /// Configured LLM providers (name, model, vision, circuit breaker); empty: offline.
    #[schema(value_type = Vec<Object>)]
    pub llm_providers: Vec<serde_json::Value>,
    /// Delivery and storage back ends: which are configured (`outbox` when not).
    #[schema(value_type = Object)]
    pub integrations: serde_json::Value,
    /// Media input processors: OCR, documents, video, transcription, vision, browser.
    #[schema(value_type = Object)]
    pub processors: serde_json::Value,
    /// Live connections held by this api process.
    pub websocket_connections: usize,
}

async fn component<F, E>(check: F) -> ComponentHealth
where
    F: std::future::Future<Output = Result<Duration, E>>,
    E: std::fmt::Display,
{
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(d)) => ComponentHealth { status: "ok", latency_ms: Some(d.as_secs_f64() * 1000.0), error: None },
        Ok(Err(e)) => ComponentHealth { status: "down", latency_ms: None, error: Some(e.to_string()) },
        Err(_) => ComponentHealth { status: "down", latency_ms: None, error: Some("timed out after 3 s".into()) },
    }
}

async fn probe(ctx: &AppContext) -> (ComponentHealth, ComponentHealth) {
    tokio::join!(component(store::ping(&ctx.db)), component(ctx.redis.ping()))
}

/// Returns the report and whether everything is up.
pub async fn public(ctx: &AppContext) -> (PublicHealth, bool) {
    let (db, redis) = probe(ctx).await;
    let ok = db.status == "ok" && redis.status == "ok";
    (
        PublicHealth {
            status: if ok { "ok" } else { "degraded" },
            version: VERSION,
            database: db.status,
            redis: redis.status,
        },
        ok,
    )
}

fn to_process(p: ProcessInfo) -> ProcessHealth {
    ProcessHealth {
        name: p.name,
        pid: p.pid,
        host: p.host,
        version: p.version,
        started_at: p.started_at,
        last_seen: p.last_seen,
    }
}

pub async fn detailed(ctx: &AppContext, caller: &Principal) -> ApiResult<(AdminHealth, bool)> {
    caller.require(Permission::SystemHealth)?;
    let (database, redis) = probe(ctx).await;
    let ok = database.status == "ok" && redis.status == "ok";
    let queues =
        if database.status == "ok" { crate::jobs::queue_stats(ctx).await.unwrap_or_default() } else { Vec::new() };
    let (workers, schedulers) = if redis.status == "ok" {
        (
            kv::presence::live(&ctx.redis, "worker", 30).await.unwrap_or_default(),
            kv::presence::live(&ctx.redis, "scheduler", 30).await.unwrap_or_default(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok((
        AdminHealth {
            status: if ok { "ok" } else { "degraded" },
            version: VERSION,
            environment: format!("{:?}", ctx.settings.environment).to_lowercase(),
            uptime_secs: ctx.started_at.elapsed().as_secs(),
            database,
            redis,
            workers: workers.into_iter().map(to_process).collect(),
            schedulers: schedulers.into_iter().map(to_process).collect(),
            queues,
            llm_providers: ctx
                .assistant
                .llm
                .providers()
                .into_iter()
                .map(|p| {
                    let breaker = ctx.assistant.llm.breaker_state(&p.name).map(|b| format!("{b:?}").to_lowercase());
                    serde_json::json!({"name": p.name, "model": p.model, "vision": p.vision, "breaker": breaker})
                })
                .collect(),
            processors: ctx.intake.health().await,
            websocket_connections: ctx.hub.local_connections(),
            integrations: {
                let i = &ctx.assistant.integrations;
                serde_json::json!({
                    "microsoft_365": if i.graph.is_some() { "configured" } else { "outbox" },
                    "teams_team": if i.team_id.is_empty() { None } else { Some(&i.team_id) },
                    "push": if i.fcm.is_some() { "configured" } else { "outbox" },
                    "storage": i.storage.describe(),
                    "web_client": if i.web.is_some() { "ssrf-guarded" } else { "off" },
                    "linkedin": if i.linkedin.is_some() { "configured" } else { "not configured" },
                })
            },
        },
        ok,
    ))
}
