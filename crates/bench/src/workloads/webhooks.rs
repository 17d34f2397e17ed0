//! `webhooks`: webhook ingest (`POST /webhooks/mezzofy`, signed) and every accepted event
//! processed once by a worker.
//!
//! One api (fresh database and Redis prefix, `webhooks.secret` set, the webhook rate limit out
//! of the way) and, in the same process, one worker with the `webhook.process` handler on its
//! own PostgreSQL pool and Redis connection, as a separate process would have. Phases:
//! 1. **baseline**: `GET /bench/none` (404, no IO) at the same connections: the floor.
//! 2. **webhooks**: signed `order_completed` events, each with a new `id`, for a customer the
//!    company data does not know and an amount below `webhooks.large_order_cents`: the
//!    handler only reads and updates rows (no order recorded, no notification, no agent
//!    task). Every [`DUPLICATE_EVERY`]th request of a connection re-delivers its last accepted
//!    event (new timestamp and signature), which must be answered `duplicate`. The worker runs
//!    during the load (`BENCH_WEBHOOKS_WORKER=after` starts it when the load is over).
//! 3. **drain**: the stored events are polled until every one is `completed` (or none
//!    completed for [`STALL_TIMEOUT`]); then the worker stops and the database is checked:
//!    one row per accepted event, one `webhook.process` job each, nothing else enqueued.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use testkit::TestApp;

use super::{Options, Outcome, ms, rate, ratio, secs};
use crate::load::{self, Connection, HttpConnection, LoadConfig, Report};

/// The signing secret of the api under test.
const SECRET: &str = "whsec-bench-0123456789abcdef";
/// Every this many requests a connection re-delivers its last accepted event.
pub const DUPLICATE_EVERY: u64 = 20;
/// Order amount of every event, in cents (must stay below `webhooks.large_order_cents`).
pub const AMOUNT_CENTS: i64 = 1_999;
/// A customer reference no customer has: the handler records no order.
const UNKNOWN_CUSTOMER: &str = "cust_bench_unknown";
/// The webhook rate limit per window: out of the way.
const RATE_LIMIT: u32 = 10_000_000;
/// Pool size of the api and of the worker (the production default; tests use 10).
const DB_POOL: u32 = 20;
/// How often the drain counts unfinished events.
const POLL: Duration = Duration::from_millis(50);
/// The drain gives up after this long without a single event completing.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The Python seed's figures on this kind of machine (fixed references, not measured).
const SEED_EVENTS_PER_S: &str = "270-440";
const SEED_P99_MS: &str = "350-550";
/// The middle of the seed's range, for the ratio.
const SEED_MIDDLE_RPS: f64 = 355.0;

pub async fn run(options: &Options) -> anyhow::Result<Outcome> {
    eprintln!("webhooks: starting the api (fresh database, pool {DB_POOL})");
    let app = TestApp::spawn_with(|s| {
        s.webhooks.secret = settings::Secret::new(SECRET);
        s.rate_limits.webhooks = RATE_LIMIT;
        s.database.max_connections = DB_POOL;
        if std::env::var("BENCH_PG_NOSSL").is_ok() {
            let url = format!("{}?sslmode=disable", s.database.url.expose());
            s.database.url = settings::Secret::new(url);
        }
    })
    .await;
    let result = measure(&app, options).await;
    drop(app);
    result
}

/// When the worker starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerStart {
    /// Before the load's warm-up: it processes while events arrive (the default).
    During,
    /// When the load is over: the whole backlog is drained at once.
    After,
}

impl WorkerStart {
    fn from_env() -> anyhow::Result<Self> {
        match std::env::var("BENCH_WEBHOOKS_WORKER").as_deref() {
            Err(_) | Ok("during") => Ok(Self::During),
            Ok("after") => Ok(Self::After),
            Ok(other) => anyhow::bail!("BENCH_WEBHOOKS_WORKER: `{other}` is neither `during` nor `after`"),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::During => "during_load",
            Self::After => "after_load",
        }
    }
}

