//! The worker process: consumes the job queues (apalis on Redis, wrapped so only ids travel
//! there), runs each job with PostgreSQL as the truth (claim, lease, retries, dead letters,
//! time limits, exactly-once effects), sweeps for work Redis lost, reports liveness, and on
//! SIGTERM finishes or hands back what it runs.

pub mod agent_jobs;
pub mod builtin;
pub mod delivery_jobs;
mod executor;
pub mod media_jobs;
pub mod runtime;
pub mod sweeper;
pub mod webhook_jobs;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use runtime::{EffectAttempt, JobContext, JobFailure, KindSpec, Outcome, Registry, Runtime};
use settings::Settings;
use tokio::sync::watch;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A running worker (tests start several in one process).
pub struct WorkerHandle {
    pub name: String,
    executors: executor::Executors,
    sweeper: tokio::task::JoinHandle<()>,
    presence: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    grace: Duration,
}

impl WorkerHandle {
    /// Graceful stop: no new jobs, running ones finish within the grace period, the rest go
    /// back to the queue for another worker.
    pub async fn stop(self) {
        self.executors.shutdown(self.grace).await;
        let _ = self.stop.send(true);
        let _ = self.sweeper.await;
        let _ = self.presence.await;
    }
}

/// Starts a worker with `registry` on already-open connections.
pub fn start(settings: &Settings, db: store::DatabaseConnection, redis: kv::Redis, registry: Registry) -> WorkerHandle {
    let info = kv::presence::ProcessInfo::this_process("worker", VERSION);
    let heartbeat = Duration::from_secs(settings.worker.heartbeat_secs);
    let (abort_tx, abort_rx) = watch::channel(false);
    let runtime = Arc::new(Runtime {
        db: db.clone(),
        redis: redis.clone(),
        registry,
        name: Arc::from(info.name.as_str()),
        heartbeat,
        abort: abort_rx,
    });
    let worker_settings = settings.worker.clone();
    let executors = executor::start(runtime, move |q| worker_settings.concurrency_of(q.as_str()), abort_tx);
    let (stop_tx, stop_rx) = watch::channel(false);
    let sweep = sweeper::SweepSettings {
        interval: Duration::from_millis(settings.worker.sweep_interval_ms),
        batch: settings.worker.sweep_batch,
        repush_after: Duration::from_secs(settings.worker.repush_after_secs),
        stale_after: runtime::stale_after(heartbeat),
    };
    let sweeper = tokio::spawn(sweeper::run(db, jobs::Transport::new(redis.clone()), sweep, stop_rx.clone()));
    let name = info.name.clone();
    let presence = {
        let mut stop = stop_rx;
        tokio::spawn(async move {
            kv::presence::report_until(&redis, info, heartbeat, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        })
    };
    WorkerHandle {
        name,
        executors,
        sweeper,
        presence,
        stop: stop_tx,
        grace: Duration::from_secs(settings.worker.shutdown_grace_secs),
    }
}

/// The `mezzofy-worker` process: runs until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = store::connect_configured(&settings.database).await?;
    store::require_schema(&db, &migrations::migration_names()).await?;
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    let roles = settings::load_roles(std::path::Path::new(&settings.paths.roles_file))?;
    let timeout = Duration::from_secs(settings.agents.job_timeout_secs);
    let assistant = agents::chat::build(Arc::new(settings.clone()), db.clone())?;
    let deliverer = Arc::new(delivery_jobs::Deliverer::new(assistant.integrations.clone()));
    let assistant = Arc::new(assistant);
    let roles = Arc::new(roles);
    let intake = Arc::new(agents::intake::Intake::from_settings(&settings, assistant.llm.clone()));
    let registry = agent_jobs::register(builtin::registry(), assistant.clone(), roles.clone(), timeout);
    let registry = media_jobs::register(registry, assistant.clone(), roles, intake, timeout);
    let registry = delivery_jobs::register(registry, deliverer);
    let registry = webhook_jobs::register(registry, assistant);
    let handle = start(&settings, db.clone(), redis, registry);
    tracing::info!(name = %handle.name, concurrency = settings.worker.concurrency, "mezzofy-worker ready");
    shutdown.await;
    handle.stop().await;
    db.close().await.ok();
    tracing::info!("mezzofy-worker stopped");
    Ok(())
}
