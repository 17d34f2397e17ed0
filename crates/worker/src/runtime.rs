//! Running one job: claim it in PostgreSQL, keep its lease alive, enforce its time limits,
//! record the outcome (completed, retrying at the policy's next delay, or dead), and tell
//! the job's user through their Redis channel.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use domain::jobs::RetryPolicy;
use serde_json::{Value, json};
use store::DatabaseConnection;
use tokio::sync::watch;
use uuid::Uuid;

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    pub retryable: bool,
}

impl JobFailure {
    /// Timeouts, 5xx, rate limits: worth another attempt.
    pub fn retry(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true }
    }

    /// Invalid payload, a provider's 4xx: retrying cannot help; the job dies at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false }
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, JobFailure>> + Send>>;
pub type Handler = Arc<dyn Fn(JobContext, Value) -> HandlerFuture + Send + Sync>;

/// How one kind of job runs.
#[derive(Clone)]
pub struct KindSpec {
    pub handler: Handler,
    pub retry: RetryPolicy,
    /// The handler is asked to stop (`JobContext::should_stop`) after this long.
    pub soft_limit: Duration,
    /// The attempt is aborted and counts as failed after this long.
    pub hard_limit: Duration,
}

impl KindSpec {
    pub fn new<F, Fut>(handler: F) -> Self
    where
        F: Fn(JobContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, JobFailure>> + Send + 'static,
    {
        Self {
            handler: Arc::new(move |ctx, payload| Box::pin(handler(ctx, payload))),
            retry: RetryPolicy::default(),
            soft_limit: Duration::from_secs(9 * 60),
            hard_limit: Duration::from_secs(10 * 60),
        }
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn limits(mut self, soft: Duration, hard: Duration) -> Self {
        self.soft_limit = soft;
        self.hard_limit = hard.max(soft);
        self
    }
}

/// Every job kind this worker can run, registered in one place.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<String, KindSpec>,
}

impl Registry {
    pub fn register(mut self, kind: &str, spec: KindSpec) -> Self {
        self.kinds.insert(kind.to_string(), spec);
        self
    }

    pub fn get(&self, kind: &str) -> Option<&KindSpec> {
        self.kinds.get(kind)
    }
}

/// What a handler gets besides its payload.
#[derive(Clone)]
pub struct JobContext {
    pub job_id: Uuid,
    pub user_id: Option<Uuid>,
    pub attempt: u32,
    pub db: DatabaseConnection,
    pub redis: kv::Redis,
    worker: Arc<str>,
    stop: watch::Receiver<bool>,
}

impl JobContext {
    /// True once the handler should wind down (soft time limit, cancellation, shutdown).
    pub fn should_stop(&self) -> bool {
        *self.stop.borrow()
    }

    /// Reports progress (stored on the job and published to the user's channel).
    pub async fn progress(&self, percent: u8, message: &str) {
        let p = i16::from(percent.min(100));
        if let Err(e) = store::jobs::progress(&self.db, self.job_id, &self.worker, p, message).await {
            tracing::warn!(job = %self.job_id, error = %e, "could not record progress");
        }
        publish(
            &self.redis,
            self.user_id,
            json!({"type": "task_progress", "task_id": self.job_id, "progress": percent.min(100), "message": message}),
        )
        .await;
    }

    /// Performs a side effect at most once per (job, step): the one mechanism for sending
    /// e-mail, posting to Teams, pushing or writing CRM rows from jobs. A retried job whose
    /// effect already happened gets the recorded result back without repeating it.
    pub async fn effect<F, Fut>(&self, step: &str, kind: &str, perform: F) -> Result<Value, JobFailure>
    where
        F: FnOnce(EffectAttempt) -> Fut,
        Fut: Future<Output = Result<Value, JobFailure>>,
    {
        let key = format!("{}:{step}", self.job_id);
        match store::effects::begin(&self.db, &key, self.job_id, kind)
            .await
            .map_err(|e| JobFailure::retry(e.to_string()))?
        {
            store::effects::Begin::Done(result) => Ok(result.unwrap_or(Value::Null)),
            store::effects::Begin::Proceed { attempt } => {
                let result =
                    perform(EffectAttempt { idempotency_key: key.clone(), attempt: attempt.max(1) as u32 }).await?;
                store::effects::finish(&self.db, &key, result.clone())
                    .await
                    .map_err(|e| JobFailure::retry(e.to_string()))?;
                Ok(result)
            }
        }
    }
}

/// Passed to an effect: the key to hand the provider (where it supports idempotency keys),
/// and which try this is.
#[derive(Debug, Clone)]
pub struct EffectAttempt {
    pub idempotency_key: String,
    pub attempt: u32,
}

/// Publishes a job event to the user's live connections on every api process
/// (`realtime::user_channel`). Pub/sub keeps nothing: the job row stays the record.
pub async fn publish(redis: &kv::Redis, user: Option<Uuid>, event: Value) {
    let Some(user) = user else { return };
    let event = match realtime::Event::try_from(event) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "not publishing a malformed job event");
            return;
        }
    };
    if let Err(e) = realtime::Publisher::new(redis).publish_to_user(user, &event).await {
        tracing::debug!(error = %e, "could not publish a job event");
    }
}

/// The worker's shared state.
pub struct Runtime {
    pub db: DatabaseConnection,
    pub redis: kv::Redis,
    pub registry: Registry,
    pub name: Arc<str>,
    pub heartbeat: Duration,
    /// Set when the shutdown grace period is over: running jobs are handed back.
    pub abort: watch::Receiver<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Someone else has it, or it is finished, cancelled or not yet due.
    NotClaimed,
    Completed,
    Retrying,
    Dead,
    /// Cancelled while running, or taken over after a missed heartbeat.
    Lost,
    /// Handed back on shutdown.
    Released,
}

