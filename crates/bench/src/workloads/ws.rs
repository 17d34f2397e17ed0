//! `ws`: WebSocket connections held by one api process, what they cost in memory, and the
//! fan-out latency from a worker's publish to every connected client.
//!
//! One real `mezzofy-api` process (the release binary next to this one, built first with
//! `cargo build --release -p api --bin mezzofy-api`; `BENCH_API_BIN` overrides), on a fresh
//! database and Redis prefix, with the default `realtime` settings (`connection_queue` 256).
//! Users are created and their access tokens minted here, not by logging in through the api:
//! argon2's freed buffers would stay in the api's heap and hide what the sockets cost.
//! Phases, in one run:
//! 1. **baseline**: a single raw Redis pub/sub subscriber (the `redis` crate, no api),
//!    `PSUBSCRIBE`d like the api's hub, gets the same publishes as the fan-out below:
//!    publish → receive through Redis alone.
//! 2. **connect**: `--connections` sockets (`GET /chat/ws?token=`, 1,000 unless given), spread
//!    round-robin over [`USERS`] users; each counts as connected once its `ping` is answered
//!    (the connection's loop runs, so it is registered with the hub). The api's RSS
//!    (`/proc/<pid>/status` `VmRSS`) is read before and after.
//! 3. **fan-out**: a separate [`realtime::Publisher`] (what a worker uses) publishes
//!    [`DEFAULT_EVENTS`] events to every user, paced every [`DEFAULT_INTERVAL_MS`] ms; each
//!    carries the time it was published. Every socket records when each event arrived; every
//!    socket must get every event (`lost=0`, else the run fails).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use settings::Settings;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use super::{Options, Outcome, ms, rate, ratio};
use crate::load::percentile_ms;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `--connections`' default for every workload; for `ws` it means "not given".
const SHARED_DEFAULT_CONNECTIONS: usize = 64;
/// Sockets when `--connections` is not given.
pub const DEFAULT_CONNECTIONS: usize = 1_000;
/// Users the sockets are spread over (round-robin): 1,000 sockets are 10 per user.
pub const USERS: usize = 100;
/// Events published to every user (`BENCH_WS_EVENTS`).
pub const DEFAULT_EVENTS: usize = 200;
/// Milliseconds between two events (`BENCH_WS_INTERVAL_MS`); each event is one PUBLISH per
/// user, back to back.
pub const DEFAULT_INTERVAL_MS: u64 = 50;
/// Sockets being opened at once.
const CONNECT_PARALLEL: usize = 32;
/// Upper bound for anything that should happen soon (a socket's pong, the api's health).
const WAIT: Duration = Duration::from_secs(30);
/// Delivery gives up after this long without a single event arriving.
const STALL: Duration = Duration::from_secs(10);
/// Pause before reading the api's RSS, so allocations made by the last requests settle.
const SETTLE: Duration = Duration::from_secs(1);
/// File descriptors the bench needs besides its sockets.
const FD_MARGIN: u64 = 64;
/// The type of the published events (a real server event the app shows).
const EVENT_TYPE: &str = "task_progress";

pub async fn run(options: &Options) -> anyhow::Result<Outcome> {
    let connections =
        if options.connections == SHARED_DEFAULT_CONNECTIONS { DEFAULT_CONNECTIONS } else { options.connections };
    let events = env_number("BENCH_WS_EVENTS", DEFAULT_EVENTS as u64)? as usize;
    let interval = Duration::from_millis(env_number("BENCH_WS_INTERVAL_MS", DEFAULT_INTERVAL_MS)?);
    ensure!(events > 0, "BENCH_WS_EVENTS must be at least 1");
    let fd_limit = check_fd_limit(connections)?;
    let binary = api_binary().await?;

    let db = testkit::TestDb::new().await;
    let mut settings = testkit::test_settings(&db.url);
    settings.server.bind = format!("127.0.0.1:{}", testkit::process::free_port());
    let plan = Plan { connections, users: USERS.min(connections), events, interval, fd_limit };
    let result = async {
        let api = Api::start(&binary, &settings).await?;
        let measured = measure(&api, &settings, &db, &plan).await;
        let stopped = api.stop().await;
        let out = measured?;
        stopped?;
        Ok(out)
    }
    .await;
    // Only this run's keys, never anything else in the shared Redis.
    if let Ok(redis) = kv::Redis::connect_configured(&settings.redis).await {
        let _ = redis.delete_prefixed().await;
    }
    let _ = std::fs::remove_dir_all(&settings.paths.data_dir);
    drop(db);
    result
}

