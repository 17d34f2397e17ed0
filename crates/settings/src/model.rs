use domain::password::HashParams;
use serde::{Deserialize, Serialize};

use crate::Secret;

/// Used when `JWT_SECRET` is not set outside production. Production refuses it.
pub const DEV_JWT_SECRET: &str = "mezzofy-development-only-secret-do-not-deploy";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `development` or `production` (`MEZZOFY_ENV`).
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub rate_limits: RateLimitSettings,
    pub paths: PathSettings,
    pub logging: LoggingSettings,
    pub metrics: MetricsSettings,
    pub worker: WorkerSettings,
    pub scheduler: SchedulerSettings,
    pub llm: crate::LlmSettings,
    pub agents: crate::AgentSettings,
    pub delivery: crate::DeliverySettings,
    pub storage: crate::StorageSettings,
    pub web: crate::WebSettings,
    pub webhooks: crate::WebhookSettings,
    pub input: crate::InputSettings,
    pub realtime: crate::RealtimeSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address the api listens on (`API_BIND`).
    pub bind: String,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Public base URL, used in links the api hands out (download URLs).
    pub public_url: String,
    /// Origins allowed by CORS (`CORS_ALLOWED_ORIGINS`, comma separated). Empty: none.
    pub cors_origins: Vec<String>,
    /// Largest JSON body accepted, in bytes.
    pub json_body_limit_bytes: usize,
    /// Peers (IPs or CIDR ranges) whose `X-Forwarded-For` is believed, e.g. the nginx host.
    pub trusted_proxies: Vec<String>,
    /// Seconds in-flight requests get to finish on SIGTERM.
    pub shutdown_timeout_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8000".into(),
            workers: 0,
            public_url: "http://127.0.0.1:8000".into(),
            cors_origins: vec![],
            json_body_limit_bytes: 1024 * 1024,
            trusted_proxies: vec![],
            shutdown_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// PostgreSQL URL (`DATABASE_URL`).
    pub url: Secret,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout_secs: u64,
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/mezzofy"),
            max_connections: 20,
            min_connections: 1,
            connect_timeout_secs: 5,
            acquire_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Redis URL (`REDIS_URL`).
    pub url: Secret,
    /// Prefix of every key this deployment writes; lets several deployments share a Redis.
    pub key_prefix: String,
    /// How long one Redis command may take before it counts as failed.
    pub response_timeout_ms: u64,
    pub connection_timeout_ms: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379/0"),
            key_prefix: "mz:".into(),
            response_timeout_ms: 10_000,
            connection_timeout_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 signing secret (`JWT_SECRET`), at least 32 bytes in production.
    pub jwt_secret: Secret,
    pub issuer: String,
    pub audience: String,
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// argon2id parameters; never below OWASP's m=19456 KiB, t=2, p=1.
    pub password_hash: HashParams,
    /// Password hashes computed at once; 0 means one per CPU.
    pub max_concurrent_hashes: usize,
    /// Seconds a user's row (active flag, role) is cached per api process.
    pub user_cache_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: Secret::default(),
            issuer: "mezzofy".into(),
            audience: "mezzofy-api".into(),
            access_token_minutes: 60,
            refresh_token_days: 7,
            password_hash: HashParams::default(),
            max_concurrent_hashes: 0,
            user_cache_secs: 10,
        }
    }
}

