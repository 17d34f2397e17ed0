use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use domain::RoleCatalog;
use serde_json::{Map, Value};

use crate::model::{DEV_JWT_SECRET, Environment, Settings};

/// Well-known environment variables and the key each one sets.
const ENV_ALIASES: &[(&str, &str)] = &[
    ("MEZZOFY_ENV", "environment"),
    ("API_BIND", "server.bind"),
    ("CORS_ALLOWED_ORIGINS", "server.cors_origins"),
    ("DATABASE_URL", "database.url"),
    ("REDIS_URL", "redis.url"),
    ("JWT_SECRET", "auth.jwt_secret"),
    ("MEZZOFY_DATA_DIR", "paths.data_dir"),
    ("ANTHROPIC_API_KEY", "llm.anthropic.api_key"),
    ("ANTHROPIC_BASE_URL", "llm.anthropic.base_url"),
    ("ANTHROPIC_MODEL", "llm.anthropic.model"),
    ("KIMI_API_KEY", "llm.kimi.api_key"),
    ("KIMI_BASE_URL", "llm.kimi.base_url"),
    ("KIMI_MODEL", "llm.kimi.model"),
    ("OPENAI_API_KEY", "llm.openai.api_key"),
    ("OPENAI_BASE_URL", "llm.openai.base_url"),
    ("OPENAI_MODEL", "llm.openai.model"),
    ("MS365_TENANT_ID", "delivery.ms365.tenant_id"),
    ("MS365_CLIENT_ID", "delivery.ms365.client_id"),
    ("MS365_CLIENT_SECRET", "delivery.ms365.client_secret"),
    ("MS_TEAMS_TEAM_ID", "delivery.ms365.team_id"),
    ("MS_TEAMS_SENDER_USER_ID", "delivery.ms365.sender_user_id"),
    ("MS_GRAPH_BASE_URL", "delivery.ms365.graph_base_url"),
    ("MS_LOGIN_BASE_URL", "delivery.ms365.login_base_url"),
    ("FCM_PROJECT_ID", "delivery.push.project_id"),
    ("FCM_SERVICE_ACCOUNT_FILE", "delivery.push.service_account_file"),
    ("FCM_BASE_URL", "delivery.push.base_url"),
    ("STORAGE_TYPE", "storage.type"),
    ("S3_BUCKET", "storage.bucket"),
    ("S3_ENDPOINT", "storage.endpoint"),
    ("S3_REGION", "storage.region"),
    ("S3_ACCESS_KEY_ID", "storage.access_key_id"),
    ("S3_SECRET_ACCESS_KEY", "storage.secret_access_key"),
    ("LINKEDIN_COOKIE", "web.linkedin_cookie"),
    ("WEBHOOK_SECRET", "webhooks.secret"),
    ("WEBHOOK_SECRET_PREVIOUS", "webhooks.previous_secret"),
    ("TEAMS_BOT_APP_ID", "webhooks.teams_app_id"),
    ("WHISPER_BASE_URL", "input.transcription_base_url"),
    ("WHISPER_MODEL", "input.transcription_model"),
    ("WHISPER_API_KEY", "input.transcription_api_key"),
    ("CHROMIUM_PATH", "input.chromium_path"),
];

/// Prefix of the generic form: `MEZZOFY__AUTH__ACCESS_TOKEN_MINUTES=30`.
const ENV_PREFIX: &str = "MEZZOFY__";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not valid YAML: {message}")]
    Yaml { path: String, message: String },
    #[error("configuration key '{key}': {message}")]
    Key { key: String, message: String },
    #[error("environment variable {var} (sets '{key}'): {message}")]
    Env { var: String, key: String, message: String },
}

fn key_err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Key { key: key.to_string(), message: message.into() }
}

/// Where configuration comes from. Tests build one by hand; binaries use [`Sources::from_process`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The YAML file, if any.
    pub file: Option<PathBuf>,
    /// Environment variables (only the relevant ones are read).
    pub env: BTreeMap<String, String>,
}

impl Sources {
    /// `MEZZOFY_CONFIG` names the file (it must exist); otherwise `config/config.yaml` is
    /// read when present.
    pub fn from_process() -> Self {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let file = match env.get("MEZZOFY_CONFIG") {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => {
                let default = PathBuf::from("config/config.yaml");
                default.exists().then_some(default)
            }
        };
        Self { file, env }
    }
}