struct Plan {
    connections: usize,
    users: usize,
    events: usize,
    interval: Duration,
    fd_limit: String,
}

async fn measure(api: &Api, settings: &Settings, testdb: &testkit::TestDb, plan: &Plan) -> anyhow::Result<Outcome> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mut out = Outcome::default();
    out.push("workload", "ws");
    out.push("ws_connections", plan.connections);
    out.push("users", plan.users);
    out.push("sockets_per_user", format!("{:.1}", plan.connections as f64 / plan.users as f64));
    out.push("api_process", "mezzofy-api");
    out.push("api_pid", api.pid);
    out.push("server_workers", if settings.server.workers == 0 { cores } else { settings.server.workers });
    out.push("connection_queue", settings.realtime.connection_queue);
    out.push("fd_limit", &plan.fd_limit);
    out.push("cores", cores);
    out.push("note", "client_api_postgres_and_redis_share_the_same_cores");

    let rss_started = rss_kib(api.pid)?;
    eprintln!("ws: api RSS {:.1} MiB when healthy", mib(rss_started));
    out.push("api_rss_started_mb", format!("{:.1}", mib(rss_started)));

    // Users and an admin (for /admin/health), with tokens minted here as a login would (the
    // api's logins would leave argon2's buffers in its heap, hiding what the sockets cost).
    let db = testdb.connect().await;
    let hasher = domain::password::PasswordHasher::new(settings.auth.password_hash)
        .map_err(|e| anyhow::anyhow!("password hasher: {e}"))?;
    let hash = hasher.hash(&format!("pw-{}", Uuid::new_v4().simple())).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let codec = domain::auth::TokenCodec::new(
        settings.auth.effective_secret().as_bytes(),
        &settings.auth.issuer,
        &settings.auth.audience,
        settings.auth.access_token_minutes * 60,
        settings.auth.refresh_token_days * 86_400,
    );
    let mut users = Vec::with_capacity(plan.users);
    let mut tokens = Vec::with_capacity(plan.users);
    for i in 0..plan.users {
        let id = create_user(&db, &hash, "finance_manager", "finance", &format!("ws-bench-{i}")).await?;
        tokens.push(access_token(&db, &codec, id).await?);
        users.push(id);
    }
    let admin = create_user(&db, &hash, "admin", "management", "ws-bench-admin").await?;
    let admin_token = access_token(&db, &codec, admin).await?;
    db.close().await.ok();
    let client = reqwest::Client::builder().timeout(WAIT).build()?;
    let user_ids = users;

    // 1. The floor: Redis pub/sub alone.
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    let baseline = baseline(&redis, settings, &user_ids, plan).await?;
    let baseline_p50 = percentile_ms(&baseline.latencies_us, 0.50);
    let baseline_p99 = percentile_ms(&baseline.latencies_us, 0.99);
    eprintln!(
        "ws: baseline: {} deliveries to one raw subscriber, p50 {baseline_p50:.3} ms, p99 {baseline_p99:.3} ms, lost {}",
        baseline.latencies_us.len(),
        baseline.lost
    );
    out.push("baseline_deliveries", baseline.latencies_us.len());
    out.push("baseline_p50_ms", ms(baseline_p50));
    out.push("baseline_p99_ms", ms(baseline_p99));
    out.push("baseline_max_ms", ms(percentile_ms(&baseline.latencies_us, 1.0)));
    out.push("baseline_lost", baseline.lost);

    // 2. Connect.
    // A socket opened and closed first, so the upgrade path's one-off allocations are in `before`.
    let url = |token: &str| format!("ws://{}/chat/ws?token={token}", settings.server.bind);
    let mut warm = open(&url(&tokens[0])).await.context("first socket")?;
    warm.close(None).await.ok();
    drop(warm);
    tokio::time::sleep(SETTLE).await;
    let rss_before = rss_kib(api.pid)?;
    eprintln!(
        "ws: api RSS {:.1} MiB; opening {} sockets ({CONNECT_PARALLEL} at once)",
        mib(rss_before),
        plan.connections
    );
    let connect_start = Instant::now();
    let opened: Vec<anyhow::Result<(usize, Ws, Duration)>> = futures_util::stream::iter(0..plan.connections)
        .map(|i| {
            let u = url(&tokens[i % plan.users]);
            async move {
                let started = Instant::now();
                let ws = open(&u).await.with_context(|| format!("socket {i}"))?;
                Ok((i, ws, started.elapsed()))
            }
        })
        .buffer_unordered(CONNECT_PARALLEL)
        .collect()
        .await;
    let connect_secs = connect_start.elapsed();
    let mut sockets = Vec::with_capacity(plan.connections);
    let mut connect_us = Vec::with_capacity(plan.connections);
    let mut connect_errors = Vec::new();
    for r in opened {
        match r {
            Ok((i, ws, took)) => {
                connect_us.push(took.as_micros() as u64);
                sockets.push((i, ws));
            }
            Err(e) => connect_errors.push(format!("{e:#}")),
        }
    }
    for e in connect_errors.iter().take(5) {
        eprintln!("ws: connect failed: {e}");
    }
    ensure!(
        connect_errors.is_empty(),
        "{} of {} sockets could not connect (first: {})",
        connect_errors.len(),
        plan.connections,
        connect_errors[0]
    );
    connect_us.sort_unstable();
    eprintln!("ws: {} sockets open in {:.2}s", sockets.len(), connect_secs.as_secs_f64());

    // Readers start at once (they answer the server's pings) and wait for the fan-out.
    let origin = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|(i, ws)| tokio::spawn(read_events(i, ws, plan.events, origin, received.clone(), stop_rx.clone())))
        .collect();

    tokio::time::sleep(SETTLE).await;
    let rss_after = rss_kib(api.pid)?;
    let seen_by_api = api_ws_connections(&client, &api.base, &admin_token).await?;
    let per_conn = rss_after.saturating_sub(rss_before) as f64 * 1024.0 / plan.connections as f64;
    eprintln!(
        "ws: api RSS {:.1} MiB with {} sockets ({per_conn:.0} bytes each); the api counts {seen_by_api}",
        mib(rss_after),
        plan.connections
    );
    out.push("ws_connect_secs", format!("{:.3}", connect_secs.as_secs_f64()));
    out.push("ws_connects_per_s", rate(plan.connections as f64 / connect_secs.as_secs_f64()));
    out.push("ws_connect_p50_ms", ms(percentile_ms(&connect_us, 0.50)));
    out.push("ws_connect_p99_ms", ms(percentile_ms(&connect_us, 0.99)));
    out.push("ws_connect_parallel", CONNECT_PARALLEL);
    out.push("api_ws_connections", seen_by_api);
    out.push("api_rss_before_mb", format!("{:.1}", mib(rss_before)));
    out.push("api_rss_after_mb", format!("{:.1}", mib(rss_after)));
    out.push("ws_bytes_per_connection", format!("{per_conn:.0}"));
    let mut check_failures = Vec::new();
    if seen_by_api != plan.connections as u64 {
        check_failures.push(format!("the api counts {seen_by_api} sockets, not {}", plan.connections));
    }

    // 3. Fan-out from a separate publisher (a worker's).
    let publisher_redis = kv::Redis::connect_configured(&settings.redis).await?;
    let publisher = realtime::Publisher::new(&publisher_redis);
    let expected = (plan.events * plan.connections) as u64;
    eprintln!(
        "ws: fan-out: {} events to {} users every {} ms ({expected} deliveries expected)",
        plan.events,
        plan.users,
        plan.interval.as_millis()
    );
    let fanout_start = Instant::now();
    let published = publish_all(plan, &user_ids, origin, |user, event| {
        let publisher = publisher.clone();
        async move { publisher.publish_to_user(user, &event).await.map_err(anyhow::Error::from) }
    })
    .await;
    let publish_secs = fanout_start.elapsed();
    let waited = wait_for(&received, expected).await;
    let delivered_at = waited.last_progress.saturating_duration_since(fanout_start);
    let _ = stop_tx.send(true);
    let mut latencies = Vec::with_capacity(expected as usize);
    let mut lost = 0u64;
    let mut duplicates = 0u64;
    let mut out_of_order = 0u64;
    let mut others = 0u64;
    let mut socket_errors = Vec::new();
    let mut incomplete_sockets = 0u64;
    let mut sockets = Vec::with_capacity(plan.connections);
    for r in readers {
        let r = r.await.context("a reader task failed")?;
        let missing = r.seen.iter().filter(|s| !**s).count() as u64;
        lost += missing;
        incomplete_sockets += u64::from(missing > 0);
        duplicates += r.duplicates;
        out_of_order += r.out_of_order;
        others += r.others;
        latencies.extend_from_slice(&r.latencies_us);
        if let Some(e) = r.error {
            socket_errors.push(format!("socket {}: {e}", r.index));
        }
        if let Some(ws) = r.ws {
            sockets.push(ws);
        }
    }
    latencies.sort_unstable();
    let p50 = percentile_ms(&latencies, 0.50);
    let p99 = percentile_ms(&latencies, 0.99);
    let rss_fanout = rss_kib(api.pid)?;
    eprintln!(
        "ws: fan-out: {} deliveries in {:.2}s, p50 {p50:.3} ms, p99 {p99:.3} ms, max {:.3} ms, lost {lost} \
         ({incomplete_sockets} sockets incomplete), api RSS {:.1} MiB",
        latencies.len(),
        delivered_at.as_secs_f64(),
        percentile_ms(&latencies, 1.0),
        mib(rss_fanout)
    );
    for e in socket_errors.iter().take(5) {
        eprintln!("ws: {e}");
    }
    out.push("fanout_events", plan.events);
    out.push("fanout_interval_ms", plan.interval.as_millis());
    out.push("fanout_publishes", published.ok);
    out.push("fanout_publish_errors", published.errors);
    out.push("fanout_publish_secs", format!("{:.3}", publish_secs.as_secs_f64()));
    out.push("fanout_offered_deliveries_per_s", rate(plan.connections as f64 / plan.interval.as_secs_f64()));
    out.push("fanout_expected", expected);
    out.push("fanout_deliveries", latencies.len());
    out.push("fanout_secs", format!("{:.3}", delivered_at.as_secs_f64()));
    out.push("fanout_deliveries_per_s", rate(latencies.len() as f64 / delivered_at.as_secs_f64()));
    out.push("fanout_p50_ms", ms(p50));
    out.push("fanout_p90_ms", ms(percentile_ms(&latencies, 0.90)));
    out.push("fanout_p99_ms", ms(p99));
    out.push("fanout_max_ms", ms(percentile_ms(&latencies, 1.0)));
    out.push("fanout_p50_ratio", ratio(p50, baseline_p50));
    out.push("fanout_p99_ratio", ratio(p99, baseline_p99));
    out.push("api_rss_after_fanout_mb", format!("{:.1}", mib(rss_fanout)));
    out.push("lost", lost);
    out.push("incomplete_sockets", incomplete_sockets);
    out.push("duplicates", duplicates);
    out.push("out_of_order", out_of_order);
    out.push("other_messages", others);
    out.push("socket_errors", socket_errors.len());
    if published.errors > 0 {
        check_failures.push(format!("{} publishes failed", published.errors));
    }
    if published.unheard > 0 {
        check_failures.push(format!("{} publishes reached no api process", published.unheard));
    }
    if lost > 0 {
        check_failures.push(format!("{lost} deliveries lost ({incomplete_sockets} sockets incomplete)"));
    }
    if duplicates > 0 || out_of_order > 0 {
        check_failures.push(format!("{duplicates} duplicates, {out_of_order} out of order"));
    }
    if baseline.lost > 0 {
        check_failures.push(format!("the baseline subscriber lost {}", baseline.lost));
    }

    // Close every socket; the api lets go of them.
    let close_start = Instant::now();
    futures_util::stream::iter(sockets)
        .for_each_concurrent(64, |mut ws| async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
        })
        .await;
    let gone = testkit::TestApp::eventually(WAIT, || {
        let client = client.clone();
        let base = api.base.clone();
        let token = admin_token.clone();
        async move { api_ws_connections(&client, &base, &token).await.is_ok_and(|n| n == 0) }
    })
    .await;
    let close_secs = close_start.elapsed();
    tokio::time::sleep(SETTLE).await;
    let rss_closed = rss_kib(api.pid)?;
    eprintln!(
        "ws: sockets closed in {:.2}s (api released them: {gone}); api RSS {:.1} MiB",
        close_secs.as_secs_f64(),
        mib(rss_closed)
    );
    out.push("ws_close_secs", format!("{:.3}", close_secs.as_secs_f64()));
    out.push("api_rss_after_close_mb", format!("{:.1}", mib(rss_closed)));
    if !gone {
        check_failures.push("the api still counts sockets after they were closed".into());
    }
    for f in &check_failures {
        eprintln!("ws: check failed: {f}");
    }
    out.errors += check_failures.len() as u64 + connect_errors.len() as u64;
    out.push("check_failures", check_failures.len());
    out.push("errors", out.errors);
    Ok(out)
}

