//! Test support: a private PostgreSQL database per test (copied from a migrated template),
//! a private Redis key prefix per test, and the real api spawned on port 0.
//!
//! The shared services are only ever given new databases and new key prefixes; nothing here
//! restarts, stops or flushes them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod db;
pub mod process;
mod redis_server;

pub use app::{TestApp, TestUser, Tokens};
pub use db::TestDb;
pub use redis_server::PrivateRedis;

use std::path::PathBuf;

/// The repository root (for `config/roles.yaml` and other committed files): the nearest
/// directory above the working directory (test binaries run in their package's directory)
/// holding `config/roles.yaml`, else the one this crate was compiled in. The working
/// directory comes first because a shared target directory may hold a build of this crate
/// made in another checkout.
pub fn repo_root() -> PathBuf {
    let is_root = |p: &std::path::Path| p.join("config/roles.yaml").is_file() && p.join("Cargo.toml").is_file();
    if let Ok(cwd) = std::env::current_dir()
        && let Some(found) = cwd.ancestors().find(|p| is_root(p))
    {
        return found.to_path_buf();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Settings for a test: defaults, the given database, a unique Redis prefix, port 0, a
/// random JWT secret and generous auth rate limits (tests of the limits set their own).
pub fn test_settings(database_url: &str) -> settings::Settings {
    let mut s = settings::Settings::default();
    s.database.url = settings::Secret::new(database_url);
    s.database.max_connections = 10;
    s.redis.url =
        settings::Secret::new(std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into()));
    s.redis.key_prefix = format!("mzt:{}:", uuid::Uuid::new_v4().simple());
    s.server.bind = "127.0.0.1:0".into();
    s.server.workers = 2;
    s.auth.jwt_secret = settings::Secret::new(format!("test-secret-{}", uuid::Uuid::new_v4().simple()));
    s.rate_limits.auth = 10_000;
    s.rate_limits.chat = 10_000;
    s.paths.roles_file = repo_root().join("config/roles.yaml").display().to_string();
    s.paths.knowledge_dir = repo_root().join("knowledge").display().to_string();
    s.paths.data_dir =
        std::env::temp_dir().join(format!("mzt-data-{}", uuid::Uuid::new_v4().simple())).display().to_string();
    // Never a real recognizer a developer may be running: tests point at a fake, or at
    // nothing (port 9, discard) to see the "no recognizer" path.
    s.input.transcription_base_url = "http://127.0.0.1:9".into();
    s
}
