use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use settings::Settings;

/// Environment that makes a product binary use exactly these settings (and no local
/// `config/config.yaml`).
pub fn env_for(settings: &Settings) -> Vec<(String, String)> {
    vec![
        ("MEZZOFY_CONFIG".into(), "/dev/null".into()),
        ("DATABASE_URL".into(), settings.database.url.expose().into()),
        ("REDIS_URL".into(), settings.redis.url.expose().into()),
        ("JWT_SECRET".into(), settings.auth.jwt_secret.expose().into()),
        ("API_BIND".into(), settings.server.bind.clone()),
        ("MEZZOFY_DATA_DIR".into(), settings.paths.data_dir.clone()),
        ("MEZZOFY__REDIS__KEY_PREFIX".into(), settings.redis.key_prefix.clone()),
        ("MEZZOFY__PATHS__ROLES_FILE".into(), settings.paths.roles_file.clone()),
        ("MEZZOFY__WORKER__HEARTBEAT_SECS".into(), "1".into()),
        ("MEZZOFY__SCHEDULER__HEARTBEAT_SECS".into(), "1".into()),
        ("RUST_LOG".into(), "info".into()),
    ]
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Spawns `binary` with `env`, capturing stdout and stderr.
pub fn spawn(binary: &Path, args: &[&str], env: &[(String, String)]) -> Child {
    Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("MEZZOFY_ENV")
        .current_dir(crate::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}

/// Sends SIGTERM.
pub fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits for the child to exit within `limit`; returns its exit code, stdout and stderr.
pub fn wait_with_deadline(mut child: Child, limit: Duration) -> (Option<i32>, String, String) {
    let end = Instant::now() + limit;
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if Instant::now() > end {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "process did not exit within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks a background service binary (`kind` = worker | scheduler): it appears in
/// `GET /admin/health` while running, exits 0 on SIGTERM and deregisters.
pub async fn assert_reports_liveness_and_stops(binary: &Path, kind: &str) {
    let app = crate::TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    let listed = || async {
        let body: serde_json::Value = app.get("/admin/health", &t.access).await.json().await.unwrap();
        body[format!("{kind}s")].as_array().map(Vec::len).unwrap_or(0)
    };
    assert_eq!(listed().await, 0);
    let child = spawn(binary, &[], &env_for(&app.settings));
    let seen = crate::TestApp::eventually(Duration::from_secs(30), || async { listed().await == 1 }).await;
    assert!(seen, "mezzofy-{kind} never appeared in /admin/health");
    terminate(&child);
    let (code, _, stderr) = wait_with_deadline(child, Duration::from_secs(20));
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(listed().await, 0, "not deregistered on shutdown");
}

/// Checks a binary refuses to start, clearly, when Redis cannot be reached.
pub async fn assert_unreachable_redis_is_clear(binary: &Path) {
    let db = crate::TestDb::new().await;
    let mut env = env_for(&crate::test_settings(&db.url));
    env.retain(|(k, _)| k != "REDIS_URL");
    env.push(("REDIS_URL".into(), "redis://127.0.0.1:1/0".into()));
    let (code, _, stderr) = wait_with_deadline(spawn(binary, &[], &env), Duration::from_secs(30));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot connect to Redis at redis://127.0.0.1:1/0"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
