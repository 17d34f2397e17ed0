//! `queue`: what the job system sustains, next to what Redis alone does on this machine.
//!
//! Three phases in one run, on one fresh database and Redis prefix:
//! 1. **ceiling**: `--jobs` LPUSHes of small values (pipelined in batches) and as many
//!    sequential RPOPs, on a key under the test's prefix: raw Redis per-message rates.
//! 2. **enqueue**: `--jobs` jobs of kind `bench.noop`, each in its own transaction followed
//!    by `Transport::dispatch` (what the api does per job-creating request), from
//!    [`PRODUCERS`] concurrent tasks, with no worker running: the backlog builds up.
//! 3. **drain**: one in-process worker (`worker::start`, `--concurrency` slots per lane,
//!    its own PostgreSQL pool and Redis connection, as a separate process would have) runs
//!    the backlog; timed until every job is finished, then stopped gracefully.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use jobs::{Lane, NewJob, Queue, Transport};
use serde_json::json;
use store::TransactionTrait;
use testkit::TestApp;
use tokio::task::JoinSet;

use super::{Options, Outcome, ms, rate, ratio};
use crate::load::percentile_ms;

/// Concurrent producer tasks of the enqueue phase.
pub const PRODUCERS: usize = 16;
/// The job kind the worker runs: returns `{}` at once.
pub const KIND: &str = "bench.noop";
/// Pool size of the api and of the worker (the production default; tests use 10).
pub const DB_POOL: u32 = 20;
/// Commands per pipeline in the Redis push ceiling.
pub const PUSH_BATCH: usize = 500;
/// How often the drain phase counts finished jobs.
pub const POLL: Duration = Duration::from_millis(100);
/// The drain phase gives up after this long without a single job finishing.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(120);
/// The Python seed's job throughput, a fixed reference printed for comparison (not measured).
pub const SEED_REFERENCE: &str = "240-310";

pub async fn run(options: &Options) -> anyhow::Result<Outcome> {
    anyhow::ensure!(options.jobs > 0, "--jobs must be at least 1");
    eprintln!("queue: starting the api (fresh database, pool {DB_POOL})");
    let app = TestApp::spawn_with(|s| {
        s.database.max_connections = DB_POOL;
        s.worker.concurrency = options.concurrency;
        s.worker.sweep_batch = 500;
        s.worker.heartbeat_secs = 5;
    })
    .await;
    let result = measure(&app, options).await;
    drop(app);
    result
}

async fn measure(app: &TestApp, options: &Options) -> anyhow::Result<Outcome> {
    let n = options.jobs;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mut out = Outcome::default();
    out.push("workload", "queue");
    out.push("jobs", n);
    out.push("producers", PRODUCERS);
    out.push("worker_concurrency", app.settings.worker.concurrency);
    out.push("db_pool", DB_POOL);
    out.push("cores", cores);
    out.push("note", "producers_worker_postgres_and_redis_share_the_same_cores");

    // 1. Ceiling.
    let (push_per_s, pop_per_s) = redis_ceiling(app, n).await?;
    out.push("redis_push_batch", PUSH_BATCH);
    out.push("redis_push_per_s", rate(push_per_s));
    out.push("redis_pop_per_s", rate(pop_per_s));

    // 2. Enqueue, no worker running.
    eprintln!("queue: enqueue: {n} jobs from {PRODUCERS} tasks (transaction + dispatch each)");
    let enq = enqueue_all(app, n).await?;
    let enqueue_per_s = n as f64 / enq.elapsed.as_secs_f64();
    eprintln!(
        "queue: enqueue: {} ok in {:.2}s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors",
        enq.latencies_us.len(),
        enq.elapsed.as_secs_f64(),
        enqueue_per_s,
        percentile_ms(&enq.latencies_us, 0.50),
        percentile_ms(&enq.latencies_us, 0.99),
        percentile_ms(&enq.latencies_us, 1.0),
        enq.errors.len()
    );
    for e in enq.errors.iter().take(5) {
        eprintln!("queue: enqueue: unexpected: {e}");
    }
    out.errors += enq.errors.len() as u64;
    out.push("enqueue_errors", enq.errors.len());
    out.push("enqueue_per_s", rate(enqueue_per_s));
    out.push("enqueue_p50_ms", ms(percentile_ms(&enq.latencies_us, 0.50)));
    out.push("enqueue_p99_ms", ms(percentile_ms(&enq.latencies_us, 0.99)));
    out.push("enqueue_max_ms", ms(percentile_ms(&enq.latencies_us, 1.0)));
    // apalis-redis puts every push in the lane's `:scheduled` set (run_at = now), promoted
    // to `:active` by the next fetch; count both.
    let lane = jobs::queue_name(app.redis.prefix(), Queue::Maintenance, Lane::Normal);
    let mut conn = app.redis.conn();
    let active: i64 = redis::cmd("LLEN").arg(format!("{lane}:active")).query_async(&mut conn).await?;
    let scheduled: i64 = redis::cmd("ZCARD").arg(format!("{lane}:scheduled")).query_async(&mut conn).await?;
    eprintln!("queue: backlog in Redis: {active} in {lane}:active, {scheduled} in {lane}:scheduled");
    out.push("redis_backlog_before_drain", active + scheduled);

    // 3. Drain with one worker: every job that was enqueued must complete.
    let expected = enq.latencies_us.len();
    let drain = drain(app, expected).await?;
    let jobs_per_s = drain.completed as f64 / drain.elapsed.as_secs_f64();
    out.push("drain_s", format!("{:.3}", drain.elapsed.as_secs_f64()));
    out.push("first_completion_s", drain.first_completion.map_or("none".into(), |d| format!("{:.3}", d.as_secs_f64())));
    out.push("jobs_per_s", rate(jobs_per_s));
    out.push("jobs_vs_redis_pop", ratio(jobs_per_s, pop_per_s));
    out.push("seed_python_reference_jobs_per_s", SEED_REFERENCE);
    out.push("completed", drain.completed);
    out.push("dead", drain.dead);
    out.push("not_completed", expected.saturating_sub(drain.completed));
    out.push("stop_s", format!("{:.3}", drain.stop.as_secs_f64()));
    out.push("redis_keys_after_drain", redis_keys(app).await?);
    out.errors += drain.dead + expected.saturating_sub(drain.completed) as u64;
    out.push("errors", out.errors);
    Ok(out)
}

