//! The chat API: the mobile contract, session ownership, validation, rate limits and the
//! offline assistant answering from the company's data.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;
use uuid::Uuid;

use crate::auth::error_code;

async fn send(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url("/chat/send")).bearer_auth(token).json(&body).send().await.unwrap()
}

/// An api whose only model is a fake Claude (no classifier calls, so the fake's script is
/// the agent's).
async fn with_fake_claude() -> (TestApp, llm::fake::FakeLlm) {
    let fake = llm::fake::FakeLlm::anthropic().await;
    let provider = fake.settings("claude-sonnet-4-6");
    let app = TestApp::spawn_with(move |s| {
        s.llm.anthropic = provider;
        s.agents.llm_classifier = false;
    })
    .await;
    (app, fake)
}

async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 11).await.unwrap();
    app
}

#[tokio::test]
async fn send_answers_with_the_mobile_contract_and_real_figures() {
    let app = seeded().await;
    let cfo = app.create_user("finance_manager").await;
    let t = app.tokens(&cfo).await;
    let res = send(&app, &t.access, json!({"message": "Generate the latest financial statement"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    for key in ["session_id", "response", "input_processed", "artifacts", "agent_used", "tools_used"] {
        assert!(body.get(key).is_some(), "missing {key} in {body}");
    }
    assert_eq!(body["status"], "completed");
    assert_eq!(body["agent_used"], "finance");
    assert_eq!(body["provider"], "offline");
    assert_eq!(body["tools_used"], json!(["finance_summary", "pdf_generator"]));
    // The statement is also a PDF the user can download.
    let pdf = &body["artifacts"][0];
    assert_eq!(pdf["type"], "pdf", "{body}");
    let res = app.get(pdf["download_url"].as_str().unwrap(), &t.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));
    // The figure in the answer is last month's revenue from the books.
    let today = chrono::Utc::now().date_naive();
    let p = agents::period::parse("last_month", today).unwrap();
    let summary = store::company::finance_summary(&app.db, p.from, p.to).await.unwrap();
    let revenue = agents::tools::format_cents("SGD", summary.revenue_cents);
    let text = body["response"].as_str().unwrap();
    assert!(text.contains(&revenue), "{revenue} not in {text}");
    assert!(text.contains(&p.label), "{text}");

    // The session and its two messages are there, with the answer's metadata.
    let sessions: Value = app.get("/chat/sessions", &t.access).await.json().await.unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(sessions["sessions"][0]["id"], body["session_id"]);
    assert_eq!(sessions["sessions"][0]["message_count"], 2);
    let history: Value = app
        .get(&format!("/chat/history/{}", body["session_id"].as_str().unwrap()), &t.access)
        .await
        .json()
        .await
        .unwrap();
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["metadata"]["agent"], "finance");
    assert_eq!(messages[1]["metadata"]["provider"], "offline");
    assert_eq!(messages[1]["metadata"]["tools"], json!(["finance_summary", "pdf_generator"]));
    assert_eq!(messages[1]["metadata"]["artifacts"][0]["id"], pdf["id"]);

    // Every turn is audited.
    let admin = app.create_user("admin").await;
    let audit: Value =
        app.get("/admin/audit?action=chat.turn", &app.tokens(&admin).await.access).await.json().await.unwrap();
    assert_eq!(audit["total"], 1, "{audit}");
}

#[tokio::test]
async fn a_second_turn_continues_the_session() {
    let app = seeded().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let first: Value = send(&app, &t.access, json!({"message": "How much does the loyalty product cost?"}))
        .await
        .json()
        .await
        .unwrap();
    let sid = first["session_id"].as_str().unwrap();
    let second = send(&app, &t.access, json!({"message": "And the e-gift cards?", "session_id": sid})).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["session_id"], sid);
    let history: Value = app.get(&format!("/chat/history/{sid}"), &t.access).await.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn sessions_are_private() {
    let app = seeded().await;
    let alice = app.create_user("sales_rep").await;
    let bob = app.create_user("sales_rep").await;
    let ta = app.tokens(&alice).await;
    let tb = app.tokens(&bob).await;
    let a: Value = send(&app, &ta.access, json!({"message": "Show the sales pipeline"})).await.json().await.unwrap();
    let sid = a["session_id"].as_str().unwrap();

    let res = app.get(&format!("/chat/history/{sid}"), &tb.access).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found");
    let res = send(&app, &tb.access, json!({"message": "continue", "session_id": sid})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let sessions: Value = app.get("/chat/sessions", &tb.access).await.json().await.unwrap();
    assert_eq!(sessions["sessions"], json!([]));
    // Bob's failed attempt wrote nothing into Alice's session.
    let history: Value = app.get(&format!("/chat/history/{sid}"), &ta.access).await.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
    assert_eq!(app.get(&format!("/chat/history/{}", Uuid::now_v7()), &ta.access).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_store_nothing() {
    let app = seeded().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let cases = [
        (json!({"message": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"message": "   "}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"message": "x".repeat(16_001)}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"message": 5}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"message": "hi", "session_id": "sess_abc"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"message": "hi", "extra": true}), StatusCode::UNPROCESSABLE_ENTITY),
        // PostgreSQL text cannot hold U+0000: refused up front, not a 500 at the insert.
        (json!({"message": "hi\u{0}there"}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, status) in cases {
        let res = send(&app, &t.access, body.clone()).await;
        let got = res.status();
        let err: Value = res.json().await.unwrap();
        assert_eq!(got, status, "{body}: {err}");
        assert!(err["error"]["code"].is_string() && err["error"]["message"].is_string(), "{err}");
    }
    let res = app.client.post(app.url("/chat/send")).bearer_auth(&t.access).body("not json").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = app.client.post(app.url("/chat/send")).json(&json!({"message": "hi"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let sessions: Value = app.get("/chat/sessions", &t.access).await.json().await.unwrap();
    assert_eq!(sessions["sessions"], json!([]));
    assert_eq!(app.get("/chat/history/not-a-uuid", &t.access).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn chat_is_rate_limited_per_user() {
    let app = TestApp::spawn_with(|s| s.rate_limits.chat = 3).await;
    let user = app.create_user("support_agent").await;
    let other = app.create_user("support_agent").await;
    let t = app.tokens(&user).await;
    for _ in 0..3 {
        assert_eq!(send(&app, &t.access, json!({"message": "hello"})).await.status(), StatusCode::OK);
    }
    let res = send(&app, &t.access, json!({"message": "hello"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    // Another user is not affected.
    let t2 = app.tokens(&other).await;
    assert_eq!(send(&app, &t2.access, json!({"message": "hello"})).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ambiguous_requests_get_a_question_and_free_form_gets_an_honest_offline_answer() {
    let app = seeded().await;
    let admin = app.create_user_in("admin", "operations").await;
    let t = app.tokens(&admin).await;
    // Revenue (finance) and leads (sales) pull equally; the admin's department is neither.
    let body: Value = send(&app, &t.access, json!({"message": "revenue leads"})).await.json().await.unwrap();
    assert_eq!(body["agent_used"], Value::Null, "{body}");
    assert_eq!(body["outcome"], "clarify");
    assert!(body["response"].as_str().unwrap().contains('?'));

    let rep = app.create_user("support_agent").await;
    let t = app.tokens(&rep).await;
    let body: Value = send(&app, &t.access, json!({"message": "What is the refund policy for annual plans?"}))
        .await
        .json()
        .await
        .unwrap();
    let text = body["response"].as_str().unwrap();
    assert!(text.contains("No language model is configured"), "{text}");
    assert_eq!(body["provider"], "offline");
}

#[tokio::test]
async fn background_skills_are_queued_as_jobs() {
    let app = seeded().await;
    let rep = app.create_user("sales_rep").await;
    let t = app.tokens(&rep).await;
    let res = send(&app, &t.access, json!({"message": "Find F&B prospects on LinkedIn in Singapore"})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    let task = body["task_id"].as_str().unwrap();
    let job: Value = app.get(&format!("/jobs/{task}"), &t.access).await.json().await.unwrap();
    assert_eq!(job["kind"], "agent.turn");
    assert_eq!(job["queue"], "agent");
    assert_eq!(job["status"], "queued");
    assert_eq!(job["user_id"], rep.id.to_string());
}

#[tokio::test]
async fn llm_usage_and_cost_are_reported_per_provider() {
    let (app, fake) = with_fake_claude().await;
    fake.set_default(llm::fake::Reply::Text("Here is the answer.".into()));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await;
    for _ in 0..3 {
        let body: Value =
            send(&app, &t.access, json!({"message": "How did revenue do last month?"})).await.json().await.unwrap();
        assert_eq!(body["provider"], "anthropic", "{body}");
        assert_eq!(body["model"], "claude-sonnet-4-6");
        assert_eq!(body["response"], "Here is the answer.");
    }
    let exec = app.create_user("executive").await;
    let report: Value = app.get("/admin/usage", &app.tokens(&exec).await.access).await.json().await.unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["provider"], "anthropic");
    assert_eq!(rows[0]["calls"], 3);
    assert!(rows[0]["input_tokens"].as_i64().unwrap() > 0);
    // claude-sonnet-4-6 is priced at 3 / 15 USD per million tokens.
    let expect =
        (rows[0]["input_tokens"].as_f64().unwrap() * 3.0 + rows[0]["output_tokens"].as_f64().unwrap() * 15.0) / 1e6;
    assert!((rows[0]["cost_usd"].as_f64().unwrap() - expect).abs() < 1e-5, "{report}");
    assert_eq!(report["total_calls"], 3);
    let bad = app
        .get("/admin/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", &app.tokens(&exec).await.access)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn generated_files_come_back_as_artifacts_the_user_can_download() {
    let app = seeded().await;
    let analyst = app.create_user("finance_analyst").await;
    let other = app.create_user("finance_analyst").await;
    let t = app.tokens(&analyst).await;
    let body: Value = send(&app, &t.access, json!({"message": "Analyse expenses by category for last quarter"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["tools_used"], json!(["data_query", "csv_export"]), "{body}");
    let artifacts = body["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1, "{body}");
    let a = &artifacts[0];
    assert_eq!(a["type"], "csv");
    assert!(a["name"].as_str().unwrap().starts_with("expenses_by_category_Q"), "{a}");
    let url = a["download_url"].as_str().unwrap();
    let res = app.get(url, &t.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv");
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("category,amount,count\r\npayroll,"), "{csv}");
    // The file is the analyst's: listed for them, invisible to a colleague.
    let files: Value = app.get("/files/", &t.access).await.json().await.unwrap();
    assert_eq!(files["artifacts"][0]["id"], a["id"]);
    assert_eq!(files["artifacts"][0]["source"], "generated");
    assert_eq!(app.get(url, &app.tokens(&other).await.access).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_model_can_write_a_word_document_for_the_user() {
    let (app, fake) = with_fake_claude().await;
    fake.push(llm::fake::Reply::ToolCall {
        name: "docx_generator".into(),
        input: json!({"title": "Loyalty campaign brief", "content": "# Goal\nMore repeat visits.\n\n# Offer\n15% off annual plans"}),
    });
    fake.push(llm::fake::Reply::Text("Here is the brief.".into()));
    let user = app.create_user("marketing_manager").await;
    let t = app.tokens(&user).await;
    let body: Value =
        send(&app, &t.access, json!({"message": "Write a campaign brief for the loyalty launch as a Word document"}))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(body["agent_used"], "marketing", "{body}");
    assert_eq!(body["tools_used"], json!(["docx_generator"]), "{body}");
    assert_eq!(body["response"], "Here is the brief.");
    let a = &body["artifacts"][0];
    assert_eq!((a["type"].as_str(), a["name"].as_str()), (Some("docx"), Some("Loyalty_campaign_brief.docx")));
    let res = app.get(a["download_url"].as_str().unwrap(), &t.access).await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let bytes = res.bytes().await.unwrap();
    // What the upload check would say about it: a real Word document.
    assert_eq!(files::sniff_bytes(&bytes).unwrap().kind, "docx");
}
