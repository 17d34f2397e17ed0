//! The job system end to end on real PostgreSQL and Redis: outbox, sweeper, retries, dead
//! letters, replay, priorities, time limits, exactly-once effects, shutdown and crashes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use domain::jobs::{Queue, RetryPolicy};
use jobs::NewJob;
use serde_json::{Value, json};
use store::TransactionTrait;
use testkit::TestApp;
use uuid::Uuid;
use worker::{JobFailure, KindSpec, Registry};

async fn app() -> TestApp {
    TestApp::spawn_with(|s| {
        s.worker.heartbeat_secs = 1;
        s.worker.sweep_interval_ms = 100;
        s.worker.repush_after_secs = 2;
        s.worker.concurrency = 2;
        s.worker.shutdown_grace_secs = 1;
    })
    .await
}

async fn enqueue(app: &TestApp, job: NewJob) -> jobs::Enqueued {
    let txn = app.db.begin().await.unwrap();
    let e = jobs::enqueue(&txn, job).await.unwrap();
    txn.commit().await.unwrap();
    jobs::Transport::new(app.redis.clone()).dispatch(&app.db, &[e]).await;
    e
}

async fn status(app: &TestApp, id: Uuid) -> store::jobs::JobRow {
    store::jobs::get(&app.db, id).await.unwrap().unwrap()
}

async fn wait_status(app: &TestApp, id: Uuid, want: &str, limit: Duration) -> store::jobs::JobRow {
    let ok = TestApp::eventually(limit, || async { status(app, id).await.status == want }).await;
    let row = status(app, id).await;
    assert!(ok, "job {id} is {} (wanted {want}); last_error={:?}", row.status, row.last_error);
    row
}

fn counting(counter: Arc<AtomicU32>) -> KindSpec {
    KindSpec::new(move |_ctx, _p| {
        let c = counter.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"done": true}))
        }
    })
}

/// A worker whose only kind, `test.count`, counts its runs.
fn start_counting(app: &TestApp, counter: Arc<AtomicU32>) -> worker::WorkerHandle {
    worker::start(
        &app.settings,
        app.db.clone(),
        app.redis.clone(),
        Registry::default().register("test.count", counting(counter)),
    )
}

