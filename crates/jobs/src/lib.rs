//! The job system's public face: job descriptions (ids and small values only), the one way
//! to enqueue (a row in the caller's transaction, then a push to Redis after commit), and
//! the Redis transport. apalis and apalis-redis are confined to this crate and `worker`.
//!
//! PostgreSQL's `jobs` table is the truth; Redis only carries job ids. A push that never
//! happened (a crash between commit and push, a Redis flush) is repaired by the sweeper.

mod transport;

pub use domain::jobs::{Lane, Queue, RetryPolicy};
use serde::{Deserialize, Serialize};
pub use transport::{JobRef, MAX_BACKLOG, POLL_INTERVAL, Transport, apalis_config, queue_name, vacuum};
use uuid::Uuid;

/// A job to enqueue. The payload holds ids and small values, never database rows.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub queue: Queue,
    pub kind: String,
    pub priority: u8,
    pub payload: serde_json::Value,
    /// `None`: due now, by the database's clock (so clock skew between machines cannot make
    /// a new job "not yet due").
    pub run_at: Option<chrono::DateTime<chrono::Utc>>,
    pub idempotency_key: Option<String>,
    pub user_id: Option<Uuid>,
    pub max_attempts: u32,
}

impl NewJob {
    pub fn new(queue: Queue, kind: &str, payload: impl Serialize) -> Self {
        Self {
            queue,
            kind: kind.to_string(),
            priority: 50,
            payload: serde_json::to_value(payload).unwrap_or(serde_json::Value::Null),
            run_at: None,
            idempotency_key: None,
            user_id: None,
            max_attempts: RetryPolicy::default().max_attempts(),
        }
    }

    pub fn priority(mut self, p: u8) -> Self {
        self.priority = p.min(domain::jobs::MAX_PRIORITY);
        self
    }

    pub fn run_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn user(mut self, user: Uuid) -> Self {
        self.user_id = Some(user);
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// What `enqueue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    pub id: Uuid,
    pub queue: Queue,
    pub lane: Lane,
    /// `false` when a job with the same idempotency key already existed (its id is returned).
    pub created: bool,
    /// Due now (pushed after commit); later jobs wait in PostgreSQL for the sweeper.
    pub due_now: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid job: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("redis: {0}")]
    Transport(String),
}

/// Writes the job's row in the caller's transaction. Call [`Transport::dispatch`] with the
/// result after the transaction commits; if the transaction rolls back, the job never existed.
pub async fn enqueue(db: &impl store::ConnectionTrait, job: NewJob) -> Result<Enqueued, JobError> {
    if job.kind.is_empty() || job.kind.len() > 100 {
        return Err(JobError::Invalid("kind must be 1 to 100 characters".into()));
    }
    if job.idempotency_key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 300) {
        return Err(JobError::Invalid("idempotency_key must be 1 to 300 characters".into()));
    }
    let lane = Lane::for_priority(job.priority);
    let (row, created) = store::jobs::insert(
        db,
        store::jobs::NewJob {
            id: Uuid::now_v7(),
            queue: job.queue.as_str().into(),
            kind: job.kind,
            priority: i16::from(job.priority),
            lane: lane.as_str().into(),
            payload: job.payload,
            run_at: job.run_at,
            idempotency_key: job.idempotency_key,
            user_id: job.user_id,
            max_attempts: i32::try_from(job.max_attempts).unwrap_or(i32::MAX),
        },
    )
    .await?;
    let queue = row.queue.parse().unwrap_or(job.queue);
    let lane = row.lane.parse().unwrap_or(lane);
    let due_now = created && job.run_at.is_none_or(|at| at <= chrono::Utc::now());
    Ok(Enqueued { id: row.id, queue, lane, created, due_now })
}
