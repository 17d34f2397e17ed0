//! Webhook events processed by the worker: each Mezzofy event's handler, once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use store::ConnectionTrait;
use testkit::TestApp;
use uuid::Uuid;

fn start_worker(app: &TestApp) -> worker::WorkerHandle {
    let roles = settings::load_roles(std::path::Path::new(&app.settings.paths.roles_file)).unwrap();
    let assistant = Arc::new(agents::chat::build(Arc::new(app.settings.clone()), app.db.clone()).unwrap());
    let registry = worker::agent_jobs::register(
        worker::Registry::default(),
        assistant.clone(),
        Arc::new(roles),
        Duration::from_secs(60),
    );
    let registry = worker::webhook_jobs::register(registry, assistant);
    worker::start(&app.settings, app.db.clone(), app.redis.clone(), registry)
}

/// Stores an event and its job as the api does.
async fn deliver(app: &TestApp, event: &str, id: &str, data: Value) -> Uuid {
    let payload = json!({"id": id, "event": event, "data": data});
    let event_row = Uuid::now_v7();
    let job = jobs::NewJob::new(domain::jobs::Queue::Webhook, "webhook.process", json!({"event": event_row}))
        .idempotency_key(format!("webhook:{event_row}"));
    let e = jobs::enqueue(&app.db, job).await.unwrap();
    let (row, _) =
        store::webhooks::record(&app.db, event_row, "mezzofy", event, id, payload, Some(e.id)).await.unwrap();
    row.id
}

