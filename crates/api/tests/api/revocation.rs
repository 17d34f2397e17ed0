use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use testkit::{PrivateRedis, TestApp};

use crate::auth::{error_code, tokens_family};

/// Revocation lives in PostgreSQL and Redis. With Redis dead, and after it comes back empty,
/// a signed-out token stays refused and a live one keeps working.
#[tokio::test]
async fn revocation_survives_redis_outage_and_restart() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(move |s| {
        s.redis.url = settings::Secret::new(url);
        s.redis.response_timeout_ms = 1000;
        s.redis.connection_timeout_ms = 500;
    })
    .await;
    let user = app.create_user("sales_manager").await;
    let gone = app.tokens(&user).await;
    let live = app.tokens(&user).await;
    let res = app.client.post(app.url("/auth/logout")).bearer_auth(&gone.access).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(error_code(app.get("/auth/me", &gone.access).await).await, "token_revoked");

    redis.stop();
    assert_eq!(app.get("/auth/me", &gone.access).await.status(), StatusCode::UNAUTHORIZED, "must fail closed");
    assert_eq!(app.get("/auth/me", &live.access).await.status(), StatusCode::OK, "PostgreSQL answers instead");
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);

    redis.restart();
    // The restarted Redis is empty; the first checks go to PostgreSQL and reload the set.
    let ok = TestApp::eventually(Duration::from_secs(20), || async {
        app.get("/auth/me", &live.access).await.status() == StatusCode::OK
    })
    .await;
    assert!(ok, "the api did not reconnect to the restarted Redis");
    assert_eq!(error_code(app.get("/auth/me", &gone.access).await).await, "token_revoked");
    let fam = tokens_family(&gone.access);
    let reloaded = TestApp::eventually(Duration::from_secs(10), || async {
        kv::revocation::status(&app.redis, fam).await.ok() == Some(kv::revocation::Status::Revoked)
    })
    .await;
    assert!(reloaded, "the revocation set was not reloaded into Redis");
}

/// Deactivating a user stops their tokens at once, on this and other api processes.
#[tokio::test]
async fn deactivation_then_reuse_is_refused() {
    let app = TestApp::spawn().await;
    let other = app.sibling().await;
    let admin = app.create_user("admin").await;
    let admin_t = app.tokens(&admin).await;
    let user = app.create_user("support_agent").await;
    let t = app.tokens(&user).await;
    assert_eq!(other.get("/auth/me", &t.access).await.status(), StatusCode::OK);

    let res = app
        .client
        .put(app.url(&format!("/admin/users/{}", user.id)))
        .bearer_auth(&admin_t.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for a in [&app, &other] {
        assert_eq!(a.get("/auth/me", &t.access).await.status(), StatusCode::UNAUTHORIZED);
        let res =
            a.client.post(a.url("/auth/refresh")).json(&json!({"refresh_token": t.refresh})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "account_disabled");
}

/// A deactivation made behind the api's back (the CLI, another tool) takes effect within the
/// user cache's lifetime even if Redis never heard of it.
#[tokio::test]
async fn deactivation_in_the_database_alone_takes_effect_within_the_cache_ttl() {
    let app = TestApp::spawn_with(|s| s.auth.user_cache_secs = 1).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    assert_eq!(app.get("/auth/me", &t.access).await.status(), StatusCode::OK);
    store::users::update(&app.db, user.id, store::users::UserChanges { is_active: Some(false), ..Default::default() })
        .await
        .unwrap();
    let refused = TestApp::eventually(Duration::from_secs(5), || async {
        app.get("/auth/me", &t.access).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(refused);
}
