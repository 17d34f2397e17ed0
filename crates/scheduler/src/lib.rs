//! The scheduler process: syncs the built-in schedules from the configuration, then fires
//! due schedules (built-in and users') by enqueueing jobs — exactly once per occurrence
//! however many schedulers run ([`runner`]). It reports liveness (`GET /admin/health`) and
//! stops cleanly on SIGTERM/SIGINT.

use std::future::Future;
use std::time::Duration;

use settings::Settings;

pub mod runner;
pub mod schedule;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = store::connect_configured(&settings.database).await?;
    store::require_schema(&db, &migrations::migration_names()).await?;
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    runner::sync_builtins(&db, &settings).await?;
    let info = kv::presence::ProcessInfo::this_process("scheduler", VERSION);
    tracing::info!(name = %info.name, timezone = %settings.scheduler.timezone, builtin = settings.scheduler.builtin.len(), "mezzofy-scheduler ready");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let passes = tokio::spawn(runner::run_loop(
        db.clone(),
        redis.clone(),
        Duration::from_millis(settings.scheduler.tick_ms),
        stop_rx,
    ));
    kv::presence::report_until(&redis, info, Duration::from_secs(settings.scheduler.heartbeat_secs), shutdown).await;
    let _ = stop_tx.send(true);
    let _ = passes.await;
    db.close().await.ok();
    tracing::info!("mezzofy-scheduler stopped");
    Ok(())
}
