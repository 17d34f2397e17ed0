use reqwest::StatusCode;
use serde_json::Value;
use testkit::TestApp;

/// name, url, content type, body, expected status, expected code
type Case = (&'static str, String, &'static str, Vec<u8>, StatusCode, &'static str);

/// Whatever a client sends, the answer is a JSON error with a stable code and the right
/// status; never a 500.
#[tokio::test]
async fn malformed_request_matrix() {
    let app = TestApp::spawn_with(|s| s.server.json_body_limit_bytes = 64 * 1024).await;
    let user = app.create_user("admin").await;
    let t = app.tokens(&user).await;
    let login = app.url("/auth/login");
    let json = "application/json";
    let cases: Vec<Case> = vec![
        ("syntax", login.clone(), json, b"{\"email\": ".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
        ("empty body", login.clone(), json, Vec::new(), StatusCode::BAD_REQUEST, "invalid_json"),
        ("not an object", login.clone(), json, b"[1,2]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            "wrong type",
            login.clone(),
            json,
            br#"{"email": 5, "password": "x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "missing field",
            login.clone(),
            json,
            br#"{"email": "a@b.co"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown field",
            login.clone(),
            json,
            br#"{"email": "a@b.co", "password": "x", "admin": true}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "bad utf-8",
            login.clone(),
            json,
            b"{\"email\": \"\xff\xfe\", \"password\": \"x\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "huge body",
            login.clone(),
            json,
            format!("{{\"email\": \"{}\"}}", "a".repeat(200_000)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "form body",
            login.clone(),
            "application/x-www-form-urlencoded",
            b"email=a&password=b".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "null bytes",
            login.clone(),
            json,
            b"{\"email\": \"a\\u0000@b.co\", \"password\": \"x\"}".to_vec(),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
    ];
    for (name, url, ctype, body, status, code) in cases {
        let res = app.client.post(&url).header("content-type", ctype).body(body).send().await.unwrap();
        assert_eq!(res.status(), status, "{name}");
        let body: Value = res.json().await.unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
    }

    // Authenticated endpoints: bad path ids, bad queries, unknown routes.
    for (path, status, code) in [
        ("/admin/users/not-a-uuid", StatusCode::NOT_FOUND, "not_found"),
        ("/admin/audit?user_id=nope", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/admin/audit?page=-1", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/nothing/here", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let res = app.get(path, &t.access).await;
        assert_eq!(res.status(), status, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}");
    }

    // A huge declared Content-Length is refused before the body is read.
    let res = app
        .client
        .put(app.url(&format!("/admin/users/{}", user.id)))
        .bearer_auth(&t.access)
        .header("content-type", json)
        .body(vec![b' '; 10 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
