//! The service-account file and configuration.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use push::{
    DEFAULT_FCM_BASE_URL, FcmClient, PushConfig, PushError, PushMessage, ServiceAccount,
    fake::{self, FakeFcm, TempFile},
};

/// A line of the fixture key's base64 body: must never show up in messages.
fn key_fragment() -> &'static str {
    fake::TEST_PRIVATE_KEY_PEM.lines().nth(2).unwrap()
}

fn config_error(path: &std::path::Path) -> String {
    match PushConfig::from_file(path, None, None).unwrap_err() {
        PushError::Config { message } => {
            assert!(!message.contains(key_fragment()), "key material in {message}");
            assert!(!message.contains("PRIVATE KEY"), "key material in {message}");
            message
        }
        other => panic!("expected Config, got {other:?}"),
    }
}

#[tokio::test]
async fn from_file_reads_a_google_key_file_and_sends() {
    let fcm = FakeFcm::start().await;
    fcm.register("device-1");
    let file = fcm.write_service_account_file().unwrap();

    let config = PushConfig::from_file(file.path(), None, None).unwrap();
    assert_eq!(config.project_id(), fake::PROJECT_ID);
    assert_eq!(config.fcm_base_url, DEFAULT_FCM_BASE_URL);
    assert_eq!(config.token_uri(), fcm.token_uri());
    assert_eq!(config.service_account.client_email(), fake::CLIENT_EMAIL);
    assert_eq!(config.service_account.private_key_id(), fake::PRIVATE_KEY_ID);
    assert_eq!(config.max_retries, 3);
    assert_eq!(config.max_retry_wait, Duration::from_secs(30));

    let config = PushConfig::from_file(file.path(), Some("other".into()), Some(fcm.uri())).unwrap();
    assert_eq!(config.project_id(), "other");
    assert_eq!(config.fcm_base_url, fcm.uri());

    let config = PushConfig::from_file(file.path(), None, Some(fcm.uri())).unwrap();
    FcmClient::new(config).unwrap().send(&PushMessage::new("device-1", "from", "file")).await.unwrap();
    assert_eq!(fcm.sent()[0].title(), Some("from"));
}

#[tokio::test]
async fn debug_output_redacts_the_key() {
    let fcm = FakeFcm::start().await;
    let config = fcm.config();
    for text in [
        format!("{config:?}"),
        format!("{:?}", config.service_account),
        format!("{:?}", FcmClient::new(config.clone()).unwrap()),
    ] {
        assert!(!text.contains(key_fragment()), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
    assert!(format!("{:?}", config.service_account).contains("[redacted]"));
}

#[test]
fn missing_file_names_the_path() {
    let message = config_error(std::path::Path::new("/nonexistent/firebase-adminsdk.json"));
    assert!(message.contains("/nonexistent/firebase-adminsdk.json"), "{message}");
}

#[test]
fn bad_files_give_clear_errors_without_key_material() {
    let good: serde_json::Value = serde_json::json!({
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "k",
        "private_key": fake::TEST_PRIVATE_KEY_PEM,
        "client_email": "a@p.iam.gserviceaccount.com",
    });

    // Valid, with Google's token endpoint by default.
    let file = TempFile::with_contents(&good.to_string()).unwrap();
    assert_eq!(
        PushConfig::from_file(file.path(), None, None).unwrap().token_uri(),
        "https://oauth2.googleapis.com/token"
    );

    // Truncated JSON (cut inside the key).
    let text = good.to_string();
    let file = TempFile::with_contents(&text[..text.len() / 2]).unwrap();
    assert!(config_error(file.path()).contains("not valid JSON"));

    let mut wrong_type = good.clone();
    wrong_type["type"] = "authorized_user".into();
    let file = TempFile::with_contents(&wrong_type.to_string()).unwrap();
    assert!(config_error(file.path()).contains("\"authorized_user\", expected \"service_account\""));

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("client_email");
    let file = TempFile::with_contents(&missing.to_string()).unwrap();
    assert!(config_error(file.path()).contains("missing field `client_email`"));

    // A key whose base64 body is damaged.
    let mut damaged = good.clone();
    damaged["private_key"] =
        fake::TEST_PRIVATE_KEY_PEM.replace(key_fragment(), &"A".repeat(64)).replace('M', "*").into();
    let file = TempFile::with_contents(&damaged.to_string()).unwrap();
    let message = config_error(file.path());
    assert!(message.contains("private_key"), "{message}");

    let mut not_pem = good.clone();
    not_pem["private_key"] = "not a key at all".into();
    let file = TempFile::with_contents(&not_pem.to_string()).unwrap();
    assert!(config_error(file.path()).contains("`private_key` is not an RSA private key"));

    let mut number = good;
    number["project_id"] = 7.into();
    let file = TempFile::with_contents(&number.to_string()).unwrap();
    assert!(config_error(file.path()).contains("invalid type"));
}

#[test]
fn service_account_new_checks_its_key() {
    let err = ServiceAccount::new(
        "p",
        "k",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "a@b",
        "https://t",
    )
    .unwrap_err();
    assert!(matches!(err, PushError::Config { .. }), "{err:?}");
    assert!(ServiceAccount::new("p", "k", fake::TEST_PRIVATE_KEY_PEM, "a@b", "https://t").is_ok());
    assert!(ServiceAccount::new("p", "", fake::TEST_PRIVATE_KEY_PEM, "a@b", "https://t").is_err());
}