impl Runtime {
    pub async fn execute(&self, id: Uuid) -> Outcome {
        let job = match store::jobs::claim(&self.db, id, &self.name).await {
            Ok(Some(job)) => job,
            Ok(None) => return Outcome::NotClaimed,
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "claim failed; the sweeper will retry");
                return Outcome::NotClaimed;
            }
        };
        let attempt = job.attempts.max(1) as u32;
        let Some(spec) = self.registry.get(&job.kind).cloned() else {
            let msg = format!("no handler for job kind '{}'", job.kind);
            return self.finish_failure(&job, JobFailure::permanent(msg), &RetryPolicy::none()).await;
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let ctx = JobContext {
            job_id: job.id,
            user_id: job.user_id,
            attempt,
            db: self.db.clone(),
            redis: self.redis.clone(),
            worker: self.name.clone(),
            stop: stop_rx,
        };
        tracing::info!(job = %job.id, kind = %job.kind, attempt, "job started");
        let lease_lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let beat = {
            let (db, name, lost, stop) = (self.db.clone(), self.name.clone(), lease_lost.clone(), stop_tx.clone());
            let every = self.heartbeat;
            tokio::spawn(async move {
                let mut t = tokio::time::interval(every);
                t.tick().await;
                loop {
                    t.tick().await;
                    match store::jobs::heartbeat(&db, id, &name).await {
                        Ok(true) => {}
                        Ok(false) => {
                            lost.store(true, std::sync::atomic::Ordering::SeqCst);
                            let _ = stop.send(true);
                            return;
                        }
                        Err(e) => tracing::warn!(job = %id, error = %e, "heartbeat failed"),
                    }
                }
            })
        };
        let soft = {
            let stop = stop_tx.clone();
            let limit = spec.soft_limit;
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                let _ = stop.send(true);
            })
        };
        let mut abort = self.abort.clone();
        let run = tokio::time::timeout(spec.hard_limit, (spec.handler)(ctx, job.payload.clone()));
        let result = tokio::select! {
            r = run => Some(r),
            _ = until_true(&mut abort) => None,
        };
        beat.abort();
        soft.abort();
        let Some(result) = result else {
            let _ = stop_tx.send(true);
            return self.release(&job).await;
        };
        if lease_lost.load(std::sync::atomic::Ordering::SeqCst) {
            tracing::info!(job = %job.id, "job was cancelled or taken over; dropping this attempt's outcome");
            return Outcome::Lost;
        }
        match result {
            Ok(Ok(value)) => match store::jobs::complete(&self.db, job.id, &self.name, value.clone()).await {
                Ok(true) => {
                    tracing::info!(job = %job.id, kind = %job.kind, "job completed");
                    publish(
                        &self.redis,
                        job.user_id,
                        json!({"type": "task_complete", "task_id": job.id, "result": value}),
                    )
                    .await;
                    Outcome::Completed
                }
                Ok(false) => Outcome::Lost,
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "could not record completion; the sweeper will retry the job");
                    Outcome::Lost
                }
            },
            Ok(Err(failure)) => self.finish_failure(&job, failure, &spec.retry).await,
            Err(_) => {
                let msg = format!("exceeded the hard time limit of {} s", spec.hard_limit.as_secs());
                self.finish_failure(&job, JobFailure::retry(msg), &spec.retry).await
            }
        }
    }

    async fn finish_failure(&self, job: &store::jobs::JobRow, failure: JobFailure, policy: &RetryPolicy) -> Outcome {
        let attempt = job.attempts.max(1) as u32;
        let out_of_attempts = attempt >= job.max_attempts.max(1) as u32;
        let delay = if failure.retryable && !out_of_attempts {
            policy.delay_after(attempt, rand::random::<f64>())
        } else {
            None
        };
        let message =
            if failure.retryable { failure.message.clone() } else { format!("{} (not retryable)", failure.message) };
        match store::jobs::fail(&self.db, job.id, &self.name, &message, delay).await {
            Ok(Some(status)) if status == "retrying" => {
                tracing::warn!(job = %job.id, attempt, error = %failure.message, retry_in = ?delay, "job failed; will retry");
                Outcome::Retrying
            }
            Ok(Some(_)) => {
                tracing::error!(job = %job.id, attempt, error = %failure.message, "job is dead");
                publish(
                    &self.redis,
                    job.user_id,
                    json!({"type": "task_failed", "task_id": job.id, "error": failure.message}),
                )
                .await;
                Outcome::Dead
            }
            Ok(None) => Outcome::Lost,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "could not record the failure; the sweeper will recover the job");
                Outcome::Lost
            }
        }
    }

    /// Shutdown: the attempt did not finish in the grace period; give the job back at once.
    async fn release(&self, job: &store::jobs::JobRow) -> Outcome {
        if let Err(e) = store::jobs::release(&self.db, job.id, &self.name).await {
            tracing::warn!(job = %job.id, error = %e, "could not hand the job back; it is recovered after the heartbeat timeout");
        }
        tracing::info!(job = %job.id, "job handed back on shutdown");
        Outcome::Released
    }
}

/// Heartbeats this long overdue mean the worker is gone.
pub fn stale_after(heartbeat: Duration) -> Duration {
    (heartbeat * 4).max(Duration::from_secs(5))
}

/// Resolves once the flag is true (or its sender is gone). Unlike `watch::Receiver::wait_for`
/// it holds no borrow afterwards, so it can sit in a `select!` of a `Send` future.
pub async fn until_true(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
