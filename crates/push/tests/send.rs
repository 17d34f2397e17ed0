//! Sending messages and FCM's answers about them, against the fake.

#![allow(clippy::unwrap_used)]

use push::{
    FcmClient, Priority, PushError, PushMessage,
    fake::{self, FakeFcm},
};
use serde_json::json;

#[tokio::test]
async fn message_arrives_intact() {
    let fcm = FakeFcm::start().await;
    let token = "cT2x9:APA91bH-fake_token.123";
    fcm.register(token);
    let client = FcmClient::new(fcm.config()).unwrap();
    let message = PushMessage::new(token, "Order shipped ✓", "It arrives \"Tuesday\"")
        .with_data("order_id", "42")
        .with_data("kind", "shipment")
        .with_priority(Priority::High);

    let name = client.send(&message).await.unwrap();

    let sent = fcm.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(name, sent[0].name);
    assert!(name.starts_with(&format!("projects/{}/messages/0:", fake::PROJECT_ID)), "{name}");
    assert_eq!(sent[0].token, token);
    assert_eq!(sent[0].title(), Some("Order shipped ✓"));
    assert_eq!(sent[0].body(), Some("It arrives \"Tuesday\""));
    assert_eq!(sent[0].data(), message.data);
    assert_eq!(sent[0].message["data"], json!({ "order_id": "42", "kind": "shipment" }));
    assert_eq!(sent[0].message["android"]["priority"], "HIGH");
    assert_eq!(sent[0].message["apns"]["headers"]["apns-priority"], "10");
}

#[tokio::test]
async fn data_only_message_has_no_notification() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let client = FcmClient::new(fcm.config()).unwrap();
    client.send(&PushMessage::new("device-1", "", "").with_data("sync", "1")).await.unwrap();
    let sent = fcm.sent();
    assert!(sent[0].message.get("notification").is_none(), "{}", sent[0].message);
    assert!(sent[0].message.get("android").is_none());
    assert_eq!(sent[0].data()["sync"], "1");
}

#[tokio::test]
async fn unregistered_token_is_reported_for_deletion() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let client = FcmClient::new(fcm.config()).unwrap();
    client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap();

    fcm.unregister("device-1");
    let err = client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap_err();
    assert_eq!(err, PushError::Unregistered);
    assert!(err.is_unregistered() && !err.is_retryable());

    // A malformed token: 400 INVALID_ARGUMENT on `message.token` means the same to the caller.
    let err = client.send(&PushMessage::new("not a token!", "a", "b")).await.unwrap_err();
    assert_eq!(err, PushError::Unregistered);
    assert_eq!(fcm.send_attempts(), 3, "not retried");
    assert_eq!(fcm.sent().len(), 1);
}

#[tokio::test]
async fn invalid_messages_are_refused_before_sending() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let client = FcmClient::new(fcm.config()).unwrap();
    for message in
        [PushMessage::new("  ", "a", "b"), PushMessage::new("device-1", "a", "b").with_data("google.sent_time", "1")]
    {
        match client.send(&message).await.unwrap_err() {
            PushError::InvalidArgument { .. } => {}
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
    assert_eq!(fcm.send_attempts(), 0);
    assert!(fcm.token_requests().is_empty());
}

#[tokio::test]
async fn non_string_data_values_are_rejected_by_fcm() {
    // `PushMessage::data` only holds strings; this shows what FCM answers a client that sends numbers.
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/projects/{}/messages:send", fcm.uri(), fake::PROJECT_ID))
        .bearer_auth(fcm.issue_token())
        .json(&json!({ "message": { "token": "device-1", "data": { "count": 3 } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(body["error"]["message"], "Invalid value at 'message.data[0].value' (TYPE_STRING), 3");
    assert!(fcm.sent().is_empty());
}

#[tokio::test]
async fn fcm_invalid_argument_is_permanent() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    fcm.fail_next(400);
    let client = FcmClient::new(fcm.config()).unwrap();
    let err = client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap_err();
    match &err {
        PushError::InvalidArgument { message } => assert!(message.contains("invalid argument"), "{message}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(fcm.send_attempts(), 1);
}

#[tokio::test]
async fn project_override_and_sender_mismatch() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let mut config = fcm.config();
    config.project_id = Some("someone-elses-project".into());
    let client = FcmClient::new(config).unwrap();
    assert_eq!(client.project_id(), "someone-elses-project");
    // The fake only serves its own project: the override reached the URL.
    let err = client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap_err();
    assert!(matches!(&err, PushError::Auth { message } if message.contains("someone-elses-project")), "{err:?}");
    assert_eq!(fcm.send_attempts(), 1, "403 is not retried");

    let client = FcmClient::new(fcm.config()).unwrap();
    fcm.fail_next(403);
    let err = client.send(&PushMessage::new("device-1", "a", "b")).await.unwrap_err();
    assert!(matches!(&err, PushError::Auth { message } if message.contains("SENDER_ID_MISMATCH")), "{err:?}");
    assert_eq!(fcm.send_attempts(), 2);
    assert_eq!(fcm.token_requests().len(), 2, "403 does not throw the token away");
}