#[tokio::test]
async fn committed_jobs_run_and_rolled_back_ones_never_do() {
    let app = app().await;
    let runs = Arc::new(AtomicU32::new(0));
    let w = start_counting(&app, runs.clone());

    let txn = app.db.begin().await.unwrap();
    let rolled_back = jobs::enqueue(&txn, NewJob::new(Queue::Maintenance, "test.count", json!({}))).await.unwrap();
    txn.rollback().await.unwrap();

    let pushed = enqueue(&app, NewJob::new(Queue::Maintenance, "test.count", json!({}))).await;
    // Committed but never pushed (the process died between commit and push).
    let txn = app.db.begin().await.unwrap();
    let unpushed = jobs::enqueue(&txn, NewJob::new(Queue::Maintenance, "test.count", json!({}))).await.unwrap();
    txn.commit().await.unwrap();

    let done = wait_status(&app, pushed.id, "completed", Duration::from_secs(20)).await;
    assert_eq!(done.result, Some(json!({"done": true})));
    assert_eq!(done.attempts, 1);
    wait_status(&app, unpushed.id, "completed", Duration::from_secs(20)).await;
    assert!(store::jobs::get(&app.db, rolled_back.id).await.unwrap().is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    w.stop().await;
}

#[tokio::test]
async fn a_job_survives_redis_losing_it() {
    let app = app().await;
    let e = enqueue(&app, NewJob::new(Queue::Delivery, "test.count", json!({}))).await;
    // Redis forgets everything of ours before any worker runs.
    app.redis.delete_prefixed().await.unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let w = start_counting(&app, runs.clone());
    wait_status(&app, e.id, "completed", Duration::from_secs(30)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    w.stop().await;
}

#[tokio::test]
async fn retries_follow_the_policy_then_dead_letter() {
    let app = app().await;
    let stamps = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let s2 = stamps.clone();
    let policy = RetryPolicy {
        delays: vec![Duration::from_millis(300), Duration::from_millis(600), Duration::from_millis(900)],
        jitter: 0.0,
    };
    let spec = KindSpec::new(move |_ctx, _p| {
        let s = s2.clone();
        async move {
            s.lock().unwrap().push(Instant::now());
            Err::<Value, _>(JobFailure::retry("provider answered 503"))
        }
    })
    .retry(policy.clone());
    let w = worker::start(
        &app.settings,
        app.db.clone(),
        app.redis.clone(),
        Registry::default().register("test.flaky", spec),
    );
    let e = enqueue(&app, NewJob::new(Queue::Agent, "test.flaky", json!({})).max_attempts(policy.max_attempts())).await;
    let dead = wait_status(&app, e.id, "dead", Duration::from_secs(30)).await;
    assert_eq!(dead.attempts, 4);
    assert_eq!(dead.last_error.as_deref(), Some("provider answered 503"));
    let stamps = stamps.lock().unwrap().clone();
    assert_eq!(stamps.len(), 4);
    for (i, want) in policy.delays.iter().enumerate() {
        let gap = stamps[i + 1] - stamps[i];
        assert!(gap >= *want - Duration::from_millis(50), "retry {} came after {gap:?}, wanted {want:?}", i + 1);
        // Late is only slow (a busy machine); early would break the schedule.
        assert!(gap < *want + Duration::from_secs(10), "retry {} came after {gap:?}", i + 1);
    }
    w.stop().await;
}

#[tokio::test]
async fn errors_retrying_cannot_fix_dead_letter_at_once() {
    let app = app().await;
    let runs = Arc::new(AtomicU32::new(0));
    let r2 = runs.clone();
    let spec = KindSpec::new(move |_ctx, _p| {
        let r = r2.clone();
        async move {
            r.fetch_add(1, Ordering::SeqCst);
            Err::<Value, _>(JobFailure::permanent("invalid payload: missing field `to`"))
        }
    });
    let w =
        worker::start(&app.settings, app.db.clone(), app.redis.clone(), Registry::default().register("test.bad", spec));
    let e = enqueue(&app, NewJob::new(Queue::Delivery, "test.bad", json!({}))).await;
    let dead = wait_status(&app, e.id, "dead", Duration::from_secs(20)).await;
    assert_eq!(dead.attempts, 1);
    assert!(dead.last_error.unwrap().contains("not retryable"));
    // Unknown kinds are permanent failures too.
    let unknown = enqueue(&app, NewJob::new(Queue::Delivery, "test.nobody-handles-this", json!({}))).await;
    let dead = wait_status(&app, unknown.id, "dead", Duration::from_secs(20)).await;
    assert!(dead.last_error.unwrap().contains("no handler"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    w.stop().await;
}

#[tokio::test]
async fn a_retried_job_never_repeats_a_completed_effect() {
    let app = app().await;
    let sent = Arc::new(AtomicU32::new(0));
    let s2 = sent.clone();
    let spec = KindSpec::new(move |ctx: worker::JobContext, _p| {
        let s = s2.clone();
        async move {
            let receipt = ctx
                .effect("send-email", "email", |a| {
                    let s = s.clone();
                    async move {
                        s.fetch_add(1, Ordering::SeqCst);
                        Ok(json!({"message_id": "m-1", "key": a.idempotency_key}))
                    }
                })
                .await?;
            if ctx.attempt == 1 {
                return Err(JobFailure::retry("Teams post timed out"));
            }
            Ok(json!({"receipt": receipt}))
        }
    })
    .retry(RetryPolicy { delays: vec![Duration::from_millis(100)], jitter: 0.0 });
    let w = worker::start(
        &app.settings,
        app.db.clone(),
        app.redis.clone(),
        Registry::default().register("test.deliver", spec),
    );
    let e = enqueue(&app, NewJob::new(Queue::Delivery, "test.deliver", json!({}))).await;
    let done = wait_status(&app, e.id, "completed", Duration::from_secs(20)).await;
    assert_eq!(done.attempts, 2);
    assert_eq!(sent.load(Ordering::SeqCst), 1, "the e-mail was sent twice");
    assert_eq!(done.result.unwrap()["receipt"]["message_id"], "m-1");
    assert_eq!(store::effects::count_done(&app.db, e.id).await.unwrap(), 1);
    w.stop().await;
}

#[tokio::test]
async fn idempotency_keys_and_duplicate_pushes_run_once() {
    let app = app().await;
    let runs = Arc::new(AtomicU32::new(0));
    let w = start_counting(&app, runs.clone());
    let a = enqueue(&app, NewJob::new(Queue::Webhook, "test.count", json!({"n": 1})).idempotency_key("stripe:evt_123"))
        .await;
    let b = enqueue(&app, NewJob::new(Queue::Webhook, "test.count", json!({"n": 2})).idempotency_key("stripe:evt_123"))
        .await;
    assert!(a.created && !b.created);
    assert_eq!(a.id, b.id);
    wait_status(&app, a.id, "completed", Duration::from_secs(20)).await;
    // The same id pushed again (a duplicate delivery) is dropped at the claim.
    let t = jobs::Transport::new(app.redis.clone());
    for _ in 0..3 {
        t.push(a.id, Queue::Webhook, domain::jobs::Lane::Normal).await.unwrap();
    }
    let other = enqueue(&app, NewJob::new(Queue::Webhook, "test.count", json!({}))).await;
    wait_status(&app, other.id, "completed", Duration::from_secs(20)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    w.stop().await;
}

#[tokio::test]
async fn concurrent_replays_of_a_dead_job_run_it_once() {
    let app = app().await;
    let runs = Arc::new(AtomicU32::new(0));
    let r2 = runs.clone();
    let spec = KindSpec::new(move |_ctx, _p| {
        let r = r2.clone();
        async move {
            if r.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(JobFailure::permanent("first run fails"))
            } else {
                Ok(json!({}))
            }
        }
    });
    let w = worker::start(
        &app.settings,
        app.db.clone(),
        app.redis.clone(),
        Registry::default().register("test.once", spec),
    );
    let e = enqueue(&app, NewJob::new(Queue::Agent, "test.once", json!({}))).await;
    wait_status(&app, e.id, "dead", Duration::from_secs(20)).await;
    let ids = [e.id];
    let (a, b) = tokio::join!(store::jobs::replay(&app.db, &ids), store::jobs::replay(&app.db, &ids));
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1, "two replays both won");
    let done = wait_status(&app, e.id, "completed", Duration::from_secs(20)).await;
    assert_eq!(done.attempts, 1, "replay resets the attempt budget");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    w.stop().await;
}

#[tokio::test]
async fn a_high_priority_job_overtakes_a_low_priority_backlog() {
    let app = TestApp::spawn_with(|s| {
        s.worker.concurrency = 1;
        s.worker.sweep_interval_ms = 100;
    })
    .await;
    let spec = KindSpec::new(|_ctx, _p| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(json!({}))
    });
    let mut low = Vec::new();
    for _ in 0..30 {
        low.push(enqueue(&app, NewJob::new(Queue::Agent, "test.slow", json!({})).priority(50)).await.id);
    }
    let w = worker::start(
        &app.settings,
        app.db.clone(),
        app.redis.clone(),
        Registry::default().register("test.slow", spec),
    );
    tokio::time::sleep(Duration::from_millis(300)).await; // the low lane is busy
    let high = enqueue(&app, NewJob::new(Queue::Agent, "test.slow", json!({})).priority(100)).await;
    let high_row = wait_status(&app, high.id, "completed", Duration::from_secs(20)).await;
    let mut later = 0;
    for id in &low {
        let r = status(&app, *id).await;
        if r.status != "completed" || r.finished_at.unwrap() > high_row.finished_at.unwrap() {
            later += 1;
        }
    }
    assert!(later >= 20, "only {later} of 30 low-priority jobs finished after the high-priority one");
    w.stop().await;
}

#[tokio::test]
async fn time_limits_stop_and_abort_handlers() {
    let app = app().await;
    let polite = KindSpec::new(|ctx: worker::JobContext, _p| async move {
        while !ctx.should_stop() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(JobFailure::retry("stopped at the soft limit"))
    })
    .limits(Duration::from_millis(300), Duration::from_secs(5))
    .retry(RetryPolicy::none());
    let stubborn = KindSpec::new(|_ctx, _p| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(json!({}))
    })
    .limits(Duration::from_millis(200), Duration::from_millis(600))
    .retry(RetryPolicy::none());
    let reg = Registry::default().register("test.polite", polite).register("test.stubborn", stubborn);
    let w = worker::start(&app.settings, app.db.clone(), app.redis.clone(), reg);
    let p = enqueue(&app, NewJob::new(Queue::Media, "test.polite", json!({})).max_attempts(1)).await;
    let s = enqueue(&app, NewJob::new(Queue::Media, "test.stubborn", json!({})).max_attempts(1)).await;
    let p = wait_status(&app, p.id, "dead", Duration::from_secs(20)).await;
    assert_eq!(p.last_error.as_deref(), Some("stopped at the soft limit"));
    let s = wait_status(&app, s.id, "dead", Duration::from_secs(20)).await;
    assert!(s.last_error.unwrap().contains("hard time limit"));
    w.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_hands_running_jobs_to_another_worker() {
    let app = app().await;
    let a = worker::start(&app.settings, app.db.clone(), app.redis.clone(), worker::builtin::registry());
    let e =
        enqueue(&app, NewJob::new(Queue::Maintenance, worker::builtin::SELFTEST, json!({"sleep_ms": 20_000}))).await;
    let a_name = a.name.clone();
    wait_status(&app, e.id, "running", Duration::from_secs(20)).await;
    let stopping = Instant::now();
    a.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(15), "shutdown took {:?}", stopping.elapsed());
    let row = status(&app, e.id).await;
    assert_eq!(row.status, "queued", "the job was not handed back");
    assert_eq!(row.attempts, 0, "an interrupted attempt is not counted");
    let b = worker::start(&app.settings, app.db.clone(), app.redis.clone(), worker::builtin::registry());
    let running = wait_status(&app, e.id, "running", Duration::from_secs(10)).await;
    assert_ne!(running.worker.as_deref(), Some(a_name.as_str()));
    b.stop().await;
}

#[tokio::test]
async fn workers_survive_a_redis_restart() {
    let mut redis = testkit::PrivateRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(move |s| {
        s.redis.url = settings::Secret::new(url);
        s.redis.response_timeout_ms = 1000;
        s.worker.heartbeat_secs = 1;
        s.worker.sweep_interval_ms = 100;
        s.worker.repush_after_secs = 2;
    })
    .await;
    let runs = Arc::new(AtomicU32::new(0));
    let w = start_counting(&app, runs.clone());
    let before = enqueue(&app, NewJob::new(Queue::Agent, "test.count", json!({}))).await;
    wait_status(&app, before.id, "completed", Duration::from_secs(20)).await;
    redis.restart();
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(enqueue(&app, NewJob::new(Queue::Agent, "test.count", json!({}))).await.id);
    }
    for id in after {
        wait_status(&app, id, "completed", Duration::from_secs(60)).await;
    }
    assert_eq!(runs.load(Ordering::SeqCst), 6);
    w.stop().await;
}

