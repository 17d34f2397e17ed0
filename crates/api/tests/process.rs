//! The `mezzofy-api` binary itself: clear startup errors, graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use testkit::process::{env_for, free_port, spawn, terminate, wait_with_deadline};
use testkit::{TestDb, test_settings};

const BIN: &str = env!("CARGO_BIN_EXE_mezzofy-api");

fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.into(), value.into()));
}

fn assert_clean_failure(stderr: &str, expected: &str) {
    assert!(stderr.contains(expected), "expected {expected:?} in stderr:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("stack backtrace"), "not a clean error:\n{stderr}");
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error() {
    let mut env = env_for(&test_settings("postgres://postgres@127.0.0.1:1/nothing"));
    set(&mut env, "API_BIND", &format!("127.0.0.1:{}", free_port()));
    let child = spawn(Path::new(BIN), &[], &env);
    let (code, _, stderr) = wait_with_deadline(child, Duration::from_secs(30));
    assert_eq!(code, Some(1));
    assert_clean_failure(
        &stderr,
        "cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/nothing: connection refused",
    );
}

#[tokio::test]
async fn unreachable_redis_is_a_clear_error() {
    let db = TestDb::new().await;
    let mut env = env_for(&test_settings(&db.url));
    set(&mut env, "REDIS_URL", "redis://127.0.0.1:1/0");
    let child = spawn(Path::new(BIN), &[], &env);
    let (code, _, stderr) = wait_with_deadline(child, Duration::from_secs(30));
    assert_eq!(code, Some(1));
    assert_clean_failure(&stderr, "cannot connect to Redis at redis://127.0.0.1:1/0");
}

#[tokio::test]
async fn configuration_errors_name_the_key() {
    let mut env = env_for(&test_settings("postgres://postgres@127.0.0.1:5432/x"));
    set(&mut env, "MEZZOFY__RATE_LIMITS__AUTH", "lots");
    let (code, _, stderr) = wait_with_deadline(spawn(Path::new(BIN), &[], &env), Duration::from_secs(10));
    assert_eq!(code, Some(2));
    assert_clean_failure(&stderr, "rate_limits.auth");

    let mut env = env_for(&test_settings("postgres://postgres@127.0.0.1:5432/x"));
    set(&mut env, "MEZZOFY_ENV", "production");
    set(&mut env, "JWT_SECRET", settings::DEV_JWT_SECRET);
    let child = std::process::Command::new(BIN)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(testkit::repo_root())
        .output()
        .unwrap();
    assert_eq!(child.status.code(), Some(2));
    assert_clean_failure(&String::from_utf8_lossy(&child.stderr), "development secret");
}

#[tokio::test]
async fn unmigrated_database_is_refused_with_the_fix() {
    let admin = store::maintenance::open("postgres://postgres@127.0.0.1:5432/postgres", 1).await.unwrap();
    let name = format!("mz_t_{}", uuid::Uuid::new_v4().simple());
    store::maintenance::execute(&admin, &format!("CREATE DATABASE {name}")).await.unwrap();
    let mut env = env_for(&test_settings(&format!("postgres://postgres@127.0.0.1:5432/{name}")));
    set(&mut env, "API_BIND", &format!("127.0.0.1:{}", free_port()));
    let (code, _, stderr) = wait_with_deadline(spawn(Path::new(BIN), &[], &env), Duration::from_secs(30));
    store::maintenance::execute(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    assert_eq!(code, Some(1));
    assert_clean_failure(&stderr, "run `mezzofy migrate`");
}

#[tokio::test]
async fn sigterm_stops_the_api_gracefully() {
    let db = TestDb::new().await;
    let mut settings = test_settings(&db.url);
    let port = free_port();
    settings.server.bind = format!("127.0.0.1:{port}");
    let child = spawn(Path::new(BIN), &[], &env_for(&settings));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/health");
    let up = testkit::TestApp::eventually(Duration::from_secs(30), || {
        let client = client.clone();
        let url = url.clone();
        async move { client.get(&url).send().await.map(|r| r.status().is_success()).unwrap_or(false) }
    })
    .await;
    assert!(up, "the api never became healthy");
    terminate(&child);
    let (code, _, stderr) = wait_with_deadline(child, Duration::from_secs(20));
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(client.get(&url).send().await.is_err(), "still serving after SIGTERM");
}