async fn measure(app: &TestApp, options: &Options) -> anyhow::Result<Outcome> {
    let worker_start = WorkerStart::from_env()?;
    anyhow::ensure!(
        AMOUNT_CENTS < app.settings.webhooks.large_order_cents,
        "the events' amount must stay below webhooks.large_order_cents"
    );
    let cfg = LoadConfig { connections: options.connections, warmup: options.warmup, duration: options.duration };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mut out = Outcome::default();
    out.push("workload", "webhooks");
    out.push("connections", cfg.connections);
    out.push("duration_s", secs(cfg.duration));
    out.push("warmup_s", secs(cfg.warmup));
    out.push("server_workers", app.settings.server.workers);
    out.push("db_pool", DB_POOL);
    out.push("worker_concurrency", app.settings.worker.concurrency_of(jobs::Queue::Webhook.as_str()));
    out.push("worker_start", worker_start.as_str());
    out.push("cores", cores);
    out.push("note", "client_api_worker_postgres_and_redis_share_the_same_cores");

    // 1. The floor.
    let conns = HttpConnection::many(
        cfg.connections,
        HttpConnection::simple(Method::GET, app.url("/bench/none")),
        StatusCode::NOT_FOUND,
    )?;
    let baseline = phase("baseline", cfg, conns, &mut out).await?;
    out.push("baseline_rps", rate(baseline.rps()));
    out.push("baseline_p50_ms", ms(baseline.p50_ms()));
    out.push("baseline_p99_ms", ms(baseline.p99_ms()));

    // 2. Ingest.
    let mut worker = None;
    let mut worker_started = Instant::now();
    if worker_start == WorkerStart::During {
        worker = Some(Worker::start(app).await?);
        worker_started = Instant::now();
    }
    let counters = Arc::new(Counters::default());
    let conns = (0..cfg.connections)
        .map(|i| Sender::new(app.url("/webhooks/mezzofy"), i, counters.clone()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ingest = phase("webhooks", cfg, conns, &mut out).await?;
    let load_end = Instant::now();
    let backlog = unfinished(&app.db).await?;
    let scheduled = redis_scheduled(app).await?;
    let accepted = counters.accepted.load(Ordering::Relaxed);
    let duplicates_sent = counters.duplicates_sent.load(Ordering::Relaxed);
    let duplicates_answered = counters.duplicates_answered.load(Ordering::Relaxed);
    eprintln!(
        "webhooks: {accepted} events accepted, {duplicates_answered} of {duplicates_sent} re-deliveries answered duplicate, \
         {backlog} not yet processed"
    );
    out.push("webhooks_rps", rate(ingest.rps()));
    out.push("webhooks_p50_ms", ms(ingest.p50_ms()));
    out.push("webhooks_p99_ms", ms(ingest.p99_ms()));
    out.push("webhooks_max_ms", ms(ingest.max_ms()));
    out.push("webhooks_errors", ingest.errors);
    out.push("webhooks_vs_baseline", ratio(ingest.rps(), baseline.rps()));
    out.push("webhooks_vs_seed_355_rps", ratio(ingest.rps(), SEED_MIDDLE_RPS));
    out.push("seed_python_reference_events_per_s", SEED_EVENTS_PER_S);
    out.push("seed_python_reference_p99_ms", SEED_P99_MS);
    out.push("duplicate_every", DUPLICATE_EVERY);
    out.push("duplicates_sent", duplicates_sent);
    out.push("duplicates_answered", duplicates_answered);
    out.push("backlog_at_load_end", backlog);
    out.push("redis_scheduled_at_load_end", scheduled);

    // 3. Drain: every stored event completed.
    if worker.is_none() {
        worker = Some(Worker::start(app).await?);
        worker_started = Instant::now();
    }
    let drained = drain(app, backlog).await;
    let all_done = Instant::now();
    if let Some(w) = worker {
        w.stop().await;
    }
    let remaining = drained?;
    let drain_secs = all_done.saturating_duration_since(load_end);
    let processing = all_done.saturating_duration_since(worker_started);

    let db = check(&app.db).await?;
    out.push("events_accepted", accepted);
    out.push("events_stored", db.events);
    out.push("events_completed", db.completed);
    out.push("events_failed", db.failed);
    out.push("events_not_completed", remaining);
    out.push("duplicates_in_db", db.duplicate_ids);
    out.push("jobs_total", db.jobs);
    out.push("jobs_processed_once", db.jobs_once);
    out.push("jobs_retried", db.jobs_retried);
    out.push("other_jobs", db.other_jobs);
    out.push("drain_secs", format!("{:.3}", drain_secs.as_secs_f64()));
    out.push("processing_secs", format!("{:.3}", processing.as_secs_f64()));
    out.push("processed_per_sec", rate(db.completed as f64 / processing.as_secs_f64()));
    out.push("drain_per_sec", rate(backlog.saturating_sub(remaining) as f64 / drain_secs.as_secs_f64()));

    // Every accepted event stored once, with one job, completed; re-deliveries stored nothing;
    // the handler enqueued nothing (else this is not the cheap path it claims to measure).
    let mut failures = Vec::new();
    if db.events != accepted {
        failures.push(format!("{} events stored for {accepted} accepted", db.events));
    }
    if db.completed != db.events {
        failures.push(format!("{} of {} events not completed", db.events.saturating_sub(db.completed), db.events));
    }
    if db.duplicate_ids > 0 {
        failures.push(format!("{} event ids stored more than once", db.duplicate_ids));
    }
    if db.jobs != db.events {
        failures.push(format!("{} webhook.process jobs for {} events", db.jobs, db.events));
    }
    if db.other_jobs > 0 {
        failures.push(format!("the handler enqueued {} other jobs", db.other_jobs));
    }
    for f in &failures {
        eprintln!("webhooks: check failed: {f}");
    }
    // (A re-delivery not answered `duplicate` is already a request error.)
    let check_errors = failures.len() as u64;
    out.errors += check_errors;
    out.push("check_failures", check_errors);
    out.push("errors", out.errors);
    Ok(out)
}

async fn phase<C: Connection>(name: &str, cfg: LoadConfig, conns: Vec<C>, out: &mut Outcome) -> anyhow::Result<Report> {
    eprintln!("webhooks: {name}: {} connections, {}s warm-up + {}s", conns.len(), secs(cfg.warmup), secs(cfg.duration));
    let report = load::run(name, cfg, conns).await?;
    eprintln!("webhooks: {}", report.summary());
    for e in &report.error_samples {
        eprintln!("webhooks: {name}: unexpected: {e}");
    }
    out.errors += report.errors;
    Ok(report)
}

/// What the senders saw, warm-up included.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates_sent: AtomicU64,
    duplicates_answered: AtomicU64,
}

/// One keep-alive connection posting signed events.
struct Sender {
    client: Client,
    url: String,
    conn: usize,
    sent: u64,
    next_event: u64,
    /// The body of this connection's last accepted event, re-delivered every
    /// [`DUPLICATE_EVERY`]th request.
    last_accepted: Option<String>,
    counters: Arc<Counters>,
}

impl Sender {
    fn new(url: String, conn: usize, counters: Arc<Counters>) -> anyhow::Result<Self> {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { client, url, conn, sent: 0, next_event: 0, last_accepted: None, counters })
    }
}

