//! One per api process: a single pub/sub connection fanning events out to local connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::{Event, RealtimeError, Revocation, revoke_channel, user_channel_prefix};

/// What a local connection receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Event(Event),
    /// Close the socket now (the reason is for logs / the close frame).
    Revoked(String),
}

#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Events queued per connection before new ones are dropped for that connection.
    pub per_connection_queue: usize,
    /// How often the idle pub/sub connection is PINGed (a dead peer is noticed within
    /// `ping_interval + ping_timeout`).
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Time allowed to connect and subscribe.
    pub connect_timeout: Duration,
    /// Reconnect backoff: doubles from `min_backoff` up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for HubOptions {
    fn default() -> Self {
        Self {
            per_connection_queue: 256,
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Options of one registration ([`Hub::register_with`]).
#[derive(Debug, Clone, Default)]
pub struct Registration {
    /// Revoking this session key ([`Revocation::session`]) closes the connection.
    pub session: Option<String>,
    /// Queue size for this connection instead of [`HubOptions::per_connection_queue`].
    pub queue: Option<usize>,
}

/// The local end of the realtime fan-out. Cheap to clone; the background task stops when the
/// last clone is dropped (the subscriptions then end).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    registry: Arc<Registry>,
    connected: watch::Receiver<bool>,
    task: JoinHandle<()>,
    prefix: Arc<str>,
}

impl Drop for HubInner {
    fn drop(&mut self) {
        self.task.abort();
        self.registry.clear();
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("prefix", &self.inner.prefix)
            .field("connections", &self.local_connections())
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl Hub {
    /// Spawns the hub's task (call inside a Tokio runtime). It opens its OWN pub/sub connection
    /// (a connection in subscribed mode can do nothing else), subscribes, and reconnects and
    /// re-subscribes with backoff whenever Redis goes away. Returns at once: use
    /// [`Hub::wait_connected`] to wait for the first subscription (events published before it
    /// are not received). Fails only on an invalid URL.
    pub fn start(redis_url: &str, prefix: &str, options: HubOptions) -> Result<Self, RealtimeError> {
        let client = redis::Client::open(redis_url)?;
        let registry = Arc::new(Registry::new(options.per_connection_queue.max(1)));
        let (tx, rx) = watch::channel(false);
        let user_prefix = user_channel_prefix(prefix);
        let worker = Worker {
            client,
            target: kv::redact(redis_url),
            pattern: format!("{}*", kv::escape_glob(&user_prefix)),
            user_prefix,
            revoke_channel: revoke_channel(prefix),
            registry: Arc::clone(&registry),
            connected: tx,
            options,
        };
        let task = tokio::spawn(worker.run());
        Ok(Self { inner: Arc::new(HubInner { registry, connected: rx, task, prefix: Arc::from(prefix) }) })
    }

    /// Registers a local connection of `user_id`. Drop the [`Subscription`] to unregister.
    pub fn register(&self, user_id: Uuid) -> Subscription {
        self.inner.registry.register(user_id, None, None)
    }

    /// Registers a local connection with options: a session key (token family id, jti…) so a
    /// [`Revocation::session`] closes it, and/or its own queue size.
    pub fn register_with(&self, user_id: Uuid, registration: Registration) -> Subscription {
        self.inner.registry.register(user_id, registration.session.map(Arc::from), registration.queue)
    }

    /// Delivers to this process's connections of `user_id` without Redis. Returns how many
    /// queues accepted it.
    pub fn local_send(&self, user_id: Uuid, event: &Event) -> usize {
        self.inner.registry.deliver(user_id, event)
    }

    /// Applies a revocation to this process's connections without Redis. Returns how many
    /// subscriptions were revoked.
    pub fn local_revoke(&self, revocation: &Revocation) -> usize {
        self.inner.registry.revoke(revocation)
    }

    /// Live subscriptions in this process.
    pub fn local_connections(&self) -> usize {
        self.inner.registry.count()
    }

    /// Events dropped (full queues) over all subscriptions since start.
    pub fn dropped_total(&self) -> u64 {
        self.inner.registry.dropped_total.load(Ordering::Relaxed)
    }

    /// True while subscribed (for health checks).
    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// Waits until the hub is subscribed; false on timeout.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.connected.clone();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c)).await.is_ok_and(|r| r.is_ok())
    }
}

/// A local connection's handle: receive with [`Subscription::recv`]; dropping it unregisters.
pub struct Subscription {
    id: u64,
    user_id: Uuid,
    rx: mpsc::Receiver<Delivery>,
    state: Arc<SubState>,
    registry: Arc<Registry>,
    finished: bool,
    revoked: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Unique within the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// Events dropped for this connection because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::Relaxed)
    }

    /// The next delivery. A revocation jumps the queue (it is returned before any queued event,
    /// even when the queue is full); after it, and when the hub is gone, returns `None`.
    pub async fn recv(&mut self) -> Option<Delivery> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(d) = self.take_revoked() {
                return Some(d);
            }
            tokio::select! {
                biased;
                () = self.state.notify.notified() => {}
                msg = self.rx.recv() => match msg {
                    Some(d) => return Some(d),
                    None => {
                        let revoked = self.take_revoked();
                        self.finished = true;
                        return revoked;
                    }
                },
            }
        }
    }

    /// The next delivery if one is ready.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        if self.finished {
            return None;
        }
        if let Some(d) = self.take_revoked() {
            return Some(d);
        }
        self.rx.try_recv().ok()
    }

    /// True once revoked (whether or not [`Subscription::recv`] has returned it yet).
    pub fn is_revoked(&self) -> bool {
        self.revoked || self.state.revoked.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    fn take_revoked(&mut self) -> Option<Delivery> {
        let reason = self.state.revoked.lock().unwrap_or_else(PoisonError::into_inner).take()?;
        self.finished = true;
        self.revoked = true;
        self.rx.close();
        Some(Delivery::Revoked(reason))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.unregister(self.user_id, self.id);
    }
}

