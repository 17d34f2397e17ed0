//! The `mezzofy` admin CLI against a real database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use testkit::process::{env_for, spawn, wait_with_deadline};
use testkit::test_settings;

const BIN: &str = env!("CARGO_BIN_EXE_mezzofy");

fn run(env: &[(String, String)], args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = spawn(Path::new(BIN), args, env);
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let (code, out, err) = wait_with_deadline(child, Duration::from_secs(60));
    (code.unwrap_or(-1), out, err)
}

#[tokio::test]
async fn migrate_seed_and_manage_users() {
    // A brand-new, empty database: the CLI migrates it.
    let admin = store::maintenance::open("postgres://postgres@127.0.0.1:5432/postgres", 1).await.unwrap();
    let name = format!("mz_t_{}", uuid::Uuid::new_v4().simple());
    store::maintenance::execute(&admin, &format!("CREATE DATABASE {name}")).await.unwrap();
    let settings = test_settings(&format!("postgres://postgres@127.0.0.1:5432/{name}"));
    let env = env_for(&settings);

    let (code, out, err) = run(&env, &["user", "list"], None);
    assert_eq!(code, 1);
    assert!(err.contains("run `mezzofy migrate`"), "{out}{err}");

    let (code, out, err) = run(&env, &["migrate"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied m20261124_000001_foundation"), "{out}");
    let (code, out, _) = run(&env, &["migrate"], None);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"), "{out}");

    let (code, out, err) = run(&env, &["seed", "--demo"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("admin@mezzofy.com") && out.contains("cfo@mezzofy.com"), "{out}");
    // Idempotent: a second seed creates nothing and fails nothing.
    let (code, out, _) = run(&env, &["seed", "--demo"], None);
    assert_eq!(code, 0);
    assert!(out.contains("already exists"), "{out}");

    let (code, out, err) = run(
        &env,
        &[
            "user",
            "create",
            "--email",
            "New.Person@Mezzofy.com",
            "--name",
            "New Person",
            "--department",
            "support",
            "--role",
            "support_agent",
        ],
        Some("a-long-enough-password\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("new.person@mezzofy.com"), "{out}");

    for (args, stdin, expected) in [
        (
            vec![
                "user",
                "create",
                "--email",
                "x@y.co",
                "--name",
                "X",
                "--department",
                "sales",
                "--role",
                "support_agent",
            ],
            "a-long-enough-password\n",
            "cannot belong to department",
        ),
        (
            vec!["user", "create", "--email", "x@y.co", "--name", "X", "--department", "sales", "--role", "sales_rep"],
            "short\n",
            "at least 10",
        ),
        (
            vec![
                "user",
                "create",
                "--email",
                "new.person@mezzofy.com",
                "--name",
                "X",
                "--department",
                "support",
                "--role",
                "support_agent",
            ],
            "a-long-enough-password\n",
            "already exists",
        ),
        (
            vec!["user", "create", "--email", "nope", "--name", "X", "--department", "sales", "--role", "sales_rep"],
            "a-long-enough-password\n",
            "not a valid e-mail",
        ),
        (
            vec!["user", "create", "--email", "x@y.co", "--name", "X", "--department", "sales", "--role", "sales_rep"],
            "",
            "no password",
        ),
    ] {
        let (code, out, err) = run(&env, &args, Some(stdin));
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains(expected), "{args:?}: expected {expected:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }

    let (code, out, _) = run(&env, &["user", "list", "--department", "support"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("new.person@mezzofy.com") && out.contains("support@mezzofy.com") && !out.contains("cfo@"),
        "{out}"
    );

    let (code, out, err) = run(&env, &["user", "deactivate", "--email", "new.person@mezzofy.com"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deactivated"), "{out}");
    let db = store::maintenance::open(settings.database.url.expose(), 1).await.unwrap();
    let u = store::users::by_email(&db, &domain::EmailAddress::parse("new.person@mezzofy.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!u.is_active);
    let (rows, _) =
        store::audit::list(&db, &store::audit::Filter { source: Some("cli".into()), ..Default::default() }, 0, 100)
            .await
            .unwrap();
    assert!(rows.iter().any(|r| r.action == "cli.user.deactivate"));

    let (code, _, err) = run(&env, &["user", "deactivate", "--email", "admin@mezzofy.com"], None);
    assert_eq!(code, 1);
    assert!(err.contains("last active admin"), "{err}");
    db.close().await.ok();

    let mut prod = env.clone();
    prod.push(("MEZZOFY_ENV".into(), "production".into()));
    prod.retain(|(k, _)| k != "JWT_SECRET");
    prod.push(("JWT_SECRET".into(), "f".repeat(64)));
    let out = std::process::Command::new(BIN)
        .args(["seed", "--demo"])
        .envs(prod.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(testkit::repo_root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to create demo users in production"));

    store::maintenance::execute(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
}

#[tokio::test]
async fn seeded_admin_can_log_in() {
    let app = testkit::TestApp::spawn().await;
    let mut env = env_for(&app.settings);
    env.push(("MEZZOFY_ADMIN_PASSWORD".into(), "the-first-admin-password".into()));
    let (code, out, err) = run(&env, &["seed"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from MEZZOFY_ADMIN_PASSWORD") && !out.contains("the-first-admin-password"), "{out}");
    let res = app.login("admin@mezzofy.com", "the-first-admin-password").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn dlq_list_and_replay() {
    let app = testkit::TestApp::spawn().await;
    let env = env_for(&app.settings);
    let e =
        jobs::enqueue(&app.db, jobs::NewJob::new(domain::jobs::Queue::Delivery, "test.email", serde_json::json!({})))
            .await
            .unwrap();
    store::jobs::claim(&app.db, e.id, "w").await.unwrap().unwrap();
    store::jobs::fail(&app.db, e.id, "w", "Graph answered 400: invalid recipient", None).await.unwrap();

    let (code, out, err) = run(&env, &["dlq", "list"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&e.id.to_string()) && out.contains("invalid recipient") && out.contains("1 dead job"),
        "{out}"
    );
    let (code, _, err) = run(&env, &["dlq", "replay"], None);
    assert_eq!(code, 1);
    assert!(err.contains("either --id"), "{err}");
    let (code, out, err) = run(&env, &["dlq", "replay", "--id", &e.id.to_string()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 job(s) replayed"), "{out}");
    let (_, out, _) = run(&env, &["dlq", "replay", "--id", &e.id.to_string()], None);
    assert!(out.contains("0 job(s) replayed"), "replaying twice must not replay twice: {out}");
    let row = store::jobs::get(&app.db, e.id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 0));
}
