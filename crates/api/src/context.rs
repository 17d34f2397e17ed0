//! The api process's one context: settings, database, Redis, the role catalog and the auth
//! machinery. Built once at startup and shared by every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::RoleCatalog;
use domain::auth::TokenCodec;
use domain::password::PasswordHasher;
use kv::Redis;
use settings::Settings;
use store::DatabaseConnection;
use store::users::User;
use tokio::sync::Semaphore;
use uuid::Uuid;

pub struct AppContext {
    pub settings: Arc<Settings>,
    pub roles: Arc<RoleCatalog>,
    pub db: DatabaseConnection,
    pub redis: Redis,
    /// Pushes job ids to Redis after commit.
    pub transport: jobs::Transport,
    pub tokens: TokenCodec,
    pub hasher: Arc<PasswordHasher>,
    /// Bounds the password hashes computed at once (each is ~20 MiB and tens of ms of CPU).
    pub hash_permits: Arc<Semaphore>,
    pub users: UserCache,
    pub trusted_proxies: Vec<(IpAddr, u8)>,
    pub started_at: Instant,
    /// Router, agents, tools, knowledge and LLM providers.
    pub assistant: Arc<agents::Assistant>,
    /// Verifies Bot Framework tokens (`POST /webhooks/teams`) when the bot is configured.
    pub teams_bot: Option<Arc<webhooks::BotFrameworkVerifier>>,
    /// Media input: uploads and URLs become text (`/chat/send-media`, `/chat/send-url`,
    /// live speech and camera on the WebSocket).
    pub intake: Arc<agents::intake::Intake>,
    /// This process's live connections, fed from every process through Redis pub/sub.
    pub hub: realtime::Hub,
    /// Publishes events and revocations to every api process.
    pub publisher: realtime::Publisher,
    /// Streamed turns' events, kept briefly for `Last-Event-ID` resume.
    pub turn_log: realtime::TurnLog,
    /// Group commit of webhook deliveries (see `webhooks::start_intake`).
    pub webhook_intake: tokio::sync::mpsc::Sender<crate::webhooks::Pending>,
}

impl AppContext {
    pub fn rate_window(&self) -> Duration {
        Duration::from_secs(self.settings.rate_limits.window_secs)
    }
}

/// A short-lived per-process cache of user rows, so authenticating a request does not
/// always cost a query. Entries live `ttl`; changes made by this process evict at once,
/// changes made elsewhere (another api process, the CLI) show within `ttl`. Revocation
/// does not depend on it: token families are checked on every request.
pub struct UserCache {
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, (Instant, User)>>,
}

impl UserCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, id: Uuid) -> Option<User> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.entries.lock().ok()?;
        map.get(&id).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, u)| u.clone())
    }

    pub fn put(&self, user: User) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 50_000 {
                let ttl = self.ttl;
                map.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            map.insert(user.id, (Instant::now(), user));
        }
    }

    pub fn evict(&self, id: Uuid) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(&id);
        }
    }
}
