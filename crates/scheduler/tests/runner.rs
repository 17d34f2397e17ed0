//! Firing schedules on real PostgreSQL and Redis: one fire per occurrence however many
//! schedulers run, missed occurrences collapsed into one, edits before a fire honoured,
//! built-ins synced from the configuration.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone, Utc};
use scheduler::runner;
use scheduler::schedule::Schedule;
use serde_json::json;
use store::ConnectionTrait;
use testkit::TestApp;
use uuid::Uuid;

async fn schedule(app: &TestApp, owner: Uuid, spec: serde_json::Value, changed_ago: Duration) -> Uuid {
    let s = Schedule::parse_builtin(&spec).unwrap();
    let row = store::schedules::create(
        &app.db,
        store::schedules::NewSchedule {
            user_id: owner,
            name: "Weekly pipeline".into(),
            description: None,
            agent: "sales".into(),
            message: "Generate a sales pipeline report".into(),
            spec: s.to_json(),
            deliver_to: json!({"teams_channel": "sales"}),
            department: "sales".into(),
            next_run: None,
        },
    )
    .await
    .unwrap();
    let at = Utc::now() - changed_ago;
    app.db
        .execute_unprepared(&format!(
            "UPDATE scheduled_jobs SET created_at = '{at}', updated_at = '{at}' WHERE id = '{}'",
            row.id
        ))
        .await
        .unwrap();
    row.id
}

async fn runs(app: &TestApp, id: Uuid) -> Vec<store::schedules::RunRow> {
    store::schedules::history(&app.db, id, 100).await.unwrap()
}

#[tokio::test]
async fn two_schedulers_fire_each_occurrence_once_and_missed_ones_collapse() {
    let app = TestApp::spawn().await;
    let owner = app.create_user("sales_manager").await;
    // Every 15 minutes from a fixed anchor; changed 2 hours ago: 8 occurrences are due.
    let anchor = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let id = schedule(
        &app,
        owner.id,
        json!({"type": "interval", "interval": {"minutes": 15}, "anchor": anchor.to_rfc3339()}),
        Duration::hours(2),
    )
    .await;
    let now = Utc::now();
    let transport = jobs::Transport::new(app.redis.clone());
    // Two schedulers at the same moment.
    let (a, b) = tokio::join!(runner::tick(&app.db, &transport, now), runner::tick(&app.db, &transport, now));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "exactly one scheduler fires");
    let r = runs(&app, id).await;
    assert_eq!(r.len(), 1);
    // The latest missed occurrence, on the 15-minute grid; the older ones collapsed.
    let fire = r[0].fire_time;
    assert!(fire <= now && now - fire < Duration::minutes(15), "{fire} vs {now}");
    assert_eq!(fire.timestamp() % 900, 0);
    assert!((7..=8).contains(&r[0].skipped), "{}", r[0].skipped);
    let job = store::jobs::get(&app.db, r[0].job_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(job.kind, "agent.task");
    assert_eq!(job.payload["agent"], "sales");
    assert_eq!(job.payload["actor"], json!(owner.id));
    assert_eq!(job.payload["deliver_to"]["teams_channel"], "sales");
    // The schedule moved on; the next pass at the same moment fires nothing.
    let row = store::schedules::get(&app.db, id).await.unwrap().unwrap();
    assert_eq!(row.last_run, Some(fire));
    assert_eq!(row.next_run, Some(fire + Duration::minutes(15)));
    assert_eq!(runner::tick(&app.db, &transport, now).await.unwrap(), 0);
    // The next occurrence fires once.
    assert_eq!(runner::tick(&app.db, &transport, fire + Duration::minutes(15)).await.unwrap(), 1);
    assert_eq!(runs(&app, id).await.len(), 2);
}

#[tokio::test]
async fn paused_and_freshly_edited_schedules_do_not_fire_old_occurrences() {
    let app = TestApp::spawn().await;
    let owner = app.create_user("sales_manager").await;
    let anchor = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let spec = json!({"type": "interval", "interval": {"minutes": 15}, "anchor": anchor.to_rfc3339()});
    let paused = schedule(&app, owner.id, spec.clone(), Duration::hours(1)).await;
    store::schedules::update(
        &app.db,
        paused,
        store::schedules::ScheduleUpdate { is_active: Some(false), ..Default::default() },
    )
    .await
    .unwrap();
    // Edited just now: occurrences before the edit never fire.
    let fresh = schedule(&app, owner.id, spec, Duration::zero()).await;
    let transport = jobs::Transport::new(app.redis.clone());
    assert_eq!(runner::tick(&app.db, &transport, Utc::now()).await.unwrap(), 0);
    assert!(runs(&app, paused).await.is_empty() && runs(&app, fresh).await.is_empty());
    let next = store::schedules::get(&app.db, fresh).await.unwrap().unwrap().next_run.unwrap();
    assert!(next > Utc::now() - Duration::seconds(5) && next.timestamp() % 900 == 0, "{next}");
}

#[tokio::test]
async fn built_ins_are_synced_once_and_the_health_check_runs_the_worker_selftest() {
    let app = TestApp::spawn().await;
    runner::sync_builtins(&app.db, &app.settings).await.unwrap();
    runner::sync_builtins(&app.db, &app.settings).await.unwrap();
    let system = agents::task::system_actor(&app.db).await.unwrap();
    let all = store::schedules::visible(&app.db, system, "management", true).await.unwrap();
    let keys: Vec<&str> = all.iter().filter_map(|r| r.builtin_key.as_deref()).collect();
    assert_eq!(
        keys,
        [
            "system-health-check",
            "weekly-kpi-report",
            "monthly-financial-summary",
            "daily-lead-followup",
            "weekly-support-summary"
        ]
    );
    let kpi = all.iter().find(|r| r.builtin_key.as_deref() == Some("weekly-kpi-report")).unwrap();
    assert_eq!(kpi.spec.as_ref().unwrap()["timezone"], "Asia/Singapore");
    assert_eq!(kpi.deliver_to, json!({"teams_channel": "management", "email": ["ceo@mezzofy.com", "coo@mezzofy.com"]}));
    // The system account cannot sign in.
    let res = app.login(store::users::SYSTEM_EMAIL, "anything-at-all").await;
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);

    // Ten minutes after the sync the health check is due (every 5 minutes).
    let transport = jobs::Transport::new(app.redis.clone());
    let fired = runner::tick(&app.db, &transport, Utc::now() + Duration::minutes(10)).await.unwrap();
    assert!(fired >= 1);
    let health = all.iter().find(|r| r.builtin_key.as_deref() == Some("system-health-check")).unwrap();
    let r = runs(&app, health.id).await;
    assert_eq!(r.len(), 1);
    let job = store::jobs::get(&app.db, r[0].job_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((job.kind.as_str(), job.queue.as_str()), ("maintenance.selftest", "maintenance"));
}
