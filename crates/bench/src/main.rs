//! `mezzofy-bench <workload> [--duration SECS] [--warmup SECS] [--connections N] [--jobs N] [--concurrency N]`
//!
//! Prints `key=value` result lines on stdout and nothing else; progress goes to stderr.
//! Exits non-zero when a workload fails or any request had an unexpected outcome.

mod load;
mod workloads;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use workloads::{Options, WORKLOADS};

fn usage() -> String {
    let mut s = String::from(
        "usage: mezzofy-bench <workload> [--duration SECS] [--warmup SECS] [--connections N] [--jobs N] [--concurrency N]\n\
         defaults: --duration 10 --warmup 2 --connections 64 (http); --jobs 20000 --concurrency 4 (queue)\n\n\
         workloads:\n",
    );
    for (name, what) in WORKLOADS {
        s.push_str(&format!("  {name:<10} {what}\n"));
    }
    s
}

fn parse(args: &[String]) -> anyhow::Result<(String, Options)> {
    let mut options = Options {
        connections: 64,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        jobs: 20_000,
        concurrency: 4,
    };
    let mut workload = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> anyhow::Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().cloned().with_context(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "--duration" => options.duration = seconds(&value("--duration")?, "--duration")?,
            "--warmup" => options.warmup = seconds(&value("--warmup")?, "--warmup")?,
            "--connections" => options.connections = count(&value("--connections")?, "--connections")?,
            "--jobs" => options.jobs = count(&value("--jobs")?, "--jobs")?,
            "--concurrency" => options.concurrency = count(&value("--concurrency")?, "--concurrency")?,
            f if f.starts_with('-') => bail!("unknown option `{f}`"),
            name if workload.is_none() => workload = Some(name.to_string()),
            extra => bail!("unexpected argument `{extra}`"),
        }
    }
    let workload = workload.context("no workload given")?;
    if !WORKLOADS.iter().any(|(name, _)| *name == workload) {
        bail!("unknown workload `{workload}`");
    }
    Ok((workload, options))
}

fn count(v: &str, flag: &str) -> anyhow::Result<usize> {
    let n: usize = v.parse().with_context(|| format!("{flag}: `{v}` is not a number"))?;
    if n == 0 {
        bail!("{flag} must be at least 1");
    }
    Ok(n)
}

fn seconds(v: &str, flag: &str) -> anyhow::Result<Duration> {
    let secs: f64 = v.parse().with_context(|| format!("{flag}: `{v}` is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        bail!("{flag}: `{v}` is not a number of seconds");
    }
    Ok(Duration::from_secs_f64(secs))
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs (to stderr) only when asked for: RUST_LOG=worker=debug bench/run.sh queue
    if std::env::var_os("RUST_LOG").is_some() {
        settings::telemetry::init("mezzofy-bench", &settings::Settings::default());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprint!("{}", usage());
        return if args.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    }
    let (workload, options) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e:#}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match workloads::run(&workload, &options).await {
        Ok(outcome) => {
            for (key, value) in &outcome.lines {
                println!("{key}={value}");
            }
            if outcome.errors > 0 {
                eprintln!("error: {} request(s) had an unexpected outcome", outcome.errors);
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {workload}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_flags() {
        let (w, o) = parse(&args("http --duration 3 --connections=8 --warmup 0.5")).unwrap();
        assert_eq!(w, "http");
        assert_eq!(o.connections, 8);
        assert_eq!(o.duration, Duration::from_secs(3));
        assert_eq!(o.warmup, Duration::from_millis(500));
        let (_, o) = parse(&args("http")).unwrap();
        assert_eq!((o.connections, o.duration.as_secs(), o.warmup.as_secs()), (64, 10, 2));
        assert_eq!((o.jobs, o.concurrency), (20_000, 4));
        let (w, o) = parse(&args("queue --jobs 2000 --concurrency=8")).unwrap();
        assert_eq!((w.as_str(), o.jobs, o.concurrency), ("queue", 2000, 8));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&args("nope")).is_err());
        assert!(parse(&args("http --connections 0")).is_err());
        assert!(parse(&args("queue --jobs 0")).is_err());
        assert!(parse(&args("queue --concurrency x")).is_err());
        assert!(parse(&args("http --duration")).is_err());
        assert!(parse(&args("http --bogus 1")).is_err());
        assert!(parse(&args("http http")).is_err());
        assert!(parse(&args("--duration 1")).is_err());
    }
}
