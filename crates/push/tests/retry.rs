//! Retries: Retry-After, backoff, token refresh on 401, and giving up.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use push::{FcmClient, PushError, PushMessage, fake::FakeFcm};

async fn setup() -> (FakeFcm, FcmClient) {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let client = FcmClient::new(fcm.config()).unwrap();
    (fcm, client)
}

fn message() -> PushMessage {
    PushMessage::new("device-1", "title", "body")
}

#[tokio::test]
async fn throttled_then_success_honours_retry_after() {
    let (fcm, client) = setup().await;
    fcm.throttle_next(1, 1);
    let started = Instant::now();
    client.send(&message()).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "waited only {took:?} (backoff is 10 ms)");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(fcm.send_attempts(), 2);
    assert_eq!(fcm.sent().len(), 1);
}

#[tokio::test]
async fn retry_after_above_the_cap_gives_up_at_once() {
    let (fcm, client) = setup().await;
    fcm.throttle_next(1, 60); // config's max_retry_wait is 2 s
    let started = Instant::now();
    let err = client.send(&message()).await.unwrap_err();
    assert_eq!(err, PushError::Throttled { retry_after: Some(Duration::from_secs(60)) });
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(fcm.send_attempts(), 1);
}

#[tokio::test]
async fn refused_token_is_refreshed_once() {
    let (fcm, client) = setup().await;
    client.send(&message()).await.unwrap();
    fcm.revoke_tokens();
    client.send(&message()).await.unwrap();
    let sent = fcm.sent();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0].access_token, sent[1].access_token);
    assert_eq!(fcm.token_requests().len(), 2);
    assert_eq!(fcm.send_attempts(), 3);

    // A scripted 401 works the same way.
    fcm.fail_next(401);
    client.send(&message()).await.unwrap();
    assert_eq!(fcm.token_requests().len(), 3);
    assert_eq!(fcm.sent().len(), 3);
}

#[tokio::test]
async fn token_refused_twice_is_an_auth_error() {
    let (fcm, client) = setup().await;
    fcm.fail_next(401);
    fcm.fail_next(401);
    let err = client.send(&message()).await.unwrap_err();
    assert!(matches!(err, PushError::Auth { .. }), "{err:?}");
    assert_eq!(fcm.send_attempts(), 2, "one refresh, no loop");
    assert_eq!(fcm.token_requests().len(), 2);
}

#[tokio::test]
async fn unavailable_beyond_retries() {
    let (fcm, client) = setup().await;
    for _ in 0..4 {
        fcm.fail_next(503);
    }
    fcm.fail_next(503); // would be a fifth attempt
    let err = client.send(&message()).await.unwrap_err();
    match &err {
        PushError::Unavailable { status: 503, message, .. } => assert!(message.contains("UNAVAILABLE"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(fcm.send_attempts(), 4, "1 attempt + max_retries 3");
    assert!(fcm.sent().is_empty());
}

#[tokio::test]
async fn internal_error_then_success() {
    let (fcm, client) = setup().await;
    fcm.fail_next(500);
    fcm.fail_next_with_retry_after(503, 0);
    client.send(&message()).await.unwrap();
    assert_eq!(fcm.send_attempts(), 3);
    assert_eq!(fcm.sent().len(), 1);
}

#[tokio::test]
async fn no_retries_when_configured_off() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let mut config = fcm.config();
    config.max_retries = 0;
    let client = FcmClient::new(config).unwrap();
    fcm.throttle_next(1, 0);
    let err = client.send(&message()).await.unwrap_err();
    assert_eq!(err, PushError::Throttled { retry_after: Some(Duration::ZERO) });
    assert_eq!(fcm.send_attempts(), 1);
}
