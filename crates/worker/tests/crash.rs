//! kill -9 of a worker process in the middle of a job: another worker finishes it within
//! 60 s and its effect happens once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use domain::jobs::Queue;
use jobs::NewJob;
use serde_json::json;
use store::TransactionTrait;
use testkit::TestApp;
use testkit::process::{env_for, spawn};

const BIN: &str = env!("CARGO_BIN_EXE_mezzofy-worker");

#[tokio::test]
async fn a_killed_worker_s_job_is_finished_by_another() {
    let app = TestApp::spawn_with(|s| {
        s.worker.heartbeat_secs = 1;
        s.worker.sweep_interval_ms = 200;
    })
    .await;
    let mut child = spawn(Path::new(BIN), &[], &env_for(&app.settings));

    let txn = app.db.begin().await.unwrap();
    let e = jobs::enqueue(&txn, NewJob::new(Queue::Maintenance, worker::builtin::SELFTEST, json!({"sleep_ms": 4000})))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    jobs::Transport::new(app.redis.clone()).dispatch(&app.db, &[e]).await;

    let running = TestApp::eventually(Duration::from_secs(30), || async {
        store::jobs::get(&app.db, e.id).await.unwrap().unwrap().status == "running"
    })
    .await;
    assert!(running, "the worker process never started the job");
    let victim = store::jobs::get(&app.db, e.id).await.unwrap().unwrap().worker.unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_at = Instant::now();

    let w = worker::start(&app.settings, app.db.clone(), app.redis.clone(), worker::builtin::registry());
    let done = TestApp::eventually(Duration::from_secs(60), || async {
        store::jobs::get(&app.db, e.id).await.unwrap().unwrap().status == "completed"
    })
    .await;
    let row = store::jobs::get(&app.db, e.id).await.unwrap().unwrap();
    assert!(done, "not completed 60 s after the crash: {row:?}");
    assert!(killed_at.elapsed() < Duration::from_secs(60));
    assert_ne!(row.worker.as_deref(), Some(victim.as_str()));
    assert_eq!(row.attempts, 2);
    assert_eq!(store::effects::count_done(&app.db, e.id).await.unwrap(), 1);
    w.stop().await;
}
