//! The scheduler process. Today it connects to PostgreSQL and Redis, checks the schema,
//! reports liveness (visible in `GET /admin/health`) and shuts down cleanly on
//! SIGTERM/SIGINT. Firing schedules is not built yet; ARCHITECTURE.md says so.

use std::future::Future;
use std::time::Duration;

use settings::Settings;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = store::connect_configured(&settings.database).await?;
    store::require_schema(&db, &migrations::migration_names()).await?;
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    let info = kv::presence::ProcessInfo::this_process("scheduler", VERSION);
    tracing::info!(name = %info.name, timezone = %settings.scheduler.timezone, "mezzofy-scheduler ready (no schedules fire yet: liveness only)");
    kv::presence::report_until(&redis, info, Duration::from_secs(settings.scheduler.heartbeat_secs), shutdown).await;
    db.close().await.ok();
    tracing::info!("mezzofy-scheduler stopped");
    Ok(())
}