/// An idle worker picks a new job up in well under a second (apalis-redis alone parks an
/// idle worker until its next heartbeat, 30 s by default).
#[tokio::test]
async fn an_idle_worker_picks_up_within_a_second() {
    let app = app().await;
    let w = start_counting(&app, Arc::new(AtomicU32::new(0)));
    tokio::time::sleep(Duration::from_secs(2)).await; // let it go idle
    for _ in 0..3 {
        let start = Instant::now();
        let e = enqueue(&app, NewJob::new(Queue::Agent, "test.count", json!({}))).await;
        wait_status(&app, e.id, "completed", Duration::from_secs(10)).await;
        assert!(start.elapsed() < Duration::from_secs(1), "pickup took {:?}", start.elapsed());
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    w.stop().await;
}

/// Progress and completion reach the job's user on their Redis channel (the WebSocket
/// layer forwards that channel to the user's sockets).
#[tokio::test]
async fn progress_and_results_are_published_to_the_user() {
    use futures_util::StreamExt;
    let app = app().await;
    let user = app.create_user("sales_rep").await;
    let client = redis::Client::open(app.settings.redis.url.expose()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(realtime::user_channel(app.redis.prefix(), user.id)).await.unwrap();
    let mut messages = pubsub.into_on_message();
    let w = worker::start(&app.settings, app.db.clone(), app.redis.clone(), worker::builtin::registry());
    let e =
        enqueue(&app, NewJob::new(Queue::Maintenance, worker::builtin::SELFTEST, json!({"sleep_ms": 0})).user(user.id))
            .await;
    let mut events = Vec::new();
    while events.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(20), messages.next()).await.expect("no event").unwrap();
        let v: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
        events.push(v);
    }
    assert_eq!(events[0]["type"], "task_progress");
    assert_eq!(events[0]["task_id"], e.id.to_string());
    assert_eq!(events[0]["progress"], 50);
    assert_eq!(events[1]["type"], "task_complete");
    assert_eq!(events[1]["result"]["ok"], true);
    w.stop().await;
}

