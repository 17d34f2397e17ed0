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
    let deliverer = Arc::new(worker::delivery_jobs::Deliverer::new(assistant.integrations.clone()));
    let registry = worker::agent_jobs::register(
        worker::builtin::registry(),
        Arc::new(assistant),
        Arc::new(roles),
        Duration::from_secs(60),
    );
    let registry = worker::delivery_jobs::register(registry, deliverer);
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

#[tokio::test]
async fn the_financial_statement_is_emailed_to_the_ceo_once_through_the_outbox() {
    let app = TestApp::spawn_with(|s| s.worker.sweep_interval_ms = 100).await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 9).await.unwrap();
    let cfo = app.create_user("finance_manager").await;
    let t = app.tokens(&cfo).await;
    let res = app
        .client
        .post(app.url("/chat/send"))
        .bearer_auth(&t.access)
        .json(&json!({"message": "Generate the latest financial statement and send to CEO"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["tools_used"], json!(["finance_summary", "pdf_generator", "outlook_send_email"]), "{body}");
    let pdf_id = body["artifacts"][0]["id"].clone();
    assert_eq!(body["artifacts"][0]["type"], "pdf");
    assert!(body["response"].as_str().unwrap().contains("E-mail queued for: ceo@mezzofy.com"), "{body}");

    // The delivery job is committed; a worker performs it.
    let (jobs, _) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { kind: Some("delivery.email".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1);
    let job_id = jobs[0].id.to_string();
    let worker = start_worker(&app).await;
    let job = finished_job(&app, &t.access, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");

    // In the outbox with the real figures, and in email_log.
    let admin = app.create_user("admin").await;
    let ta = app.tokens(&admin).await.access;
    let outbox: Value = app.get("/admin/outbox?channel=email", &ta).await.json().await.unwrap();
    assert_eq!(outbox["total"], 1, "{outbox}");
    let entry = &outbox["entries"][0];
    assert_eq!(entry["status"], "outbox");
    assert_eq!(entry["recipients"], json!(["ceo@mezzofy.com"]));
    // With the statement PDF attached.
    assert_eq!(entry["attachments"][0]["id"], pdf_id, "{entry}");
    assert_eq!(entry["attachments"][0]["type"], "pdf");
    let p = agents::period::parse("last_month", chrono::Utc::now().date_naive()).unwrap();
    let s = store::company::finance_summary(&app.db, p.from, p.to).await.unwrap();
    let html = entry["body"].as_str().unwrap();
    assert!(html.contains(&agents::tools::format_cents("SGD", s.net_income_cents)), "{html}");
    assert!(entry["subject"].as_str().unwrap().contains(&p.label));
    let rep = app.create_user("sales_rep").await;
    assert_eq!(app.get("/admin/outbox", &app.tokens(&rep).await.access).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/admin/outbox?channel=fax", &ta).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The job runs again (as after a crash between the send and the completion): the
    // recorded effect is returned, nothing is sent twice.
    let first_outbox = job["result"]["outbox_id"].clone();
    store::maintenance::execute(
        &app.db,
        &format!("UPDATE jobs SET status = 'queued', finished_at = NULL, pushed_at = NULL, run_at = now() WHERE id = '{job_id}'"),
    )
    .await
    .unwrap();
    let job = finished_job(&app, &t.access, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["result"]["outbox_id"], first_outbox);
    let outbox: Value = app.get("/admin/outbox?channel=email", &ta).await.json().await.unwrap();
    assert_eq!(outbox["total"], 1);
    // One recipient in email_log, counted against the sender's hourly cap.
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(store::outbox::emails_since(&app.db, cfo.id, hour_ago).await.unwrap(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn the_hourly_email_cap_is_enforced_before_anything_is_queued() {
    let app = TestApp::spawn_with(|s| s.delivery.email_per_hour = 1).await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 3).await.unwrap();
    let cfo = app.create_user("finance_manager").await;
    let t = app.tokens(&cfo).await;
    let send = |msg: &'static str| {
        app.client.post(app.url("/chat/send")).bearer_auth(&t.access).json(&json!({"message": msg})).send()
    };
    // Two recipients against a cap of one: refused, nothing queued.
    let body: Value =
        send("Generate the latest financial statement and send to CEO and CFO").await.unwrap().json().await.unwrap();
    let text = body["response"].as_str().unwrap();
    assert!(text.contains("hourly e-mail limit"), "{text}");
    assert_eq!(body["outcome"], "failed");
    let (jobs, total) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { kind: Some("delivery.email".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!((jobs.len(), total), (0, 0));
}

#[tokio::test]
async fn with_microsoft_365_configured_the_statement_reaches_the_ceo_through_graph_once() {
    use graph::fake::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT_ID, FakeGraph};
    let fake = FakeGraph::start().await;
    let cfg = fake.config();
    let app = TestApp::spawn_with(|s| {
        s.worker.sweep_interval_ms = 100;
        let ms = &mut s.delivery.ms365;
        ms.tenant_id = FAKE_TENANT_ID.into();
        ms.client_id = FAKE_CLIENT_ID.into();
        ms.client_secret = settings::Secret::new(FAKE_CLIENT_SECRET);
        ms.graph_base_url = cfg.graph_base_url.clone();
        ms.login_base_url = cfg.login_base_url.clone();
        ms.sender_user_id = "assistant@mezzofy.com".into();
    })
    .await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 11).await.unwrap();
    let cfo = app.create_user("finance_manager").await;
    let t = app.tokens(&cfo).await;
    let worker = start_worker(&app).await;
    let body: Value = app
        .client
        .post(app.url("/chat/send"))
        .bearer_auth(&t.access)
        .json(&json!({"message": "Generate the latest financial statement and send to CEO"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["tools_used"], json!(["finance_summary", "pdf_generator", "outlook_send_email"]), "{body}");
    let pdf_id: uuid::Uuid = serde_json::from_value(body["artifacts"][0]["id"].clone()).unwrap();
    let (jobs, _) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { kind: Some("delivery.email".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    let job = finished_job(&app, &t.access, &jobs[0].id.to_string()).await;
    assert_eq!(job["status"], "completed", "{job}");

    // One e-mail through Graph, from the assistant's mailbox, with the real PDF attached.
    let sent = fake.sent_mails();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].user, "assistant@mezzofy.com");
    assert_eq!(sent[0].to, ["ceo@mezzofy.com"]);
    let p = agents::period::parse("last_month", chrono::Utc::now().date_naive()).unwrap();
    let s = store::company::finance_summary(&app.db, p.from, p.to).await.unwrap();
    assert!(sent[0].body.contains(&agents::tools::format_cents("SGD", s.net_income_cents)), "{}", sent[0].body);
    let row = store::artifacts::get(&app.db, pdf_id).await.unwrap().unwrap();
    let stored =
        std::fs::read(std::path::Path::new(&app.settings.paths.data_dir).join("artifacts").join(&row.path)).unwrap();
    assert_eq!(sent[0].attachments.len(), 1);
    assert_eq!(sent[0].attachments[0].bytes, stored);
    assert!(stored.starts_with(b"%PDF-"));
    let admin = app.create_user("admin").await;
    let outbox: Value =
        app.get("/admin/outbox?channel=email", &app.tokens(&admin).await.access).await.json().await.unwrap();
    assert_eq!(outbox["total"], 1);
    assert_eq!(outbox["entries"][0]["status"], "sent");
    worker.stop().await;
}

/// The whole path of a background turn on the live channel: a `text` message on api A's
/// WebSocket routes to a background skill (`task_queued`), a worker runs the job, and its
/// progress and `complete` reach the user's sockets on api A and on api B (another process,
/// same Redis), while another user's socket on B gets nothing.
#[tokio::test]
async fn a_background_turn_reports_to_every_socket_of_the_user_across_processes() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let app = TestApp::spawn_with(|s| s.worker.sweep_interval_ms = 100).await;
    let other_process = app.sibling().await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 5).await.unwrap();
    let rep = app.create_user("sales_rep").await;
    let t = app.tokens(&rep).await;
    let stranger = app.create_user("sales_rep").await;
    let ts = app.tokens(&stranger).await;

    let connect = |base: String, token: String| async move {
        let url = format!("{}/chat/ws?token={token}", base.replacen("http://", "ws://", 1));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws
    };
    let mut a = connect(app.address.clone(), t.access.clone()).await;
    let mut b = connect(other_process.address.clone(), t.access.clone()).await;
    let mut s = connect(other_process.address.clone(), ts.access.clone()).await;
    // Registered with their hubs once a ping is answered.
    for ws in [&mut a, &mut b, &mut s] {
        ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
        assert_eq!(next_event(ws).await["type"], "pong");
    }
    let worker = start_worker(&app).await;

    a.send(Message::text(
        json!({"type": "text", "message": "Find F&B prospects on LinkedIn in Singapore"}).to_string(),
    ))
    .await
    .unwrap();
    let queued = loop {
        let e = next_event(&mut a).await;
        if e["type"] == "task_queued" {
            break e;
        }
    };
    let task = queued["task_id"].as_str().unwrap().to_string();

    // Both devices get the job's progress and its completion, from the worker via Redis.
    for ws in [&mut a, &mut b] {
        let mut progress = Vec::new();
        let done = loop {
            let e = next_event(ws).await;
            match e["type"].as_str() {
                Some("task_progress") if e["task_id"] == task => progress.push(e["progress"].as_u64().unwrap()),
                Some("complete") if e["task_id"] == task => break e,
                _ => {}
            }
        };
        assert!(!progress.is_empty(), "progress reached the socket");
        assert_eq!(done["response"]["agent_used"], "sales", "{done}");
        assert_eq!(done["response"]["session_id"], queued["session_id"]);
    }
    // The other user's socket saw none of it: its next event is the answer to a ping.
    s.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_event(&mut s).await["type"], "pong");
    worker.stop().await;
}

/// The next JSON event of a socket (deadline 30 s), skipping pings.
async fn next_event(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next()).await.expect("an event within 30 s");
        match msg.expect("socket open").expect("no socket error") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}
