//! Access tokens: the JWT assertion, caching, refresh and refusals, against the fake.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use push::{
    FCM_SCOPE, FcmClient, JWT_BEARER_GRANT, PushError, PushMessage,
    fake::{self, FakeFcm},
};
use serde_json::{Value, json};

async fn fake_with_device() -> FakeFcm {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    fcm
}

#[tokio::test]
async fn token_is_fetched_once_and_reused() {
    let fcm = fake_with_device().await;
    let client = FcmClient::new(fcm.config()).unwrap();
    for i in 0..3 {
        client.send(&PushMessage::new("device-1", format!("n{i}"), "b")).await.unwrap();
    }
    let requests = fcm.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let issued = requests[0].issued.clone().unwrap();
    let sent = fcm.sent();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|m| m.access_token == issued));

    // The assertion said who we are, for what, to whom, and with which key.
    assert_eq!(requests[0].kid.as_deref(), Some(fake::PRIVATE_KEY_ID));
    let claims = requests[0].claims.as_ref().unwrap();
    assert_eq!(claims["iss"], fake::CLIENT_EMAIL);
    assert_eq!(claims["scope"], FCM_SCOPE);
    assert_eq!(claims["aud"], fcm.token_uri());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
}

#[tokio::test]
async fn concurrent_sends_share_one_token_fetch() {
    let fcm = fake_with_device().await;
    let client = Arc::new(FcmClient::new(fcm.config()).unwrap());
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&PushMessage::new("device-1", format!("n{i}"), "b")).await })
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    assert_eq!(fcm.sent().len(), 8);
    assert_eq!(fcm.token_requests().len(), 1, "one refresher at a time");
}

#[tokio::test]
async fn token_close_to_expiry_is_replaced() {
    let fcm = fake_with_device().await;
    // Valid for 30 s at the fake, but inside the client's 60 s safety margin: used once, then replaced.
    fcm.set_expires_in(30);
    let client = FcmClient::new(fcm.config()).unwrap();
    client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap();
    client.send(&PushMessage::new("device-1", "c", "d")).await.unwrap();
    assert_eq!(fcm.token_requests().len(), 2);
    let sent = fcm.sent();
    assert_ne!(sent[0].access_token, sent[1].access_token, "the second send used the new token");

    // Long-lived tokens are cached again.
    fcm.set_expires_in(3599);
    client.send(&PushMessage::new("device-1", "e", "f")).await.unwrap();
    client.send(&PushMessage::new("device-1", "g", "h")).await.unwrap();
    assert_eq!(fcm.token_requests().len(), 3);
}

#[tokio::test]
async fn assertion_signed_with_the_wrong_key_is_an_auth_error() {
    let fcm = fake_with_device().await;
    let mut config = fcm.config();
    config.service_account = fcm.service_account_with_key(fake::OTHER_PRIVATE_KEY_PEM).unwrap();
    let client = FcmClient::new(config).unwrap();
    let err = client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap_err();
    match &err {
        PushError::Auth { message } => assert!(message.contains("Invalid JWT Signature"), "{message}"),
        other => panic!("expected Auth, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(fcm.token_requests().len(), 1, "a refused grant is not retried");
    assert_eq!(fcm.send_attempts(), 0, "nothing is sent without a token");
    // Nothing secret leaks into the error.
    assert!(!err.to_string().contains("eyJ"), "{err}");
}

#[tokio::test]
async fn token_endpoint_outage_is_retried() {
    let fcm = fake_with_device().await;
    fcm.fail_next_token_request(503);
    let client = FcmClient::new(fcm.config()).unwrap();
    client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap();
    let requests = fcm.token_requests();
    assert_eq!(requests.len(), 2);
    assert!(!requests[0].accepted() && requests[1].accepted());
    assert_eq!(fcm.sent().len(), 1);
}

#[tokio::test]
async fn wrong_token_endpoint_is_reported() {
    let fcm = fake_with_device().await;
    let mut config = fcm.config();
    config.token_uri = Some(format!("{}/no-such-token-endpoint", fcm.uri()));
    let err = FcmClient::new(config).unwrap().send(&PushMessage::new("device-1", "a", "b")).await.unwrap_err();
    assert!(matches!(err, PushError::Http { status: 404, .. }), "{err:?}");
    assert_eq!(fcm.send_attempts(), 0);
}

/// Signs claims with the fake service account's key, for raw token-endpoint requests.
fn assertion(claims: Value, key_pem: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(fake::PRIVATE_KEY_ID.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap()).unwrap()
}

fn claims(fcm: &FakeFcm) -> Value {
    let iat = chrono::Utc::now().timestamp();
    json!({ "iss": fake::CLIENT_EMAIL, "scope": FCM_SCOPE, "aud": fcm.token_uri(), "iat": iat, "exp": iat + 3600 })
}

async fn exchange(fcm: &FakeFcm, assertion: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(fcm.token_uri())
        .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", assertion)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn fake_token_endpoint_verifies_the_assertion() {
    let fcm = FakeFcm::start().await;

    let (status, body) = exchange(&fcm, &assertion(claims(&fcm), fake::TEST_PRIVATE_KEY_PEM)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));

    // Tampered: claims swapped after signing (the signature no longer matches).
    let good = assertion(claims(&fcm), fake::TEST_PRIVATE_KEY_PEM);
    let mut other_claims = claims(&fcm);
    other_claims["iss"] = json!("attacker@evil.iam.gserviceaccount.com");
    let other = assertion(other_claims, fake::TEST_PRIVATE_KEY_PEM);
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], other.split('.').nth(1).unwrap(), parts[2]);
    let (status, body) = exchange(&fcm, &tampered).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(body["error_description"], "Invalid JWT Signature.");

    let mut bad = claims(&fcm);
    bad["scope"] = json!("https://www.googleapis.com/auth/cloud-platform.read-only");
    let (status, body) = exchange(&fcm, &assertion(bad, fake::TEST_PRIVATE_KEY_PEM)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));

    let mut bad = claims(&fcm);
    bad["aud"] = json!("https://oauth2.googleapis.com/token");
    let (status, body) = exchange(&fcm, &assertion(bad, fake::TEST_PRIVATE_KEY_PEM)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    let mut bad = claims(&fcm);
    bad["exp"] = json!(bad["iat"].as_i64().unwrap() + 7200);
    let (status, body) = exchange(&fcm, &assertion(bad, fake::TEST_PRIVATE_KEY_PEM)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    let requests = fcm.token_requests();
    assert_eq!(requests.iter().filter(|r| r.accepted()).count(), 1);
    assert_eq!(requests.len(), 5);
}