/// What apalis-redis keeps of finished tasks is trimmed, so Redis does not grow with history.
#[tokio::test]
async fn finished_entries_are_trimmed_from_redis() {
    let app = app().await;
    let w = start_counting(&app, Arc::new(AtomicU32::new(0)));
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(enqueue(&app, NewJob::new(Queue::Agent, "test.count", json!({}))).await.id);
    }
    for id in &ids {
        wait_status(&app, *id, "completed", Duration::from_secs(20)).await;
    }
    w.stop().await;
    let config = jobs::apalis_config(app.redis.prefix(), Queue::Agent, domain::jobs::Lane::Normal);
    let mut conn = app.redis.conn();
    let done_before: u64 = redis::cmd("SCARD").arg(config.done_jobs_set()).query_async(&mut conn).await.unwrap();
    assert!(done_before > 0, "apalis recorded no finished tasks: the test proves nothing");
    let removed = jobs::vacuum(&app.redis, 1000).await.unwrap();
    assert!(removed >= done_before, "{removed} < {done_before}");
    let done_after: u64 = redis::cmd("SCARD").arg(config.done_jobs_set()).query_async(&mut conn).await.unwrap();
    let data_after: u64 = redis::cmd("HLEN").arg(config.job_data_hash()).query_async(&mut conn).await.unwrap();
    let metas: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}:*", config.job_meta_hash())).query_async(&mut conn).await.unwrap();
    assert_eq!((done_after, data_after, metas.len()), (0, 0, 0));

    // Metadata of workers apalis no longer knows is deleted; a registered worker's is kept.
    let queue = config.workers_set().trim_end_matches(":workers").to_string();
    let gone = format!("{queue}:workers:metadata:departed-worker");
    let alive = format!("{queue}:workers:metadata:registered-worker");
    for key in [&gone, &alive] {
        let _: () = redis::cmd("HSET").arg(key).arg("service").arg("x").query_async(&mut conn).await.unwrap();
    }
    let _: () = redis::cmd("ZADD")
        .arg(config.workers_set())
        .arg(1)
        .arg("registered-worker")
        .query_async(&mut conn)
        .await
        .unwrap();
    jobs::vacuum(&app.redis, 1000).await.unwrap();
    let (g, a): (bool, bool) = redis::pipe().exists(&gone).exists(&alive).query_async(&mut conn).await.unwrap();
    assert_eq!((g, a), (false, true));
}

