//! The events of one chat turn, kept briefly in a Redis Stream so SSE clients can resume.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Value};
use uuid::Uuid;

use crate::{Event, RealtimeError, turn_key};

/// The field holding an event's JSON.
const EVENT_FIELD: &str = "e";
/// The field of the terminal marker written by [`TurnLog::finish`].
const END_FIELD: &str = "end";
/// Extra time allowed over a blocking read before giving up on the server.
const BLOCK_SLACK: Duration = Duration::from_secs(5);

/// A stream entry id, `<milliseconds>-<sequence>`: the SSE `id:` of an event and what comes
/// back in `Last-Event-ID`. Ordered like the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub ms: u64,
    pub seq: u64,
}

impl EventId {
    /// Parses `<ms>-<seq>` (surrounding whitespace allowed). Anything else is
    /// [`RealtimeError::InvalidEventId`] (map to 400).
    pub fn parse(s: &str) -> Result<Self, RealtimeError> {
        let invalid = || RealtimeError::InvalidEventId(s.chars().take(64).collect());
        let t = s.trim();
        let (ms, seq) = t.split_once('-').ok_or_else(invalid)?;
        let digits = |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(invalid());
        }
        Ok(Self { ms: ms.parse().map_err(|_| invalid())?, seq: seq.parse().map_err(|_| invalid())? })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for EventId {
    type Err = RealtimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[derive(Debug, Clone)]
pub struct TurnLogOptions {
    /// How long a log lives after its last append (refreshed by each append).
    pub ttl: Duration,
    /// `XADD MAXLEN ~ max_len`: approximate, Redis may keep up to ~100 more.
    pub max_len: usize,
    /// How long each blocking read of [`TurnLog::follow`] waits before checking the log still
    /// exists.
    pub follow_block: Duration,
    /// Entries per read.
    pub read_count: usize,
    /// Time allowed to open a dedicated reader connection.
    pub connect_timeout: Duration,
}

impl Default for TurnLogOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            max_len: 1000,
            follow_block: Duration::from_secs(5),
            read_count: 200,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What one read returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The events after the requested id, in order (never the terminal marker).
    pub events: Vec<(EventId, Event)>,
    /// The terminal marker was read: nothing follows these events.
    pub finished: bool,
}

/// Writes and reads turn logs. Cheap to clone. Writes go through the shared (multiplexed)
/// `ConnectionManager`; blocking reads each use a dedicated connection so they never hold up
/// other commands.
#[derive(Clone)]
pub struct TurnLog {
    conn: ConnectionManager,
    client: redis::Client,
    prefix: Arc<str>,
    options: Arc<TurnLogOptions>,
}

impl fmt::Debug for TurnLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnLog").field("prefix", &self.prefix).field("options", &self.options).finish_non_exhaustive()
    }
}

impl TurnLog {
    /// `redis` is the project's handle (writes, non-blocking reads, key prefix); `redis_url`
    /// (the same server) is used to open dedicated connections for blocking reads.
    pub fn new(redis: &kv::Redis, redis_url: &str, options: TurnLogOptions) -> Result<Self, RealtimeError> {
        Self::from_parts(redis.conn(), redis_url, redis.prefix(), options)
    }

    pub fn from_parts(
        conn: ConnectionManager,
        redis_url: &str,
        prefix: &str,
        options: TurnLogOptions,
    ) -> Result<Self, RealtimeError> {
        let client = redis::Client::open(redis_url)?;
        Ok(Self { conn, client, prefix: Arc::from(prefix), options: Arc::new(options) })
    }

    pub fn key(&self, turn_id: Uuid) -> String {
        turn_key(&self.prefix, turn_id)
    }

    /// Appends an event (creating the log) and refreshes the log's TTL; returns its id.
    pub async fn append(&self, turn_id: Uuid, event: &Event) -> Result<EventId, RealtimeError> {
        self.add(turn_id, EVENT_FIELD, &event.to_json()).await
    }

    /// Appends the terminal marker: followers end after it.
    pub async fn finish(&self, turn_id: Uuid) -> Result<EventId, RealtimeError> {
        self.add(turn_id, END_FIELD, "1").await
    }

