//! Deliveries through the real Microsoft Graph and FCM clients against faithful fakes: sent
//! once, recorded in the outbox as `sent`, never repeated — not on a re-run of a finished job,
//! not after a try whose outcome is unknown — and retried cleanly after a refused try.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use agents::delivery::{CALENDAR_JOB, CalendarJob, EMAIL_JOB, EmailJob, PUSH_JOB, PushJob, TEAMS_JOB, TeamsJob};
use domain::jobs::Queue;
use graph::fake::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT_ID, FakeGraph};
use push::fake::FakeFcm;
use serde_json::{Value, json};
use store::ConnectionTrait;
use testkit::TestApp;
use uuid::Uuid;

const SENDER: &str = "assistant@mezzofy.com";
const TEAM: &str = "team-mezzofy";

fn with_graph(s: &mut settings::Settings, fake: &FakeGraph) {
    let cfg = fake.config();
    let ms = &mut s.delivery.ms365;
    ms.tenant_id = FAKE_TENANT_ID.into();
    ms.client_id = FAKE_CLIENT_ID.into();
    ms.client_secret = settings::Secret::new(FAKE_CLIENT_SECRET);
    ms.graph_base_url = cfg.graph_base_url;
    ms.login_base_url = cfg.login_base_url;
    ms.sender_user_id = SENDER.into();
    ms.team_id = TEAM.into();
    s.worker.sweep_interval_ms = 100;
}

fn start_worker(app: &TestApp) -> worker::WorkerHandle {
    let assistant = agents::chat::build(Arc::new(app.settings.clone()), app.db.clone()).unwrap();
    let deliverer = Arc::new(worker::delivery_jobs::Deliverer::new(assistant.integrations.clone()));
    let registry = worker::delivery_jobs::register(worker::Registry::default(), deliverer);
    worker::start(&app.settings, app.db.clone(), app.redis.clone(), registry)
}

async fn enqueue(app: &TestApp, kind: &str, payload: impl serde::Serialize, user: Uuid) -> Uuid {
    let job = jobs::NewJob::new(Queue::Delivery, kind, payload).user(user).max_attempts(5);
    jobs::enqueue(&app.db, job).await.unwrap().id
}

async fn job(app: &TestApp, id: Uuid) -> store::jobs::JobRow {
    store::jobs::get(&app.db, id).await.unwrap().unwrap()
}

