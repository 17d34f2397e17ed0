//! The hub survives a Redis restart (a private redis-server: the shared one is never touched).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{PrivateRedis, eventually, prefix, redis_at};
use realtime::{Delivery, Event, Hub, HubOptions, Publisher, Revocation, TurnLog, TurnLogOptions};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_hub_resubscribes_after_redis_restarts() {
    let mut server = PrivateRedis::start();
    server.wait_ready().await;
    let url = server.url();
    let p = prefix();
    let options = HubOptions {
        ping_interval: Duration::from_millis(500),
        ping_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(1),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(300),
        ..HubOptions::default()
    };
    let hub = Hub::start(&url, &p, options).unwrap();
    assert!(hub.wait_connected(WAIT).await);
    let redis = redis_at(&url, &p).await;
    let publisher = Publisher::new(&redis);
    let user = Uuid::new_v4();
    let mut sub = hub.register(user);

    publisher.publish_to_user(user, &Event::status("before")).await.unwrap();
    let got = tokio::time::timeout(WAIT, sub.recv()).await.unwrap().unwrap();
    assert_eq!(got, Delivery::Event(Event::status("before")));

    server.kill();
    assert!(eventually(WAIT, || async { !hub.is_connected() }).await, "the hub notices");
    // Publishing while Redis is down fails (the event is lost: pub/sub keeps nothing).
    assert!(publisher.publish_to_user(user, &Event::status("lost")).await.is_err());
    server.restart().await;

    // Publish until the hub is back and delivers (the publisher's connection reconnects too).
    let deadline = Instant::now() + WAIT;
    let mut n = 0u64;
    let delivered = loop {
        n += 1;
        let _ = publisher.publish_to_user(user, &Event::new("after").with("n", n)).await;
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(100), sub.recv()).await {
            break got;
        }
        assert!(Instant::now() < deadline, "delivery did not resume after the restart");
    };
    assert!(matches!(delivered, Some(Delivery::Event(ref e)) if e.kind() == "after"), "{delivered:?}");
    assert!(hub.is_connected());
    // The subscription survived the restart (nothing re-registers).
    assert_eq!(hub.local_connections(), 1);
    while sub.try_recv().is_some() {}

    // Revocations are re-subscribed too.
    publisher.publish_revocation(&Revocation::user(user, "after restart")).await.unwrap();
    let got = tokio::time::timeout(WAIT, sub.recv()).await.unwrap().unwrap();
    assert_eq!(got, Delivery::Revoked("after restart".into()));

    // A turn log written after the restart can be followed on a fresh dedicated connection.
    let log = TurnLog::new(&redis, &url, TurnLogOptions::default()).unwrap();
    let turn = Uuid::new_v4();
    let ok = eventually(WAIT, || async { log.append(turn, &Event::status("x")).await.is_ok() }).await;
    assert!(ok);
    log.finish(turn).await.unwrap();
    assert_eq!(log.read_after(turn, None, Duration::from_millis(100)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_hub_notices_a_server_that_stops_answering() {
    let server = PrivateRedis::start();
    server.wait_ready().await;
    let url = server.url();
    let p = prefix();
    let options = HubOptions {
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(500),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..HubOptions::default()
    };
    let hub = Hub::start(&url, &p, options).unwrap();
    assert!(hub.wait_connected(WAIT).await);
    let publisher = Publisher::new(&redis_at(&url, &p).await);
    let user = Uuid::new_v4();
    let mut sub = hub.register(user);

    // The TCP connection stays up but nothing answers: only the keepalive ping can tell.
    server.pause();
    assert!(eventually(WAIT, || async { !hub.is_connected() }).await, "the ping times out");
    server.resume();
    assert!(hub.wait_connected(WAIT).await, "re-subscribed");
    let deadline = Instant::now() + WAIT;
    let mut n = 0u64;
    loop {
        n += 1;
        let _ = publisher.publish_to_user(user, &Event::new("after").with("n", n)).await;
        if tokio::time::timeout(Duration::from_millis(100), sub.recv()).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "delivery did not resume");
    }
}
