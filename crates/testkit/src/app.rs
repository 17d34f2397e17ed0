use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use settings::Settings;
use store::DatabaseConnection;

use crate::{TestDb, test_settings};

/// The real api, on its own database and Redis prefix, listening on a free port.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub redis: kv::Redis,
    pub settings: Settings,
    handle: actix_web_handle::Handle,
    testdb: Option<TestDb>,
}

mod actix_web_handle {
    /// Keeps the server handle without making tests depend on actix-web.
    pub struct Handle(pub Box<dyn Fn() + Send + Sync>);
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub password: String,
    pub role: String,
    pub department: String,
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with settings adjusted by `adjust` (rate limits, proxies, ...).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let testdb = TestDb::new().await;
        let mut settings = test_settings(&testdb.url);
        adjust(&mut settings);
        let mut app = Self::start(settings).await;
        app.testdb = Some(testdb);
        app
    }

    /// Starts another api process (same database and Redis prefix): a second "machine".
    pub async fn sibling(&self) -> Self {
        Self::start(self.settings.clone()).await
    }

    async fn start(settings: Settings) -> Self {
        let roles = settings::load_roles(std::path::Path::new(&settings.paths.roles_file)).expect("roles.yaml");
        let ctx = api::build_context(settings.clone(), roles).await.expect("build context");
        let db = ctx.db.clone();
        let redis = ctx.redis.clone();
        let app = api::Application::new(ctx).expect("bind");
        let port = app.port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let stop = move || {
            let h = handle.clone();
            // Stopping is async; fire and forget (the process ends soon after a test).
            std::mem::drop(tokio::spawn(async move { h.stop(false).await }));
        };
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client,
            db,
            redis,
            settings,
            handle: actix_web_handle::Handle(Box::new(stop)),
            testdb: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates a user directly in the database with the role's usual department.
    pub async fn create_user(&self, role: &str) -> TestUser {
        let department = match role {
            "admin" | "executive" => "management",
            r if r.starts_with("finance") => "finance",
            r if r.starts_with("sales") => "sales",
            r if r.starts_with("marketing") => "marketing",
            r if r.starts_with("support") => "support",
            _ => "operations",
        };
        self.create_user_in(role, department).await
    }

    pub async fn create_user_in(&self, role: &str, department: &str) -> TestUser {
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let email =
            format!("{}-{}@example.com", role.replace('_', "-"), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let hasher = domain::password::PasswordHasher::new(self.settings.auth.password_hash).unwrap();
        let user = store::users::create(
            &self.db,
            store::users::NewUser {
                email: &domain::EmailAddress::parse(&email).unwrap(),
                password_hash: hasher.hash(&password).unwrap(),
                name: &format!("Test {role}"),
                department: department.parse().unwrap(),
                role,
            },
        )
        .await
        .unwrap();
        TestUser { id: user.id, email, password, role: role.into(), department: department.into() }
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the tokens; panics unless the login succeeds.
    pub async fn tokens(&self, user: &TestUser) -> Tokens {
        let res = self.login(&user.email, &user.password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {} failed", user.email);
        let body: Value = res.json().await.unwrap();
        Tokens {
            access: body["access_token"].as_str().unwrap().to_string(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// Polls `check` until it returns true or `deadline` passes.
    pub async fn eventually<F, Fut>(deadline: Duration, mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            if check().await {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        (self.handle.0)();
        if self.testdb.is_some() {
            // A fresh connection on a fresh runtime: the test's runtime (which drives
            // `self.redis`) is blocked in this drop.
            let cfg = self.settings.redis.clone();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(async move {
                        if let Ok(redis) = kv::Redis::connect_configured(&cfg).await {
                            let _ = redis.delete_prefixed().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
