//! The sweeper (in every worker; row locks keep two from taking the same jobs): pushes due
//! jobs that Redis does not have (never pushed, a crash between commit and push, a flushed
//! or restarted Redis, due retries, far-future jobs whose time came) and recovers jobs
//! whose worker stopped heart-beating. Batches are bounded, so the Redis backlog stays
//! small and PostgreSQL holds any overflow.

use std::time::Duration;

use domain::jobs::{Lane, Queue};
use jobs::Transport;
use store::DatabaseConnection;

#[derive(Debug, Clone)]
pub struct SweepSettings {
    pub interval: Duration,
    pub batch: u64,
    /// A job pushed this long ago and still not claimed is pushed again.
    pub repush_after: Duration,
    pub stale_after: Duration,
}

/// One pass; returns (pushed, recovered).
pub async fn sweep_once(db: &DatabaseConnection, transport: &Transport, s: &SweepSettings) -> (usize, usize) {
    let recovered = match store::jobs::recover_stale(db, s.stale_after.as_secs() as i64).await {
        Ok(rows) => {
            for r in &rows {
                tracing::warn!(job = %r.id, status = %r.status, error = ?r.last_error, "recovered a job from a silent worker");
            }
            rows.len()
        }
        Err(e) => {
            tracing::warn!(error = %e, "recovering stale jobs failed");
            0
        }
    };
    let due = match store::jobs::take_due(db, s.batch, s.repush_after.as_secs() as i64).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading due jobs failed");
            return (0, recovered);
        }
    };
    let mut failed = Vec::new();
    for j in &due {
        let (Ok(queue), Ok(lane)) = (j.queue.parse::<Queue>(), j.lane.parse::<Lane>()) else { continue };
        if let Err(e) = transport.push(j.id, queue, lane).await {
            tracing::warn!(error = %e, "push failed; will retry");
            failed.push(j.id);
        }
    }
    if !failed.is_empty() {
        let _ = store::jobs::unmark_pushed(db, &failed).await;
    }
    (due.len() - failed.len(), recovered)
}

pub async fn run(
    db: DatabaseConnection,
    transport: Transport,
    s: SweepSettings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(s.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let (pushed, _) = sweep_once(&db, &transport, &s).await;
                if pushed as u64 == s.batch {
                    // More waiting: go again at once (still bounded per pass).
                    tick.reset_immediately();
                }
            }
            _ = crate::runtime::until_true(&mut stop) => return,
        }
    }
}
