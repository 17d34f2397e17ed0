//! The sliding-window limiter against the real Redis (own key prefix per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kv::{Redis, RedisOptions};

async fn redis() -> Redis {
    let options = RedisOptions {
        key_prefix: format!("mzt:{}:", uuid::Uuid::new_v4().simple()),
        response_timeout: Duration::from_secs(10),
        connection_timeout: Duration::from_secs(5),
    };
    Redis::connect("redis://127.0.0.1:6379/0", &options).await.unwrap()
}

#[tokio::test]
async fn concurrent_checks_admit_exactly_the_limit() {
    let r = redis().await;
    let calls = (0..200).map(|_| {
        let r = r.clone();
        async move { kv::ratelimit::check(&r, "burst", 37, Duration::from_secs(60)).await.unwrap() }
    });
    let decisions = futures_util::future::join_all(calls).await;
    assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 37);
    let refused = decisions.iter().find(|d| !d.allowed).unwrap();
    assert!((1..=60).contains(&refused.retry_after_secs()), "{refused:?}");
    // Buckets are independent.
    assert!(kv::ratelimit::check(&r, "other", 1, Duration::from_secs(60)).await.unwrap().allowed);
    r.delete_prefixed().await.unwrap();
}

#[tokio::test]
async fn the_window_slides() {
    let r = redis().await;
    let window = Duration::from_millis(400);
    for _ in 0..3 {
        assert!(kv::ratelimit::check(&r, "slide", 3, window).await.unwrap().allowed);
    }
    let refused = kv::ratelimit::check(&r, "slide", 3, window).await.unwrap();
    assert!(!refused.allowed);
    assert!(refused.retry_after <= window && refused.retry_after > Duration::ZERO, "{refused:?}");
    // Once the oldest admission leaves the window, one more call is admitted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if kv::ratelimit::check(&r, "slide", 3, window).await.unwrap().allowed {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the window never slid");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    r.delete_prefixed().await.unwrap();
}

#[tokio::test]
async fn unreachable_redis_is_described() {
    let options = RedisOptions {
        key_prefix: "mzt:x:".into(),
        response_timeout: Duration::from_secs(1),
        connection_timeout: Duration::from_millis(500),
    };
    let err = Redis::connect("redis://:secret@127.0.0.1:1/0", &options).await.unwrap_err().to_string();
    assert!(err.contains("cannot connect to Redis at redis://127.0.0.1:1/0"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}