/// Loads, layers and validates the settings.
pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
    let schema = serde_json::to_value(Settings::default()).map_err(|e| key_err("(defaults)", e.to_string()))?;
    let mut tree = Value::Object(Map::new());
    if let Some(path) = &sources.file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.display().to_string(), message: e.to_string() })?;
        let parsed: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_saphyr::from_str(&text)
                .map_err(|e| ConfigError::Yaml { path: path.display().to_string(), message: e.to_string() })?
        };
        match parsed {
            Value::Object(_) => tree = parsed,
            Value::Null => {}
            _ => {
                return Err(ConfigError::Yaml {
                    path: path.display().to_string(),
                    message: "the top level must be a mapping of sections".into(),
                });
            }
        }
    }
    // Keys the file leaves out keep their defaults, also inside nested sections.
    // (Secrets serialize as "", so empty strings are left to each struct's own default.)
    let mut merged = schema.clone();
    drop_empty_strings(&mut merged);
    merge(&mut merged, tree);
    let mut tree = merged;
    apply_env(&mut tree, &schema, &sources.env)?;
    let settings: Settings = serde_path_to_error::deserialize(tree).map_err(|e| {
        let key = e.path().to_string();
        key_err(if key == "." { "(top level)" } else { &key }, e.inner().to_string())
    })?;
    validate(&settings)?;
    Ok(settings)
}

fn apply_env(tree: &mut Value, schema: &Value, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let mut assignments: Vec<(String, String, &String)> = Vec::new();
    for (var, key) in ENV_ALIASES {
        if let Some(v) = env.get(*var) {
            assignments.push((var.to_string(), key.to_string(), v));
        }
    }
    for (var, v) in env {
        if let Some(rest) = var.strip_prefix(ENV_PREFIX) {
            let key = rest.split("__").map(str::to_ascii_lowercase).collect::<Vec<_>>().join(".");
            assignments.push((var.clone(), key, v));
        }
    }
    for (var, key, raw) in assignments {
        let parts: Vec<&str> = key.split('.').collect();
        let Some(kind) = lookup(schema, &parts) else {
            return Err(ConfigError::Env { var, key, message: "no such configuration key".into() });
        };
        let value =
            typed(kind, raw).map_err(|message| ConfigError::Env { var: var.clone(), key: key.clone(), message })?;
        set_path(tree, &parts, value).map_err(|message| ConfigError::Env { var, key, message })?;
    }
    Ok(())
}

fn drop_empty_strings(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, x| !matches!(x, Value::String(s) if s.is_empty()));
        map.values_mut().for_each(drop_empty_strings);
    }
}

/// Deep-merges `over` into `base`: mappings merge key by key, anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn lookup<'a>(schema: &'a Value, parts: &[&str]) -> Option<&'a Value> {
    parts.iter().try_fold(schema, |node, part| node.as_object()?.get(*part))
}

/// Converts an environment string to the JSON type the default of that key has.
fn typed(kind: &Value, raw: &str) -> Result<Value, String> {
    match kind {
        Value::Bool(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got '{}'", clip(raw))),
        },
        Value::Number(n) => {
            let t = raw.trim();
            if n.is_f64() {
                t.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number)
            } else if let Ok(i) = t.parse::<i64>() {
                Some(Value::from(i))
            } else {
                t.parse::<u64>().ok().map(Value::from)
            }
            .ok_or_else(|| format!("expected a number, got '{}'", clip(raw)))
        }
        Value::Array(items) => {
            let element = items.first().cloned().unwrap_or(Value::String(String::new()));
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| typed(&element, s))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Value::Object(_) => Err("this key is a section; set the keys inside it".into()),
        Value::String(_) | Value::Null => Ok(Value::String(raw.to_string())),
    }
}

