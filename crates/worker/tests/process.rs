//! The `mezzofy-worker` binary: it reports itself in `GET /admin/health` while it runs,
//! SIGTERM stops it cleanly (exit 0, deregistered), and a missing Redis is a clear error.

use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_mezzofy-worker");

#[tokio::test]
async fn reports_liveness_and_stops_on_sigterm() {
    testkit::process::assert_reports_liveness_and_stops(Path::new(BIN), "worker").await;
}

#[tokio::test]
async fn unreachable_redis_is_a_clear_error() {
    testkit::process::assert_unreachable_redis_is_clear(Path::new(BIN)).await;
}
