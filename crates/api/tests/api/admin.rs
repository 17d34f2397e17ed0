use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

use crate::auth::error_code;

const ROLES: [&str; 10] = [
    "admin",
    "executive",
    "finance_manager",
    "finance_analyst",
    "sales_manager",
    "sales_rep",
    "marketing_manager",
    "marketing_executive",
    "support_manager",
    "support_agent",
];

/// Every role against every admin route: allowed exactly when `config/roles.yaml` grants
/// the permission the operation needs.
#[tokio::test]
async fn rbac_matrix_for_admin_routes() {
    let app = TestApp::spawn().await;
    let catalog = settings::load_roles(&testkit::repo_root().join("config/roles.yaml")).unwrap();
    let target = app.create_user("sales_rep").await;
    for role in ROLES {
        let user = app.create_user(role).await;
        let t = app.tokens(&user).await;
        let perms = catalog.permissions_of(role);
        let can = |p: domain::Permission| perms.contains(&p);
        let expect = |allowed: bool, ok: StatusCode| if allowed { ok } else { StatusCode::FORBIDDEN };

        let s = app.get("/admin/users", &t.access).await.status();
        assert_eq!(s, expect(can(domain::Permission::UsersRead), StatusCode::OK), "{role} GET /admin/users");
        let s = app.get(&format!("/admin/users/{}", target.id), &t.access).await.status();
        assert_eq!(s, expect(can(domain::Permission::UsersRead), StatusCode::OK), "{role} GET /admin/users/id");
        let s = app.get("/admin/audit", &t.access).await.status();
        assert_eq!(s, expect(can(domain::Permission::AuditRead), StatusCode::OK), "{role} GET /admin/audit");
        let s = app.get("/admin/usage", &t.access).await.status();
        assert_eq!(s, expect(can(domain::Permission::UsageRead), StatusCode::OK), "{role} GET /admin/usage");
        let s = app.get("/admin/outbox", &t.access).await.status();
        assert_eq!(s, expect(can(domain::Permission::OutboxRead), StatusCode::OK), "{role} GET /admin/outbox");
        let s = app.get("/admin/health", &t.access).await.status();
        assert_eq!(s, expect(can(domain::Permission::SystemHealth), StatusCode::OK), "{role} GET /admin/health");
        let res = app
            .client
            .post(app.url("/admin/users"))
            .bearer_auth(&t.access)
            .json(&json!({
                "email": format!("new-by-{role}@example.com"), "name": "New Person",
                "password": "a-long-enough-password", "department": "sales", "role": "sales_rep"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            expect(can(domain::Permission::UsersManage), StatusCode::CREATED),
            "{role} POST /admin/users"
        );
        let res = app
            .client
            .put(app.url(&format!("/admin/users/{}", target.id)))
            .bearer_auth(&t.access)
            .json(&json!({"name": format!("Renamed by {role}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            expect(can(domain::Permission::UsersManage), StatusCode::OK),
            "{role} PUT /admin/users/id"
        );
    }
    // Management and admin roles only: the expectation, independent of the file.
    assert!(catalog.permissions_of("executive").contains(&domain::Permission::AuditRead));
    assert!(!catalog.permissions_of("sales_manager").contains(&domain::Permission::UsersRead));
}

#[tokio::test]
async fn admin_creates_and_updates_users_with_validation() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    let post = |body: Value| {
        let req = app.client.post(app.url("/admin/users")).bearer_auth(&t.access).json(&body);
        async move { req.send().await.unwrap() }
    };
    let good = json!({"email": "New.Rep@Example.com", "name": " Nadia Rahman ", "password": "a-long-enough-password", "department": "sales", "role": "sales_rep"});
    let res = post(good.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["email"], "new.rep@example.com");
    assert_eq!(created["name"], "Nadia Rahman");
    assert!(created.get("password_hash").is_none());
    let id = created["id"].as_str().unwrap().to_string();

    let res = post(good).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "email_taken");

    for (body, code) in [
        (
            json!({"email": "bad", "name": "X", "password": "a-long-enough-password", "department": "sales", "role": "sales_rep"}),
            "invalid_email",
        ),
        (
            json!({"email": "a@b.co", "name": "X", "password": "short", "department": "sales", "role": "sales_rep"}),
            "weak_password",
        ),
        (
            json!({"email": "a@b.co", "name": "X", "password": "a-long-enough-password", "department": "sales", "role": "finance_manager"}),
            "invalid_role",
        ),
        (
            json!({"email": "a@b.co", "name": "X", "password": "a-long-enough-password", "department": "sales", "role": "overlord"}),
            "invalid_role",
        ),
        (
            json!({"email": "a@b.co", "name": "X", "password": "a-long-enough-password", "department": "legal", "role": "sales_rep"}),
            "invalid_department",
        ),
        (
            json!({"email": "a@b.co", "name": "   ", "password": "a-long-enough-password", "department": "sales", "role": "sales_rep"}),
            "invalid_name",
        ),
    ] {
        let res = post(body.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error_code(res).await, code, "{body}");
    }

    // The new user can log in; a role change shows at once on this process.
    let login = app.login("new.rep@example.com", "a-long-enough-password").await;
    assert_eq!(login.status(), StatusCode::OK);
    let user_t: Value = login.json().await.unwrap();
    let user_access = user_t["access_token"].as_str().unwrap().to_string();
    let res = app
        .client
        .put(app.url(&format!("/admin/users/{id}")))
        .bearer_auth(&t.access)
        .json(&json!({"role": "sales_manager"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app.get("/auth/me", &user_access).await.json().await.unwrap();
    assert_eq!(me["role"], "sales_manager");

    let res = app
        .client
        .put(app.url(&format!("/admin/users/{id}")))
        .bearer_auth(&t.access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, "nothing_to_change");
    let res = app
        .client
        .put(app.url(&format!("/admin/users/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&t.access)
        .json(&json!({"name": "Ghost"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Admin password reset signs the user out.
    let res = app
        .client
        .put(app.url(&format!("/admin/users/{id}")))
        .bearer_auth(&t.access)
        .json(&json!({"password": "reset-by-the-admin-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get("/auth/me", &user_access).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("new.rep@example.com", "reset-by-the-admin-1").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    for body in [json!({"is_active": false}), json!({"role": "executive"})] {
        let res = app
            .client
            .put(app.url(&format!("/admin/users/{}", admin.id)))
            .bearer_auth(&t.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT, "{body}");
        assert_eq!(error_code(res).await, "cannot_change_self");
    }
    // Demoting the only other admin is fine while this one remains.
    let second = app.create_user("admin").await;
    let res = app
        .client
        .put(app.url(&format!("/admin/users/{}", second.id)))
        .bearer_auth(&t.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn user_list_filters_and_pages() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    for _ in 0..3 {
        app.create_user("support_agent").await;
    }
    app.create_user("finance_analyst").await;
    let page: Value = app.get("/admin/users?department=support&per_page=2", &t.access).await.json().await.unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["users"].as_array().unwrap().len(), 2);
    let page2: Value =
        app.get("/admin/users?department=support&per_page=2&page=2", &t.access).await.json().await.unwrap();
    assert_eq!(page2["users"].as_array().unwrap().len(), 1);
    assert_eq!(page2["total"], 3);
    let past: Value =
        app.get("/admin/users?department=support&per_page=2&page=9", &t.access).await.json().await.unwrap();
    assert_eq!(past["users"].as_array().unwrap().len(), 0);
    assert_eq!(past["total"], 3);
    let q: Value = app.get("/admin/users?q=FINANCE-analyst", &t.access).await.json().await.unwrap();
    assert_eq!(q["total"], 1);
    for bad in [
        "/admin/users?page=0",
        "/admin/users?per_page=1000",
        "/admin/users?department=legal",
        "/admin/users?active=maybe",
    ] {
        let res = app.get(bad, &t.access).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn audit_log_filters_pages_and_is_append_only() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin").await;
    let t = app.tokens(&admin).await;
    let user = app.create_user("sales_rep").await;
    app.login(&user.email, "wrong-password-1").await;
    app.login(&user.email, "wrong-password-2").await;
    app.tokens(&user).await;

    let all: Value = app.get("/admin/audit?action=auth.*&per_page=200", &t.access).await.json().await.unwrap();
    assert_eq!(all["total"], 4, "{all}");
    let failures: Value = app
        .get(&format!("/admin/audit?action=auth.login.failure&user_id={}", user.id), &t.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failures["total"], 2);
    let e = &failures["entries"][0];
    assert_eq!(e["source"], "mobile");
    assert_eq!(e["department"], "sales");
    assert_eq!(e["user_email"], user.email);
    assert_eq!(e["ip_address"], "127.0.0.1");
    let paged: Value = app.get("/admin/audit?action=auth.*&per_page=3&page=2", &t.access).await.json().await.unwrap();
    assert_eq!(paged["entries"].as_array().unwrap().len(), 1);
    let future: Value = app.get("/admin/audit?from=2999-01-01T00:00:00Z", &t.access).await.json().await.unwrap();
    assert_eq!(future["total"], 0);
    assert_eq!(app.get("/admin/audit?from=yesterday", &t.access).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/admin/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", &t.access).await.status(),
        StatusCode::BAD_REQUEST
    );

    use store::ConnectionTrait;
    for sql in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
        let err = app.db.execute_unprepared(sql).await;
        assert!(err.is_err(), "{sql} must be refused");
    }
}

#[tokio::test]
async fn admin_health_lists_components() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("executive").await;
    let t = app.tokens(&admin).await;
    let res = app.get("/admin/health", &t.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["redis"]["status"], "ok");
    assert!(body["database"]["latency_ms"].as_f64().is_some());
    assert!(body["workers"].is_array() && body["queues"].is_array());
    // A new machine: offline, every delivery to the outbox, files on local disk.
    assert_eq!(body["llm_providers"], serde_json::json!([]));
    let i = &body["integrations"];
    assert_eq!((i["microsoft_365"].as_str(), i["push"].as_str()), (Some("outbox"), Some("outbox")), "{i}");
    assert!(i["storage"].as_str().unwrap().starts_with("local:"), "{i}");
}
