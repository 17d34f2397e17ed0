//! `/scheduler/jobs`: validation, the per-user cap, visibility by owner and department,
//! owner-only edits, pause, delete, run-now and history.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

use crate::auth::error_code;

fn body(name: &str, schedule: Value) -> Value {
    json!({
        "name": name,
        "description": "Generate pipeline report and post to #sales Teams channel",
        "schedule": schedule,
        "task": {"agent": "sales", "message": "Generate a sales pipeline report for last week",
                 "deliver_to": {"teams_channel": "sales", "email": ["sales-manager@mezzofy.com"]}},
        "created_by": "user_123",
        "department": "sales"
    })
}

async fn create(app: &TestApp, token: &str, b: &Value) -> reqwest::Response {
    app.client.post(app.url("/scheduler/jobs")).bearer_auth(token).json(b).send().await.unwrap()
}

#[tokio::test]
async fn schedules_are_validated_capped_and_private_to_owner_and_department() {
    let app = TestApp::spawn().await;
    let mgr = app.create_user_in("sales_manager", "sales").await;
    let rep = app.create_user_in("sales_rep", "sales").await;
    let fin = app.create_user_in("finance_manager", "finance").await;
    let admin = app.create_user("admin").await;
    let (tm, tr, tf, ta) = (
        app.tokens(&mgr).await.access,
        app.tokens(&rep).await.access,
        app.tokens(&fin).await.access,
        app.tokens(&admin).await.access,
    );

    let res = create(&app, &tm, &body("Weekly pipeline", json!({"type": "cron", "cron": "0 9 * * 1"}))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let s: Value = res.json().await.unwrap();
    assert_eq!(s["schedule"]["timezone"], "Asia/Singapore");
    assert_eq!(s["schedule_text"], "every Monday at 09:00 (Asia/Singapore)");
    assert_eq!(s["owner_id"], json!(mgr.id));
    assert_eq!(s["department"], "sales");
    assert!(s["next_run"].is_string());
    let id = s["id"].as_str().unwrap().to_string();

    // Clear 422s, nothing stored.
    for (schedule, code, needle) in [
        (json!({"type": "cron", "cron": "*/5 * * * *"}), "invalid_schedule", "15"),
        (json!({"type": "interval", "interval": {"minutes": 10}}), "invalid_schedule", "15"),
        (json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}), "invalid_schedule", "timezone"),
        (json!({"type": "once", "at": "2020-01-01T09:00:00+08:00"}), "invalid_schedule", "at"),
        (json!({"type": "fortnightly"}), "invalid_schedule", "type"),
    ] {
        let res = create(&app, &tm, &body("bad", schedule)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], code);
        assert!(err["error"]["message"].as_str().unwrap().contains(needle), "{err}");
    }
    let mut bad_agent = body("x", json!({"type": "cron", "cron": "0 9 * * 1"}));
    bad_agent["task"]["agent"] = json!("hr");
    assert_eq!(error_code(create(&app, &tm, &bad_agent).await).await, "invalid_agent");
    let mut bad_mail = body("x", json!({"type": "cron", "cron": "0 9 * * 1"}));
    bad_mail["task"]["deliver_to"]["email"] = json!(["not-an-address"]);
    assert_eq!(error_code(create(&app, &tm, &bad_mail).await).await, "invalid_delivery");
    // Reps cannot create schedules.
    assert_eq!(
        create(&app, &tr, &body("rep", json!({"type": "cron", "cron": "0 9 * * 1"}))).await.status(),
        StatusCode::FORBIDDEN
    );

    // Visible to the owner, the department and admins; not to finance.
    let ids = |v: Value| {
        v["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert!(ids(app.get("/scheduler/jobs", &tr).await.json().await.unwrap()).contains(&id));
    assert!(!ids(app.get("/scheduler/jobs", &tf).await.json().await.unwrap()).contains(&id));
    assert_eq!(app.get(&format!("/scheduler/jobs/{id}"), &tf).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/scheduler/jobs/{id}"), &ta).await.status(), StatusCode::OK);

    // Only the owner (or an admin) edits; a pause clears the next run.
    let patch = |t: &str, b: Value| {
        app.client.patch(app.url(&format!("/scheduler/jobs/{id}"))).bearer_auth(t.to_string()).json(&b).send()
    };
    assert_eq!(patch(&tr, json!({"is_active": false})).await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = patch(&tm, json!({"is_active": false})).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let paused: Value = res.json().await.unwrap();
    assert_eq!(paused["is_active"], false);
    let res = patch(&tm, json!({"is_active": true, "schedule": {"type": "interval", "interval": {"hours": 24}}}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["schedule_text"], "every day");
    assert_eq!(
        patch(&tm, json!({"schedule": {"type": "cron", "cron": "* * * * *"}})).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Run now: a job is committed and shows in the history.
    let res = app.client.post(app.url(&format!("/scheduler/jobs/{id}/run"))).bearer_auth(&tm).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let task: Value = res.json().await.unwrap();
    let history: Value = app.get(&format!("/scheduler/jobs/{id}/history"), &tm).await.json().await.unwrap();
    assert_eq!(history["runs"][0]["job_id"], task["task_id"]);
    assert_eq!(history["runs"][0]["manual"], true);
    let job: Value = app.get(&format!("/jobs/{}", task["task_id"].as_str().unwrap()), &tm).await.json().await.unwrap();
    assert_eq!(job["kind"], "agent.task");

    // At most 10 per user.
    for i in 1..10 {
        let res = create(&app, &tm, &body(&format!("n{i}"), json!({"type": "cron", "cron": "0 9 * * 1"}))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = create(&app, &tm, &body("eleventh", json!({"type": "cron", "cron": "0 9 * * 1"}))).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(res).await, "too_many_schedules");

    // Delete: not by someone else in the department; by the owner.
    let del = |t: &str| app.client.delete(app.url(&format!("/scheduler/jobs/{id}"))).bearer_auth(t.to_string()).send();
    assert_eq!(del(&tr).await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = del(&tm).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"deleted": true}));
    assert_eq!(app.get(&format!("/scheduler/jobs/{id}"), &tm).await.status(), StatusCode::NOT_FOUND);
}

/// A schedule created through the API fires at its time with the scheduler already running:
/// no restart, and not a regular pass late (the passes here are a minute apart).
#[tokio::test]
async fn a_new_schedule_fires_without_a_scheduler_restart() {
    let app = TestApp::spawn().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(scheduler::runner::run_loop(
        app.db.clone(),
        app.redis.clone(),
        std::time::Duration::from_secs(60),
        stop_rx,
    ));
    let mgr = app.create_user_in("sales_manager", "sales").await;
    let t = app.tokens(&mgr).await.access;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let res = create(&app, &t, &body("One-off", json!({"type": "once", "at": at}))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let fired = TestApp::eventually(std::time::Duration::from_secs(15), || async {
        let h: Value = app.get(&format!("/scheduler/jobs/{id}/history"), &t).await.json().await.unwrap();
        h["runs"].as_array().is_some_and(|r| r.len() == 1)
    })
    .await;
    assert!(fired, "the schedule did not fire");
    let s: Value = app.get(&format!("/scheduler/jobs/{id}"), &t).await.json().await.unwrap();
    // A `once` that fired is done.
    assert_eq!(s["is_active"], false, "{s}");
    assert!(s["next_run"].is_null());
    stop_tx.send(true).unwrap();
    runner.await.unwrap();
}
