//! apalis-redis 1.0 defects that the wrapper keeps out of the product. Each test runs the
//! same scenario twice: against the bare crate (default configuration, our handler
//! directly), where the defect shows, and through our wrapper, where it does not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::{BoxDynError, Data, TaskSink, WorkerBuilder};
use apalis_redis::{Config, RedisStorage};
use domain::jobs::{Lane, Queue};
use jobs::{JobRef, NewJob};
use serde_json::json;
use testkit::TestApp;
use uuid::Uuid;
use worker::{KindSpec, Registry};

async fn count(_job: JobRef, counter: Data<Arc<AtomicU32>>) -> Result<(), BoxDynError> {
    counter.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn bare_storage(app: &TestApp, queue: &str) -> RedisStorage<JobRef> {
    RedisStorage::new(app.redis.conn())
        .with_config(Config::default().queue(format!("{}bare:{queue}", app.redis.prefix())))
}

/// Runs a bare apalis worker in the background until the test ends.
fn run_bare(storage: RedisStorage<JobRef>, counter: Arc<AtomicU32>) {
    let worker =
        WorkerBuilder::new(format!("bare-{}", Uuid::new_v4().simple())).backend(storage).data(counter).build(count);
    tokio::spawn(async move {
        let _ = worker.run().await;
    });
}

async fn reaches(counter: &AtomicU32, n: u32, within: Duration) -> bool {
    TestApp::eventually(within, || async { counter.load(Ordering::SeqCst) >= n }).await
}

fn counting(counter: Arc<AtomicU32>) -> Registry {
    Registry::default().register(
        "test.count",
        KindSpec::new(move |_ctx, _p| {
            let c = counter.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(json!({}))
            }
        }),
    )
}

async fn enqueue(app: &TestApp) -> jobs::Enqueued {
    let e = jobs::enqueue(&app.db, NewJob::new(Queue::Agent, "test.count", json!({}))).await.unwrap();
    jobs::Transport::new(app.redis.clone()).dispatch(&app.db, &[e]).await;
    e
}

/// Defect: a pushed task is delivered as often as it is pushed (dedupe is off by default).
/// Wrapper: the claim in PostgreSQL runs a job once however often its id arrives.
#[tokio::test]
async fn duplicate_pushes() {
    let app = TestApp::spawn().await;
    let bare = Arc::new(AtomicU32::new(0));
    let mut storage = bare_storage(&app, "dup");
    let id = Uuid::now_v7();
    storage.push(JobRef { id }).await.unwrap();
    storage.push(JobRef { id }).await.unwrap();
    run_bare(storage, bare.clone());
    assert!(reaches(&bare, 2, Duration::from_secs(60)).await, "bare crate: expected both deliveries to run");

    let ours = Arc::new(AtomicU32::new(0));
    let w = worker::start(&app.settings, app.db.clone(), app.redis.clone(), counting(ours.clone()));
    let e = enqueue(&app).await;
    let t = jobs::Transport::new(app.redis.clone());
    t.push(e.id, Queue::Agent, Lane::Normal).await.unwrap();
    assert!(reaches(&ours, 1, Duration::from_secs(20)).await);
    tokio::time::sleep(Duration::from_secs(2)).await; // time for the duplicate to arrive
    assert_eq!(ours.load(Ordering::SeqCst), 1, "wrapper: a duplicate delivery ran the job twice");
    w.stop().await;
}

/// Defect: an idle worker is parked until its next heartbeat (30 s by default), so a new
/// task waits that long. Wrapper: picked up within a second.
#[tokio::test]
async fn pickup_stall() {
    let app = TestApp::spawn().await;
    let bare = Arc::new(AtomicU32::new(0));
    let mut storage = bare_storage(&app, "stall");
    run_bare(storage.clone(), bare.clone());
    tokio::time::sleep(Duration::from_secs(2)).await; // idle: parked
    storage.push(JobRef { id: Uuid::now_v7() }).await.unwrap();
    assert!(!reaches(&bare, 1, Duration::from_secs(3)).await, "bare crate picked up within 3 s: defect gone?");

    let ours = Arc::new(AtomicU32::new(0));
    let w = worker::start(&app.settings, app.db.clone(), app.redis.clone(), counting(ours.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    enqueue(&app).await;
    assert!(reaches(&ours, 1, Duration::from_secs(1)).await, "wrapper: not picked up within 1 s");
    assert!(start.elapsed() < Duration::from_secs(1));
    w.stop().await;
}

/// Defect: 8,000 or more due tasks in a queue make every fetch fail ("too many results to
/// unpack"); nothing runs. Wrapper: Redis holds at most `MAX_BACKLOG` ids per lane and the
/// 9,000-job test in jobs.rs drains.
#[tokio::test]
async fn due_backlog_over_8000() {
    let app = TestApp::spawn().await;
    let bare = Arc::new(AtomicU32::new(0));
    let mut storage = bare_storage(&app, "flood");
    storage.push_bulk((0..8_000).map(|_| JobRef { id: Uuid::now_v7() }).collect()).await.unwrap();
    run_bare(storage, bare.clone());
    assert!(!reaches(&bare, 1, Duration::from_secs(5)).await, "bare crate ran tasks with 8,000 due: defect gone?");

    let all: Vec<jobs::Enqueued> = {
        let mut v = Vec::new();
        for _ in 0..1_200 {
            v.push(jobs::enqueue(&app.db, NewJob::new(Queue::Agent, "test.count", json!({}))).await.unwrap());
        }
        v
    };
    let t = jobs::Transport::new(app.redis.clone());
    t.dispatch(&app.db, &all).await;
    assert_eq!(t.backlog(Queue::Agent, Lane::Normal).await.unwrap(), jobs::MAX_BACKLOG, "wrapper: backlog not bounded");
}

/// Defect: a worker built the documented way (`apalis_redis::connect`, no restart policy)
/// dies when Redis restarts and never runs another task. Wrapper: our connection and
/// restart policy (test `workers_survive_a_redis_restart` in jobs.rs).
#[tokio::test]
async fn redis_restart_kills_bare_workers() {
    let mut redis = testkit::PrivateRedis::start();
    let conn = apalis_redis::connect(redis.url()).await.unwrap();
    let config = Config::default().queue("bare:restart").heartbeat_interval(Duration::from_millis(500));
    let mut storage = RedisStorage::<JobRef>::new(conn).with_config(config.clone());
    let bare = Arc::new(AtomicU32::new(0));
    run_bare(storage.clone(), bare.clone());
    storage.push(JobRef { id: Uuid::now_v7() }).await.unwrap();
    assert!(reaches(&bare, 1, Duration::from_secs(10)).await, "the bare worker never ran");
    redis.restart();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fresh = apalis_redis::connect(redis.url()).await.unwrap();
    let mut again = RedisStorage::<JobRef>::new(fresh).with_config(config);
    again.push(JobRef { id: Uuid::now_v7() }).await.unwrap();
    assert!(!reaches(&bare, 2, Duration::from_secs(5)).await, "the bare worker survived a Redis restart: defect gone?");
    let _ = &mut storage;
}