async fn processed(app: &TestApp, id: Uuid) -> store::webhooks::EventRow {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ev = store::webhooks::get(&app.db, id).await.unwrap().unwrap();
        if ev.status == "completed" || ev.status == "failed" {
            return ev;
        }
        assert!(tokio::time::Instant::now() < deadline, "not processed: {ev:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn jobs_of(app: &TestApp, kind: &str) -> Vec<store::jobs::JobRow> {
    let f = store::jobs::JobFilter { kind: Some(kind.into()), ..Default::default() };
    store::jobs::list(&app.db, &f, 0, 100).await.unwrap().0
}

#[tokio::test]
async fn a_sign_up_becomes_a_lead_a_welcome_email_and_a_sales_notice_once() {
    let app = TestApp::spawn_with(|s| s.worker.sweep_interval_ms = 100).await;
    let worker = start_worker(&app);
    let id = deliver(
        &app,
        "customer_signed_up",
        "evt_signup_1",
        json!({"company_name": "ABC Restaurant Group", "email": "info@abcrestaurant.sg", "plan": "enterprise", "country": "SG"}),
    )
    .await;
    let ev = processed(&app, id).await;
    assert_eq!(ev.status, "completed", "{ev:?}");
    let f = store::company::LeadFilter { query: Some("ABC Restaurant Group".into()), limit: 10, ..Default::default() };
    let leads = store::company::search_leads(&app.db, &f).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].contact_email.as_deref(), Some("info@abcrestaurant.sg"));
    assert_eq!(leads[0].source.as_deref(), Some("signup"));
    let emails = jobs_of(&app, "delivery.email").await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].payload["to"], json!(["info@abcrestaurant.sg"]));
    assert!(emails[0].payload["html"].as_str().unwrap().contains("ABC Restaurant Group"), "{}", emails[0].payload);
    let posts = jobs_of(&app, "delivery.teams").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].payload["channel"], "sales");

    // The event is processed again (a replay): nothing new.
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhook_events SET status = 'received' WHERE id = '{id}'; \
             UPDATE jobs SET status = 'queued', finished_at = NULL, pushed_at = NULL, run_at = now() WHERE id = '{}'",
            ev.job_id.unwrap()
        ))
        .await
        .unwrap();
    let ev = processed(&app, id).await;
    assert_eq!(ev.status, "completed");
    assert_eq!(store::company::search_leads(&app.db, &f).await.unwrap().len(), 1);
    assert_eq!(jobs_of(&app, "delivery.email").await.len(), 1);
    assert_eq!(jobs_of(&app, "delivery.teams").await.len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn orders_tickets_and_releases_reach_their_departments() {
    let app = TestApp::spawn_with(|s| {
        s.worker.sweep_interval_ms = 100;
        s.webhooks.large_order_cents = 500_000;
    })
    .await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 4).await.unwrap();
    let customer =
        store::company::search_customers(&app.db, &Default::default()).await.unwrap().into_iter().next().unwrap();
    let worker = start_worker(&app);

    let big = deliver(
        &app,
        "order_completed",
        "evt_order_big",
        json!({"order_id": "WEB-9001", "customer_id": customer.id, "amount": 12000.0}),
    )
    .await;
    let small = deliver(
        &app,
        "order_completed",
        "evt_order_small",
        json!({"order_id": "WEB-9002", "customer_id": customer.id, "amount_cents": 1999}),
    )
    .await;
    let ticket = deliver(&app, "support_ticket_created", "evt_ticket", json!({"ticket_id": "TCK-WEB-1", "subject": "Stamp card not updating", "description": "Since this morning", "customer_id": customer.id})).await;
    let release = deliver(&app, "feature_released", "evt_release", json!({"feature_name": "Birthday rewards"})).await;
    for id in [big, small, ticket, release] {
        let ev = processed(&app, id).await;
        assert_eq!(ev.status, "completed", "{ev:?}");
    }
    // Both orders are in the company data; only the large one told finance.
    let product = store::company::products(&app.db).await.unwrap().into_iter().find(|p| p.active).unwrap().id;
    for no in ["WEB-9001", "WEB-9002"] {
        let (row, new) = store::company::record_order(
            &app.db,
            store::company::NewOrder {
                order_no: no.into(),
                customer_id: customer.id,
                product_id: product.clone(),
                quantity: 1,
                amount_cents: 1,
                currency: None,
                status: "completed".into(),
                ordered_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
        assert!(!new, "{no} was recorded by the webhook: {row:?}");
    }
    let posts = jobs_of(&app, "delivery.teams").await;
    let finance: Vec<_> = posts.iter().filter(|p| p.payload["channel"] == "finance").collect();
    assert_eq!(finance.len(), 1);
    assert!(finance[0].payload["text"].as_str().unwrap().contains("WEB-9001"));

    // The ticket is recorded and the support agent's suggestion is on its way to #support.
    let t = store::company::search_tickets(
        &app.db,
        &store::company::TicketFilter { query: Some("Stamp card not updating".into()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(t.len(), 1);
    let tasks = jobs_of(&app, "agent.task").await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let tasks = jobs_of(&app, "agent.task").await;
        if tasks.iter().all(|t| t.status == "completed") {
            let release_task = tasks.iter().find(|t| t.payload["agent"] == "marketing").unwrap();
            let result = release_task.result.clone().unwrap();
            // The announcement draft is kept as a file.
            assert_eq!(result["saved"]["type"], "md", "{result}");
            let support_task = tasks.iter().find(|t| t.payload["agent"] == "support").unwrap();
            assert_eq!(support_task.payload["deliver_to"]["teams_channel"], "support");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{tasks:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let posts = jobs_of(&app, "delivery.teams").await;
    assert!(posts.iter().any(|p| p.payload["channel"] == "support"), "{posts:?}");
    worker.stop().await;
}

/// 200 means the event will be processed: with Redis down at intake the event and its job are
/// committed to PostgreSQL anyway, and once Redis is back the sweeper hands the job to a
/// worker.
#[tokio::test]
async fn an_event_accepted_while_redis_is_down_is_processed_when_it_returns() {
    use hmac::{Hmac, Mac};
    let mut redis = testkit::PrivateRedis::start();
    let url = redis.url();
    let secret = "whsec-outage-test";
    let app = TestApp::spawn_with(move |s| {
        s.redis.url = settings::Secret::new(url);
        s.redis.response_timeout_ms = 1000;
        s.redis.connection_timeout_ms = 500;
        s.webhooks.secret = settings::Secret::new(secret);
        s.worker.sweep_interval_ms = 100;
    })
    .await;
    redis.stop();
    let body =
        json!({"id": "evt_outage", "event": "feature_released", "data": {"feature_name": "Gift cards"}}).to_string();
    let ts = chrono::Utc::now().timestamp();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let res = app
        .client
        .post(app.url("/webhooks/mezzofy"))
        .header("X-Mezzofy-Timestamp", ts.to_string())
        .header("X-Mezzofy-Signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let accepted: Value = res.json().await.unwrap();
    let id: Uuid = serde_json::from_value(accepted["event_id"].clone()).unwrap();
    let ev = store::webhooks::get(&app.db, id).await.unwrap().unwrap();
    let job = store::jobs::get(&app.db, ev.job_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(job.status, "queued");

    redis.restart();
    let worker = start_worker(&app);
    let ev = processed(&app, id).await;
    assert_eq!(ev.status, "completed", "{ev:?}");
    worker.stop().await;
}

/// A Teams @mention (outgoing webhook, HMAC with the base64 security token) becomes an agent
/// task with the configured role's permissions, answered in the channel it came from.
#[tokio::test]
async fn a_teams_mention_is_answered_in_its_channel() {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let token = base64::engine::general_purpose::STANDARD.encode(b"teams-outgoing-webhook-secret-32b");
    let t2 = token.clone();
    let app = TestApp::spawn_with(move |s| {
        s.webhooks.teams_outgoing_secret = settings::Secret::new(t2);
        s.worker.sweep_interval_ms = 100;
    })
    .await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 6).await.unwrap();
    let body = json!({
        "type": "message", "id": "1732441200000",
        "from": {"id": "user_abc", "name": "John Tan"},
        "channelId": "msteams", "serviceUrl": "https://smba.trafficmanager.net/apac/",
        "text": "<at>MezzofyAI</at> show the sales pipeline",
        "channelData": {"channel": {"id": "19:general@thread.tacv2"}, "team": {"id": "team_xyz"}}
    })
    .to_string();
    let key = base64::engine::general_purpose::STANDARD.decode(&token).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(body.as_bytes());
    let auth = format!("HMAC {}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    let post = |auth: String| {
        app.client.post(app.url("/webhooks/teams")).header("Authorization", auth).body(body.clone()).send()
    };
    assert_eq!(post("HMAC bm90LXRoZS1zaWduYXR1cmU=".into()).await.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);
    let res = post(auth).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let id: Uuid = serde_json::from_value(res.json::<Value>().await.unwrap()["event_id"].clone()).unwrap();
    let worker = start_worker(&app);
    assert_eq!(processed(&app, id).await.status, "completed");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let task = loop {
        let tasks = jobs_of(&app, "agent.task").await;
        if let Some(t) = tasks.into_iter().find(|t| t.status == "completed") {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(task.payload["message"], "show the sales pipeline");
    assert_eq!(task.payload["role"], "sales_rep");
    let result = task.result.unwrap();
    assert_eq!(result["agent"], "sales", "{result}");
    // The answer goes back to that channel of that team.
    let posts = jobs_of(&app, "delivery.teams").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].payload["channel"], "19:general@thread.tacv2");
    assert_eq!(posts[0].payload["team_id"], "team_xyz");
    worker.stop().await;
}

#[tokio::test]
async fn a_churn_alerts_management_and_the_account_manager_and_sets_a_follow_up() {
    let app = TestApp::spawn_with(|s| s.worker.sweep_interval_ms = 100).await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 8).await.unwrap();
    let customers =
        store::company::search_customers(&app.db, &store::company::CustomerFilter { limit: 200, ..Default::default() })
            .await
            .unwrap();
    let customer = customers.into_iter().next().unwrap();
    let am = app.create_user_in("sales_manager", "sales").await;
    app.db
        .execute_unprepared(&format!("UPDATE customers SET account_manager = '{}' WHERE id = '{}'", am.id, customer.id))
        .await
        .unwrap();
    let manager = store::users::by_id(&app.db, am.id).await.unwrap().unwrap();
    // The company is also a lead in the CRM: the follow-up lands there.
    let lead = store::company::create_lead(
        &app.db,
        store::company::NewLead {
            company_name: customer.name.clone(),
            contact_name: None,
            contact_email: None,
            contact_phone: None,
            industry: None,
            location: None,
            source: Some("test".into()),
            status: None,
            assigned_to: None,
            notes: None,
            follow_up_date: None,
        },
    )
    .await
    .unwrap();
    let worker = start_worker(&app);
    let id = deliver(
        &app,
        "customer_churned",
        "evt_churn_1",
        json!({"customer_id": customer.id, "company_name": customer.name, "reason": "moved to a competitor"}),
    )
    .await;
    assert_eq!(processed(&app, id).await.status, "completed");
    let posts = jobs_of(&app, "delivery.teams").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].payload["channel"], "management");
    assert!(posts[0].payload["text"].as_str().unwrap().contains("moved to a competitor"));
    let emails = jobs_of(&app, "delivery.email").await;
    assert_eq!(emails.len(), 1);
    let to: Vec<String> = serde_json::from_value(emails[0].payload["to"].clone()).unwrap();
    assert!(to.contains(&manager.email) && to.contains(&"ceo@mezzofy.com".to_string()), "{to:?}");
    let acts = store::company::activities(&app.db, lead.id, 10).await.unwrap();
    assert_eq!(acts.len(), 1);
    assert_eq!(acts[0].kind, "follow_up");
    let after = store::company::lead(&app.db, lead.id).await.unwrap().unwrap();
    assert!(after.follow_up_date.is_some());
    worker.stop().await;
}
