//! Chat turns that continue in the background: the api answers `queued` with a task id,
//! a worker runs the `agent.turn` job, the job's result is the chat response, and the
//! answer lands in the session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llm::fake::{FakeLlm, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

async fn start_worker(app: &TestApp) -> worker::WorkerHandle {
    let roles = settings::load_roles(std::path::Path::new(&app.settings.paths.roles_file)).unwrap();
    let assistant = agents::chat::build(Arc::new(app.settings.clone()), app.db.clone()).unwrap();
    let registry = worker::agent_jobs::register(
        worker::builtin::registry(),
        Arc::new(assistant),
        Arc::new(roles),
        Duration::from_secs(60),
    );
    worker::start(&app.settings, app.db.clone(), app.redis.clone(), registry)
}

async fn finished_job(app: &TestApp, token: &str, task: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job: Value = app.get(&format!("/jobs/{task}"), token).await.json().await.unwrap();
        if job["status"] == "completed" || job["status"] == "dead" {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_background_skill_runs_on_a_worker_and_answers_in_the_session() {
    let app = TestApp::spawn_with(|s| s.worker.sweep_interval_ms = 100).await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 5).await.unwrap();
    let worker = start_worker(&app).await;
    let rep = app.create_user("sales_rep").await;
    let t = app.tokens(&rep).await;
    let res = app
        .client
        .post(app.url("/chat/send"))
        .bearer_auth(&t.access)
        .json(&json!({"message": "Find F&B prospects on LinkedIn in Singapore"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued: Value = res.json().await.unwrap();
    let task = queued["task_id"].as_str().unwrap().to_string();
    let sid = queued["session_id"].as_str().unwrap().to_string();

    let job = finished_job(&app, &t.access, &task).await;
    assert_eq!(job["status"], "completed", "{job}");
    let result = &job["result"];
    assert_eq!(result["session_id"], sid);
    assert_eq!(result["agent_used"], "sales");
    assert_eq!(result["provider"], "offline");
    assert_eq!(result["task_id"], task);
    let text = result["response"].as_str().unwrap();
    // LinkedIn search is not built: the answer says so instead of pretending.
    assert!(text.contains("linkedin_search") && text.contains("not available"), "{text}");

    let history: Value = app.get(&format!("/chat/history/{sid}"), &t.access).await.json().await.unwrap();
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"], result["response"]);
    worker.stop().await;
}

#[tokio::test]
async fn a_turn_that_outgrows_the_inline_timeout_continues_as_a_job() {
    let fake = FakeLlm::anthropic().await;
    let model = "claude-sonnet-4-6";
    let app = TestApp::spawn_with(|s| {
        s.llm.anthropic = fake.settings(model);
        s.llm.anthropic.timeout_secs = 30;
        s.agents.inline_timeout_secs = 1;
        s.agents.llm_classifier = false;
        s.worker.sweep_interval_ms = 100;
    })
    .await;
    // The inline attempt gets a slow answer and is abandoned; the job gets a quick one.
    fake.push(Reply::Slow(Duration::from_secs(5), Box::new(Reply::Text("too late".into()))));
    fake.push(Reply::Text("Revenue grew 4% last month.".into()));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await;
    let res = app
        .client
        .post(app.url("/chat/send"))
        .bearer_auth(&t.access)
        .json(&json!({"message": "How did revenue do last month?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued["status"], "queued");
    let worker = start_worker(&app).await;
    let job = finished_job(&app, &t.access, queued["task_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["result"]["response"], "Revenue grew 4% last month.");
    assert_eq!(job["result"]["provider"], "anthropic");
    assert_eq!(job["result"]["agent_used"], "finance");
    // Exactly one answer is stored for the turn.
    let sid = queued["session_id"].as_str().unwrap();
    let history: Value = app.get(&format!("/chat/history/{sid}"), &t.access).await.json().await.unwrap();
    let roles: Vec<&str> =
        history["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant"]);
    worker.stop().await;
}