impl AuthSettings {
    /// The secret actually used: the configured one, or the development secret.
    pub fn effective_secret(&self) -> &str {
        if self.jwt_secret.is_empty() { DEV_JWT_SECRET } else { self.jwt_secret.expose() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Length of the sliding window, in seconds.
    pub window_secs: u64,
    /// Auth requests per window, counted per client IP and per account.
    pub auth: u32,
    /// Chat requests per window per user.
    pub chat: u32,
    /// Webhook deliveries per window per source.
    pub webhooks: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self { window_secs: 60, auth: 10, chat: 30, webhooks: 100 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathSettings {
    /// Generated and uploaded files (`MEZZOFY_DATA_DIR`).
    pub data_dir: String,
    pub knowledge_dir: String,
    pub roles_file: String,
}

impl Default for PathSettings {
    fn default() -> Self {
        Self { data_dir: "./data".into(), knowledge_dir: "./knowledge".into(), roles_file: "config/roles.yaml".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// JSON in production, human-readable otherwise.
    #[default]
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    pub format: LogFormat,
    /// Filter used when `RUST_LOG` is not set.
    pub level: String,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self { format: LogFormat::Auto, level: "info".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub bearer_token: Secret,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { enabled: true, bearer_token: Secret::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Jobs run at once per queue and priority lane (high, normal, low each get this many).
    pub concurrency: usize,
    /// Per-queue overrides of `concurrency`, e.g. `{media: 1, delivery: 8}`.
    pub queue_concurrency: std::collections::BTreeMap<String, usize>,
    /// Seconds between liveness reports.
    pub heartbeat_secs: u64,
    /// Seconds running jobs get to finish on SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Milliseconds between sweeper passes (push due jobs, recover silent workers' jobs).
    pub sweep_interval_ms: u64,
    /// Most jobs the sweeper pushes to Redis per pass.
    pub sweep_batch: u64,
    /// A pushed job still unclaimed after this many seconds is pushed again.
    pub repush_after_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            queue_concurrency: std::collections::BTreeMap::new(),
            heartbeat_secs: 5,
            shutdown_grace_secs: 30,
            sweep_interval_ms: 1000,
            sweep_batch: 500,
            repush_after_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerSettings {
    /// Time zone of the built-in schedules.
    pub timezone: String,
    pub heartbeat_secs: u64,
    /// How often the schedules table is re-read and due schedules fired (a change made
    /// through the API also wakes the scheduler at once over Redis).
    pub tick_ms: u64,
    /// The built-in schedules (`agent: system` runs the worker health check).
    pub builtin: Vec<BuiltinSchedule>,
}

/// A schedule every installation has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSchedule {
    pub key: String,
    pub name: String,
    /// 5-field cron in `scheduler.timezone`.
    pub cron: String,
    /// finance, sales, marketing, support, management, or `system` (the health check).
    pub agent: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub deliver_to: crate::RouteDelivery,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

fn builtin(
    key: &str,
    name: &str,
    cron: &str,
    agent: &str,
    message: &str,
    channel: Option<&str>,
    email: &[&str],
) -> BuiltinSchedule {
    BuiltinSchedule {
        key: key.into(),
        name: name.into(),
        cron: cron.into(),
        agent: agent.into(),
        message: message.into(),
        deliver_to: crate::RouteDelivery {
            teams_channel: channel.map(String::from),
            email: email.iter().map(|e| e.to_string()).collect(),
        },
        enabled: true,
    }
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            timezone: "Asia/Singapore".into(),
            heartbeat_secs: 5,
            tick_ms: 2000,
            builtin: vec![
                builtin("system-health-check", "System health check", "*/5 * * * *", "system", "", None, &[]),
                builtin(
                    "weekly-kpi-report",
                    "Weekly KPI report",
                    "0 9 * * 1",
                    "management",
                    "Generate weekly KPI dashboard across all departments",
                    Some("management"),
                    &["ceo@mezzofy.com", "coo@mezzofy.com"],
                ),
                builtin(
                    "monthly-financial-summary",
                    "Monthly financial summary",
                    "0 8 1 * *",
                    "finance",
                    "Generate monthly financial summary for last month",
                    Some("finance"),
                    &["cfo@mezzofy.com"],
                ),
                builtin(
                    "daily-lead-followup",
                    "Daily stale lead follow-up",
                    "0 10 * * 1-5",
                    "sales",
                    "Find all leads with follow_up_date = today and send follow-up emails",
                    Some("sales"),
                    &[],
                ),
                builtin(
                    "weekly-support-summary",
                    "Weekly support ticket summary",
                    "0 17 * * 5",
                    "support",
                    "Summarize this week's support tickets and flag recurring issues",
                    Some("support"),
                    &["support-manager@mezzofy.com"],
                ),
            ],
        }
    }
}

impl WorkerSettings {
    /// Slots per lane of `queue`.
    pub fn concurrency_of(&self, queue: &str) -> usize {
        self.queue_concurrency.get(queue).copied().unwrap_or(self.concurrency)
    }
}

impl Settings {
    /// Things an operator should hear about at startup (never secrets themselves).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.auth.jwt_secret.is_empty() {
            w.push("JWT_SECRET is not set: using the development secret (refused in production)".into());
        }
        if self.server.cors_origins.iter().any(|o| o == "*") {
            w.push("server.cors_origins contains '*': any web origin may call the api".into());
        }
        w
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}