fn event_body(conn: usize, n: u64) -> String {
    json!({
        "id": format!("evt_bench_{conn}_{n}"),
        "event": "order_completed",
        "data": {
            "order_id": format!("BENCH-{conn}-{n}"),
            "customer_id": UNKNOWN_CUSTOMER,
            "amount_cents": AMOUNT_CENTS,
            "currency": "SGD",
        },
    })
    .to_string()
}

/// `sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
fn signature(secret: &[u8], ts: u64, body: &str) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| format!("hmac key: {e}"))?;
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}

impl Connection for Sender {
    async fn request(&mut self) -> Result<(), String> {
        self.sent += 1;
        let (body, expect) = match &self.last_accepted {
            Some(previous) if self.sent.is_multiple_of(DUPLICATE_EVERY) => {
                self.counters.duplicates_sent.fetch_add(1, Ordering::Relaxed);
                (previous.clone(), "duplicate")
            }
            _ => {
                self.next_event += 1;
                (event_body(self.conn, self.next_event), "accepted")
            }
        };
        let ts = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs();
        let sig = signature(SECRET.as_bytes(), ts, &body)?;
        let res = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Mezzofy-Timestamp", ts.to_string())
            .header("X-Mezzofy-Signature", sig)
            .body(body.clone())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| format!("reading body failed: {e}"))?;
        let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
        let got = answer.as_ref().and_then(|v| v.get("status")).and_then(Value::as_str);
        if status != StatusCode::OK || got != Some(expect) {
            let text: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            return Err(format!("status {status} (expected 200 {expect}): {text}"));
        }
        if expect == "accepted" {
            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            self.last_accepted = Some(body);
        } else {
            self.counters.duplicates_answered.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The in-process worker: `webhook.process` only, its own pool and Redis connection.
struct Worker {
    handle: worker::WorkerHandle,
    db: store::DatabaseConnection,
}

impl Worker {
    async fn start(app: &TestApp) -> anyhow::Result<Self> {
        let db = store::connect_configured(&app.settings.database).await?;
        let redis = kv::Redis::connect_configured(&app.settings.redis).await?;
        let assistant = Arc::new(agents::chat::build(Arc::new(app.settings.clone()), db.clone())?);
        let registry = worker::webhook_jobs::register(worker::Registry::default(), assistant);
        eprintln!(
            "webhooks: worker started (webhook.process, concurrency {} per lane, pool {})",
            app.settings.worker.concurrency_of(jobs::Queue::Webhook.as_str()),
            app.settings.database.max_connections
        );
        let handle = worker::start(&app.settings, db.clone(), redis, registry);
        Ok(Self { handle, db })
    }

    async fn stop(self) {
        let started = Instant::now();
        self.handle.stop().await;
        eprintln!("webhooks: worker stopped in {:.2}s", started.elapsed().as_secs_f64());
        self.db.close().await.ok();
    }
}

async fn count(db: &store::DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let n = store::maintenance::count(db, sql).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Events not (yet) completed; served by the partial index on unfinished events.
async fn unfinished(db: &store::DatabaseConnection) -> anyhow::Result<u64> {
    count(db, "SELECT count(*) AS n FROM webhook_events WHERE status <> 'completed'").await
}

/// Polls until no event is left unfinished, or none completed for [`STALL_TIMEOUT`].
/// Returns the events left unfinished.
async fn drain(app: &TestApp, backlog: u64) -> anyhow::Result<u64> {
    eprintln!("webhooks: drain: {backlog} events to process");
    let start = Instant::now();
    let mut last = backlog;
    let mut last_progress = Instant::now();
    let mut last_log = Instant::now();
    let mut left_at_log = backlog;
    loop {
        let left = unfinished(&app.db).await?;
        if left == 0 {
            eprintln!("webhooks: drain: done in {:.2}s", start.elapsed().as_secs_f64());
            return Ok(0);
        }
        if left < last {
            last_progress = Instant::now();
        }
        if last_log.elapsed() >= Duration::from_secs(2) {
            let per_s = left_at_log.saturating_sub(left) as f64 / last_log.elapsed().as_secs_f64();
            eprintln!("webhooks: drain: {:.1}s: {left} left ({per_s:.0}/s)", start.elapsed().as_secs_f64());
            last_log = Instant::now();
            left_at_log = left;
        }
        last = left;
        if last_progress.elapsed() >= STALL_TIMEOUT {
            eprintln!("webhooks: drain: no event completed for {}s; giving up", STALL_TIMEOUT.as_secs());
            let scheduled = redis_scheduled(app).await?;
            if scheduled >= APALIS_UNPACK_LIMIT {
                eprintln!(
                    "webhooks: drain: {scheduled} ids in a webhook lane's Redis scheduled set: apalis-redis \
                     promotes them with one unpack(), which fails from ~{APALIS_UNPACK_LIMIT} on, so every fetch \
                     fails (see jobs::MAX_BACKLOG)"
                );
            }
            return Ok(left);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// From about this many ids in a lane's scheduled set, apalis-redis's fetch fails
/// (`too many results to unpack`; see `jobs::MAX_BACKLOG`).
const APALIS_UNPACK_LIMIT: u64 = 8_000;

/// The largest `:scheduled` set of the webhook queue's lanes: where the api's pushes wait
/// until a worker's fetch promotes them to the lane's active list.
async fn redis_scheduled(app: &TestApp) -> anyhow::Result<u64> {
    let mut conn = app.redis.conn();
    let mut most = 0;
    for lane in jobs::Lane::ALL {
        let key = format!("{}:scheduled", jobs::queue_name(app.redis.prefix(), jobs::Queue::Webhook, lane));
        let n: u64 = redis::cmd("ZCARD").arg(&key).query_async(&mut conn).await?;
        most = most.max(n);
    }
    Ok(most)
}

/// What the database holds after the drain.
struct Check {
    events: u64,
    completed: u64,
    failed: u64,
    /// `(source, event_id)` pairs stored more than once.
    duplicate_ids: u64,
    /// `webhook.process` jobs.
    jobs: u64,
    /// ... completed at the first attempt.
    jobs_once: u64,
    /// ... that took more than one attempt.
    jobs_retried: u64,
    /// Jobs of any other kind (notifications, agent tasks).
    other_jobs: u64,
}

async fn check(db: &store::DatabaseConnection) -> anyhow::Result<Check> {
    Ok(Check {
        events: count(db, "SELECT count(*) AS n FROM webhook_events").await?,
        completed: count(db, "SELECT count(*) AS n FROM webhook_events WHERE status = 'completed'").await?,
        failed: count(db, "SELECT count(*) AS n FROM webhook_events WHERE status = 'failed'").await?,
        duplicate_ids: count(
            db,
            "SELECT count(*) AS n FROM (SELECT 1 FROM webhook_events GROUP BY source, event_id HAVING count(*) > 1) d",
        )
        .await?,
        jobs: count(db, "SELECT count(*) AS n FROM jobs WHERE kind = 'webhook.process'").await?,
        jobs_once: count(
            db,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'webhook.process' AND status = 'completed' AND attempts = 1",
        )
        .await?,
        jobs_retried: count(db, "SELECT count(*) AS n FROM jobs WHERE kind = 'webhook.process' AND attempts > 1")
            .await?,
        other_jobs: count(db, "SELECT count(*) AS n FROM jobs WHERE kind <> 'webhook.process'").await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_verifies_like_the_api() {
        let body = event_body(0, 1);
        let ts = 1_700_000_000;
        let sig = signature(SECRET.as_bytes(), ts, &body).unwrap();
        let headers = [("X-Mezzofy-Timestamp", ts.to_string()), ("X-Mezzofy-Signature", sig)];
        let scheme = webhooks::Scheme::mezzofy([webhooks::Secret::new(SECRET.as_bytes().to_vec())]);
        assert!(scheme.verify(&headers, body.as_bytes(), 1_700_000_010).is_ok());
        let wrong = webhooks::Scheme::mezzofy([webhooks::Secret::new(b"another".to_vec())]);
        assert!(wrong.verify(&headers, body.as_bytes(), 1_700_000_010).is_err());
    }

    #[test]
    fn events_are_unique_and_cheap() {
        let a: Value = serde_json::from_str(&event_body(3, 7)).unwrap();
        assert_eq!(a["id"], "evt_bench_3_7");
        assert_eq!(a["event"], "order_completed");
        assert_eq!(a["data"]["amount_cents"], AMOUNT_CENTS);
        assert!(AMOUNT_CENTS < settings::Settings::default().webhooks.large_order_cents);
        assert_ne!(event_body(3, 7), event_body(3, 8));
        assert_ne!(event_body(3, 7), event_body(4, 7));
    }
}
