use reqwest::StatusCode;
use serde_json::Value;
use testkit::TestApp;

#[tokio::test]
async fn health_reports_dependencies_without_auth() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("x-request-id").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn openapi_lists_every_endpoint_and_docs_work_offline() {
    let app = TestApp::spawn().await;
    let spec: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for (path, method) in [
        ("/health", "get"),
        ("/metrics", "get"),
        ("/auth/login", "post"),
        ("/auth/refresh", "post"),
        ("/auth/logout", "post"),
        ("/auth/me", "get"),
        ("/auth/change-password", "post"),
        ("/admin/users", "get"),
        ("/admin/users", "post"),
        ("/admin/users/{id}", "get"),
        ("/admin/users/{id}", "put"),
        ("/admin/audit", "get"),
        ("/admin/health", "get"),
        ("/admin/usage", "get"),
        ("/admin/outbox", "get"),
        ("/chat/send", "post"),
        ("/chat/sessions", "get"),
        ("/chat/history/{session_id}", "get"),
        ("/files/upload", "post"),
        ("/files/", "get"),
        ("/files/list", "get"),
        ("/files/{id}", "get"),
        ("/files/{id}", "delete"),
        ("/jobs/{id}", "get"),
        ("/admin/queues", "get"),
        ("/admin/jobs", "get"),
        ("/admin/dlq/replay", "post"),
        ("/admin/jobs/{id}/cancel", "post"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from OpenAPI");
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());

    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(res.status().is_redirection());
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    // Every script and stylesheet the page loads is served by us (nothing from a CDN).
    assert!(!html.contains("https://"), "docs page refers to an external host");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let res = app.client.get(app.url(&format!("/docs/{asset}"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
        assert!(res.bytes().await.unwrap().len() > 10_000, "{asset} is not the real bundle");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.client.get(app.url("/health")).send().await.unwrap();
    }
    app.client.get(app.url("/admin/users/not-a-uuid")).send().await.unwrap();
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total") && l.contains("route=\"/health\"") && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no /health counter in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{line}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "no latency histogram");
    assert!(!text.contains("not-a-uuid"), "raw paths must not become labels");
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app = TestApp::spawn_with(|s| s.metrics.bearer_token = settings::Secret::new("scrape-secret")).await;
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.client.get(app.url("/metrics")).bearer_auth("scrape-secret").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::spawn_with(|s| s.server.cors_origins = vec!["https://app.mezzofy.com".into()]).await;
    let allowed = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/auth/login"))
        .header("Origin", "https://app.mezzofy.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.headers().get("access-control-allow-origin").unwrap(), "https://app.mezzofy.com");
    let denied = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/auth/login"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(denied.headers().get("access-control-allow-origin").is_none());
}