async fn finished(app: &TestApp, id: Uuid) -> store::jobs::JobRow {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let j = job(app, id).await;
        if j.status == "completed" || j.status == "dead" {
            return j;
        }
        assert!(tokio::time::Instant::now() < deadline, "job did not finish: {j:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn outbox(app: &TestApp, channel: &str) -> Vec<store::outbox::OutboxRow> {
    let f = store::outbox::OutboxFilter { channel: Some(channel.into()), ..Default::default() };
    store::outbox::list(&app.db, &f, 50, 0).await.unwrap().0
}

async fn rerun(app: &TestApp, id: Uuid) {
    app.db
        .execute_unprepared(&format!(
            "UPDATE jobs SET status = 'queued', finished_at = NULL, pushed_at = NULL, run_at = now() WHERE id = '{id}'"
        ))
        .await
        .unwrap();
}

/// A stored PDF artifact of `user`.
async fn pdf_of(app: &TestApp, user: Uuid) -> (Uuid, Vec<u8>) {
    let bytes = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".repeat(200);
    let store = files::LocalStore::new(std::path::Path::new(&app.settings.paths.data_dir).join("artifacts"));
    let key = files::LocalStore::new_key("pdf");
    store.put_bytes(&bytes, &key).await.unwrap();
    let id = Uuid::now_v7();
    store::artifacts::insert(
        &app.db,
        store::artifacts::NewArtifact {
            id,
            user_id: user,
            session_id: None,
            kind: "pdf".into(),
            name: "Financial Statement.pdf".into(),
            path: key,
            size_bytes: bytes.len() as i64,
            content_type: "application/pdf".into(),
            source: "generated".into(),
            category: None,
        },
    )
    .await
    .unwrap();
    (id, bytes)
}

#[tokio::test]
async fn an_email_goes_through_graph_once_with_its_attachment() {
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_with(|s| with_graph(s, &fake)).await;
    let cfo = app.create_user("finance_manager").await;
    let (pdf, bytes) = pdf_of(&app, cfo.id).await;
    let mail = EmailJob {
        user_id: cfo.id,
        to: vec!["ceo@mezzofy.com".into()],
        cc: vec!["cfo@mezzofy.com".into()],
        subject: "Financial Statement – October 2026".into(),
        html: "<p>Net income SGD 1,234.00</p>".into(),
        attachments: vec![pdf],
    };
    let worker = start_worker(&app);
    let id = enqueue(&app, EMAIL_JOB, &mail, cfo.id).await;
    let done = finished(&app, id).await;
    assert_eq!(done.status, "completed", "{done:?}");

    let sent = fake.sent_mails();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.user, SENDER);
    assert_eq!((m.to.clone(), m.cc.clone()), (mail.to.clone(), mail.cc.clone()));
    assert_eq!(m.subject, mail.subject);
    assert_eq!(m.body_content_type, "HTML");
    assert_eq!(m.body, mail.html);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].name, "Financial Statement.pdf");
    assert_eq!(m.attachments[0].content_type, "application/pdf");
    assert_eq!(m.attachments[0].bytes, bytes);

    let rows = outbox(&app, "email").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "sent");
    assert_eq!(rows[0].detail.as_ref().unwrap()["mode"], "sent");
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(store::outbox::emails_since(&app.db, cfo.id, hour_ago).await.unwrap(), 2);

    // The finished job runs again: the recorded effect answers, Graph is not called.
    rerun(&app, id).await;
    assert_eq!(finished(&app, id).await.status, "completed");
    assert_eq!(fake.sent_mails().len(), 1);
    assert_eq!(outbox(&app, "email").await.len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_refused_send_is_retried_cleanly_and_an_unknown_outcome_is_never_resent() {
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_with(|s| with_graph(s, &fake)).await;
    let user = app.create_user("sales_rep").await;
    let mail = |subject: &str| EmailJob {
        user_id: user.id,
        to: vec!["lead@example.com".into()],
        cc: Vec::new(),
        subject: subject.into(),
        html: "<p>Hello</p>".into(),
        attachments: Vec::new(),
    };
    // An earlier try of this job died mid-call (its effect is still `started`).
    let unknown = enqueue(&app, EMAIL_JOB, mail("unknown outcome"), user.id).await;
    store::effects::begin(&app.db, &format!("{unknown}:send"), unknown, "email").await.unwrap();
    // Graph answers 500 (an answer: nothing was sent): the job retries and sends once.
    fake.fail_next(500, "generalException");
    let id = enqueue(&app, EMAIL_JOB, mail("refused first"), user.id).await;
    let worker = start_worker(&app);

    let done = finished(&app, unknown).await;
    assert_eq!(done.status, "completed", "{done:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let j = job(&app, id).await;
        if j.status == "retrying" {
            // Skip the 5 s backoff.
            app.db.execute_unprepared(&format!("UPDATE jobs SET run_at = now() WHERE id = '{id}'")).await.unwrap();
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{j:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = finished(&app, id).await;
    assert_eq!(done.status, "completed", "{done:?}");
    assert_eq!(done.attempts, 2);
    assert_eq!(fake.sent_mails().iter().filter(|m| m.subject == "refused first").count(), 1);

    // The unknown outcome was not sent again, and the outbox says why.
    assert!(fake.sent_mails().iter().all(|m| m.subject != "unknown outcome"));
    let rows = outbox(&app, "email").await;
    let row = rows.iter().find(|r| r.subject.as_deref() == Some("unknown outcome")).unwrap();
    assert_eq!(row.status, "failed");
    assert!(row.error.as_deref().unwrap().contains("outcome unknown"), "{row:?}");
    worker.stop().await;
}

#[tokio::test]
async fn teams_posts_and_calendar_events_reach_graph() {
    let fake = FakeGraph::start().await;
    let sales = fake.add_channel(TEAM, "sales");
    let app = TestApp::spawn_with(|s| with_graph(s, &fake)).await;
    let mgr = app.create_user("sales_manager").await;
    let (pdf, _) = pdf_of(&app, mgr.id).await;
    let worker = start_worker(&app);
    let post = TeamsJob {
        team_id: None,
        user_id: mgr.id,
        channel: "sales".into(),
        text: "Pipeline <report> attached".into(),
        attachments: vec![pdf],
    };
    let id = enqueue(&app, TEAMS_JOB, &post, mgr.id).await;
    assert_eq!(finished(&app, id).await.status, "completed");
    let posted = fake.channel_messages();
    assert_eq!(posted.len(), 1);
    assert_eq!((posted[0].team_id.as_str(), posted[0].channel_id.as_str()), (TEAM, sales.as_str()));
    assert!(posted[0].content.contains("Pipeline &lt;report&gt; attached"), "{}", posted[0].content);
    assert!(posted[0].content.contains(&format!("/files/{pdf}")), "{}", posted[0].content);

    let start = chrono::NaiveDate::from_ymd_opt(2030, 1, 7).unwrap().and_hms_opt(10, 0, 0).unwrap();
    let event = CalendarJob {
        user_id: mgr.id,
        organizer: mgr.email.clone(),
        subject: "Q1 pipeline review".into(),
        html: "<p>Agenda</p>".into(),
        start,
        end: start + chrono::TimeDelta::minutes(45),
        time_zone: "Asia/Singapore".into(),
        attendees: vec!["ceo@mezzofy.com".into()],
        location: None,
        online_meeting: true,
        reminder_minutes: Some(15),
    };
    let id = enqueue(&app, CALENDAR_JOB, &event, mgr.id).await;
    let done = finished(&app, id).await;
    assert_eq!(done.status, "completed", "{done:?}");
    let events = fake.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.user.as_str(), e.start, e.end), (mgr.email.as_str(), event.start, event.end));
    assert!(e.is_online_meeting && e.join_url.is_some());
    assert_eq!(e.reminder_minutes, Some(15));
    let rows = outbox(&app, "calendar").await;
    assert_eq!(rows[0].status, "sent");
    assert_eq!(rows[0].detail.as_ref().unwrap()["join_url"], json!(e.join_url));
    worker.stop().await;
}

#[tokio::test]
async fn pushes_reach_each_device_once_and_dead_tokens_are_forgotten() {
    let fcm = FakeFcm::start().await;
    let sa = fcm.write_service_account_file().unwrap();
    let app = TestApp::spawn_with(|s| {
        s.delivery.push.service_account_file = sa.path().display().to_string();
        s.delivery.push.base_url = fcm.uri();
        s.worker.sweep_interval_ms = 100;
    })
    .await;
    let user = app.create_user("sales_rep").await;
    let live = "live-device-token_0123456789abcdef";
    let dead = "dead-device-token_0123456789abcdef";
    fcm.register(live);
    store::devices::register(&app.db, user.id, live, "android", None).await.unwrap();
    store::devices::register(&app.db, user.id, dead, "ios", None).await.unwrap();
    let worker = start_worker(&app);
    let push = PushJob {
        user_id: user.id,
        recipients: vec![user.id],
        title: "Report ready".into(),
        body: "Your pitch deck is ready".into(),
        data: [("session_id".to_string(), "abc".to_string())].into(),
    };
    let id = enqueue(&app, PUSH_JOB, &push, user.id).await;
    let done = finished(&app, id).await;
    assert_eq!(done.status, "completed", "{done:?}");
    let sent = fcm.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].token, live);
    assert_eq!((sent[0].title(), sent[0].body()), (Some("Report ready"), Some("Your pitch deck is ready")));
    let devices = store::devices::for_user(&app.db, user.id).await.unwrap();
    assert_eq!(devices.iter().map(|d| d.token.as_str()).collect::<Vec<_>>(), [live]);
    rerun(&app, id).await;
    assert_eq!(finished(&app, id).await.status, "completed");
    assert_eq!(fcm.sent().len(), 1);
    let rows: Vec<Value> = outbox(&app, "push").await.iter().map(|r| json!(r.status)).collect();
    assert_eq!(rows, [json!("sent"), json!("sent")]);
    worker.stop().await;
}
