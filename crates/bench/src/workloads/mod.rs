//! Workloads: each one sets up what it needs (usually the api via `testkit`), drives it
//! with [`crate::load`] and returns `key=value` results.
//!
//! To add one: write `workloads/<name>.rs` with `pub async fn run(&Options) -> anyhow::Result<Outcome>`
//! and list it in [`WORKLOADS`] and [`run`] (and in `bench/run.sh`'s usage and `bench/README.md`).

pub mod chat;
pub mod http;
pub mod queue;
pub mod webhooks;
pub mod ws;

use std::time::Duration;

/// Command-line options shared by every workload.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Concurrent connections of the main measurements.
    pub connections: usize,
    /// Measured seconds per phase.
    pub duration: Duration,
    /// Unmeasured seconds before each phase.
    pub warmup: Duration,
    /// Jobs enqueued and drained by the `queue` workload.
    pub jobs: usize,
    /// `worker.concurrency` (slots per queue and lane) of the `queue` workload's worker.
    pub concurrency: usize,
}

/// What a workload hands back: the result lines, in order, and how many requests had an
/// unexpected outcome (any makes the run fail).
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<(String, String)>,
    pub errors: u64,
}

impl Outcome {
    pub fn push(&mut self, key: &str, value: impl std::fmt::Display) {
        self.lines.push((key.to_string(), value.to_string()));
    }
}

/// Result formatting shared by the workloads.
pub(crate) fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

pub(crate) fn rate(v: f64) -> String {
    format!("{v:.1}")
}

pub(crate) fn ms(v: f64) -> String {
    format!("{v:.3}")
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.3}", a / b) } else { "nan".into() }
}

/// Name and one-line description of every workload.
pub const WORKLOADS: &[(&str, &str)] = &[
    ("http", "HTTP baseline (404, no IO) vs /health, /auth/me and /auth/login on one api worker"),
    ("chat", "POST /chat/send against a fake LLM answering at once: turns/s, p50/p99, the api's added latency"),
    ("queue", "Redis LPUSH/RPOP ceiling, then enqueue latency of N jobs and their drain by one worker"),
    ("webhooks", "signed POST /webhooks/mezzofy vs a 404 baseline; every accepted event processed once"),
    (
        "ws",
        "sockets held by one mezzofy-api process (RSS per socket), fan-out latency publish -> every socket vs raw Redis",
    ),
];

pub async fn run(name: &str, options: &Options) -> anyhow::Result<Outcome> {
    match name {
        "chat" => chat::run(options).await,
        "http" => http::run(options).await,
        "queue" => queue::run(options).await,
        "webhooks" => webhooks::run(options).await,
        "ws" => ws::run(options).await,
        other => anyhow::bail!("unknown workload `{other}`"),
    }
}