    async fn add(&self, turn_id: Uuid, field: &str, value: &str) -> Result<EventId, RealtimeError> {
        let key = self.key(turn_id);
        let ttl_ms = u64::try_from(self.options.ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let (id,): (String,) = redis::pipe()
            .atomic()
            .cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.options.max_len.max(1))
            .arg("*")
            .arg(field)
            .arg(value)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        EventId::parse(&id).map_err(|_| RealtimeError::Malformed(format!("XADD returned {id:?}")))
    }

    /// True when the log exists (started and not expired).
    pub async fn exists(&self, turn_id: Uuid) -> Result<bool, RealtimeError> {
        exists(&mut self.conn.clone(), &self.key(turn_id)).await
    }

    /// True when the log's last entry is the terminal marker (false when it does not exist).
    pub async fn is_finished(&self, turn_id: Uuid) -> Result<bool, RealtimeError> {
        let reply: Value = redis::cmd("XREVRANGE")
            .arg(self.key(turn_id))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(parse_entries(reply)?.first().is_some_and(|e| e.item.is_none()))
    }

    /// The events after `after` (from the start when `None`), waiting up to `block` for some
    /// when there are none yet (`Duration::ZERO`: do not wait). A blocking read opens a
    /// dedicated connection for the call; loops should use [`TurnLog::reader`] or
    /// [`TurnLog::follow`]. [`RealtimeError::TurnNotFound`] when the log does not exist.
    pub async fn read_after(
        &self,
        turn_id: Uuid,
        after: Option<EventId>,
        block: Duration,
    ) -> Result<Vec<(EventId, Event)>, RealtimeError> {
        Ok(self.read_batch(turn_id, after, block).await?.events)
    }

    /// Like [`TurnLog::read_after`], also telling whether the terminal marker was reached.
    pub async fn read_batch(
        &self,
        turn_id: Uuid,
        after: Option<EventId>,
        block: Duration,
    ) -> Result<Batch, RealtimeError> {
        if block.is_zero() {
            read_batch(&mut self.conn.clone(), &self.key(turn_id), after, block, self.options.read_count).await
        } else {
            self.reader().await?.read_batch(turn_id, after, block).await
        }
    }

    /// Checks a resume point: the log exists, and `after` (when given) is still in it — when it
    /// was trimmed away, resuming would skip events ([`RealtimeError::ResumeGap`]).
    pub async fn check_resume(&self, turn_id: Uuid, after: Option<EventId>) -> Result<(), RealtimeError> {
        check_resume(&mut self.conn.clone(), &self.key(turn_id), after).await
    }

    /// A reader on its own connection, for repeated blocking reads.
    pub async fn reader(&self) -> Result<TurnReader, RealtimeError> {
        Ok(TurnReader {
            conn: self.dedicated().await?,
            prefix: Arc::clone(&self.prefix),
            options: Arc::clone(&self.options),
        })
    }

    async fn dedicated(&self) -> Result<MultiplexedConnection, RealtimeError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            // Blocking reads outlast any fixed response timeout; each call is bounded instead.
            .set_response_timeout(None);
        match tokio::time::timeout(
            self.options.connect_timeout + BLOCK_SLACK,
            self.client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(RealtimeError::Timeout),
        }
    }

    /// Every event after `after` (from the start when `None`), then the new ones as they are
    /// appended, ending after the terminal marker: what the SSE endpoint streams (the id is
    /// the SSE `id:`). Uses one dedicated connection for its lifetime.
    ///
    /// The first item is an error when the log does not exist ([`RealtimeError::TurnNotFound`]:
    /// append the first event before anyone follows) or `after` is no longer in it
    /// ([`RealtimeError::ResumeGap`]). Later, [`RealtimeError::TurnNotFound`] if the log
    /// expires while followed (the writer died), or a Redis error. The stream ends after any
    /// error; the client reconnects with its `Last-Event-ID`.
    pub fn follow(
        &self,
        turn_id: Uuid,
        after: Option<EventId>,
    ) -> impl Stream<Item = Result<(EventId, Event), RealtimeError>> + Send + use<> {
        let state = Follow {
            log: self.clone(),
            key: self.key(turn_id),
            after,
            conn: None,
            buf: VecDeque::new(),
            done: false,
            check_exists: false,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buf.pop_front() {
                    return Some((Ok(item), st));
                }
                if st.done {
                    return None;
                }
                if let Err(e) = st.step().await {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        })
    }
}

