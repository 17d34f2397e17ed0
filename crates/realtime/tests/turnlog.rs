//! Turn logs against the real Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{REDIS_URL, eventually, prefix, redis};
use futures_util::StreamExt;
use realtime::{Event, EventId, RealtimeError, TurnLog, TurnLogOptions};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn log(prefix: &str, options: TurnLogOptions) -> TurnLog {
    TurnLog::new(&redis(prefix).await, REDIS_URL, options).unwrap()
}

fn n(e: &Event) -> u64 {
    e.get("n").and_then(serde_json::Value::as_u64).unwrap()
}

async fn collect(
    stream: impl futures_util::Stream<Item = Result<(EventId, Event), RealtimeError>>,
) -> Result<Vec<(EventId, Event)>, RealtimeError> {
    let mut out = Vec::new();
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = tokio::time::timeout(WAIT, stream.next()).await.expect("follow stalled") {
        out.push(item?);
    }
    Ok(out)
}

#[tokio::test]
async fn append_read_and_resume_from_the_middle() {
    let p = prefix();
    let log = log(&p, TurnLogOptions::default()).await;
    let turn = Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..10u64 {
        ids.push(log.append(turn, &Event::text_delta(format!("w{i} ")).with("n", i)).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");
    let ttl: i64 = redis::cmd("PTTL").arg(log.key(turn)).query_async(&mut redis(&p).await.conn()).await.unwrap();
    assert!((590_000..=600_000).contains(&ttl), "ttl {ttl}");

    let all = log.read_after(turn, None, Duration::ZERO).await.unwrap();
    assert_eq!(all.iter().map(|(_, e)| n(e)).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    assert_eq!(all.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);

    // The SSE id goes out as text and comes back as Last-Event-ID.
    let last_seen = EventId::parse(&ids[3].to_string()).unwrap();
    let rest = log.read_after(turn, Some(last_seen), Duration::ZERO).await.unwrap();
    assert_eq!(rest.iter().map(|(_, e)| n(e)).collect::<Vec<_>>(), (4..10).collect::<Vec<_>>());
    let none = log.read_after(turn, Some(ids[9]), Duration::ZERO).await.unwrap();
    assert!(none.is_empty());
    log.check_resume(turn, Some(ids[3])).await.unwrap();

    assert!(!log.is_finished(turn).await.unwrap());
    log.finish(turn).await.unwrap();
    assert!(log.is_finished(turn).await.unwrap());
    let batch = log.read_batch(turn, Some(ids[8]), Duration::ZERO).await.unwrap();
    assert_eq!(batch.events.len(), 1);
    assert!(batch.finished);
    // The marker is never an event.
    assert_eq!(log.read_after(turn, Some(ids[9]), Duration::ZERO).await.unwrap(), vec![]);

    // follow from the middle of a finished turn: the rest, then the end.
    let followed = collect(log.follow(turn, Some(ids[6]))).await.unwrap();
    assert_eq!(followed.iter().map(|(_, e)| n(e)).collect::<Vec<_>>(), vec![7, 8, 9]);
    redis(&p).await.delete_prefixed().await.unwrap();
}

#[tokio::test]
async fn malformed_last_event_ids_are_rejected() {
    for bad in ["", "abc", "12", "12-", "-3", "1-2-3", "1.5-0", "$", "+", "0-0x"] {
        assert!(matches!(bad.parse::<EventId>(), Err(RealtimeError::InvalidEventId(_))), "{bad:?}");
    }
    assert_eq!("1700000000000-0".parse::<EventId>().unwrap().to_string(), "1700000000000-0");
}

#[tokio::test]
async fn a_blocking_read_returns_as_soon_as_an_event_arrives() {
    let p = prefix();
    let log = log(&p, TurnLogOptions::default()).await;
    let turn = Uuid::new_v4();
    let first = log.append(turn, &Event::status("thinking")).await.unwrap();
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = log.read_after(turn, Some(first), Duration::from_secs(20)).await.unwrap();
            (got, start.elapsed())
        })
    };
    // The reader may or may not be blocked yet: either way it must see this event.
    tokio::task::yield_now().await;
    log.append(turn, &Event::text_delta("Hi")).await.unwrap();
    let (got, elapsed) = tokio::time::timeout(WAIT, reader).await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, Event::text_delta("Hi"));
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // A blocking read with nothing new waits its time and returns nothing.
    let mut reader = log.reader().await.unwrap();
    let last = got[0].0;
    let start = Instant::now();
    assert!(reader.read_after(turn, Some(last), Duration::from_millis(200)).await.unwrap().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(150));
    redis(&p).await.delete_prefixed().await.unwrap();
}

