//! A closed-loop load generator: N connections, each sending its next request as soon as
//! the previous one is answered, for a warm-up and then a measured duration.
//!
//! A workload supplies one [`Connection`] per simulated client (an HTTP keep-alive
//! connection, later a websocket, a queue producer, ...). The generator drives them all at
//! once and reports throughput, latency percentiles and unexpected outcomes.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder, StatusCode};

/// How long and how wide one measurement is.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// One simulated client. `request` performs one operation and says whether its outcome
/// was the expected one (`Err` carries a short description for the log).
pub trait Connection: Send + 'static {
    fn request(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

/// What one measurement produced.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub connections: usize,
    /// Operations answered as expected during the measured window.
    pub requests: u64,
    /// Unexpected outcomes, warm-up included (a healthy run has none).
    pub errors: u64,
    /// First few error descriptions, for the log.
    pub error_samples: Vec<String>,
    /// Wall time from the end of the warm-up until every connection had stopped.
    pub elapsed: Duration,
    /// Sorted latencies of the measured operations, in microseconds.
    latencies_us: Vec<u64>,
}

/// Nearest-rank quantile `q` (0..=1) of sorted microseconds, in milliseconds (0 if empty).
pub fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let n = sorted_us.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted_us.get(rank - 1).copied().unwrap_or(0) as f64 / 1000.0
}

impl Report {
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.requests as f64 / secs } else { 0.0 }
    }

    /// Latency at quantile `q` (0..=1, nearest rank), in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        percentile_ms(&self.latencies_us, q)
    }

    pub fn p50_ms(&self) -> f64 {
        self.percentile_ms(0.50)
    }

    pub fn p99_ms(&self) -> f64 {
        self.percentile_ms(0.99)
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0
    }

    /// One human-readable summary line (for stderr).
    pub fn summary(&self) -> String {
        format!(
            "{}: {} conns, {} ok in {:.2}s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors",
            self.name,
            self.connections,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.rps(),
            self.p50_ms(),
            self.p99_ms(),
            self.max_ms(),
            self.errors
        )
    }
}

struct TaskResult {
    latencies_us: Vec<u64>,
    errors: u64,
    error_samples: Vec<String>,
}

const MAX_ERROR_SAMPLES: usize = 5;

/// Runs `connections` (one task each) for `cfg.warmup + cfg.duration`.
pub async fn run<C: Connection>(name: &str, cfg: LoadConfig, connections: Vec<C>) -> anyhow::Result<Report> {
    anyhow::ensure!(!connections.is_empty(), "{name}: no connections");
    let count = connections.len();
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let stop_at = measure_from + cfg.duration;
    let mut tasks = Vec::with_capacity(count);
    for mut conn in connections {
        tasks.push(tokio::spawn(async move {
            let mut out = TaskResult { latencies_us: Vec::with_capacity(4096), errors: 0, error_samples: vec![] };
            loop {
                let sent = Instant::now();
                if sent >= stop_at {
                    break;
                }
                match conn.request().await {
                    Ok(()) => {
                        if sent >= measure_from {
                            let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                            out.latencies_us.push(us);
                        }
                    }
                    Err(e) => {
                        out.errors += 1;
                        if out.error_samples.len() < MAX_ERROR_SAMPLES {
                            out.error_samples.push(e);
                        }
                    }
                }
            }
            out
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    let mut error_samples = Vec::new();
    for task in tasks {
        let r = task.await?;
        latencies_us.extend(r.latencies_us);
        errors += r.errors;
        for e in r.error_samples {
            if error_samples.len() < MAX_ERROR_SAMPLES {
                error_samples.push(e);
            }
        }
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    latencies_us.sort_unstable();
    Ok(Report {
        name: name.to_string(),
        connections: count,
        requests: latencies_us.len() as u64,
        errors,
        error_samples,
        elapsed,
        latencies_us,
    })
}

/// Builds one HTTP request from a client (method, URL, headers, body).
pub type BuildRequest = Arc<dyn Fn(&Client) -> RequestBuilder + Send + Sync>;

/// One keep-alive HTTP connection: its own `reqwest::Client` (so its own pool, and with
/// one request at a time, exactly one TCP connection) sending the same request, which must
/// be answered with `expect`. The body is read completely.
pub struct HttpConnection {
    client: Client,
    build: BuildRequest,
    expect: StatusCode,
}

impl HttpConnection {
    pub fn new(build: BuildRequest, expect: StatusCode) -> anyhow::Result<Self> {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { client, build, expect })
    }

    /// `n` connections sending the same request.
    pub fn many(n: usize, build: BuildRequest, expect: StatusCode) -> anyhow::Result<Vec<Self>> {
        (0..n).map(|_| Self::new(build.clone(), expect)).collect()
    }

    /// A request without body or headers.
    pub fn simple(method: Method, url: String) -> BuildRequest {
        Arc::new(move |c: &Client| c.request(method.clone(), &url))
    }
}

impl Connection for HttpConnection {
    async fn request(&mut self) -> Result<(), String> {
        let res = (self.build)(&self.client).send().await.map_err(|e| format!("request failed: {e}"))?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| format!("reading body failed: {e}"))?;
        if status == self.expect {
            Ok(())
        } else {
            let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            Err(format!("status {status} (expected {}): {text}", self.expect))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sleepy(u64);

    impl Connection for Sleepy {
        async fn request(&mut self) -> Result<(), String> {
            tokio::time::sleep(Duration::from_millis(self.0)).await;
            if self.0 == 0 { Err("zero".into()) } else { Ok(()) }
        }
    }

    #[tokio::test]
    async fn counts_latencies_and_errors() {
        let cfg =
            LoadConfig { connections: 2, warmup: Duration::from_millis(50), duration: Duration::from_millis(300) };
        let r = run("t", cfg, vec![Sleepy(5), Sleepy(10)]).await.unwrap();
        assert_eq!(r.errors, 0);
        assert!(r.requests > 20, "{}", r.summary());
        assert!(r.p50_ms() >= 5.0 && r.p99_ms() >= r.p50_ms() && r.max_ms() >= r.p99_ms());
        let r = run("t", cfg, vec![Sleepy(0)]).await.unwrap();
        assert!(r.errors > 0 && r.requests == 0);
        assert_eq!(r.error_samples.len(), MAX_ERROR_SAMPLES);
    }

    #[test]
    fn percentiles_nearest_rank() {
        let r = Report {
            name: "p".into(),
            connections: 1,
            requests: 100,
            errors: 0,
            error_samples: vec![],
            elapsed: Duration::from_secs(1),
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
        };
        assert_eq!(r.p50_ms(), 50.0);
        assert_eq!(r.p99_ms(), 99.0);
        assert_eq!(r.max_ms(), 100.0);
        assert_eq!(r.rps(), 100.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!((percentile_ms(&v, 0.5), percentile_ms(&v, 0.99), percentile_ms(&v, 1.0)), (50.0, 99.0, 100.0));
    }
}
