//! `record_batch`, the webhook intake's group commit, on real PostgreSQL: one statement
//! stores new events with their jobs, resolves duplicates against stored rows and within the
//! batch to the first delivery, and stores nothing at all when PostgreSQL refuses any row.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use store::webhooks::{EventJob, NewEvent, record_batch};
use testkit::TestDb;
use uuid::Uuid;

fn event(event_id: &str) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        source: "mezzofy".into(),
        event_type: "order_completed".into(),
        event_id: event_id.into(),
        payload: json!({"id": event_id}),
        job_id: Uuid::now_v7(),
    }
}

fn job() -> EventJob {
    EventJob {
        queue: "webhook".into(),
        kind: "webhook.process".into(),
        priority: 60,
        lane: "normal".into(),
        max_attempts: 5,
    }
}

#[tokio::test]
async fn a_batch_stores_new_events_with_jobs_and_resolves_duplicates_to_the_first() {
    let testdb = TestDb::new().await;
    let db = testdb.connect().await;
    let a = event("evt_a");
    let first = record_batch(&db, std::slice::from_ref(&a), &job()).await.unwrap();
    assert_eq!((first[0].row_id, first[0].is_new), (Some(a.id), true));
    let stored_a = a.id;

    // evt_a again (stored before), evt_b twice in the same batch, evt_c once.
    let batch = [event("evt_a"), event("evt_b"), event("evt_b"), event("evt_c")];
    let out = record_batch(&db, &batch, &job()).await.unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!((out[0].row_id, out[0].is_new), (Some(stored_a), false), "a redelivery names the stored event");
    assert_eq!((out[1].row_id, out[1].is_new), (Some(batch[1].id), true), "the first copy in the batch wins");
    assert_eq!((out[2].row_id, out[2].is_new), (Some(batch[1].id), false), "the second copy names the first");
    assert_eq!((out[3].row_id, out[3].is_new), (Some(batch[3].id), true));

    // One job per stored event, named by the event row, with its idempotency key.
    for e in [&batch[1], &batch[3]] {
        let j = store::jobs::get(&db, e.job_id).await.unwrap().expect("the new event's job");
        assert_eq!(j.payload, json!({"event": e.id}));
        assert_eq!(j.idempotency_key.as_deref(), Some(format!("webhook:{}", e.id).as_str()));
        assert_eq!((j.kind.as_str(), j.queue.as_str(), j.lane.as_str()), ("webhook.process", "webhook", "normal"));
    }
    for e in [&batch[0], &batch[2]] {
        assert!(store::jobs::get(&db, e.job_id).await.unwrap().is_none(), "no job for a duplicate");
    }
    let (rows, total) = store::webhooks::list(&db, &Default::default(), 10, 0).await.unwrap();
    assert_eq!((rows.len(), total), (3, 3));
    let stored = rows.iter().find(|r| r.event_id == "evt_a").unwrap();
    assert_eq!(stored.job_id, Some(a.job_id), "the event row names its job");
}

#[tokio::test]
async fn a_row_postgresql_refuses_fails_the_whole_batch_and_stores_nothing() {
    let testdb = TestDb::new().await;
    let db = testdb.connect().await;
    let mut bad = event("evt_nul");
    bad.payload = json!({"name": "A\u{0}B"});
    let batch = [event("evt_ok"), bad];
    assert!(record_batch(&db, &batch, &job()).await.is_err());
    let (rows, total) = store::webhooks::list(&db, &Default::default(), 10, 0).await.unwrap();
    assert_eq!((rows.len(), total), (0, 0), "nothing half-written");
    assert!(store::jobs::get(&db, batch[0].job_id).await.unwrap().is_none());
}