struct Follow {
    log: TurnLog,
    key: String,
    after: Option<EventId>,
    conn: Option<MultiplexedConnection>,
    buf: VecDeque<(EventId, Event)>,
    done: bool,
    check_exists: bool,
}

impl Follow {
    async fn step(&mut self) -> Result<(), RealtimeError> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let mut c = self.log.dedicated().await?;
                check_resume(&mut c, &self.key, self.after).await?;
                self.conn.insert(c)
            }
        };
        if self.check_exists {
            if !exists(conn, &self.key).await? {
                return Err(RealtimeError::TurnNotFound);
            }
            self.check_exists = false;
        }
        let opts = &self.log.options;
        let entries = read_raw(conn, &self.key, self.after, opts.follow_block, opts.read_count).await?;
        self.check_exists = entries.is_empty();
        for entry in entries {
            self.after = Some(entry.id);
            match entry.item {
                Some(event) => self.buf.push_back((entry.id, event)),
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Reads turn logs on a dedicated connection (blocking reads never delay anyone else).
pub struct TurnReader {
    conn: MultiplexedConnection,
    prefix: Arc<str>,
    options: Arc<TurnLogOptions>,
}

impl fmt::Debug for TurnReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnReader").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl TurnReader {
    /// See [`TurnLog::read_after`].
    pub async fn read_after(
        &mut self,
        turn_id: Uuid,
        after: Option<EventId>,
        block: Duration,
    ) -> Result<Vec<(EventId, Event)>, RealtimeError> {
        Ok(self.read_batch(turn_id, after, block).await?.events)
    }

    /// See [`TurnLog::read_batch`].
    pub async fn read_batch(
        &mut self,
        turn_id: Uuid,
        after: Option<EventId>,
        block: Duration,
    ) -> Result<Batch, RealtimeError> {
        let key = turn_key(&self.prefix, turn_id);
        read_batch(&mut self.conn, &key, after, block, self.options.read_count).await
    }
}

async fn exists<C: ConnectionLike + Send>(conn: &mut C, key: &str) -> Result<bool, RealtimeError> {
    let n: i64 = redis::cmd("EXISTS").arg(key).query_async(conn).await?;
    Ok(n > 0)
}

async fn check_resume<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &str,
    after: Option<EventId>,
) -> Result<(), RealtimeError> {
    let Some(after) = after else {
        return if exists(conn, key).await? { Ok(()) } else { Err(RealtimeError::TurnNotFound) };
    };
    let id = after.to_string();
    let (n, found): (i64, Value) = redis::pipe()
        .cmd("EXISTS")
        .arg(key)
        .cmd("XRANGE")
        .arg(key)
        .arg(&id)
        .arg(&id)
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    if n == 0 {
        Err(RealtimeError::TurnNotFound)
    } else if parse_entries(found)?.is_empty() {
        Err(RealtimeError::ResumeGap)
    } else {
        Ok(())
    }
}

async fn read_batch<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &str,
    after: Option<EventId>,
    block: Duration,
    count: usize,
) -> Result<Batch, RealtimeError> {
    if !block.is_zero() && !exists(conn, key).await? {
        return Err(RealtimeError::TurnNotFound);
    }
    let entries = read_raw(conn, key, after, block, count).await?;
    if entries.is_empty() && !exists(conn, key).await? {
        return Err(RealtimeError::TurnNotFound);
    }
    let mut batch = Batch::default();
    for entry in entries {
        match entry.item {
            Some(event) => batch.events.push((entry.id, event)),
            None => {
                batch.finished = true;
                break;
            }
        }
    }
    Ok(batch)
}

/// One stream entry: an event, or the terminal marker (`None`).
struct RawEntry {
    id: EventId,
    item: Option<Event>,
}