/// LPUSH `n` small values (pipelined, [`PUSH_BATCH`] commands per round trip), then RPOP
/// them one by one. Returns (pushes/s, pops/s).
async fn redis_ceiling(app: &TestApp, n: usize) -> anyhow::Result<(f64, f64)> {
    let key = app.redis.key("bench:ceiling");
    let mut conn = app.redis.conn();
    let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await?;
    let values: Vec<String> = (0..n).map(|_| json!({"id": uuid::Uuid::now_v7()}).to_string()).collect();
    eprintln!("queue: ceiling: {n} LPUSH in pipelines of {PUSH_BATCH}, then {n} sequential RPOP on {key}");

    let start = Instant::now();
    for chunk in values.chunks(PUSH_BATCH) {
        let mut pipe = redis::pipe();
        for v in chunk {
            pipe.cmd("LPUSH").arg(&key).arg(v).ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
    }
    let push_elapsed = start.elapsed();
    let len: usize = redis::cmd("LLEN").arg(&key).query_async(&mut conn).await?;
    anyhow::ensure!(len == n, "ceiling: {len} values in the list after {n} pushes");

    let start = Instant::now();
    let mut popped = 0usize;
    while let Some(_v) = redis::cmd("RPOP").arg(&key).query_async::<Option<String>>(&mut conn).await? {
        popped += 1;
    }
    let pop_elapsed = start.elapsed();
    anyhow::ensure!(popped == n, "ceiling: popped {popped} of {n} values");
    let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await?;

    let push_per_s = n as f64 / push_elapsed.as_secs_f64();
    let pop_per_s = n as f64 / pop_elapsed.as_secs_f64();
    eprintln!(
        "queue: ceiling: push {:.3}s = {push_per_s:.0}/s, pop {:.3}s = {pop_per_s:.0}/s",
        push_elapsed.as_secs_f64(),
        pop_elapsed.as_secs_f64()
    );
    Ok((push_per_s, pop_per_s))
}

/// Keys under the test's prefix (what the job system leaves behind in Redis).
async fn redis_keys(app: &TestApp) -> anyhow::Result<u64> {
    Ok(app.redis.scan(&format!("{}*", kv::escape_glob(app.redis.prefix()))).await?.len() as u64)
}

struct Enqueue {
    /// Sorted per-job latencies (begin to dispatch done), microseconds.
    latencies_us: Vec<u64>,
    errors: Vec<String>,
    elapsed: Duration,
}

/// `n` jobs from [`PRODUCERS`] tasks, each job: begin, `jobs::enqueue`, commit, dispatch.
async fn enqueue_all(app: &TestApp, n: usize) -> anyhow::Result<Enqueue> {
    let next = Arc::new(AtomicUsize::new(0));
    let transport = Transport::new(app.redis.clone());
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..PRODUCERS {
        let (db, transport, next) = (app.db.clone(), transport.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(n / PRODUCERS + 1);
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let began = Instant::now();
                match enqueue_one(&db, &transport, i).await {
                    Ok(()) => latencies.push(u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err(e) => errors.push(format!("job {i}: {e:#}")),
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies_us = Vec::with_capacity(n);
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r?;
        latencies_us.extend(l);
        errors.extend(e);
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Ok(Enqueue { latencies_us, errors, elapsed })
}

async fn enqueue_one(db: &store::DatabaseConnection, transport: &Transport, i: usize) -> anyhow::Result<()> {
    let txn = db.begin().await.context("begin")?;
    let enqueued =
        jobs::enqueue(&txn, NewJob::new(Queue::Maintenance, KIND, json!({"i": i}))).await.context("enqueue")?;
    txn.commit().await.context("commit")?;
    anyhow::ensure!(enqueued.created && enqueued.due_now, "job {} not created as due now", enqueued.id);
    transport.dispatch(db, &[enqueued]).await;
    Ok(())
}

struct Drain {
    elapsed: Duration,
    first_completion: Option<Duration>,
    completed: usize,
    dead: u64,
    stop: Duration,
}

/// Starts one worker on its own connections, waits until the `n` jobs are finished (or
/// nothing finishes for [`STALL_TIMEOUT`]), stops it gracefully.
async fn drain(app: &TestApp, n: usize) -> anyhow::Result<Drain> {
    let db = store::connect_configured(&app.settings.database).await?;
    let redis = kv::Redis::connect_configured(&app.settings.redis).await?;
    let registry = worker::Registry::default()
        .register(KIND, worker::KindSpec::new(|_ctx, _payload| async { Ok::<_, worker::JobFailure>(json!({})) }));
    eprintln!(
        "queue: drain: one worker, concurrency {} per lane, sweep_batch {}, heartbeat {}s",
        app.settings.worker.concurrency, app.settings.worker.sweep_batch, app.settings.worker.heartbeat_secs
    );
    let start = Instant::now();
    let handle = worker::start(&app.settings, db.clone(), redis, registry);
    let mut first_completion = None;
    let mut last = Counts::default();
    let mut last_progress = Instant::now();
    let mut last_log = Instant::now();
    let mut last_log_completed = 0usize;
    let mut poll_error = None;
    loop {
        tokio::time::sleep(POLL).await;
        let c = match counts(&app.db).await {
            Ok(c) => c,
            Err(e) => {
                poll_error = Some(e);
                break;
            }
        };
        if c.completed > 0 && first_completion.is_none() {
            first_completion = Some(start.elapsed());
        }
        if c.completed + c.dead as usize != last.completed + last.dead as usize {
            last_progress = Instant::now();
        }
        last = c;
        if last_log.elapsed() >= Duration::from_secs(2) {
            let per_s = (c.completed - last_log_completed) as f64 / last_log.elapsed().as_secs_f64();
            eprintln!(
                "queue: drain: {:.1}s: completed {} ({per_s:.0}/s), queued {}, running {}, retrying {}, dead {}",
                start.elapsed().as_secs_f64(),
                c.completed,
                c.queued,
                c.running,
                c.retrying,
                c.dead
            );
            last_log = Instant::now();
            last_log_completed = c.completed;
        }
        if c.completed + c.dead as usize >= n {
            break;
        }
        if last_progress.elapsed() >= STALL_TIMEOUT {
            eprintln!("queue: drain: no job finished for {}s; giving up", STALL_TIMEOUT.as_secs());
            break;
        }
    }
    let elapsed = start.elapsed();
    eprintln!(
        "queue: drain: {} completed, {} dead in {:.2}s = {:.0}/s",
        last.completed,
        last.dead,
        elapsed.as_secs_f64(),
        last.completed as f64 / elapsed.as_secs_f64()
    );
    let stop_start = Instant::now();
    handle.stop().await;
    let stop = stop_start.elapsed();
    eprintln!("queue: worker stopped in {:.2}s", stop.as_secs_f64());
    db.close().await.ok();
    if let Some(e) = poll_error {
        return Err(e).context("counting jobs");
    }
    Ok(Drain { elapsed, first_completion, completed: last.completed, dead: last.dead, stop })
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    completed: usize,
    dead: u64,
    queued: i64,
    running: i64,
    retrying: i64,
}

async fn counts(db: &store::DatabaseConnection) -> anyhow::Result<Counts> {
    let stats = store::jobs::stats(db).await?;
    let q = stats
        .iter()
        .find(|s| s.queue == Queue::Maintenance.as_str())
        .context("no maintenance row in the queue stats")?;
    Ok(Counts {
        completed: usize::try_from(q.completed).unwrap_or(0),
        dead: u64::try_from(q.dead).unwrap_or(0),
        queued: q.queued,
        running: q.running,
        retrying: q.retrying,
    })
}
