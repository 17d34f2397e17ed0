//! The fake itself refuses what Graph refuses (raw HTTP, no client).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::{Engine, engine::general_purpose::STANDARD};
use graph::fake::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT_ID, FakeGraph};
use serde_json::{Value, json};

async fn token(fake: &FakeGraph, scope: &str) -> (u16, Value) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", FAKE_CLIENT_ID)
        .append_pair("client_secret", FAKE_CLIENT_SECRET)
        .append_pair("scope", scope)
        .finish();
    let resp = reqwest::Client::new()
        .post(format!("{}/{FAKE_TENANT_ID}/oauth2/v2.0/token", fake.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn send_mail(fake: &FakeGraph, bearer: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1.0/users/a@contoso.com/sendMail", fake.uri()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn message(extra: Value) -> Value {
    let mut m = json!({
        "subject": "s",
        "body": {"contentType": "HTML", "content": "<p>x</p>"},
        "toRecipients": [{"emailAddress": {"address": "b@contoso.com"}}],
    });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    json!({"message": m})
}

#[tokio::test]
async fn the_fake_checks_tokens_and_shapes_like_graph() {
    let fake = FakeGraph::start().await;

    let (status, body) = token(&fake, "User.Read").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, body) = token(&fake, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 200);
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("Bearer"), Some(3599)));
    let tok = body["access_token"].as_str().unwrap().to_string();

    let (status, body) = send_mail(&fake, None, &message(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")));
    assert_eq!(body["error"]["message"], "Access token is empty.");
    let (status, _) = send_mail(&fake, Some("made-up"), &message(json!({}))).await;
    assert_eq!(status, 401);

    let t = Some(tok.as_str());
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_string();
    let (status, body) =
        send_mail(&fake, t, &message(json!({"body": {"contentType": "Markdown", "content": "x"}}))).await;
    assert_eq!((status, code(&body).as_str()), (400, "RequestBodyRead"));
    let (status, body) = send_mail(&fake, t, &message(json!({"toRecipient": []}))).await;
    assert_eq!((status, code(&body).as_str()), (400, "RequestBodyRead"), "unknown properties are refused");
    let bad_b64 = json!({"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "%%%"}]});
    let (status, body) = send_mail(&fake, t, &message(bad_b64)).await;
    assert_eq!((status, code(&body).as_str()), (400, "RequestBodyRead"));
    let huge = json!({"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a",
        "contentBytes": STANDARD.encode(vec![7u8; 3_200_000])}]});
    let (status, body) = send_mail(&fake, t, &message(huge)).await;
    assert_eq!((status, code(&body).as_str()), (413, "RequestEntityTooLarge"));
    assert!(fake.sent_mails().is_empty());

    let ok = json!({"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt",
        "contentType": "text/plain", "contentBytes": STANDARD.encode(b"hello")}]});
    let (status, _) = send_mail(&fake, t, &message(ok)).await;
    assert_eq!(status, 202);
    let sent = fake.sent_mails();
    assert_eq!(sent[0].attachments[0].bytes, b"hello");
    assert!(sent[0].save_to_sent, "saveToSentItems defaults to true");
}