/// `XRANGE` when not blocking, `XREAD BLOCK` otherwise (bounded by a client-side timeout).
async fn read_raw<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &str,
    after: Option<EventId>,
    block: Duration,
    count: usize,
) -> Result<Vec<RawEntry>, RealtimeError> {
    let count = count.max(1);
    if block.is_zero() {
        let start = after.map_or_else(|| "-".to_string(), |id| format!("({id}"));
        let reply: Value =
            redis::cmd("XRANGE").arg(key).arg(start).arg("+").arg("COUNT").arg(count).query_async(conn).await?;
        return parse_entries(reply);
    }
    let from = after.map_or_else(|| "0-0".to_string(), |id| id.to_string());
    // BLOCK 0 would mean "forever".
    let ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut cmd = redis::cmd("XREAD");
    cmd.arg("COUNT").arg(count).arg("BLOCK").arg(ms).arg("STREAMS").arg(key).arg(from);
    let read = cmd.query_async::<Value>(conn);
    let reply = match tokio::time::timeout(block + BLOCK_SLACK, read).await {
        Ok(r) => r?,
        Err(_) => return Err(RealtimeError::Timeout),
    };
    // Nil on timeout; else [[key, entries]] (RESP2) or {key: entries} (RESP3).
    let streams = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
        other => return Err(RealtimeError::Malformed(format!("unexpected XREAD reply {other:?}"))),
    };
    let mut out = Vec::new();
    for entries in streams {
        out.extend(parse_entries(entries)?);
    }
    Ok(out)
}

/// `[[id, [field, value, ...]], ...]` (the fields may be a map under RESP3).
fn parse_entries(reply: Value) -> Result<Vec<RawEntry>, RealtimeError> {
    let malformed = |what: &str| RealtimeError::Malformed(format!("stream reply: {what}"));
    let items = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(malformed("not an array")),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(parts) = item else { return Err(malformed("entry is not an array")) };
        let mut parts = parts.into_iter();
        let (Some(id), Some(fields)) = (parts.next(), parts.next()) else { return Err(malformed("short entry")) };
        let id: String = redis::from_redis_value(id).map_err(|_| malformed("entry id"))?;
        let id = EventId::parse(&id).map_err(|_| malformed("entry id"))?;
        let pairs: Vec<(Value, Value)> = match fields {
            Value::Array(flat) => {
                let mut it = flat.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                pairs
            }
            Value::Map(pairs) => pairs,
            _ => return Err(malformed("entry fields")),
        };
        let mut item = None;
        let mut is_entry = false;
        for (k, v) in pairs {
            let k: String = redis::from_redis_value(k).map_err(|_| malformed("field name"))?;
            if k == EVENT_FIELD {
                let bytes: Vec<u8> = redis::from_redis_value(v).map_err(|_| malformed("event field"))?;
                item = Some(Event::from_slice(&bytes).map_err(|e| RealtimeError::Malformed(e.to_string()))?);
                is_entry = true;
            } else if k == END_FIELD {
                is_entry = true;
            }
        }
        if !is_entry {
            return Err(malformed("entry without an event or end marker"));
        }
        out.push(RawEntry { id, item });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn event_ids_parse_strictly() {
        let id = EventId::parse("1700000000000-3").unwrap();
        assert_eq!(id, EventId { ms: 1_700_000_000_000, seq: 3 });
        assert_eq!(id.to_string(), "1700000000000-3");
        assert_eq!(EventId::parse(" 1-0 \r\n").unwrap(), EventId { ms: 1, seq: 0 });
        assert!(EventId::parse("1-0").unwrap() < EventId::parse("1-1").unwrap());
        assert!(EventId::parse("2-0").unwrap() > EventId::parse("1-99").unwrap());
        for bad in [
            "",
            "-",
            "1",
            "1-",
            "-1",
            "a-1",
            "1-b",
            "1-2-3",
            "+1-2",
            "1 -2",
            "*",
            "$",
            ">",
            "0x1-0",
            "99999999999999999999-0",
            "123456789012345678901-0",
            "１-0",
        ] {
            assert!(matches!(EventId::parse(bad), Err(RealtimeError::InvalidEventId(_))), "{bad:?}");
        }
        assert!("5-6".parse::<EventId>().is_ok());
    }
}
