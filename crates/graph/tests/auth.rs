//! Tokens, retries and error mapping, against the fake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use graph::{
    GraphClient, GraphError,
    fake::{FakeGraph, NewInboxMessage},
};

const USER: &str = "reports@contoso.com";

async fn setup() -> (FakeGraph, GraphClient) {
    let fake = FakeGraph::start().await;
    let client = GraphClient::new(fake.config()).unwrap();
    (fake, client)
}

fn seed(fake: &FakeGraph) {
    fake.add_inbox_message(
        USER,
        NewInboxMessage {
            from: "a@contoso.com".into(),
            from_name: "A".into(),
            subject: "hello".into(),
            preview: "hi".into(),
            received_at: chrono::Utc::now(),
            is_read: false,
        },
    );
}

fn bearer_headers(fake: &FakeGraph) -> Vec<String> {
    fake.requests().into_iter().filter(|r| r.path.starts_with("/v1.0/")).filter_map(|r| r.authorization).collect()
}

#[tokio::test]
async fn token_is_fetched_once_and_reused_even_concurrently() {
    let (fake, client) = setup().await;
    seed(&fake);
    // Eight concurrent first calls on clones: one token request between them.
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list_inbox(USER, 5).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().len(), 1);
    }
    client.list_inbox(USER, 5).await.unwrap();
    assert_eq!(fake.token_requests(), 1);
    let headers = bearer_headers(&fake);
    assert_eq!(headers.len(), 9);
    assert!(headers.iter().all(|h| h == &headers[0] && h.starts_with("Bearer ey")), "{headers:?}");
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let (fake, client) = setup().await;
    seed(&fake);
    // 30 s is inside the client's 60 s margin: every call needs a new token.
    fake.set_token_lifetime(30);
    for _ in 0..3 {
        client.list_inbox(USER, 5).await.unwrap();
    }
    assert_eq!(fake.token_requests(), 3);
    let mut headers = bearer_headers(&fake);
    headers.dedup();
    assert_eq!(headers.len(), 3, "each call should carry a fresh token");
    // Refreshed proactively, never by running into a 401.
    assert!(fake.requests().iter().all(|r| r.status < 400));
}

#[tokio::test]
async fn a_bad_secret_is_an_auth_error_with_the_aadsts_message() {
    let fake = FakeGraph::start().await;
    let mut cfg = fake.config();
    cfg.client_secret = "not-the-secret".into();
    let client = GraphClient::new(cfg).unwrap();
    let err = client.list_inbox(USER, 5).await.unwrap_err();
    match &err {
        GraphError::Auth { status, code, message } => {
            assert_eq!(*status, 401);
            assert_eq!(code, "invalid_client");
            assert!(message.starts_with("AADSTS7000215: Invalid client secret provided."), "{message}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    assert!(!err.is_retryable());
    // Nothing reached Graph, and the secret is not in the error text.
    assert!(fake.requests().iter().all(|r| !r.path.starts_with("/v1.0/")));
    assert!(!err.to_string().contains("not-the-secret"));

    let mut cfg = fake.config();
    cfg.tenant_id = "other-tenant".into();
    let err = GraphClient::new(cfg).unwrap().list_inbox(USER, 5).await.unwrap_err();
    assert!(
        matches!(&err, GraphError::Auth { status: 400, message, .. } if message.starts_with("AADSTS90002")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once() {
    let (fake, client) = setup().await;
    seed(&fake);
    client.list_inbox(USER, 5).await.unwrap();
    fake.revoke_tokens();
    assert_eq!(client.list_inbox(USER, 5).await.unwrap().len(), 1);
    assert_eq!(fake.token_requests(), 2);
    let statuses: Vec<u16> =
        fake.requests().iter().filter(|r| r.path.starts_with("/v1.0/")).map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 401, 200]);

    // Two 401s in a row: one retry only, then the error.
    fake.fail_next(401, "InvalidAuthenticationToken");
    fake.fail_next(401, "InvalidAuthenticationToken");
    let err = client.list_inbox(USER, 5).await.unwrap_err();
    assert!(
        matches!(&err, GraphError::Api { status: 401, code, .. } if code == "InvalidAuthenticationToken"),
        "{err:?}"
    );
    assert_eq!(fake.token_requests(), 3);
}

#[tokio::test]
async fn throttling_waits_for_retry_after_then_succeeds() {
    let (fake, client) = setup().await;
    seed(&fake);
    fake.throttle_next(1, 1);
    let started = Instant::now();
    assert_eq!(client.list_inbox(USER, 5).await.unwrap().len(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "retried after {:?}", started.elapsed());
    let statuses: Vec<u16> = fake.graph_calls("GET", "/messages").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
}

#[tokio::test]
async fn throttling_beyond_max_retries_is_throttled() {
    let fake = FakeGraph::start().await;
    let mut cfg = fake.config();
    cfg.max_retries = 2;
    let client = GraphClient::new(cfg).unwrap();
    fake.throttle_next(10, 0);
    let err = client.list_inbox(USER, 5).await.unwrap_err();
    assert_eq!(err, GraphError::Throttled { retry_after: Duration::ZERO });
    assert!(err.is_retryable());
    assert_eq!(fake.graph_calls("GET", "/messages").len(), 3, "one call plus two retries");
}

#[tokio::test]
async fn a_retry_after_over_the_cap_fails_at_once() {
    let (fake, client) = setup().await;
    fake.throttle_next(1, 5); // the fake's config caps waits at 2 s
    let started = Instant::now();
    let err = client.list_inbox(USER, 5).await.unwrap_err();
    assert_eq!(err, GraphError::Throttled { retry_after: Duration::from_secs(5) });
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(fake.graph_calls("GET", "/messages").len(), 1);
}

#[tokio::test]
async fn graph_errors_keep_code_and_request_id_and_only_unavailable_is_retried() {
    let fake = FakeGraph::start().await;
    let mut cfg = fake.config();
    cfg.max_retry_wait = Duration::from_millis(100);
    let client = GraphClient::new(cfg).unwrap();
    seed(&fake);

    fake.fail_next(403, "ErrorAccessDenied");
    match client.list_inbox(USER, 5).await.unwrap_err() {
        e @ GraphError::Api { .. } => {
            assert!(!e.is_retryable());
            let GraphError::Api { status, code, message, request_id } = e else { unreachable!() };
            assert_eq!((status, code.as_str()), (403, "ErrorAccessDenied"));
            assert!(message.contains("Injected failure"));
            assert!(request_id.is_some_and(|id| id.len() == 36));
        }
        other => panic!("expected Api, got {other:?}"),
    }

    // A 500 is retryable for the caller but not retried here.
    fake.fail_next(500, "generalException");
    let err = client.list_inbox(USER, 5).await.unwrap_err();
    assert!(err.is_retryable() && err.status() == Some(500), "{err:?}");

    // A 503 without Retry-After is retried after a (capped) backoff.
    fake.fail_next(503, "ServiceUnavailable");
    assert_eq!(client.list_inbox(USER, 5).await.unwrap().len(), 1);
    let statuses: Vec<u16> = fake.graph_calls("GET", "/messages").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![403, 500, 503, 200]);
}
