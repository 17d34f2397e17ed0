use std::time::Duration;

use sha2::{Digest, Sha256};
use store::DatabaseConnection;
use store::maintenance;

/// A throwaway database, created from a migrated template and dropped on `Drop`.
pub struct TestDb {
    pub url: String,
    pub name: String,
    admin_url: String,
}

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > url.find("://").map(|s| s + 2).unwrap_or(0) => format!("{}/{db}", &url[..i]),
        _ => format!("{url}/{db}"),
    }
}

async fn exec(conn: &DatabaseConnection, sql: &str) -> Result<(), store::StoreError> {
    maintenance::execute(conn, sql).await
}

async fn exists(conn: &DatabaseConnection, name: &str) -> bool {
    maintenance::database_exists(conn, name).await.expect("query pg_database")
}

async fn single(url: &str) -> DatabaseConnection {
    maintenance::open(url, 1).await.unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {url}: {e}"))
}

/// The template's name changes whenever the list of migrations changes.
fn template_name() -> String {
    let mut h = Sha256::new();
    for m in migrations::migration_names() {
        h.update(m.as_bytes());
        h.update(b"\n");
    }
    format!("mz_tpl_{}", &hex::encode(h.finalize())[..12])
}

async fn ensure_template(admin: &DatabaseConnection, admin_url: &str) -> String {
    let template = template_name();
    if exists(admin, &template).await {
        return template;
    }
    // Serialise template builds across test processes.
    exec(admin, "SELECT pg_advisory_lock(727274)").await.expect("advisory lock");
    if !exists(admin, &template).await {
        let building = format!("mz_tplbuild_{}", uuid::Uuid::new_v4().simple());
        exec(admin, &format!("CREATE DATABASE {building}")).await.expect("create template");
        {
            let conn = single(&with_db(admin_url, &building)).await;
            <migrations::Migrator as migrations::MigratorTrait>::up(&conn, None).await.expect("migrate template");
            conn.close().await.expect("close template connection");
        }
        exec(admin, &format!("ALTER DATABASE {building} RENAME TO {template}")).await.expect("rename template");
        exec(admin, &format!("ALTER DATABASE {template} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"))
            .await
            .expect("mark template");
    }
    exec(admin, "SELECT pg_advisory_unlock(727274)").await.expect("advisory unlock");
    template
}

impl TestDb {
    pub async fn new() -> Self {
        let admin_url = server_url();
        let admin = single(&admin_url).await;
        let template = ensure_template(&admin, &admin_url).await;
        let name = format!("mz_t_{}", uuid::Uuid::new_v4().simple());
        let mut attempt = 0;
        loop {
            match exec(&admin, &format!("CREATE DATABASE {name} TEMPLATE {template}")).await {
                Ok(()) => break,
                // Another session (autovacuum) briefly on the template: try again.
                Err(e) if attempt < 20 && e.to_string().contains("being accessed by other users") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        admin.close().await.ok();
        Self { url: with_db(&admin_url, &name), name, admin_url }
    }

    /// Opens a pool on this database.
    pub async fn connect(&self) -> DatabaseConnection {
        maintenance::open(&self.url, 5).await.expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop needs its own runtime: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(admin) = maintenance::open(&admin_url, 1).await {
                    let _ = maintenance::execute(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
