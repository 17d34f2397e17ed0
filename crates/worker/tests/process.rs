//! The `mezzofy-worker` binary: it reports itself in `GET /admin/health` while it runs,
//! and SIGTERM stops it cleanly (exit 0, deregistered).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::TestApp;
use testkit::process::{env_for, spawn, terminate, wait_with_deadline};

const BIN: &str = env!("CARGO_BIN_EXE_mezzofy-worker");

async fn listed(app: &TestApp, token: &str) -> usize {
    let body: Value = app.get("/admin/health", token).await.json().await.unwrap();
    body["workers"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test]
async fn reports_liveness_and_stops_on_sigterm() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    assert_eq!(listed(&app, &t.access).await, 0);

    let child = spawn(Path::new(BIN), &[], &env_for(&app.settings));
    let seen = TestApp::eventually(Duration::from_secs(30), || async { listed(&app, &t.access).await == 1 }).await;
    assert!(seen, "mezzofy-worker never appeared in /admin/health");

    terminate(&child);
    let (code, _, stderr) = wait_with_deadline(child, Duration::from_secs(20));
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(listed(&app, &t.access).await, 0, "not deregistered on shutdown");
}

#[tokio::test]
async fn unreachable_redis_is_a_clear_error() {
    let db = testkit::TestDb::new().await;
    let mut env = env_for(&testkit::test_settings(&db.url));
    env.retain(|(k, _)| k != "REDIS_URL");
    env.push(("REDIS_URL".into(), "redis://127.0.0.1:1/0".into()));
    let (code, _, stderr) = wait_with_deadline(spawn(Path::new(BIN), &[], &env), Duration::from_secs(30));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot connect to Redis at redis://127.0.0.1:1/0"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