fn set_path(tree: &mut Value, parts: &[&str], value: Value) -> Result<(), String> {
    let mut node = tree;
    for (i, part) in parts.iter().enumerate() {
        let map = node
            .as_object_mut()
            .ok_or_else(|| "the configuration file gives a parent of this key a non-mapping value".to_string())?;
        if i + 1 == parts.len() {
            map.insert((*part).to_string(), value);
            return Ok(());
        }
        node = map.entry((*part).to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn validate(s: &Settings) -> Result<(), ConfigError> {
    s.server.bind.parse::<SocketAddr>().map_err(|_| {
        key_err("server.bind", format!("'{}' is not an address like 127.0.0.1:8000", clip(&s.server.bind)))
    })?;
    if !(s.server.public_url.starts_with("http://") || s.server.public_url.starts_with("https://")) {
        return Err(key_err("server.public_url", "must start with http:// or https://"));
    }
    for origin in &s.server.cors_origins {
        let ok = origin == "*"
            || ((origin.starts_with("http://") || origin.starts_with("https://")) && !origin.ends_with('/'));
        if !ok {
            return Err(key_err(
                "server.cors_origins",
                format!("'{}' must be '*' or a scheme://host[:port] origin without a trailing slash", clip(origin)),
            ));
        }
    }
    for proxy in &s.server.trusted_proxies {
        parse_net(proxy).ok_or_else(|| {
            key_err("server.trusted_proxies", format!("'{}' is not an IP address or CIDR range", clip(proxy)))
        })?;
    }
    range("server.json_body_limit_bytes", s.server.json_body_limit_bytes as u64, 1024, 64 * 1024 * 1024)?;
    range("server.shutdown_timeout_secs", s.server.shutdown_timeout_secs, 1, 3600)?;

    let db = s.database.url.expose();
    if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
        return Err(key_err("database.url", "must be a postgres:// or postgresql:// URL"));
    }
    range("database.max_connections", u64::from(s.database.max_connections), 1, 1000)?;
    if s.database.min_connections > s.database.max_connections {
        return Err(key_err("database.min_connections", "must not exceed database.max_connections"));
    }
    range("database.connect_timeout_secs", s.database.connect_timeout_secs, 1, 300)?;
    range("database.acquire_timeout_secs", s.database.acquire_timeout_secs, 1, 300)?;

    let redis = s.redis.url.expose();
    if !(redis.starts_with("redis://") || redis.starts_with("rediss://") || redis.starts_with("unix://")) {
        return Err(key_err("redis.url", "must be a redis://, rediss:// or unix:// URL"));
    }
    if s.redis.key_prefix.is_empty() || s.redis.key_prefix.chars().any(char::is_whitespace) {
        return Err(key_err("redis.key_prefix", "must be non-empty and contain no whitespace"));
    }
    range("redis.response_timeout_ms", s.redis.response_timeout_ms, 100, 120_000)?;
    range("redis.connection_timeout_ms", s.redis.connection_timeout_ms, 100, 120_000)?;

    let i = &s.input;
    if i.transcription
        && !(i.transcription_base_url.starts_with("http://") || i.transcription_base_url.starts_with("https://"))
    {
        return Err(key_err("input.transcription_base_url", "must be an http:// or https:// URL"));
    }
    range("input.max_duration_secs", i.max_duration_secs, 1, 6 * 3600)?;
    range("input.video_inline_max_secs", i.video_inline_max_secs, 0, i.max_duration_secs)?;
    range("input.frame_every_secs", i.frame_every_secs, 1, 600)?;
    range("input.max_frames", i.max_frames as u64, 1, 500)?;
    range("input.max_text_chars", i.max_text_chars as u64, 1000, 10_000_000)?;
    range("input.step_timeout_secs", i.step_timeout_secs, 1, 3600)?;
    range("input.transcription_timeout_secs", i.transcription_timeout_secs, 1, 3600)?;
    let r = &s.realtime;
    range("realtime.max_message_bytes", r.max_message_bytes as u64, 1024, 64 * 1024 * 1024)?;
    range("realtime.ping_secs", r.ping_secs, 1, 600)?;
    range("realtime.idle_timeout_secs", r.idle_timeout_secs, r.ping_secs + 1, 3600)?;
    range("realtime.connection_queue", r.connection_queue as u64, 1, 1_000_000)?;
    range("realtime.camera_fps", u64::from(r.camera_fps), 1, 30)?;
    range("realtime.speech_partial_secs", r.speech_partial_secs, 1, 30)?;
    range("realtime.speech_max_secs", r.speech_max_secs, 1, 3600)?;
    range("realtime.turn_events_ttl_secs", r.turn_events_ttl_secs, 10, 86_400)?;

    let secret = s.auth.jwt_secret.expose();
    if s.environment == Environment::Production {
        if secret.is_empty() {
            return Err(key_err("auth.jwt_secret", "JWT_SECRET must be set in production"));
        }
        if secret == DEV_JWT_SECRET || secret.contains("change-me") || secret.contains("changeme") {
            return Err(key_err(
                "auth.jwt_secret",
                "production refuses a development secret; generate one with `openssl rand -hex 32`",
            ));
        }
    }
    if !secret.is_empty() && secret.len() < domain::auth::MIN_SECRET_BYTES {
        return Err(key_err("auth.jwt_secret", format!("must be at least {} bytes", domain::auth::MIN_SECRET_BYTES)));
    }
    if s.auth.issuer.is_empty() || s.auth.audience.is_empty() {
        return Err(key_err("auth.issuer", "issuer and audience must be non-empty"));
    }
    range("auth.access_token_minutes", s.auth.access_token_minutes as u64, 1, 24 * 60)?;
    if s.auth.access_token_minutes < 1 {
        return Err(key_err("auth.access_token_minutes", "must be at least 1"));
    }
    range("auth.refresh_token_days", s.auth.refresh_token_days as u64, 1, 90)?;
    if s.auth.refresh_token_days < 1 {
        return Err(key_err("auth.refresh_token_days", "must be at least 1"));
    }
    let hp = s.auth.password_hash;
    if hp.memory_kib < domain::password::OWASP_MEMORY_KIB
        || hp.iterations < domain::password::OWASP_ITERATIONS
        || hp.parallelism < 1
    {
        return Err(key_err(
            "auth.password_hash",
            "below OWASP's minimum for argon2id (memory_kib 19456, iterations 2, parallelism 1)",
        ));
    }
    range("auth.password_hash.memory_kib", u64::from(hp.memory_kib), 19_456, 4 * 1024 * 1024)?;
    range("auth.password_hash.parallelism", u64::from(hp.parallelism), 1, 64)?;
    range("auth.user_cache_secs", s.auth.user_cache_secs, 0, 60)?;

    for (name, p) in [("anthropic", &s.llm.anthropic), ("kimi", &s.llm.kimi), ("openai", &s.llm.openai)] {
        if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
            return Err(key_err(&format!("llm.{name}.base_url"), "must start with http:// or https://"));
        }
        if p.model.trim().is_empty() {
            return Err(key_err(&format!("llm.{name}.model"), "must name a model"));
        }
        range(&format!("llm.{name}.timeout_secs"), p.timeout_secs, 1, 3600)?;
        range(&format!("llm.{name}.max_retries"), u64::from(p.max_retries), 0, 10)?;
    }
    range("llm.max_tokens", u64::from(s.llm.max_tokens), 16, 200_000)?;
    range("llm.breaker_failures", u64::from(s.llm.breaker_failures), 1, 1000)?;
    range("llm.breaker_cooldown_secs", s.llm.breaker_cooldown_secs, 1, 3600)?;
    for (model, price) in &s.llm.prices {
        if !(price.input_per_mtok >= 0.0 && price.output_per_mtok >= 0.0) {
            return Err(key_err(&format!("llm.prices.{model}"), "prices must be zero or more"));
        }
    }
    range("agents.max_iterations", u64::from(s.agents.max_iterations), 1, 50)?;
    for (agent, n) in &s.agents.max_iterations_per_agent {
        if !domain::AGENTS.contains(&agent.as_str()) {
            return Err(key_err(
                "agents.max_iterations_per_agent",
                format!("'{}' is not an agent ({})", clip(agent), domain::AGENTS.join(", ")),
            ));
        }
        range(&format!("agents.max_iterations_per_agent.{agent}"), u64::from(*n), 1, 50)?;
    }
    range("delivery.email_per_hour", u64::from(s.delivery.email_per_hour), 1, 10_000)?;
    range("delivery.push_per_hour", u64::from(s.delivery.push_per_hour), 1, 100_000)?;
    let ms = &s.delivery.ms365;
    let parts = [!ms.tenant_id.is_empty(), !ms.client_id.is_empty(), !ms.client_secret.is_empty()];
    if parts.iter().any(|p| *p) && !parts.iter().all(|p| *p) {
        return Err(key_err(
            "delivery.ms365",
            "set all of tenant_id, client_id and client_secret (MS365_TENANT_ID, MS365_CLIENT_ID, MS365_CLIENT_SECRET) or none",
        ));
    }
    if ms.is_configured() && ms.sender_user_id.is_empty() {
        return Err(key_err(
            "delivery.ms365.sender_user_id",
            "Microsoft 365 is configured but no sender mailbox is set (MS_TEAMS_SENDER_USER_ID)",
        ));
    }
    for (key, url) in [
        ("delivery.ms365.graph_base_url", &ms.graph_base_url),
        ("delivery.ms365.login_base_url", &ms.login_base_url),
        ("delivery.push.base_url", &s.delivery.push.base_url),
    ] {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(key_err(key, format!("'{}' is not an http(s) URL", clip(url)))),
        }
    }
    range("delivery.ms365.timeout_secs", ms.timeout_secs, 1, 600)?;
    if s.storage.kind == crate::StorageKind::S3 && s.storage.bucket.is_empty() {
        return Err(key_err("storage.bucket", "storage.type is s3 but no bucket is set (S3_BUCKET)"));
    }
    range("web.timeout_secs", s.web.timeout_secs, 1, 300)?;
    range("scheduler.tick_ms", s.scheduler.tick_ms, 100, 60_000)?;
    for (i, b) in s.scheduler.builtin.iter().enumerate() {
        if b.agent != "system" && !domain::AGENTS.contains(&b.agent.as_str()) {
            return Err(key_err(
                &format!("scheduler.builtin[{i}].agent"),
                format!("'{}' is not an agent or system", clip(&b.agent)),
            ));
        }
        if b.agent != "system" && b.message.trim().is_empty() {
            return Err(key_err(&format!("scheduler.builtin[{i}].message"), "must not be empty"));
        }
    }
    range("webhooks.body_limit_bytes", s.webhooks.body_limit_bytes as u64, 1024, 16 << 20)?;
    for (name, src) in &s.webhooks.sources {
        if name == "mezzofy"
            || name == "teams"
            || name.is_empty()
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(key_err(
                &format!("webhooks.sources.{}", clip(name)),
                "a source name is lower-case letters, digits, - or _ (and not mezzofy or teams)",
            ));
        }
        if src.secrets.iter().all(|s| s.is_empty()) {
            return Err(key_err(&format!("webhooks.sources.{name}.secrets"), "at least one secret is needed"));
        }
    }
    for (i, r) in s.webhooks.routes.iter().enumerate() {
        if !domain::AGENTS.contains(&r.agent.as_str()) {
            return Err(key_err(
                &format!("webhooks.routes[{i}].agent"),
                format!("'{}' is not an agent ({})", clip(&r.agent), domain::AGENTS.join(", ")),
            ));
        }
        if r.message.trim().is_empty() {
            return Err(key_err(&format!("webhooks.routes[{i}].message"), "must not be empty"));
        }
    }
    range("web.max_bytes", s.web.max_bytes, 1024, 1 << 30)?;
    range("web.max_redirects", s.web.max_redirects as u64, 0, 20)?;
    for net in &s.web.allow_networks {
        if net.parse::<ipnet::IpNet>().is_err() {
            return Err(key_err("web.allow_networks", format!("'{}' is not a network like 10.20.0.0/16", clip(net))));
        }
    }
    range("agents.history_messages", s.agents.history_messages, 0, 200)?;
    range("agents.inline_timeout_secs", s.agents.inline_timeout_secs, 1, 600)?;
    range("agents.job_timeout_secs", s.agents.job_timeout_secs, 10, 24 * 3600)?;
    for (role, email) in &s.agents.directory {
        if domain::email::EmailAddress::parse(email).is_err() {
            return Err(key_err(
                &format!("agents.directory.{role}"),
                format!("'{}' is not an email address", clip(email)),
            ));
        }
    }

    range("rate_limits.window_secs", s.rate_limits.window_secs, 1, 86_400)?;
    range("rate_limits.auth", u64::from(s.rate_limits.auth), 1, 1_000_000)?;
    range("rate_limits.chat", u64::from(s.rate_limits.chat), 1, 1_000_000)?;
    range("rate_limits.webhooks", u64::from(s.rate_limits.webhooks), 1, 1_000_000)?;

    for (key, v) in [
        ("paths.data_dir", &s.paths.data_dir),
        ("paths.knowledge_dir", &s.paths.knowledge_dir),
        ("paths.roles_file", &s.paths.roles_file),
    ] {
        if v.is_empty() {
            return Err(key_err(key, "must not be empty"));
        }
    }
    if s.logging.level.trim().is_empty() {
        return Err(key_err("logging.level", "must not be empty (e.g. info)"));
    }
    range("worker.concurrency", s.worker.concurrency as u64, 1, 256)?;
    for (queue, n) in &s.worker.queue_concurrency {
        if !["agent", "media", "webhook", "delivery", "maintenance"].contains(&queue.as_str()) {
            return Err(key_err(
                &format!("worker.queue_concurrency.{}", clip(queue)),
                "unknown queue (agent, media, webhook, delivery, maintenance)",
            ));
        }
        range(&format!("worker.queue_concurrency.{queue}"), *n as u64, 1, 256)?;
    }
    range("worker.heartbeat_secs", s.worker.heartbeat_secs, 1, 300)?;
    range("worker.shutdown_grace_secs", s.worker.shutdown_grace_secs, 1, 3600)?;
    range("worker.sweep_interval_ms", s.worker.sweep_interval_ms, 50, 60_000)?;
    range("worker.sweep_batch", s.worker.sweep_batch, 1, 5_000)?;
    range("worker.repush_after_secs", s.worker.repush_after_secs, 1, 3600)?;
    range("scheduler.heartbeat_secs", s.scheduler.heartbeat_secs, 1, 300)?;
    if s.scheduler.timezone.is_empty() {
        return Err(key_err("scheduler.timezone", "must not be empty"));
    }
    Ok(())
}

