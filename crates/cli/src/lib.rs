//! The admin CLI: what the seed's `migrate.py` and `seed.py` did, plus user management.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use domain::password::{PasswordHasher, check_policy};
use domain::{Department, EmailAddress};
use migrations::{Migrator, MigratorTrait};
use serde_json::json;
use settings::Settings;
use store::DatabaseConnection;
use store::audit::{NewEntry, Source};
use store::users::{NewUser, UserChanges, UserFilter};

#[derive(Debug, Parser)]
#[command(name = "mezzofy", version, about = "Mezzofy AI Assistant administration")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations.
    Migrate {
        /// Only list applied and pending migrations.
        #[arg(long)]
        status: bool,
    },
    /// Create the first admin (if no active admin exists); with --demo, one demo user per department.
    Seed {
        /// Also create demo users (refused in production).
        #[arg(long)]
        demo: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Inspect and replay dead jobs.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Enqueue a self-test job that a worker must complete (checks workers end to end).
    Selftest,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead jobs, newest first.
    List {
        #[arg(long)]
        queue: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Put dead jobs back in their queue (attempts reset): given ids, or the oldest --limit.
    Replay {
        #[arg(long = "id")]
        ids: Vec<uuid::Uuid>,
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        queue: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input (first line).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        department: String,
        #[arg(long)]
        role: String,
    },
    /// List users.
    List {
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        role: Option<String>,
    },
    /// Deactivate a user and sign them out everywhere.
    Deactivate {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let db = store::connect_configured(&settings.database).await?;
    match cli.command {
        Command::Migrate { status } => migrate(&db, status).await,
        Command::Seed { demo } => {
            require_migrated(&db).await?;
            seed(&db, &settings, demo).await
        }
        Command::User { command } => {
            require_migrated(&db).await?;
            match command {
                UserCommand::Create { email, name, department, role } => {
                    let password = read_password()?;
                    let user = create_user(&db, &settings, &email, &name, &department, &role, &password).await?;
                    println!("created {} ({}, {}) id={}", user.email, user.department, user.role, user.id);
                    Ok(())
                }
                UserCommand::List { department, role } => list_users(&db, department, role).await,
                UserCommand::Deactivate { email } => deactivate(&db, &settings, &email).await,
            }
        }
        Command::Dlq { command } => {
            require_migrated(&db).await?;
            match command {
                DlqCommand::List { queue, limit } => dlq_list(&db, queue, limit).await,
                DlqCommand::Replay { ids, limit, queue } => dlq_replay(&db, &settings, ids, limit, queue).await,
            }
        }
        Command::Selftest => {
            require_migrated(&db).await?;
            selftest(&db, &settings).await
        }
    }
}

fn parse_queue(queue: Option<String>) -> anyhow::Result<Option<domain::jobs::Queue>> {
    Ok(queue.map(|q| q.parse::<domain::jobs::Queue>()).transpose()?)
}

async fn dlq_list(db: &DatabaseConnection, queue: Option<String>, limit: u64) -> anyhow::Result<()> {
    let queue = parse_queue(queue)?;
    let filter = store::jobs::JobFilter {
        status: Some("dead".into()),
        queue: queue.map(|q| q.as_str().to_string()),
        ..Default::default()
    };
    let (rows, total) = store::jobs::list(db, &filter, 0, limit.clamp(1, 10_000)).await?;
    println!("{:<36}  {:<11}  {:<28}  {:>8}  {:<25}  last error", "id", "queue", "kind", "attempts", "died at");
    for r in rows {
        println!(
            "{:<36}  {:<11}  {:<28}  {:>8}  {:<25}  {}",
            r.id,
            r.queue,
            r.kind,
            r.attempts,
            r.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            r.last_error.unwrap_or_default().chars().take(80).collect::<String>()
        );
    }
    println!("{total} dead job(s)");
    Ok(())
}

async fn dlq_replay(
    db: &DatabaseConnection,
    settings: &Settings,
    ids: Vec<uuid::Uuid>,
    limit: Option<u64>,
    queue: Option<String>,
) -> anyhow::Result<()> {
    let queue = parse_queue(queue)?;
    let rows = match (ids.is_empty(), limit) {
        (false, None) => store::jobs::replay(db, &ids).await?,
        (true, Some(n)) if (1..=10_000).contains(&n) => {
            store::jobs::replay_oldest(db, queue.map(|q| q.as_str()), n).await?
        }
        _ => bail!("give either --id (one or more) or --limit N (1 to 10000)"),
    };
    let replayed: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    audit(db, "cli.dlq.replay", json!({"jobs": replayed, "count": replayed.len()})).await?;
    // Push now when Redis is reachable; otherwise the workers' sweeper pushes within seconds.
    if let Ok(redis) = kv::Redis::connect_configured(&settings.redis).await {
        let transport = jobs::Transport::new(redis);
        for r in &rows {
            if let (Ok(q), Ok(l)) = (r.queue.parse(), r.lane.parse()) {
                let _ = transport.push(r.id, q, l).await;
            }
        }
    }
    for id in &replayed {
        println!("replayed {id}");
    }
    println!("{} job(s) replayed", replayed.len());
    Ok(())
}

async fn selftest(db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<()> {
    let job = jobs::NewJob::new(domain::jobs::Queue::Maintenance, "maintenance.selftest", json!({"sleep_ms": 0}))
        .priority(90);
    let e = jobs::enqueue(db, job).await?;
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    jobs::Transport::new(redis).dispatch(db, &[e]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let row = store::jobs::get(db, e.id).await?.context("the self-test job vanished")?;
        match row.status.as_str() {
            "completed" => {
                println!("self-test job {} completed by {}", e.id, row.worker.unwrap_or_default());
                return Ok(());
            }
            "dead" | "cancelled" => {
                bail!("self-test job {} is {}: {}", e.id, row.status, row.last_error.unwrap_or_default())
            }
            _ if std::time::Instant::now() > deadline => {
                bail!("self-test job {} still {} after 30 s: is a mezzofy-worker running?", e.id, row.status)
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

async fn require_migrated(db: &DatabaseConnection) -> anyhow::Result<()> {
    Ok(store::require_schema(db, &migrations::migration_names()).await?)
}

async fn migrate(db: &DatabaseConnection, status_only: bool) -> anyhow::Result<()> {
    let names = migrations::migration_names();
    let missing = store::missing_migrations(db, &names).await?;
    if status_only {
        for n in &names {
            println!("{} {n}", if missing.contains(n) { "pending" } else { "applied" });
        }
        return Ok(());
    }
    if missing.is_empty() {
        println!("database is up to date ({} migrations applied)", names.len());
        return Ok(());
    }
    Migrator::up(db, None).await.context("migration failed (nothing of the failing migration was kept)")?;
    for n in &missing {
        println!("applied {n}");
    }
    Ok(())
}

fn hasher(settings: &Settings) -> anyhow::Result<PasswordHasher> {
    PasswordHasher::new(settings.auth.password_hash).context("auth.password_hash")
}

fn roles(settings: &Settings) -> anyhow::Result<domain::RoleCatalog> {
    Ok(settings::load_roles(std::path::Path::new(&settings.paths.roles_file))?)
}

/// Creates a user after the same checks the admin API makes.
pub async fn create_user(
    db: &DatabaseConnection,
    settings: &Settings,
    email: &str,
    name: &str,
    department: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<store::users::User> {
    let email = EmailAddress::parse(email)?;
    let department: Department = department.parse()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        bail!("name must be 1 to 200 characters");
    }
    roles(settings)?.check_assignment(role, department)?;
    check_policy(password)?;
    let hash = hasher(settings)?.hash(password)?;
    let user = store::users::create(db, NewUser { email: &email, password_hash: hash, name, department, role })
        .await
        .map_err(|e| match e {
        store::StoreError::Conflict(_) => anyhow::anyhow!("a user with e-mail {email} already exists"),
        other => other.into(),
    })?;
    audit(db, "cli.user.create", json!({"target_user_id": user.id, "email": user.email, "role": user.role})).await?;
    Ok(user)
}

async fn audit(db: &DatabaseConnection, action: &str, details: serde_json::Value) -> anyhow::Result<()> {
    store::audit::record(
        db,
        NewEntry {
            user_id: None,
            department: None,
            action,
            source: Source::Cli,
            details,
            ip_address: None,
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        rpassword::prompt_password("password: ")?
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.is_empty() {
        bail!("no password given on standard input");
    }
    Ok(password)
}

async fn list_users(db: &DatabaseConnection, department: Option<String>, role: Option<String>) -> anyhow::Result<()> {
    let department = department.map(|d| d.parse::<Department>()).transpose()?;
    let filter = UserFilter { department, role, ..Default::default() };
    let (users, total) = store::users::list(db, &filter, 0, 10_000).await?;
    println!("{:<36}  {:<32}  {:<11}  {:<20}  {:<6}  name", "id", "email", "department", "role", "active");
    for u in users {
        println!(
            "{:<36}  {:<32}  {:<11}  {:<20}  {:<6}  {}",
            u.id,
            u.email,
            u.department.as_str(),
            u.role,
            if u.is_active { "yes" } else { "no" },
            u.name
        );
    }
    println!("{total} user(s)");
    Ok(())
}

async fn deactivate(db: &DatabaseConnection, settings: &Settings, email: &str) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email)?;
    let user = store::users::by_email(db, &email).await?.with_context(|| format!("no user with e-mail {email}"))?;
    if user.role == "admin" && user.is_active && store::users::count_active_with_role(db, "admin").await? <= 1 {
        bail!("{email} is the last active admin; appoint another admin first");
    }
    store::users::update(db, user.id, UserChanges { is_active: Some(false), ..Default::default() }).await?;
    let revoked = store::tokens::revoke_user_families(db, user.id, "deactivated").await?;
    audit(
        db,
        "cli.user.deactivate",
        json!({"target_user_id": user.id, "email": user.email, "sessions_revoked": revoked.len()}),
    )
    .await?;
    // Copy the revocations to Redis so every api process refuses the tokens at once; if
    // Redis is unreachable the api still refuses them within `auth.user_cache_secs`.
    match kv::Redis::connect_configured(&settings.redis).await {
        Ok(redis) => {
            let now = std::time::SystemTime::now();
            for f in &revoked {
                let ttl = (f.expires_at.timestamp()
                    - now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0))
                .max(1);
                kv::revocation::revoke(&redis, f.id, std::time::Duration::from_secs(ttl as u64)).await?;
            }
        }
        Err(e) => eprintln!("warning: {e}; sessions end within {} s instead of at once", settings.auth.user_cache_secs),
    }
    println!("deactivated {email}; {} session(s) revoked", revoked.len());
    Ok(())
}

/// The demo users `seed --demo` creates: one per department (and the directory roles the
/// agents resolve: CEO, CFO, the department managers).
pub const DEMO_USERS: &[(&str, &str, &str, &str)] = &[
    ("ceo@mezzofy.com", "Chen Wei Ling (CEO)", "management", "executive"),
    ("ops@mezzofy.com", "Rajesh Kumar (COO)", "operations", "executive"),
    ("cfo@mezzofy.com", "Tan Mei Hua (CFO)", "finance", "finance_manager"),
    ("analyst@mezzofy.com", "Nurul Aisyah", "finance", "finance_analyst"),
    ("sales.manager@mezzofy.com", "Daniel Lim", "sales", "sales_manager"),
    ("sales@mezzofy.com", "Priya Nair", "sales", "sales_rep"),
    ("marketing@mezzofy.com", "Sophie Wong", "marketing", "marketing_manager"),
    ("support-manager@mezzofy.com", "Ahmad Faiz", "support", "support_manager"),
    ("support@mezzofy.com", "Grace Ong", "support", "support_agent"),
];

/// The demo company data is the same on every machine for the same day.
const DEMO_SEED: u64 = 2026;

const DEMO_PASSWORD: &str = "Mezzofy-Demo-2026";

async fn seed(db: &DatabaseConnection, settings: &Settings, demo: bool) -> anyhow::Result<()> {
    if demo && settings.is_production() {
        bail!("refusing to create demo users in production (MEZZOFY_ENV=production)");
    }
    let admin_email = std::env::var("MEZZOFY_ADMIN_EMAIL").unwrap_or_else(|_| "admin@mezzofy.com".into());
    let demo_password = std::env::var("MEZZOFY_DEMO_PASSWORD").unwrap_or_else(|_| DEMO_PASSWORD.into());
    if store::users::count_active_with_role(db, "admin").await? == 0 {
        let (password, shown) = match std::env::var("MEZZOFY_ADMIN_PASSWORD") {
            Ok(p) if !p.is_empty() => (p, "(from MEZZOFY_ADMIN_PASSWORD)".to_string()),
            _ if demo => (demo_password.clone(), demo_password.clone()),
            _ => {
                let p = random_password();
                (p.clone(), p)
            }
        };
        let email = EmailAddress::parse(&admin_email)?;
        if let Some(existing) = store::users::by_email(db, &email).await? {
            bail!("{} exists but is not an active admin; fix it with the admin API or `mezzofy user`", existing.email);
        }
        create_user(db, settings, &admin_email, "Administrator", "management", "admin", &password).await?;
        println!("admin      {admin_email:<30} password: {shown}");
    } else {
        println!("an active admin already exists; no admin created");
    }
    if demo {
        for (email, name, department, role) in DEMO_USERS {
            let parsed = EmailAddress::parse(email)?;
            if store::users::by_email(db, &parsed).await?.is_some() {
                continue;
            }
            create_user(db, settings, email, name, department, role, &demo_password).await?;
            println!("demo       {email:<30} {department:<11} {role}");
        }
        println!("demo users' password: {demo_password}");
        let today = chrono::Utc::now().date_naive();
        let counts = store::demo::seed_company_demo(db, today, DEMO_SEED).await?;
        if counts.already_seeded {
            println!("company data already present ({} customers); left as it is", counts.customers);
        } else {
            println!(
                "company data  {} products, {} customers, {} orders, {} expenses, {} tickets, {} leads (18 months to {today})",
                counts.products, counts.customers, counts.orders, counts.expenses, counts.tickets, counts.leads
            );
        }
    }
    Ok(())
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..20).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}