/// A `u64` from the environment, or `default`.
fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v.trim().parse().with_context(|| format!("{name}: `{v}` is not a number")),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The soft `RLIMIT_NOFILE` must cover the sockets (the api inherits it and holds as many).
fn check_fd_limit(connections: usize) -> anyhow::Result<String> {
    let limits = std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits")?;
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .context("no `Max open files` in /proc/self/limits")?
        .to_string();
    if let Ok(n) = soft.parse::<u64>() {
        let need = connections as u64 + FD_MARGIN;
        ensure!(
            n >= need,
            "{connections} sockets need at least {need} file descriptors, the limit is {n}: \
             raise it first (`ulimit -n {}` in the shell that runs bench/run.sh ws)",
            need.saturating_mul(2).max(4096)
        );
    }
    Ok(soft)
}

/// `VmRSS` of `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("api {pid} is gone"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/<pid>/status")
}

/// The api binary of this build profile, built (or found up to date) by cargo.
async fn api_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("BENCH_API_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("where is mezzofy-bench?")?;
    let dir = exe.parent().context("mezzofy-bench has no directory")?;
    let target = dir.parent().context("mezzofy-bench is not in a cargo target directory")?;
    let release = dir.file_name().is_some_and(|n| n == "release");
    eprintln!("ws: building mezzofy-api ({})", if release { "release" } else { "dev" });
    let mut cargo = tokio::process::Command::new("cargo");
    cargo.args(["build", "-p", "api", "--bin", "mezzofy-api"]);
    if release {
        cargo.arg("--release");
    }
    let status = cargo
        .env("CARGO_TARGET_DIR", target)
        .current_dir(testkit::repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .await
        .context("running cargo (or set BENCH_API_BIN)")?;
    ensure!(status.success(), "cargo build -p api --bin mezzofy-api failed: {status}");
    let binary = dir.join("mezzofy-api");
    ensure!(binary.is_file(), "{} not found after the build", binary.display());
    Ok(binary)
}

/// The `mezzofy-api` child process.
struct Api {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

impl Api {
    async fn start(binary: &Path, settings: &Settings) -> anyhow::Result<Self> {
        let mut env = testkit::process::env_for(settings);
        let mut set = |k: &str, v: &str| {
            env.retain(|(key, _)| key != k);
            env.push((k.into(), v.into()));
        };
        // Per-request logs would cost the api CPU; warnings and errors still go to the log.
        set("RUST_LOG", "warn");
        let log = std::env::temp_dir().join(format!("mezzofy-bench-ws-api-{}.log", Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = tokio::process::Command::new(binary)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("MEZZOFY_ENV")
            .current_dir(testkit::repo_root())
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the api exited at once")?;
        let mut api = Self { child, pid, base: format!("http://{}", settings.server.bind), log };
        eprintln!("ws: started {} (pid {pid}, log {})", binary.display(), api.log.display());
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = api.child.try_wait()? {
                bail!("the api exited ({status}) before it was healthy:\n{}", api.log_tail());
            }
            let healthy =
                client.get(format!("{}/health", api.base)).send().await.is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(api);
            }
            if Instant::now() > deadline {
                bail!("the api was not healthy within {}s:\n{}", WAIT.as_secs(), api.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then up to 20 s for a graceful exit (else SIGKILL).
    async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let result = match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(anyhow::anyhow!("the api exited with {status}:\n{}", self.log_tail())),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(anyhow::anyhow!("the api did not stop within 20s of SIGTERM"))
            }
        };
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let warnings = text.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).count();
        if warnings > 0 {
            eprintln!("ws: the api logged {warnings} warning/error lines (kept in {})", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
        result
    }
}

/// A new user with `password_hash`.
async fn create_user(
    db: &store::DatabaseConnection,
    password_hash: &str,
    role: &str,
    department: &str,
    name: &str,
) -> anyhow::Result<Uuid> {
    let email = format!("{name}-{}@example.com", &Uuid::new_v4().simple().to_string()[..8]);
    let address = domain::EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("{email}: {e}"))?;
    let user = store::users::create(
        db,
        store::users::NewUser {
            email: &address,
            password_hash: password_hash.to_string(),
            name,
            department: department.parse().map_err(|e| anyhow::anyhow!("{department}: {e}"))?,
            role,
        },
    )
    .await?;
    Ok(user.id)
}

/// An access token of a new token family, as `POST /auth/login` issues (family row included).
async fn access_token(
    db: &store::DatabaseConnection,
    codec: &domain::auth::TokenCodec,
    user: Uuid,
) -> anyhow::Result<String> {
    let family = Uuid::now_v7();
    let now = chrono::Utc::now();
    let access = codec.mint(domain::auth::TokenKind::Access, user, family, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let refresh =
        codec.mint(domain::auth::TokenKind::Refresh, user, family, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    store::tokens::create_family(
        db,
        store::tokens::NewFamily {
            id: family,
            user_id: user,
            expires_at: refresh.expires_at(),
            user_agent: Some("mezzofy-bench ws"),
            ip_address: None,
        },
    )
    .await?;
    Ok(access.token)
}

/// The api's own count of its sockets (`GET /admin/health`, `websocket_connections`).
async fn api_ws_connections(client: &reqwest::Client, base: &str, admin_token: &str) -> anyhow::Result<u64> {
    let body: Value = client.get(format!("{base}/admin/health")).bearer_auth(admin_token).send().await?.json().await?;
    body["websocket_connections"].as_u64().with_context(|| format!("no websocket_connections in {body}"))
}

/// Opens a socket and waits for the answer to a `ping`: its loop then runs, registered with the
/// api's hub.
async fn open(url: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) =
        tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await.context("connect timed out")??;
    ws.send(Message::text(r#"{"type":"ping"}"#)).await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => bail!("no pong within {}s", WAIT.as_secs()),
            Ok(None) => bail!("closed before the pong"),
            Ok(Some(Err(e))) => bail!("{e}"),
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                if v["type"] == "pong" {
                    return Ok(ws);
                }
                bail!("unexpected before the pong: {t}");
            }
            Ok(Some(Ok(Message::Close(f)))) => bail!("closed before the pong: {f:?}"),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// The published event `seq`, stamped with the nanoseconds since `origin` at publish time.
fn event(seq: usize, origin: Instant) -> realtime::Event {
    realtime::Event::new(EVENT_TYPE)
        .with("task_id", "00000000-0000-0000-0000-000000000000")
        .with("status", "running")
        .with("progress", (seq % 100) as u64)
        .with("message", "bench fan-out")
        .with("bench_seq", seq as u64)
        .with("bench_t_ns", origin.elapsed().as_nanos() as u64)
}

/// (`bench_seq`, publish → now in µs) of an event, if it is one of ours.
fn stamp(payload: &[u8], origin: Instant) -> Option<(usize, u64)> {
    let now = origin.elapsed().as_nanos() as u64;
    let v: Value = serde_json::from_slice(payload).ok()?;
    let seq = v.get("bench_seq")?.as_u64()? as usize;
    let sent = v.get("bench_t_ns")?.as_u64()?;
    Some((seq, now.saturating_sub(sent) / 1_000))
}

#[derive(Default)]
struct Published {
    ok: u64,
    errors: u64,
    /// Publishes no subscriber received (`PUBLISH` returned 0).
    unheard: u64,
}

/// `plan.events` rounds, every `plan.interval`: one publish per user, back to back, each event
/// stamped just before its own publish. `publish` returns how many subscribers got it.
async fn publish_all<F, Fut>(plan: &Plan, users: &[Uuid], origin: Instant, publish: F) -> Published
where
    F: Fn(Uuid, realtime::Event) -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    let mut published = Published::default();
    let mut first_error = None;
    let mut tick = tokio::time::interval(plan.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for seq in 0..plan.events {
        tick.tick().await;
        for user in users {
            match publish(*user, event(seq, origin)).await {
                Ok(0) => {
                    published.ok += 1;
                    published.unheard += 1;
                }
                Ok(_) => published.ok += 1,
                Err(e) => {
                    published.errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = first_error {
        eprintln!("ws: {} publishes failed; first: {e:#}", published.errors);
    }
    published
}

struct Waited {
    /// When the last delivery was counted.
    last_progress: Instant,
}

/// Waits until `received` reaches `expected`, or nothing arrived for [`STALL`].
async fn wait_for(received: &AtomicU64, expected: u64) -> Waited {
    let mut last = received.load(Ordering::Relaxed);
    let mut last_progress = Instant::now();
    loop {
        let now = received.load(Ordering::Relaxed);
        if now != last {
            last = now;
            last_progress = Instant::now();
        }
        if now >= expected || last_progress.elapsed() >= STALL {
            return Waited { last_progress };
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// What one socket received.
struct Received {
    index: usize,
    /// Given back (still open) unless it failed.
    ws: Option<Ws>,
    seen: Vec<bool>,
    latencies_us: Vec<u64>,
    duplicates: u64,
    out_of_order: u64,
    others: u64,
    error: Option<String>,
}

/// Reads one socket until it has every event or `stop` is set.
async fn read_events(
    index: usize,
    mut ws: Ws,
    events: usize,
    origin: Instant,
    received: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Received {
    let mut r = Received {
        index,
        ws: None,
        seen: vec![false; events],
        latencies_us: Vec::with_capacity(events),
        duplicates: 0,
        out_of_order: 0,
        others: 0,
        error: None,
    };
    let mut count = 0;
    let mut last_seq = None;
    while count < events {
        let msg = tokio::select! {
            msg = ws.next() => msg,
            _ = stop.wait_for(|s| *s) => break,
        };
        match msg {
            Some(Ok(Message::Text(t))) => match stamp(t.as_bytes(), origin) {
                Some((seq, us)) if seq < events => {
                    if r.seen[seq] {
                        r.duplicates += 1;
                        continue;
                    }
                    if last_seq.is_some_and(|l| seq < l) {
                        r.out_of_order += 1;
                    }
                    last_seq = Some(seq);
                    r.seen[seq] = true;
                    r.latencies_us.push(us);
                    count += 1;
                    received.fetch_add(1, Ordering::Relaxed);
                }
                _ => r.others += 1,
            },
            Some(Ok(Message::Close(f))) => {
                r.error = Some(format!("closed by the api: {f:?}"));
                return r;
            }
            Some(Ok(_)) => {} // ping / pong (tungstenite answers pings itself)
            Some(Err(e)) => {
                r.error = Some(e.to_string());
                return r;
            }
            None => {
                r.error = Some("closed".into());
                return r;
            }
        }
    }
    r.ws = Some(ws);
    r
}

/// What the raw subscriber received.
struct Baseline {
    latencies_us: Vec<u64>,
    lost: u64,
}

/// The same publishes (same users, events, pacing, payload) to a single raw subscriber
/// `PSUBSCRIBE`d to `{prefix}bench:ws:user:*`, which the api's hub does not hear.
async fn baseline(redis: &kv::Redis, settings: &Settings, users: &[Uuid], plan: &Plan) -> anyhow::Result<Baseline> {
    let channel_prefix = redis.key("bench:ws:user:");
    let client = redis::Client::open(settings.redis.url.expose())?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(format!("{channel_prefix}*")).await?;
    let mut stream = pubsub.into_on_message();
    let expected = plan.events * users.len();
    let origin = Instant::now();
    eprintln!(
        "ws: baseline: {} events to {} channels every {} ms, one raw Redis subscriber",
        plan.events,
        users.len(),
        plan.interval.as_millis()
    );
    let subscriber = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(expected);
        while latencies.len() < expected {
            match tokio::time::timeout(STALL, stream.next()).await {
                Ok(Some(msg)) => {
                    if let Some((_, us)) = stamp(msg.get_payload_bytes(), origin) {
                        latencies.push(us);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        latencies
    });
    let conn = redis.conn();
    let published = publish_all(plan, users, origin, |user, event| {
        let mut conn = conn.clone();
        let channel = format!("{channel_prefix}{user}");
        async move {
            let n: i64 = redis::cmd("PUBLISH").arg(channel).arg(event.to_json()).query_async(&mut conn).await?;
            Ok(usize::try_from(n).unwrap_or(0))
        }
    })
    .await;
    ensure!(published.errors == 0, "baseline: {} publishes failed", published.errors);
    let mut latencies = subscriber.await.context("the baseline subscriber failed")?;
    latencies.sort_unstable();
    let lost = expected.saturating_sub(latencies.len()) as u64;
    Ok(Baseline { latencies_us: latencies, lost })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_sequence_and_publish_time() {
        let origin = Instant::now();
        let e = event(7, origin);
        assert_eq!(e.kind(), EVENT_TYPE);
        let (seq, us) = stamp(e.to_json().as_bytes(), origin).unwrap();
        assert_eq!(seq, 7);
        assert!(us < 1_000_000);
        assert!(stamp(br#"{"type":"pong"}"#, origin).is_none());
    }

    #[test]
    fn rss_of_this_process_is_readable() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn the_fd_limit_is_checked() {
        assert!(check_fd_limit(1).is_ok());
        match check_fd_limit(usize::MAX / 2) {
            Ok(soft) => assert_eq!(soft, "unlimited"),
            Err(e) => assert!(e.to_string().contains("ulimit -n"), "{e}"),
        }
    }
}