#[derive(Default)]
struct SubState {
    dropped: AtomicU64,
    revoked: Mutex<Option<String>>,
    notify: Notify,
}

struct Entry {
    id: u64,
    session: Option<Arc<str>>,
    tx: mpsc::Sender<Delivery>,
    state: Arc<SubState>,
}

struct Registry {
    map: RwLock<HashMap<Uuid, Vec<Entry>>>,
    next_id: AtomicU64,
    queue: usize,
    dropped_total: AtomicU64,
}

impl Registry {
    fn new(queue: usize) -> Self {
        Self { map: RwLock::default(), next_id: AtomicU64::new(1), queue, dropped_total: AtomicU64::new(0) }
    }

    fn register(self: &Arc<Self>, user_id: Uuid, session: Option<Arc<str>>, queue: Option<usize>) -> Subscription {
        let (tx, rx) = mpsc::channel(queue.unwrap_or(self.queue).max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(SubState::default());
        let entry = Entry { id, session, tx, state: Arc::clone(&state) };
        self.map.write().unwrap_or_else(PoisonError::into_inner).entry(user_id).or_default().push(entry);
        Subscription { id, user_id, rx, state, registry: Arc::clone(self), finished: false, revoked: false }
    }

    fn unregister(&self, user_id: Uuid, id: u64) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entries) = map.get_mut(&user_id) {
            entries.retain(|e| e.id != id);
            if entries.is_empty() {
                map.remove(&user_id);
            }
        }
    }

    fn clear(&self) {
        self.map.write().unwrap_or_else(PoisonError::into_inner).clear();
    }

    fn count(&self) -> usize {
        self.map.read().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }

    /// Never waits: a full queue loses this event (for that connection only).
    fn deliver(&self, user_id: Uuid, event: &Event) -> usize {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let Some(entries) = map.get(&user_id) else { return 0 };
        let mut delivered = 0;
        for entry in entries {
            match entry.tx.try_send(Delivery::Event(event.clone())) {
                Ok(()) => delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    entry.state.dropped.fetch_add(1, Ordering::Relaxed);
                    self.dropped_total.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        delivered
    }

    fn revoke(&self, revocation: &Revocation) -> usize {
        let matches = |user: &Uuid, entry: &Entry| {
            let user_ok = revocation.user_id.is_none_or(|u| u == *user);
            let session_ok = match &revocation.session {
                None => true,
                Some(s) => entry.session.as_deref() == Some(s.as_str()),
            };
            (revocation.user_id.is_some() || revocation.session.is_some()) && user_ok && session_ok
        };
        let mut revoked = Vec::new();
        {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            map.retain(|user, entries| {
                entries.retain(|entry| {
                    if matches(user, entry) {
                        // The reason is set before the entry (and its sender) is dropped: a
                        // subscriber that sees its channel close must find it.
                        *entry.state.revoked.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(revocation.reason.clone());
                        revoked.push(Arc::clone(&entry.state));
                        false
                    } else {
                        true
                    }
                });
                !entries.is_empty()
            });
        }
        for state in &revoked {
            state.notify.notify_one();
        }
        revoked.len()
    }
}

struct Worker {
    client: redis::Client,
    target: String,
    pattern: String,
    user_prefix: String,
    revoke_channel: String,
    registry: Arc<Registry>,
    connected: watch::Sender<bool>,
    options: HubOptions,
}

impl Worker {
    async fn run(self) {
        let mut backoff = self.options.min_backoff;
        let mut ever_connected = false;
        loop {
            match self.subscribe().await {
                Ok(pubsub) => {
                    if ever_connected {
                        tracing::info!(redis = %self.target, "realtime hub re-subscribed");
                    } else {
                        tracing::debug!(redis = %self.target, "realtime hub subscribed");
                    }
                    ever_connected = true;
                    backoff = self.options.min_backoff;
                    self.connected.send_replace(true);
                    let why = self.pump(pubsub).await;
                    self.connected.send_replace(false);
                    tracing::warn!(redis = %self.target, reason = %why, "realtime hub lost its Redis subscription; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(redis = %self.target, error = %e, retry_in_ms = backoff.as_millis() as u64, "realtime hub cannot subscribe");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.options.max_backoff);
        }
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, RealtimeError> {
        let attempt = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.psubscribe(&self.pattern).await?;
            pubsub.subscribe(&self.revoke_channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(self.options.connect_timeout, attempt).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(RealtimeError::Timeout),
        }
    }

    /// Forwards messages until the connection fails; returns why.
    async fn pump(&self, pubsub: redis::aio::PubSub) -> String {
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(self.options.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => self.dispatch(&msg),
                    None => return "connection closed".into(),
                },
                _ = ping.tick() => {
                    match tokio::time::timeout(self.options.ping_timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return format!("ping failed: {e}"),
                        Err(_) => return "ping timed out".into(),
                    }
                }
            }
        }
    }

    fn dispatch(&self, msg: &redis::Msg) {
        let channel = msg.get_channel_name();
        if channel == self.revoke_channel {
            match serde_json::from_slice::<Revocation>(msg.get_payload_bytes()) {
                Ok(rev) => {
                    let n = self.registry.revoke(&rev);
                    tracing::debug!(user = ?rev.user_id, revoked = n, "revocation applied");
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed revocation"),
            }
            return;
        }
        let Some(user) = channel.strip_prefix(self.user_prefix.as_str()).and_then(|s| Uuid::parse_str(s).ok()) else {
            tracing::debug!(channel, "ignoring a message on an unexpected channel");
            return;
        };
        match Event::from_slice(msg.get_payload_bytes()) {
            Ok(event) => {
                self.registry.deliver(user, &event);
            }
            Err(e) => tracing::warn!(channel, error = %e, "ignoring a malformed event"),
        }
    }
}
