//! Consuming the lanes: apalis workers (one per queue and lane, unique names, restarted on
//! failure) take job ids from Redis and hand them to our executors, which run them with a
//! fixed number of slots per lane. apalis only transports ids; claims, retries, dead letters
//! and time limits are ours (runtime.rs), in PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data, Monitor, WorkerBuilder};
use apalis_redis::RedisStorage;
use domain::jobs::{Lane, Queue};
use jobs::JobRef;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::runtime::Runtime;

#[derive(Clone)]
struct Forward {
    tx: mpsc::Sender<Uuid>,
    closing: watch::Receiver<bool>,
    db: store::DatabaseConnection,
}

/// The apalis handler: passes the id to an executor slot (waiting while all are busy, which
/// is the backpressure that keeps Redis, not memory, holding the backlog).
async fn forward(job: JobRef, f: Data<Forward>) -> Result<(), BoxDynError> {
    let mut closing = f.closing.clone();
    if *closing.borrow() {
        let _ = store::jobs::set_pushed(&f.db, &[job.id], false).await;
        return Ok(());
    }
    tokio::select! {
        r = f.tx.send(job.id) => {
            if r.is_err() {
                let _ = store::jobs::set_pushed(&f.db, &[job.id], false).await;
            }
        }
        _ = crate::runtime::until_true(&mut closing) => {
            let _ = store::jobs::set_pushed(&f.db, &[job.id], false).await;
        }
    }
    Ok(())
}

pub struct Executors {
    tasks: JoinSet<()>,
    monitor: tokio::task::JoinHandle<()>,
    closing: watch::Sender<bool>,
    abort: watch::Sender<bool>,
}

/// Starts `slots(queue)` executors per lane of every queue and the apalis workers feeding them.
pub fn start(runtime: Arc<Runtime>, slots: impl Fn(Queue) -> usize, abort: watch::Sender<bool>) -> Executors {
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    // Restart apalis workers that fail (a Redis outage), except while shutting down.
    let restart_unless_closing = closing_rx.clone();
    let mut monitor = Monitor::new().should_restart(move |_, _| !*restart_unless_closing.borrow());
    let prefix = runtime.redis.prefix().to_string();
    for queue in Queue::ALL {
        let slots = slots(queue).max(1);
        for lane in Lane::ALL {
            let (tx, rx) = mpsc::channel::<Uuid>(slots);
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..slots {
                let (rt, rx, closing) = (runtime.clone(), rx.clone(), closing_rx.clone());
                tasks.spawn(async move { slot(rt, rx, closing).await });
            }
            let storage: RedisStorage<JobRef> =
                RedisStorage::new(runtime.redis.conn()).with_config(jobs::apalis_config(&prefix, queue, lane));
            let forward_data = Forward { tx, closing: closing_rx.clone(), db: runtime.db.clone() };
            let base = format!("{}-{}-{}", runtime.name, queue.as_str(), lane.as_str());
            monitor = monitor.register(move |restarts| {
                WorkerBuilder::new(format!("{base}-r{restarts}"))
                    .backend(storage.clone())
                    .data(forward_data.clone())
                    .build(forward)
            });
        }
    }
    let mut stop = closing_rx.clone();
    let monitor = tokio::spawn(async move {
        let signal = async move {
            let _ = stop.wait_for(|c| *c).await;
            Ok(())
        };
        if let Err(e) = monitor.run_with_signal(signal).await {
            tracing::warn!(error = %e, "apalis monitor stopped with an error");
        }
    });
    Executors { tasks, monitor, closing: closing_tx, abort }
}

async fn slot(rt: Arc<Runtime>, rx: Arc<Mutex<mpsc::Receiver<Uuid>>>, mut closing: watch::Receiver<bool>) {
    loop {
        let next = {
            let mut rx = rx.lock().await;
            tokio::select! {
                id = rx.recv() => id,
                _ = crate::runtime::until_true(&mut closing) => None,
            }
        };
        match next {
            Some(id) => {
                rt.execute(id).await;
            }
            None => break,
        }
    }
    // Hand back what was taken from Redis but not started.
    let mut rx = rx.lock().await;
    let mut left = Vec::new();
    while let Ok(id) = rx.try_recv() {
        left.push(id);
    }
    if !left.is_empty() {
        let _ = store::jobs::set_pushed(&rt.db, &left, false).await;
    }
}

impl Executors {
    /// Stops taking jobs, lets running ones finish within `grace`, then hands the rest back.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.closing.send(true);
        let drained = tokio::time::timeout(grace, async { while self.tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!("grace period over; handing running jobs back");
            let _ = self.abort.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while self.tasks.join_next().await.is_some() {}
            })
            .await;
        }
        // apalis may hold a few fetched ids; if its workers do not wind down promptly they
        // are dropped: those ids are re-pushed by the sweepers (PostgreSQL still has the jobs
        // queued) or re-enqueued by apalis's own orphan recovery.
        if tokio::time::timeout(Duration::from_secs(2), &mut self.monitor).await.is_err() {
            tracing::debug!("apalis monitor did not stop within 2 s; aborting it");
            self.monitor.abort();
        }
    }
}
