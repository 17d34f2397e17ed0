//! The sweeper (in every worker; row locks keep two from taking the same jobs): pushes due
//! jobs that Redis does not have (never pushed, a crash between commit and push, a flushed
//! or restarted Redis, due retries, far-future jobs whose time came, overflow of a full
//! lane) and recovers jobs whose worker stopped heart-beating. Each lane's Redis backlog is
//! topped up to at most `jobs::MAX_BACKLOG`; PostgreSQL holds the rest. Every 30 s it also
//! trims what apalis-redis keeps of finished tasks.

use std::time::Duration;

use domain::jobs::{Lane, Queue};
use jobs::Transport;
use store::DatabaseConnection;

#[derive(Debug, Clone)]
pub struct SweepSettings {
    pub interval: Duration,
    pub batch: u64,
    /// A pushed job still unclaimed after this long is pushed again.
    pub repush_after: Duration,
    pub stale_after: Duration,
}

/// A lane whose Redis backlog is empty has lost whatever was pushed more than this long
/// ago and not claimed (a flush or restart): those jobs are pushed again at once. A lane with
/// a backlog waits `repush_after` before pushing a job a second time.
const LOST_AFTER_SECS: i64 = 5;

/// Pause between passes while jobs are being pushed.
const REFILL_PAUSE: Duration = Duration::from_millis(25);

/// How often finished apalis entries are trimmed from Redis.
const VACUUM_EVERY: Duration = Duration::from_secs(30);

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
    let lanes = match store::jobs::due_lanes(db, LOST_AFTER_SECS).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "reading due jobs failed");
            return (0, recovered);
        }
    };
    let mut pushed = 0;
    for l in lanes {
        let (Ok(queue), Ok(lane)) = (l.queue.parse::<Queue>(), l.lane.parse::<Lane>()) else { continue };
        let backlog = match transport.backlog(queue, lane).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "Redis unavailable; will push later");
                return (pushed, recovered);
            }
        };
        let room = jobs::MAX_BACKLOG.saturating_sub(backlog).min(s.batch);
        if room == 0 {
            continue;
        }
        let repush_after = if backlog == 0 { LOST_AFTER_SECS } else { s.repush_after.as_secs() as i64 };
        let due = match store::jobs::take_due(db, &l.queue, &l.lane, room, repush_after).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reading due jobs failed");
                continue;
            }
        };
        let ids: Vec<uuid::Uuid> = due.iter().map(|j| j.id).collect();
        match transport.push_many(&ids, queue, lane).await {
            Ok(()) => pushed += ids.len(),
            Err(e) => {
                tracing::warn!(error = %e, "push failed; will retry");
                let _ = store::jobs::set_pushed(db, &ids, false).await;
            }
        }
    }
    (pushed, recovered)
}

pub async fn run(
    db: DatabaseConnection,
    transport: Transport,
    s: SweepSettings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_vacuum = tokio::time::Instant::now();
    loop {
        if last_vacuum.elapsed() >= VACUUM_EVERY {
            last_vacuum = tokio::time::Instant::now();
            match jobs::vacuum(transport.redis(), 1000).await {
                Ok(n) if n > 0 => tracing::debug!(removed = n, "trimmed finished entries from Redis"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "trimming Redis failed"),
            }
        }
        let (pushed, _) = sweep_once(&db, &transport, &s).await;
        // While a backlog drains, top lanes up again soon instead of waiting a full interval
        // (otherwise the sweeper, not the workers, would set the throughput).
        let wait = if pushed > 0 { REFILL_PAUSE.min(s.interval) } else { s.interval };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = crate::runtime::until_true(&mut stop) => return,
        }
    }
}