#[tokio::test]
async fn follow_on_another_connection_sees_everything_and_ends_at_finish() {
    let p = prefix();
    // Writer and follower on different connections, as in two api processes.
    let writer = log(&p, TurnLogOptions::default()).await;
    let follower =
        log(&p, TurnLogOptions { follow_block: Duration::from_millis(300), ..TurnLogOptions::default() }).await;
    let turn = Uuid::new_v4();
    writer.append(turn, &Event::status("thinking").with("n", 0)).await.unwrap();

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(follower.follow(turn, None));
        while let Some(item) = stream.next().await {
            tx.send(item.unwrap()).unwrap();
        }
    });
    // The follower is live (it has the first event) before the rest is written.
    let first = tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert_eq!(n(&first.1), 0);
    for i in 1..=50u64 {
        writer.append(turn, &Event::text_delta("x").with("n", i)).await.unwrap();
        if i % 10 == 0 {
            tokio::task::yield_now().await;
        }
    }
    writer.append(turn, &Event::complete("done").with("n", 51)).await.unwrap();
    writer.finish(turn).await.unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    let mut got = vec![first];
    while let Ok(item) = rx.try_recv() {
        got.push(item);
    }
    assert_eq!(got.iter().map(|(_, e)| n(e)).collect::<Vec<_>>(), (0..=51).collect::<Vec<_>>());
    assert_eq!(got.last().unwrap().1.kind(), "complete");

    // A client that lost its connection after event 20 resumes on yet another connection.
    let other = log(&p, TurnLogOptions::default()).await;
    let resumed = collect(other.follow(turn, Some(got[20].0))).await.unwrap();
    assert_eq!(resumed.iter().map(|(_, e)| n(e)).collect::<Vec<_>>(), (21..=51).collect::<Vec<_>>());
    redis(&p).await.delete_prefixed().await.unwrap();
}

#[tokio::test]
async fn a_follower_waiting_at_the_end_ends_on_finish() {
    let p = prefix();
    let log = log(&p, TurnLogOptions { follow_block: Duration::from_millis(200), ..TurnLogOptions::default() }).await;
    let turn = Uuid::new_v4();
    let id = log.append(turn, &Event::status("thinking")).await.unwrap();
    let task = tokio::spawn(collect(log.follow(turn, Some(id))));
    // Let the follower go round a few empty reads before the end (not waiting for work).
    tokio::time::sleep(Duration::from_millis(500)).await;
    log.finish(turn).await.unwrap();
    let got = tokio::time::timeout(WAIT, task).await.unwrap().unwrap().unwrap();
    assert!(got.is_empty());
    redis(&p).await.delete_prefixed().await.unwrap();
}

#[tokio::test]
async fn unknown_and_expired_turns() {
    let p = prefix();
    let log = log(
        &p,
        TurnLogOptions {
            ttl: Duration::from_millis(300),
            follow_block: Duration::from_millis(100),
            ..TurnLogOptions::default()
        },
    )
    .await;
    let unknown = Uuid::new_v4();
    assert!(matches!(log.read_after(unknown, None, Duration::ZERO).await, Err(RealtimeError::TurnNotFound)));
    assert!(matches!(log.read_after(unknown, None, Duration::from_millis(50)).await, Err(RealtimeError::TurnNotFound)));
    assert!(matches!(collect(log.follow(unknown, None)).await, Err(RealtimeError::TurnNotFound)));
    assert!(!log.is_finished(unknown).await.unwrap());

    let turn = Uuid::new_v4();
    let id = log.append(turn, &Event::status("thinking")).await.unwrap();
    assert!(log.exists(turn).await.unwrap());
    assert!(eventually(WAIT, || async { !log.exists(turn).await.unwrap() }).await, "the log expires");
    assert!(matches!(log.read_after(turn, Some(id), Duration::ZERO).await, Err(RealtimeError::TurnNotFound)));
    assert!(matches!(collect(log.follow(turn, Some(id))).await, Err(RealtimeError::TurnNotFound)));

    // The writer dies mid-turn: followers end when the log expires instead of hanging.
    let turn = Uuid::new_v4();
    let id = log.append(turn, &Event::status("thinking")).await.unwrap();
    let started = Instant::now();
    let result = collect(log.follow(turn, Some(id))).await;
    assert!(matches!(result, Err(RealtimeError::TurnNotFound)), "{result:?}");
    assert!(started.elapsed() < WAIT);
}

#[tokio::test]
async fn resuming_after_a_trimmed_event_is_refused() {
    let p = prefix();
    let log = log(&p, TurnLogOptions { max_len: 10, ..TurnLogOptions::default() }).await;
    let turn = Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..300u64 {
        ids.push(log.append(turn, &Event::text_delta("x").with("n", i)).await.unwrap());
    }
    let kept = log.read_after(turn, None, Duration::ZERO).await.unwrap();
    assert!(kept.len() < 300, "MAXLEN trims (approximately)");
    assert_eq!(kept.last().map(|(_, e)| n(e)), Some(299));
    assert!(matches!(log.check_resume(turn, Some(ids[0])).await, Err(RealtimeError::ResumeGap)));
    assert!(matches!(collect(log.follow(turn, Some(ids[0]))).await, Err(RealtimeError::ResumeGap)));
    // An id that was never in the log is refused the same way.
    let future = EventId { ms: ids[299].ms + 1_000_000, seq: 0 };
    assert!(matches!(log.check_resume(turn, Some(future)).await, Err(RealtimeError::ResumeGap)));
    // Resuming after a kept event works.
    log.finish(turn).await.unwrap();
    let resumed = collect(log.follow(turn, Some(ids[297]))).await.unwrap();
    assert_eq!(resumed.iter().map(|(_, e)| n(e)).collect::<Vec<_>>(), vec![298, 299]);
    redis(&p).await.delete_prefixed().await.unwrap();
}
