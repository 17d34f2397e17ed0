//! Webhook intake: signatures over the raw body, duplicates stored once, the event and its
//! job committed before the 200, clear errors that store nothing.

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use testkit::TestApp;

use crate::auth::error_code;

const SECRET: &str = "whsec-mezzofy-test-0123456789";

fn hmac_hex(secret: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

fn signed(body: &str, secret: &str, ts: i64) -> Vec<(&'static str, String)> {
    let sig = hmac_hex(secret.as_bytes(), format!("{ts}.{body}").as_bytes());
    vec![("X-Mezzofy-Timestamp", ts.to_string()), ("X-Mezzofy-Signature", format!("sha256={sig}"))]
}

async fn post(app: &TestApp, path: &str, body: &str, headers: &[(&str, String)]) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).header("Content-Type", "application/json").body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send().await.unwrap()
}

async fn events(app: &TestApp) -> Vec<store::webhooks::EventRow> {
    store::webhooks::list(&app.db, &Default::default(), 100, 0).await.unwrap().0
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn signup(id: &str) -> String {
    json!({"id": id, "event": "customer_signed_up", "timestamp": "2026-11-24T10:00:00Z",
           "data": {"customer_id": "cust_abc", "company_name": "ABC Restaurant Group", "email": "info@abcrestaurant.sg",
                    "plan": "enterprise", "country": "SG"}})
    .to_string()
}

#[tokio::test]
async fn a_signed_event_is_stored_with_its_job_once() {
    let app = TestApp::spawn_with(|s| s.webhooks.secret = settings::Secret::new(SECRET)).await;
    let body = signup("evt_001");
    let res = post(&app, "/webhooks/mezzofy", &body, &signed(&body, SECRET, now())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["status"], "accepted");
    let stored = events(&app).await;
    assert_eq!(stored.len(), 1);
    let ev = &stored[0];
    assert_eq!(a["event_id"], json!(ev.id));
    assert_eq!(
        (ev.source.as_str(), ev.event_type.as_str(), ev.event_id.as_str()),
        ("mezzofy", "customer_signed_up", "evt_001")
    );
    assert_eq!(ev.status, "received");
    assert_eq!(ev.payload["data"]["company_name"], "ABC Restaurant Group");
    // Its job was committed with it.
    let job = store::jobs::get(&app.db, ev.job_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((job.kind.as_str(), job.queue.as_str()), ("webhook.process", "webhook"));
    assert_eq!(job.payload["event"], json!(ev.id));

    // The platform retries the same delivery (a new timestamp and signature): stored once.
    let res = post(&app, "/webhooks/mezzofy", &body, &signed(&body, SECRET, now() - 5)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let b: Value = res.json().await.unwrap();
    assert_eq!((b["status"].as_str(), &b["event_id"]), (Some("duplicate"), &a["event_id"]));
    assert_eq!(events(&app).await.len(), 1);
    let (jobs, _) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { kind: Some("webhook.process".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1);

    // Without an id in the body, the same body is the same event.
    let bare = json!({"event": "feature_released", "data": {"feature_name": "Stamp cards"}}).to_string();
    for _ in 0..2 {
        let res = post(&app, "/webhooks/mezzofy", &bare, &signed(&bare, SECRET, now())).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(events(&app).await.len(), 2);
}

#[tokio::test]
async fn bad_deliveries_get_clear_errors_and_store_nothing() {
    let app = TestApp::spawn_with(|s| {
        s.webhooks.secret = settings::Secret::new(SECRET);
        s.webhooks.previous_secret = settings::Secret::new("old-secret-during-rotation");
        s.webhooks.body_limit_bytes = 4096;
    })
    .await;
    let body = signup("evt_bad");
    let t = now();
    type Case = (String, Vec<(&'static str, String)>, StatusCode, &'static str);
    let cases: Vec<Case> = vec![
        (body.clone(), vec![], StatusCode::UNAUTHORIZED, "missing_header"),
        (body.clone(), signed(&body, "wrong-secret", t), StatusCode::UNAUTHORIZED, "bad_signature"),
        // One byte of the body changed after signing.
        (body.replace("ABC", "ABD"), signed(&body, SECRET, t), StatusCode::UNAUTHORIZED, "bad_signature"),
        (body.clone(), signed(&body, SECRET, t - 301), StatusCode::UNAUTHORIZED, "stale_timestamp"),
        (body.clone(), signed(&body, SECRET, t + 301), StatusCode::UNAUTHORIZED, "future_timestamp"),
        ("not json".into(), signed("not json", SECRET, t), StatusCode::BAD_REQUEST, "invalid_json"),
        ("{\"data\": {}}".into(), signed("{\"data\": {}}", SECRET, t), StatusCode::BAD_REQUEST, "missing_event"),
    ];
    for (b, headers, status, code) in cases {
        let res = post(&app, "/webhooks/mezzofy", &b, &headers).await;
        assert_eq!(res.status(), status, "{code}");
        assert_eq!(error_code(res).await, code);
    }
    let unknown = json!({"event": "customer_teleported"}).to_string();
    let res = post(&app, "/webhooks/mezzofy", &unknown, &signed(&unknown, SECRET, t)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(res).await, "unknown_event");
    let big = json!({"event": "feature_released", "data": {"notes": "x".repeat(5000)}}).to_string();
    let res = post(&app, "/webhooks/mezzofy", &big, &signed(&big, SECRET, t)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let res = post(&app, "/webhooks/custom/nope", "{}", &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(events(&app).await.is_empty());

    // The previous secret still works during a rotation.
    let res = post(&app, "/webhooks/mezzofy", &body, &signed(&body, "old-secret-during-rotation", t)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unconfigured_secret_refuses_everything() {
    let app = TestApp::spawn().await;
    let body = signup("evt_x");
    let res = post(&app, "/webhooks/mezzofy", &body, &signed(&body, "", now())).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = post(&app, "/webhooks/teams", "{}", &[]).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(events(&app).await.is_empty());
}

#[tokio::test]
async fn github_deliveries_verify_and_dedupe_by_delivery_id() {
    let secret = "It's a Secret to Everybody";
    let app = TestApp::spawn_with(|s| {
        s.webhooks.sources.insert(
            "github".into(),
            settings::WebhookSource {
                scheme: settings::SignatureScheme::Github,
                secrets: vec![settings::Secret::new(secret)],
                header: None,
                event_header: Some("X-GitHub-Event".into()),
                event_field: None,
            },
        );
    })
    .await;
    let body = json!({"action": "published", "release": {"tag_name": "v2.4.0"}}).to_string();
    let sig = format!("sha256={}", hmac_hex(secret.as_bytes(), body.as_bytes()));
    let headers = vec![
        ("X-Hub-Signature-256", sig.clone()),
        ("X-GitHub-Event", "release".to_string()),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_string()),
    ];
    for expect in ["accepted", "duplicate"] {
        let res = post(&app, "/webhooks/custom/github", &body, &headers).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], expect);
    }
    let stored = events(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].source.as_str(), stored[0].event_type.as_str()), ("github", "release"));
    let mut bad = headers.clone();
    bad[0].1 = format!("sha256={}", hmac_hex(b"wrong", body.as_bytes()));
    assert_eq!(post(&app, "/webhooks/custom/github", &body, &bad).await.status(), StatusCode::UNAUTHORIZED);

    // The admin listing, filtered; others may not see it.
    let admin = app.create_user("admin").await;
    let ta = app.tokens(&admin).await.access;
    let list: Value = app.get("/admin/webhooks?source=github&status=received", &ta).await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["events"][0]["event_type"], "release");
    assert_eq!(app.get("/admin/webhooks?status=weird", &ta).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rep = app.create_user("sales_rep").await;
    assert_eq!(app.get("/admin/webhooks", &app.tokens(&rep).await.access).await.status(), StatusCode::FORBIDDEN);
}

/// Many concurrent deliveries (re-deliveries racing each other, as they do inside one group
/// commit) are each stored once with one job, every copy points at the stored event, and a
/// payload PostgreSQL would refuse (a NUL escape) is a 422 that does not disturb the others.
/// (That batches form is not observable here; `store`'s `webhooks` tests check the batch
/// statement itself.)
#[tokio::test]
async fn concurrent_deliveries_are_stored_once_and_a_nul_payload_is_refused() {
    let app = TestApp::spawn_with(|s| {
        s.webhooks.secret = settings::Secret::new(SECRET);
        s.rate_limits.webhooks = 10_000;
    })
    .await;
    let mut calls = Vec::new();
    for copy in 0..4 {
        for i in 0..25 {
            let body = signup(&format!("evt_batch_{i}"));
            let app = &app;
            calls.push(async move {
                let res = post(app, "/webhooks/mezzofy", &body, &signed(&body, SECRET, now() - copy)).await;
                let status = res.status();
                (i, status, res.json::<Value>().await.unwrap())
            });
        }
    }
    // jsonb cannot hold \u0000: this one must fail with a client error, not a 500, and alone.
    let bad = r#"{"id":"evt_nul","event":"customer_signed_up","data":{"company_name":"A\u0000B"}}"#.to_string();
    let bad_headers = signed(&bad, SECRET, now());
    let bad_call = post(&app, "/webhooks/mezzofy", &bad, &bad_headers);
    let (answers, bad_res) = tokio::join!(futures_util::future::join_all(calls), bad_call);
    let mut by_event: std::collections::HashMap<usize, Vec<Value>> = Default::default();
    for (i, status, body) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
        by_event.entry(i).or_default().push(body);
    }
    for (i, answers) in &by_event {
        let accepted = answers.iter().filter(|a| a["status"] == "accepted").count();
        assert_eq!(accepted, 1, "event {i}: exactly one copy is accepted: {answers:?}");
        let ids: std::collections::HashSet<String> =
            answers.iter().map(|a| a["event_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids.len(), 1, "event {i}: every copy names the stored event");
    }
    assert_eq!(bad_res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(bad_res).await, "invalid_payload");
    let stored = events(&app).await;
    assert_eq!(stored.len(), 25, "25 distinct events stored, the NUL one not");
    for ev in &stored {
        let job = store::jobs::get(&app.db, ev.job_id.unwrap()).await.unwrap().unwrap();
        assert_eq!(job.payload["event"], json!(ev.id));
        assert_eq!(job.idempotency_key.as_deref(), Some(format!("webhook:{}", ev.id).as_str()));
    }
    let (jobs, total) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { kind: Some("webhook.process".into()), ..Default::default() },
        0,
        200,
    )
    .await
    .unwrap();
    assert_eq!((jobs.len(), total), (25, 25), "one job per stored event");
}
