use chrono::Utc;
use domain::auth::{TokenCodec, TokenKind};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

pub async fn error_code(res: reqwest::Response) -> String {
    let body: Value = res.json().await.unwrap();
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}")).to_string()
}

fn codec(app: &TestApp, secret: &str) -> TokenCodec {
    TokenCodec::new(secret.as_bytes(), &app.settings.auth.issuer, &app.settings.auth.audience, 3600, 86_400)
}

#[tokio::test]
async fn login_returns_the_mobile_contract_and_audits() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let tokens = app.tokens(&user).await;
    let b = &tokens.body;
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["refresh_expires_in"], 7 * 86_400);
    assert_eq!(b["user_info"]["id"], user.id.to_string());
    assert!(b["user_info"].get("user_id").is_none());
    assert_eq!(b["user_info"]["email"], user.email);
    assert_eq!(b["user_info"]["department"], "sales");
    assert_eq!(b["user_info"]["role"], "sales_rep");
    let perms: Vec<&str> =
        b["user_info"]["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(perms.contains(&"crm_write") && !perms.contains(&"users_manage"), "{perms:?}");

    let me: Value = app.get("/auth/me", &tokens.access).await.json().await.unwrap();
    assert_eq!(me["id"], user.id.to_string());

    let (rows, _) = store::audit::list(
        &app.db,
        &store::audit::Filter { action: Some("auth.login.success".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_id, Some(user.id));
    assert_eq!(rows[0].department.as_deref(), Some("sales"));
    assert_eq!(rows[0].ip_address.as_deref(), Some("127.0.0.1"));
    assert!(rows[0].request_id.is_some());
    // Tokens never reach the audit log.
    assert!(!rows[0].details.as_ref().unwrap().to_string().contains(&tokens.access));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    let user = app.create_user("support_agent").await;
    let wrong = app.login(&user.email, "not-the-password").await;
    let unknown = app.login("nobody@example.com", "not-the-password").await;
    let malformed = app.login("not-an-email", "x").await;
    for res in [wrong, unknown, malformed] {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_credentials");
        assert_eq!(body["error"]["message"], "e-mail or password is incorrect");
    }
    let (rows, total) = store::audit::list(
        &app.db,
        &store::audit::Filter { action: Some("auth.login.failure".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(total, 3);
    assert!(rows.iter().any(|r| r.user_id == Some(user.id)));
}

#[tokio::test]
async fn email_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let user = app.create_user("finance_analyst").await;
    let res = app.login(&user.email.to_uppercase(), &user.password).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn hostile_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let tokens = app.tokens(&user).await;

    // No token, garbage, wrong scheme.
    let res = app.client.get(app.url("/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    assert_eq!(error_code(res).await, "missing_token");
    assert_eq!(error_code(app.get("/auth/me", "garbage").await).await, "invalid_token");
    let res = app
        .client
        .get(app.url("/auth/me"))
        .header("Authorization", format!("Basic {}", tokens.access))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, "invalid_token");

    // alg: none with the real payload.
    let payload = tokens.access.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert_eq!(error_code(app.get("/auth/me", &none).await).await, "invalid_token");

    // Signed with another key.
    let forged = codec(&app, "another-secret-another-secret-1234")
        .mint(TokenKind::Access, user.id, uuid::Uuid::now_v7(), Utc::now())
        .unwrap();
    assert_eq!(error_code(app.get("/auth/me", &forged.token).await).await, "invalid_token");

    // Expired (signed with the real key, issued two hours ago).
    let real = codec(&app, app.settings.auth.jwt_secret.expose());
    let family = tokens_family(&tokens.access);
    let old = real.mint(TokenKind::Access, user.id, family, Utc::now() - chrono::Duration::hours(2)).unwrap();
    assert_eq!(error_code(app.get("/auth/me", &old.token).await).await, "token_expired");

    // A refresh token is not an access token, and the other way round.
    assert_eq!(error_code(app.get("/auth/me", &tokens.refresh).await).await, "invalid_token");
    let res =
        app.client.post(app.url("/auth/refresh")).json(&json!({"refresh_token": tokens.access})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "invalid_token");

    // The genuine token still works.
    assert_eq!(app.get("/auth/me", &tokens.access).await.status(), StatusCode::OK);
}

pub fn tokens_family(token: &str) -> uuid::Uuid {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64url(payload);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["fam"].as_str().unwrap().parse().unwrap()
}

fn base64url(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = A.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let user = app.create_user("marketing_manager").await;
    let first = app.tokens(&user).await;

    let res =
        app.client.post(app.url("/auth/refresh")).json(&json!({"refresh_token": first.refresh})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    let second_access = second["access_token"].as_str().unwrap().to_string();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(app.get("/auth/me", &second_access).await.status(), StatusCode::OK);

    // The rotated token presented again: theft. The whole family dies.
    let res =
        app.client.post(app.url("/auth/refresh")).json(&json!({"refresh_token": first.refresh})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "refresh_token_reused");
    assert_eq!(error_code(app.get("/auth/me", &second_access).await).await, "token_revoked");
    assert_eq!(error_code(app.get("/auth/me", &first.access).await).await, "token_revoked");
    let res =
        app.client.post(app.url("/auth/refresh")).json(&json!({"refresh_token": second_refresh})).send().await.unwrap();
    assert_eq!(error_code(res).await, "token_revoked");

    let (_, n) = store::audit::list(
        &app.db,
        &store::audit::Filter { action: Some("auth.refresh.reuse_detected".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(n, 1);

    // Another login is a new family and works.
    let fresh = app.tokens(&user).await;
    assert_eq!(app.get("/auth/me", &fresh.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_rotate_once() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await;
    let calls = (0..8).map(|_| {
        let client = app.client.clone();
        let url = app.url("/auth/refresh");
        let body = json!({"refresh_token": t.refresh});
        async move { client.post(url).json(&body).send().await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
}

#[tokio::test]
async fn logout_revokes_both_tokens_on_every_process() {
    let app = TestApp::spawn().await;
    let other = app.sibling().await;
    let user = app.create_user("support_manager").await;
    let t = app.tokens(&user).await;
    assert_eq!(other.get("/auth/me", &t.access).await.status(), StatusCode::OK);

    let res = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&t.access)
        .json(&json!({"refresh_token": t.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["logged_out"], true);

    for a in [&app, &other] {
        assert_eq!(error_code(a.get("/auth/me", &t.access).await).await, "token_revoked");
        let res =
            a.client.post(a.url("/auth/refresh")).json(&json!({"refresh_token": t.refresh})).send().await.unwrap();
        assert_eq!(error_code(res).await, "token_revoked");
    }
    // A second device's session survives.
    let t2 = app.tokens(&user).await;
    assert_eq!(other.get("/auth/me", &t2.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_with_someone_elses_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.create_user("sales_rep").await;
    let b = app.create_user("sales_rep").await;
    let ta = app.tokens(&a).await;
    let tb = app.tokens(&b).await;
    let res = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&ta.access)
        .json(&json!({"refresh_token": tb.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/auth/me", &tb.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_change_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let user = app.create_user("finance_manager").await;
    let phone = app.tokens(&user).await;
    let laptop = app.tokens(&user).await;

    let res = app
        .client
        .post(app.url("/auth/change-password"))
        .bearer_auth(&phone.access)
        .json(&json!({"current_password": "wrong-password", "new_password": "a-brand-new-passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .client
        .post(app.url("/auth/change-password"))
        .bearer_auth(&phone.access)
        .json(&json!({"current_password": user.password, "new_password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(res).await, "weak_password");

    let res = app
        .client
        .post(app.url("/auth/change-password"))
        .bearer_auth(&phone.access)
        .json(&json!({"current_password": user.password, "new_password": "a-brand-new-passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for t in [&phone, &laptop] {
        assert_eq!(app.get("/auth/me", &t.access).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.login(&user.email, &user.password).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&user.email, "a-brand-new-passphrase").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changed_hash_parameters_rehash_at_login() {
    let app = TestApp::spawn_with(|s| s.auth.password_hash.iterations = 3).await;
    // Created with OWASP's defaults (t=2) directly in the database.
    let hasher = domain::password::PasswordHasher::new(domain::password::HashParams::default()).unwrap();
    let email = domain::EmailAddress::parse("old-hash@example.com").unwrap();
    let user = store::users::create(
        &app.db,
        store::users::NewUser {
            email: &email,
            password_hash: hasher.hash("an-old-password").unwrap(),
            name: "Old",
            department: domain::Department::Sales,
            role: "sales_rep",
        },
    )
    .await
    .unwrap();
    assert!(user.password_hash.contains("t=2"));
    assert_eq!(app.login("old-hash@example.com", "an-old-password").await.status(), StatusCode::OK);
    let after = store::users::by_id(&app.db, user.id).await.unwrap().unwrap();
    assert!(
        after.password_hash.contains("$argon2id$") && after.password_hash.contains("t=3"),
        "{}",
        after.password_hash
    );
    assert_eq!(app.login("old-hash@example.com", "an-old-password").await.status(), StatusCode::OK);
}
