//! `chat`: a chat turn (`POST /chat/send`) against a fake Anthropic server that answers at
//! once, so what is measured is the api's own cost per turn: authentication, rate limit,
//! session, routing, the message rows, history, the provider round trip, usage, audit.
//!
//! Phases, in one run: `llm_direct` (the fake called directly with the same client: the
//! floor a turn cannot beat), `me` (`/auth/me`: an authenticated request with no turn),
//! `chat_new` (each turn starts a session) and `chat_session` (each connection keeps one
//! session, so history is read and grows).

use std::sync::Arc;

use llm::fake::FakeLlm;
use reqwest::{Client, StatusCode};
use serde_json::json;
use testkit::TestApp;

use super::{Options, Outcome, ms, rate, ratio, secs};
use crate::load::{self, HttpConnection, LoadConfig, Report};

/// Users the connections are spread over (each has its own rate-limit bucket).
const USERS: usize = 8;

pub async fn run(options: &Options) -> anyhow::Result<Outcome> {
    let fake = FakeLlm::anthropic_unrecorded().await;
    fake.set_default(llm::fake::Reply::Text("Revenue was SGD 201,450.00 last month.".into()));
    eprintln!("chat: starting the api (fresh database, fake Anthropic at {})", fake.base_url());
    let provider = fake.settings("claude-sonnet-4-6");
    let app = TestApp::spawn_with(move |s| {
        s.rate_limits.chat = 1_000_000;
        s.rate_limits.auth = 1_000_000;
        s.llm.anthropic = provider;
        s.agents.llm_classifier = false;
        // The production default pool (tests use 10).
        s.database.max_connections = settings::Settings::default().database.max_connections;
        if std::env::var("BENCH_PG_NOSSL").is_ok() {
            let url = format!("{}?sslmode=disable", s.database.url.expose());
            s.database.url = settings::Secret::new(url);
        }
    })
    .await;
    let result = measure(&app, &fake, options).await;
    drop(app);
    result
}

async fn measure(app: &TestApp, fake: &FakeLlm, options: &Options) -> anyhow::Result<Outcome> {
    let cfg = LoadConfig { connections: options.connections, warmup: options.warmup, duration: options.duration };
    let mut tokens = Vec::new();
    for _ in 0..USERS {
        let u = app.create_user("finance_manager").await;
        tokens.push(app.tokens(&u).await.access);
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mut out = Outcome::default();
    out.push("workload", "chat");
    out.push("connections", cfg.connections);
    out.push("duration_s", secs(cfg.duration));
    out.push("warmup_s", secs(cfg.warmup));
    out.push("server_workers", app.settings.server.workers);
    out.push("cores", cores);
    out.push("note", "client_fake_llm_api_postgres_and_redis_share_the_same_cores");

    // The fake alone.
    let url = format!("{}/v1/messages", fake.base_url());
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]});
    let direct: load::BuildRequest = Arc::new(move |c: &Client| {
        c.post(&url).header("x-api-key", "k").header("anthropic-version", "2023-06-01").json(&body)
    });
    let conns = HttpConnection::many(cfg.connections, direct, StatusCode::OK)?;
    let llm_direct = phase("llm_direct", cfg, conns, &mut out).await?;
    out.push("llm_direct_rps", rate(llm_direct.rps()));
    out.push("llm_direct_p50_ms", ms(llm_direct.p50_ms()));

    let me_url = app.url("/auth/me");
    let conns = (0..cfg.connections)
        .map(|i| {
            let url = me_url.clone();
            let token = tokens[i % USERS].clone();
            let build: load::BuildRequest = Arc::new(move |c: &Client| c.get(&url).bearer_auth(&token));
            HttpConnection::new(build, StatusCode::OK)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let me = phase("me", cfg, conns, &mut out).await?;
    out.push("me_rps", rate(me.rps()));
    out.push("me_p50_ms", ms(me.p50_ms()));

    let send_url = app.url("/chat/send");
    let conns = (0..cfg.connections)
        .map(|i| {
            let url = send_url.clone();
            let token = tokens[i % USERS].clone();
            let body = json!({"message": "How did revenue do last month compared with the month before?"});
            let build: load::BuildRequest = Arc::new(move |c: &Client| c.post(&url).bearer_auth(&token).json(&body));
            HttpConnection::new(build, StatusCode::OK)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let chat_new = phase("chat_new", cfg, conns, &mut out).await?;
    report(&mut out, "chat_new", &chat_new, &llm_direct, &me);

    // One session per connection, created up front.
    let client = Client::new();
    let mut conns = Vec::with_capacity(cfg.connections);
    for i in 0..cfg.connections {
        let token = tokens[i % USERS].clone();
        let first: serde_json::Value = client
            .post(&send_url)
            .bearer_auth(&token)
            .json(&json!({"message": "Let's look at revenue."}))
            .send()
            .await?
            .json()
            .await?;
        let sid = first["session_id"].as_str().unwrap_or_default().to_string();
        let url = send_url.clone();
        let body = json!({"message": "And expenses by category?", "session_id": sid});
        let build: load::BuildRequest = Arc::new(move |c: &Client| c.post(&url).bearer_auth(&token).json(&body));
        conns.push(HttpConnection::new(build, StatusCode::OK)?);
    }
    let chat_session = phase("chat_session", cfg, conns, &mut out).await?;
    report(&mut out, "chat_session", &chat_session, &llm_direct, &me);
    out.push("errors", out.errors);
    Ok(out)
}

fn report(out: &mut Outcome, name: &str, r: &Report, llm_direct: &Report, me: &Report) {
    out.push(&format!("{name}_rps"), rate(r.rps()));
    out.push(&format!("{name}_p50_ms"), ms(r.p50_ms()));
    out.push(&format!("{name}_p99_ms"), ms(r.p99_ms()));
    out.push(&format!("{name}_vs_me"), ratio(r.rps(), me.rps()));
    // What a turn adds to the provider round trip, at the median.
    out.push(&format!("{name}_added_p50_ms"), ms(r.p50_ms() - llm_direct.p50_ms()));
    // The seed's Python stack: 190-250 turns/s; the aim is ten times that.
    out.push(&format!("{name}_vs_seed_220_rps"), ratio(r.rps(), 220.0));
}

async fn phase(name: &str, cfg: LoadConfig, conns: Vec<HttpConnection>, out: &mut Outcome) -> anyhow::Result<Report> {
    eprintln!("chat: {name}: {} connections, {}s warm-up + {}s", conns.len(), secs(cfg.warmup), secs(cfg.duration));
    let report = load::run(name, cfg, conns).await?;
    eprintln!("chat: {}", report.summary());
    for e in &report.error_samples {
        eprintln!("chat: {name}: unexpected: {e}");
    }
    out.errors += report.errors;
    Ok(report)
}
