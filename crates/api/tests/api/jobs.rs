use domain::jobs::Queue;
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::TransactionTrait;
use testkit::TestApp;
use uuid::Uuid;

use crate::auth::error_code;

async fn enqueue(app: &TestApp, queue: Queue, user: Option<Uuid>) -> Uuid {
    let txn = app.db.begin().await.unwrap();
    let mut job = jobs::NewJob::new(queue, "test.thing", json!({"n": 1}));
    if let Some(u) = user {
        job = job.user(u);
    }
    let e = jobs::enqueue(&txn, job).await.unwrap();
    txn.commit().await.unwrap();
    e.id
}

/// Drives a job to `dead` the way a worker would (claim, then a final failure).
async fn kill(app: &TestApp, id: Uuid) {
    store::jobs::claim(&app.db, id, "test-worker").await.unwrap().unwrap();
    store::jobs::fail(&app.db, id, "test-worker", "provider said 400", None).await.unwrap();
}

#[tokio::test]
async fn job_status_is_visible_to_its_owner_and_operators_only() {
    let app = TestApp::spawn().await;
    let owner = app.create_user("sales_rep").await;
    let other = app.create_user("sales_rep").await;
    let admin = app.create_user("admin").await;
    let id = enqueue(&app, Queue::Agent, Some(owner.id)).await;
    let t_owner = app.tokens(&owner).await;
    let res = app.get(&format!("/jobs/{id}"), &t_owner.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    assert_eq!(body["queue"], "agent");
    assert!(body["progress"].is_object());
    assert_eq!(app.get(&format!("/jobs/{id}"), &app.tokens(&other).await.access).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/jobs/{id}"), &app.tokens(&admin).await.access).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/jobs/{}", Uuid::now_v7()), &t_owner.access).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operators_list_replay_and_cancel() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    let dead1 = enqueue(&app, Queue::Delivery, None).await;
    let dead2 = enqueue(&app, Queue::Delivery, None).await;
    let waiting = enqueue(&app, Queue::Agent, None).await;
    kill(&app, dead1).await;
    kill(&app, dead2).await;

    let page: Value = app.get("/admin/jobs?status=dead&queue=delivery", &t.access).await.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["jobs"][0]["error"], "provider said 400");
    assert_eq!(app.get("/admin/jobs?status=sleeping", &t.access).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/admin/jobs?queue=nowhere", &t.access).await.status(), StatusCode::BAD_REQUEST);

    let queues: Value = app.get("/admin/queues", &t.access).await.json().await.unwrap();
    let delivery = queues["queues"].as_array().unwrap().iter().find(|q| q["queue"] == "delivery").unwrap().clone();
    assert_eq!(delivery["dead"], 2);
    let agent = queues["queues"].as_array().unwrap().iter().find(|q| q["queue"] == "agent").unwrap().clone();
    assert_eq!(agent["queued"], 1);
    assert!(agent["oldest_waiting_secs"].as_f64().is_some());
    assert_eq!(queues["queues"].as_array().unwrap().len(), 5);

    let replay = |body: Value| {
        let req = app.client.post(app.url("/admin/dlq/replay")).bearer_auth(&t.access).json(&body);
        async move { req.send().await.unwrap() }
    };
    for bad in [
        json!({}),
        json!({"ids": [dead1], "limit": 1}),
        json!({"limit": 0}),
        json!({"ids": []}),
        json!({"limit": 5, "queue": "x"}),
    ] {
        let res = replay(bad.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (a, b) = tokio::join!(replay(json!({"ids": [dead1]})), replay(json!({"ids": [dead1]})));
    let a: Value = a.json().await.unwrap();
    let b: Value = b.json().await.unwrap();
    assert_eq!(a["count"].as_u64().unwrap() + b["count"].as_u64().unwrap(), 1, "{a} {b}");
    let row = store::jobs::get(&app.db, dead1).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 0));
    let res: Value = replay(json!({"limit": 10, "queue": "delivery"})).await.json().await.unwrap();
    assert_eq!(res["replayed"], json!([dead2]));
    let (_, n) = store::audit::list(
        &app.db,
        &store::audit::Filter { action: Some("admin.dlq.replay".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(n, 3, "every replay call is audited");

    let cancel = |id: Uuid| {
        let req = app.client.post(app.url(&format!("/admin/jobs/{id}/cancel"))).bearer_auth(&t.access);
        async move { req.send().await.unwrap() }
    };
    let res = cancel(waiting).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "cancelled");
    let res = cancel(waiting).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "not_cancellable");
    assert_eq!(cancel(Uuid::now_v7()).await.status(), StatusCode::NOT_FOUND);

    let health: Value = app.get("/admin/health", &t.access).await.json().await.unwrap();
    assert_eq!(health["queues"].as_array().unwrap().len(), 5);
}
