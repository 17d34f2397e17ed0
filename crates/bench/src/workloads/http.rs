//! `http`: what the api's request path costs on top of actix itself.
//!
//! Four phases against one api process with a single HTTP worker, in the same run:
//! a 404 on an unknown path (no IO: the floor), `/health` (a PostgreSQL and a Redis ping),
//! `/auth/me` (JWT verification, Redis revocation check, cached user row) and
//! `/auth/login` (argon2id, CPU-bound, with fewer connections).

use std::sync::Arc;

use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use testkit::TestApp;

use super::{Options, Outcome, ms, rate, ratio, secs};
use crate::load::{self, HttpConnection, LoadConfig, Report};

/// Connections of the login phase: argon2 saturates the CPU long before 64.
pub const LOGIN_CONNECTIONS: usize = 8;
/// HTTP workers of the api under test.
pub const SERVER_WORKERS: usize = 1;

pub async fn run(options: &Options) -> anyhow::Result<Outcome> {
    eprintln!("http: starting the api (fresh database, {SERVER_WORKERS} HTTP worker)");
    let app = TestApp::spawn_with(|s| {
        s.rate_limits.auth = 1_000_000;
        s.server.workers = SERVER_WORKERS;
    })
    .await;
    let result = measure(&app, options).await;
    drop(app);
    result
}

async fn measure(app: &TestApp, options: &Options) -> anyhow::Result<Outcome> {
    let cfg = LoadConfig { connections: options.connections, warmup: options.warmup, duration: options.duration };
    let login_cfg =
        LoadConfig { connections: LOGIN_CONNECTIONS, warmup: options.warmup, duration: options.duration / 2 };

    let me_user = app.create_user("sales_rep").await;
    let access = app.tokens(&me_user).await.access;
    let mut login_users = Vec::with_capacity(LOGIN_CONNECTIONS);
    for _ in 0..LOGIN_CONNECTIONS {
        login_users.push(app.create_user("sales_rep").await);
    }

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mut out = Outcome::default();
    out.push("workload", "http");
    out.push("connections", cfg.connections);
    out.push("duration_s", secs(cfg.duration));
    out.push("warmup_s", secs(cfg.warmup));
    out.push("server_workers", SERVER_WORKERS);
    out.push("cores", cores);
    out.push("note", "client_and_server_share_the_same_cores");

    let conns = HttpConnection::many(
        cfg.connections,
        HttpConnection::simple(Method::GET, app.url("/bench/none")),
        StatusCode::NOT_FOUND,
    )?;
    let baseline = phase("baseline", cfg, conns, &mut out).await?;
    out.push("baseline_rps", rate(baseline.rps()));
    out.push("baseline_p50_ms", ms(baseline.p50_ms()));
    out.push("baseline_p99_ms", ms(baseline.p99_ms()));

    let conns =
        HttpConnection::many(cfg.connections, HttpConnection::simple(Method::GET, app.url("/health")), StatusCode::OK)?;
    let health = phase("health", cfg, conns, &mut out).await?;
    out.push("health_rps", rate(health.rps()));
    out.push("health_p50_ms", ms(health.p50_ms()));
    out.push("health_p99_ms", ms(health.p99_ms()));
    out.push("health_vs_baseline", ratio(health.rps(), baseline.rps()));

    let url = app.url("/auth/me");
    let me_request: load::BuildRequest = Arc::new(move |c: &Client| c.get(&url).bearer_auth(&access));
    let conns = HttpConnection::many(cfg.connections, me_request, StatusCode::OK)?;
    let me = phase("me", cfg, conns, &mut out).await?;
    out.push("me_rps", rate(me.rps()));
    out.push("me_p50_ms", ms(me.p50_ms()));
    out.push("me_p99_ms", ms(me.p99_ms()));
    out.push("me_vs_baseline", ratio(me.rps(), baseline.rps()));

    // Same cost for a wrong password and an unknown account (both 401 after one argon2id
    // verification): the ratio should be close to 1.
    let wrong_pw = login_users.first().map(|u| u.email.clone()).unwrap_or_default();
    let mut timing = Vec::new();
    for (name, email) in [("login_wrong_password", wrong_pw), ("login_unknown_user", "nobody@example.com".to_string())]
    {
        let url = app.url("/auth/login");
        let body = json!({"email": email, "password": "not-the-password"});
        let build: load::BuildRequest = Arc::new(move |c: &Client| c.post(&url).json(&body));
        let conns = HttpConnection::many(LOGIN_CONNECTIONS, build, StatusCode::UNAUTHORIZED)?;
        let r = phase(name, login_cfg, conns, &mut out).await?;
        out.push(&format!("{name}_p50_ms"), ms(r.p50_ms()));
        timing.push(r.p50_ms());
    }
    if let [wrong, unknown] = timing[..] {
        out.push("login_unknown_vs_wrong_p50", ratio(unknown, wrong));
    }

    let conns = login_users
        .into_iter()
        .map(|user| {
            let url = app.url("/auth/login");
            let body = json!({"email": user.email, "password": user.password});
            let build: load::BuildRequest = Arc::new(move |c: &Client| c.post(&url).json(&body));
            HttpConnection::new(build, StatusCode::OK)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let login = phase("login", login_cfg, conns, &mut out).await?;
    out.push("login_connections", login_cfg.connections);
    out.push("login_duration_s", secs(login_cfg.duration));
    out.push("login_per_s", rate(login.rps()));
    out.push("login_p50_ms", ms(login.p50_ms()));
    out.push("login_p99_ms", ms(login.p99_ms()));

    out.push("errors", out.errors);
    Ok(out)
}

async fn phase(name: &str, cfg: LoadConfig, conns: Vec<HttpConnection>, out: &mut Outcome) -> anyhow::Result<Report> {
    eprintln!("http: {name}: {} connections, {}s warm-up + {}s", conns.len(), secs(cfg.warmup), secs(cfg.duration));
    let report = load::run(name, cfg, conns).await?;
    eprintln!("http: {}", report.summary());
    for e in &report.error_samples {
        eprintln!("http: {name}: unexpected: {e}");
    }
    out.errors += report.errors;
    Ok(report)
}
