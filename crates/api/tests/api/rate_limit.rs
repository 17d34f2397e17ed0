use reqwest::StatusCode;
use serde_json::json;
use testkit::TestApp;

/// 60 logins at once against a limit of 10 per IP: exactly 10 are let through.
#[tokio::test]
async fn concurrent_logins_admit_exactly_the_limit() {
    let app = TestApp::spawn_with(|s| s.rate_limits.auth = 10).await;
    let user = app.create_user("sales_rep").await;
    let calls = (0..60).map(|i| {
        let client = app.client.clone();
        let url = app.url("/auth/login");
        let password = if i % 2 == 0 { user.password.clone() } else { "wrong-password".to_string() };
        let body = json!({"email": user.email, "password": password});
        async move { client.post(url).json(&body).send().await.unwrap() }
    });
    let responses = futures_util::future::join_all(calls).await;
    let limited: Vec<_> = responses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(responses.len() - limited.len(), 10, "exactly 10 must pass the limiter");
    for r in &limited {
        let secs: u64 = r.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
    }
}

/// The per-account limit holds even when the attempts come from many addresses.
#[tokio::test]
async fn per_account_limit_spans_addresses() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limits.auth = 5;
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let user = app.create_user("sales_rep").await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let res = app
            .client
            .post(app.url("/auth/login"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .json(&json!({"email": user.email, "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 3, "{statuses:?}");
    // Another account from a fresh address is unaffected.
    let other = app.create_user("sales_rep").await;
    let res = app
        .client
        .post(app.url("/auth/login"))
        .header("X-Forwarded-For", "198.51.100.7")
        .json(&json!({"email": other.email, "password": other.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// X-Forwarded-For from an untrusted peer is ignored (cannot dodge the per-IP limit).
#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let app = TestApp::spawn_with(|s| s.rate_limits.auth = 3).await;
    let mut limited = 0;
    for i in 0..6 {
        let res = app
            .client
            .post(app.url("/auth/login"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .json(&json!({"email": format!("u{i}@example.com"), "password": "whatever-password"}))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert_eq!(limited, 3);
}
