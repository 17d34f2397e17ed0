//! The worker process. Today it connects to PostgreSQL and Redis, checks the schema, reports
//! liveness (visible in `GET /admin/health`) and shuts down cleanly on SIGTERM/SIGINT. The
//! job system (queues, retries, dead letters) is not built yet; ARCHITECTURE.md says so.

use std::future::Future;
use std::time::Duration;

use settings::Settings;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = store::connect_configured(&settings.database).await?;
    let missing = store::missing_migrations(&db, &migrations::migration_names()).await?;
    if let Some(first) = missing.first() {
        anyhow::bail!("the database is not migrated (first missing: {first}); run `mezzofy migrate`");
    }
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    let info = kv::presence::ProcessInfo::this_process("worker", VERSION);
    tracing::info!(name = %info.name, "mezzofy-worker ready (no job queues yet: liveness only)");
    kv::presence::report_until(&redis, info, Duration::from_secs(settings.worker.heartbeat_secs), shutdown).await;
    db.close().await.ok();
    tracing::info!("mezzofy-worker stopped");
    Ok(())
}
