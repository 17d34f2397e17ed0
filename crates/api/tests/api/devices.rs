//! Push device registration and the consent endpoint's HTTP mapping.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

use crate::auth::error_code;

const TOKEN: &str = "fcm-token_0123456789:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx";

#[tokio::test]
async fn devices_register_refresh_move_between_users_and_are_private() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("sales_rep").await;
    let bob = app.create_user("sales_rep").await;
    let ta = app.tokens(&alice).await.access;
    let tb = app.tokens(&bob).await.access;
    let post = |token: &str, body: Value| {
        app.client.post(app.url("/devices")).bearer_auth(token.to_string()).json(&body).send()
    };

    let res = post(&ta, json!({"token": TOKEN, "platform": "Android", "app_version": "1.4.2"})).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let d: Value = res.json().await.unwrap();
    assert_eq!(d["platform"], "android");
    assert!(d.get("token").is_none(), "the token is not echoed back: {d}");
    let id = d["id"].as_str().unwrap().to_string();

    // The same token again: refreshed, not duplicated.
    let res = post(&ta, json!({"token": TOKEN, "platform": "android"})).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = app.get("/devices", &ta).await.json().await.unwrap();
    assert_eq!(list["devices"].as_array().unwrap().len(), 1);

    // Bad input: clear 422s, nothing stored.
    for (body, code) in [
        (json!({"token": "short", "platform": "ios"}), "invalid_token"),
        (json!({"token": "has spaces in it 0123456789", "platform": "ios"}), "invalid_token"),
        (json!({"token": TOKEN, "platform": "symbian"}), "invalid_platform"),
    ] {
        let res = post(&tb, body).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_code(res).await, code);
    }
    let res = post(&tb, json!({"token": TOKEN})).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bob cannot delete Alice's device.
    let res = app.client.delete(app.url(&format!("/devices/{id}"))).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The app install signs in as Bob: the token is now Bob's only.
    let res = post(&tb, json!({"token": TOKEN, "platform": "android"})).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let la: Value = app.get("/devices", &ta).await.json().await.unwrap();
    let lb: Value = app.get("/devices", &tb).await.json().await.unwrap();
    assert_eq!(la["devices"].as_array().unwrap().len(), 0);
    assert_eq!(lb["devices"][0]["id"], id.as_str());

    let res = app.client.delete(app.url(&format!("/devices/{id}"))).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"deleted": true}));
    let res =
        app.client.post(app.url("/devices")).json(&json!({"token": TOKEN, "platform": "ios"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn confirming_an_unknown_or_malformed_action_is_a_404() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("sales_rep").await;
    let ta = app.tokens(&alice).await.access;
    let res = app
        .client
        .post(app.url(&format!("/chat/confirm/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.client.post(app.url("/chat/confirm/not-a-uuid")).bearer_auth(&ta).send().await.unwrap();
    // A malformed id names no action: the same 404 as an unknown one.
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