/// More due jobs than apalis-redis can promote at once (it fails from 8,000): Redis holds at
/// most `MAX_BACKLOG` per lane, PostgreSQL the rest, and everything drains.
#[tokio::test]
async fn a_backlog_beyond_apalis_limits_drains() {
    let app = app().await;
    const N: usize = 9_000;
    let txn = app.db.begin().await.unwrap();
    let mut all = Vec::with_capacity(N);
    for _ in 0..N {
        all.push(jobs::enqueue(&txn, NewJob::new(Queue::Maintenance, "test.count", json!({}))).await.unwrap());
    }
    txn.commit().await.unwrap();
    let transport = jobs::Transport::new(app.redis.clone());
    transport.dispatch(&app.db, &all).await;
    let backlog = transport.backlog(Queue::Maintenance, domain::jobs::Lane::Normal).await.unwrap();
    assert_eq!(backlog, jobs::MAX_BACKLOG, "dispatch must stop at the lane's bound");

    let runs = Arc::new(AtomicU32::new(0));
    let w = start_counting(&app, runs.clone());
    let max_backlog = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let drained = TestApp::eventually(Duration::from_secs(240), || async {
        let b = transport.backlog(Queue::Maintenance, domain::jobs::Lane::Normal).await.unwrap();
        max_backlog.fetch_max(b, Ordering::SeqCst);
        let stats = store::jobs::stats(&app.db).await.unwrap();
        stats.iter().find(|s| s.queue == "maintenance").unwrap().completed == N as i64
    })
    .await;
    assert!(drained, "not drained; {} runs", runs.load(Ordering::SeqCst));
    let max_backlog = max_backlog.load(Ordering::SeqCst);
    assert!(max_backlog <= jobs::MAX_BACKLOG, "Redis held {max_backlog} ids in one lane");
    assert_eq!(runs.load(Ordering::SeqCst) as usize, N);
    w.stop().await;
}

/// A retrying job cannot be claimed before its time, even when a duplicate delivery of its
/// id arrives early (the retry schedule would otherwise collapse).
#[tokio::test]
async fn a_retrying_job_is_not_claimed_early() {
    let app = app().await;
    let txn = app.db.begin().await.unwrap();
    let e = jobs::enqueue(&txn, NewJob::new(Queue::Agent, "test.any", json!({}))).await.unwrap();
    txn.commit().await.unwrap();
    assert!(store::jobs::claim(&app.db, e.id, "w1").await.unwrap().is_some());
    let s = store::jobs::fail(&app.db, e.id, "w1", "timeout", Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(s.as_deref(), Some("retrying"));
    assert!(store::jobs::claim(&app.db, e.id, "w2").await.unwrap().is_none(), "claimed 60 s early");
    let row = status(&app, e.id).await;
    let wait = (row.run_at - chrono::Utc::now()).num_seconds();
    assert!((55..=60).contains(&wait), "run_at is {wait} s away");
}