fn range(key: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if value < min || value > max {
        Err(key_err(key, format!("{value} is out of range ({min}..={max})")))
    } else {
        Ok(())
    }
}

/// Parses `10.0.0.0/8`, `127.0.0.1` or `::1` into (network, prefix length).
pub(crate) fn parse_net(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip.parse::<IpAddr>().ok()?, len.parse::<u8>().ok()?),
        None => {
            let ip = s.parse::<IpAddr>().ok()?;
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// Reads and validates `roles.yaml`.
pub fn load_roles(path: &Path) -> Result<RoleCatalog, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Read { path: path.display().to_string(), message: e.to_string() })?;
    let value: Value = serde_saphyr::from_str(&text)
        .map_err(|e| ConfigError::Yaml { path: path.display().to_string(), message: e.to_string() })?;
    let catalog: RoleCatalog = serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Key {
        key: format!("{}: {}", path.display(), e.path()),
        message: e.inner().to_string(),
    })?;
    catalog.validate().map_err(|e| ConfigError::Key { key: path.display().to_string(), message: e.to_string() })?;
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogFormat;

    fn env(pairs: &[(&str, &str)]) -> Sources {
        Sources { file: None, env: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn with_file(yaml: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("mz-settings-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.yaml");
        std::fs::write(&path, yaml).unwrap();
        let mut s = env(pairs);
        s.file = Some(path);
        let r = load(&s);
        let _ = std::fs::remove_dir_all(dir);
        r
    }

    fn uuid_like() -> String {
        format!("{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "")
    }

    #[test]
    fn defaults_are_valid() {
        let s = load(&Sources::default()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.server.bind, "127.0.0.1:8000");
    }

    #[test]
    fn example_file_matches_defaults() {
        let path = std::env::current_dir().unwrap().join("../../config/config.example.yaml");
        let s = load(&Sources { file: Some(path), env: BTreeMap::new() }).unwrap();
        assert_eq!(s, Settings::default(), "config.example.yaml and Settings::default() disagree");
    }

    #[test]
    fn roles_file_is_valid() {
        let path = std::env::current_dir().unwrap().join("../../config/roles.yaml");
        let catalog = load_roles(&path).unwrap();
        assert_eq!(catalog.roles.len(), 10);
    }

    #[test]
    fn seed_environment_names_override() {
        let s = load(&env(&[
            ("DATABASE_URL", "postgres://u@db:5432/x"),
            ("REDIS_URL", "redis://cache:6379/2"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-prod"),
            ("API_BIND", "0.0.0.0:9000"),
            ("MEZZOFY_DATA_DIR", "/var/lib/mezzofy"),
            ("MEZZOFY_ENV", "production"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example"),
        ]))
        .unwrap();
        assert_eq!(s.database.url.expose(), "postgres://u@db:5432/x");
        assert_eq!(s.redis.url.expose(), "redis://cache:6379/2");
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.paths.data_dir, "/var/lib/mezzofy");
        assert_eq!(s.environment, Environment::Production);
        assert_eq!(s.server.cors_origins, vec!["https://a.example", "https://b.example"]);
    }

    #[test]
    fn integration_environment_names_and_their_checks() {
        let s = load(&env(&[
            ("MS365_TENANT_ID", "contoso-tenant"),
            ("MS365_CLIENT_ID", "app-id"),
            ("MS365_CLIENT_SECRET", "very-secret"),
            ("MS_TEAMS_TEAM_ID", "team-1"),
            ("MS_TEAMS_SENDER_USER_ID", "assistant@mezzofy.com"),
            ("MS_GRAPH_BASE_URL", "http://127.0.0.1:9/v1.0"),
            ("FCM_SERVICE_ACCOUNT_FILE", "/etc/mezzofy/fcm.json"),
            ("STORAGE_TYPE", "s3"),
            ("S3_BUCKET", "mezzofy-artifacts"),
            ("LINKEDIN_COOKIE", "li_at=abc"),
        ]))
        .unwrap();
        assert!(s.delivery.ms365.is_configured());
        assert_eq!(s.delivery.ms365.graph_base_url, "http://127.0.0.1:9/v1.0");
        assert_eq!(s.delivery.ms365.login_base_url, "https://login.microsoftonline.com");
        assert_eq!(s.delivery.ms365.sender_user_id, "assistant@mezzofy.com");
        assert!(s.delivery.push.is_configured());
        assert_eq!(s.storage.kind, crate::StorageKind::S3);
        assert_eq!(s.web.linkedin_cookie.expose(), "li_at=abc");
        assert!(!format!("{s:?}").contains("very-secret"));

        let half = load(&env(&[("MS365_TENANT_ID", "t"), ("MS365_CLIENT_ID", "c")])).unwrap_err().to_string();
        assert!(half.contains("delivery.ms365") && half.contains("MS365_CLIENT_SECRET"), "{half}");
        let no_bucket = load(&env(&[("STORAGE_TYPE", "s3")])).unwrap_err().to_string();
        assert!(no_bucket.contains("S3_BUCKET"), "{no_bucket}");
        let bad_net = load(&env(&[("MEZZOFY__WEB__ALLOW_NETWORKS", "intranet")])).unwrap_err().to_string();
        assert!(bad_net.contains("web.allow_networks"), "{bad_net}");
        let bad_url = load(&env(&[("FCM_BASE_URL", "fcm.googleapis.com")])).unwrap_err().to_string();
        assert!(bad_url.contains("delivery.push.base_url"), "{bad_url}");
    }

    #[test]
    fn generic_environment_names_are_typed() {
        let s = load(&env(&[
            ("MEZZOFY__AUTH__ACCESS_TOKEN_MINUTES", "15"),
            ("MEZZOFY__METRICS__ENABLED", "false"),
            ("MEZZOFY__LOGGING__FORMAT", "json"),
            ("MEZZOFY__AUTH__PASSWORD_HASH__ITERATIONS", "3"),
        ]))
        .unwrap();
        assert_eq!(s.auth.access_token_minutes, 15);
        assert!(!s.metrics.enabled);
        assert_eq!(s.logging.format, LogFormat::Json);
        assert_eq!(s.auth.password_hash.iterations, 3);
    }

    #[test]
    fn env_errors_name_variable_and_key() {
        let e = load(&env(&[("MEZZOFY__AUTH__ACCESS_TOKEN_MINUTES", "soon")])).unwrap_err().to_string();
        assert!(e.contains("MEZZOFY__AUTH__ACCESS_TOKEN_MINUTES") && e.contains("auth.access_token_minutes"), "{e}");
        let e = load(&env(&[("MEZZOFY__AUTH__NOPE", "1")])).unwrap_err().to_string();
        assert!(e.contains("auth.nope") && e.contains("no such configuration key"), "{e}");
        let e = load(&env(&[("MEZZOFY_ENV", "staging")])).unwrap_err().to_string();
        assert!(e.contains("environment"), "{e}");
    }

    #[test]
    fn unknown_file_keys_are_named() {
        let e = with_file("auth:\n  acces_token_minutes: 5\n", &[]).unwrap_err().to_string();
        assert!(e.contains("auth") && e.contains("acces_token_minutes"), "{e}");
        let e = with_file("nonsense: 1\n", &[]).unwrap_err().to_string();
        assert!(e.contains("nonsense"), "{e}");
    }

    #[test]
    fn invalid_file_values_are_named() {
        let e = with_file("rate_limits:\n  auth: many\n", &[]).unwrap_err().to_string();
        assert!(e.contains("rate_limits.auth"), "{e}");
        let e = with_file("server:\n  bind: localhost\n", &[]).unwrap_err().to_string();
        assert!(e.contains("server.bind"), "{e}");
        let e = with_file("auth:\n  password_hash: {memory_kib: 1024, iterations: 1, parallelism: 1}\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("auth.password_hash"), "{e}");
        let e = with_file("server: [1, 2]\n", &[]).unwrap_err().to_string();
        assert!(e.contains("server"), "{e}");
        let e = with_file("a: [unclosed\n", &[]).unwrap_err().to_string();
        assert!(e.contains("not valid YAML"), "{e}");
    }

    #[test]
    fn per_queue_concurrency() {
        let s = with_file("worker:\n  queue_concurrency: {media: 1}\n", &[]).unwrap();
        assert_eq!(s.worker.concurrency_of("media"), 1);
        assert_eq!(s.worker.concurrency_of("agent"), 4);
        let e = with_file("worker:\n  queue_concurrency: {video: 1}\n", &[]).unwrap_err().to_string();
        assert!(e.contains("worker.queue_concurrency.video"), "{e}");
        let e = with_file("worker:\n  queue_concurrency: {media: 0}\n", &[]).unwrap_err().to_string();
        assert!(e.contains("worker.queue_concurrency.media"), "{e}");
    }

    #[test]
    fn env_beats_file() {
        let s = with_file("server:\n  bind: 127.0.0.1:7000\n", &[("API_BIND", "127.0.0.1:7001")]).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:7001");
    }

    #[test]
    fn llm_providers_come_from_the_seed_s_environment_names() {
        let s = load(&env(&[])).unwrap();
        assert!(!s.llm.any_enabled(), "no key configured means offline");
        let s = load(&env(&[
            ("ANTHROPIC_API_KEY", "sk-ant-test"),
            ("KIMI_API_KEY", "sk-kimi"),
            ("KIMI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("OPENAI_MODEL", "llama3.1"),
        ]))
        .unwrap();
        assert!(s.llm.anthropic.is_enabled() && s.llm.kimi.is_enabled() && !s.llm.openai.is_enabled());
        assert_eq!(s.llm.anthropic.api_key.expose(), "sk-ant-test");
        assert_eq!(s.llm.anthropic.base_url, "https://api.anthropic.com");
        assert_eq!(s.llm.anthropic.model, "claude-sonnet-4-6");
        assert_eq!(s.llm.kimi.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(s.llm.kimi.model, "moonshot-v1-128k");
        assert_eq!(s.llm.openai.model, "llama3.1");
        // Keys are never printed.
        assert!(!format!("{s:?}").contains("sk-ant-test"));
    }

    #[test]
    fn a_partial_provider_section_keeps_that_provider_s_defaults() {
        let s = with_file(
            "llm:\n  kimi:\n    api_key: k\n  openai:\n    enabled: true\n    base_url: http://127.0.0.1:11434/v1\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.llm.kimi.base_url, "https://api.moonshot.cn/v1");
        assert_eq!(s.llm.kimi.timeout_secs, 60);
        assert!(s.llm.openai.is_enabled() && s.llm.openai.api_key.is_empty());
        assert_eq!(s.llm.openai.model, "gpt-4o-mini");
        assert!(s.llm.prices.contains_key("claude-sonnet-4-6"));
        let e = with_file("llm:\n  kimi:\n    base_url: moonshot.cn\n", &[]).unwrap_err().to_string();
        assert!(e.contains("llm.kimi.base_url"), "{e}");
        let e = with_file("agents:\n  max_iterations_per_agent: {legal: 3}\n", &[]).unwrap_err().to_string();
        assert!(e.contains("agents.max_iterations_per_agent") && e.contains("legal"), "{e}");
        let e = with_file("agents:\n  directory: {ceo: not-an-email}\n", &[]).unwrap_err().to_string();
        assert!(e.contains("agents.directory.ceo"), "{e}");
    }

    #[test]
    fn production_refuses_development_secrets() {
        let e = load(&env(&[("MEZZOFY_ENV", "production")])).unwrap_err().to_string();
        assert!(e.contains("auth.jwt_secret"), "{e}");
        let e = load(&env(&[("MEZZOFY_ENV", "production"), ("JWT_SECRET", DEV_JWT_SECRET)])).unwrap_err().to_string();
        assert!(e.contains("development secret"), "{e}");
        let e = load(&env(&[("JWT_SECRET", "short")])).unwrap_err().to_string();
        assert!(e.contains("at least 32 bytes"), "{e}");
        // Error text never contains the secret itself.
        let e = load(&env(&[("MEZZOFY_ENV", "production"), ("JWT_SECRET", "change-me-change-me-change-me-change-me")]))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("change-me-change-me"), "{e}");
    }

    #[test]
    fn trusted_proxies_and_origins_are_checked() {
        assert!(load(&env(&[("MEZZOFY__SERVER__TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8,::1")])).is_ok());
        let e = load(&env(&[("MEZZOFY__SERVER__TRUSTED_PROXIES", "10.0.0.0/40")])).unwrap_err().to_string();
        assert!(e.contains("server.trusted_proxies"), "{e}");
        let e = load(&env(&[("CORS_ALLOWED_ORIGINS", "https://a.example/")])).unwrap_err().to_string();
        assert!(e.contains("server.cors_origins"), "{e}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = load(&env(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef-xyz")])).unwrap();
        let dump = format!("{s:?}");
        assert!(!dump.contains("0123456789abcdef0123456789abcdef-xyz"));
        assert!(!dump.contains("postgres://"));
    }
}
