//! Job status for users, queue administration for operators. Permission checks live here.

use chrono::{DateTime, Utc};
use domain::jobs::{Lane, Queue};
use domain::{Permission, Principal};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::jobs::{JobFilter, JobRow};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::admin::Paging;
use crate::auth::{Actor, audit};
use crate::client::ClientInfo;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct JobProgress {
    pub percent: Option<i16>,
    pub message: Option<String>,
}

/// A background job as its owner or an operator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub priority: i16,
    /// queued | running | retrying | completed | dead | cancelled
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub progress: JobProgress,
    #[schema(value_type = Object)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for JobView {
    fn from(r: JobRow) -> Self {
        JobView {
            id: r.id,
            queue: r.queue,
            kind: r.kind,
            priority: r.priority,
            status: r.status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: r.run_at,
            progress: JobProgress { percent: r.progress_percent, message: r.progress_message },
            result: r.result,
            error: r.last_error,
            user_id: r.user_id,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// `GET /jobs/{id}`: the owner, or an operator; anyone else gets 404 (not 403: the job's
/// existence is not revealed).
pub async fn get(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<JobView> {
    let row = store::jobs::get(&ctx.db, id).await?.ok_or_else(|| ApiError::not_found("no such job"))?;
    if row.user_id != Some(caller.user_id) && !caller.has(Permission::QueuesAdmin) {
        return Err(ApiError::not_found("no such job"));
    }
    Ok(row.into())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    pub queue: String,
    pub queued: i64,
    pub running: i64,
    pub retrying: i64,
    pub dead: i64,
    pub completed: i64,
    pub cancelled: i64,
    /// Seconds the oldest due, unstarted job has waited.
    pub oldest_waiting_secs: Option<f64>,
    pub completed_last_minute: i64,
    pub completed_last_hour: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuesView {
    pub queues: Vec<QueueView>,
}

pub async fn queue_stats(ctx: &AppContext) -> ApiResult<Vec<QueueView>> {
    Ok(store::jobs::stats(&ctx.db)
        .await?
        .into_iter()
        .map(|s| QueueView {
            queue: s.queue,
            queued: s.queued,
            running: s.running,
            retrying: s.retrying,
            dead: s.dead,
            completed: s.completed,
            cancelled: s.cancelled,
            oldest_waiting_secs: s.oldest_waiting_secs,
            completed_last_minute: s.completed_last_minute,
            completed_last_hour: s.completed_last_hour,
        })
        .collect())
}

pub async fn queues(ctx: &AppContext, caller: &Principal) -> ApiResult<QueuesView> {
    caller.require(Permission::QueuesAdmin)?;
    Ok(QueuesView { queues: queue_stats(ctx).await? })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct JobQuery {
    /// queued | running | retrying | completed | dead | cancelled
    pub status: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobView>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

const STATUSES: [&str; 6] = ["queued", "running", "retrying", "completed", "dead", "cancelled"];

pub async fn list(ctx: &AppContext, caller: &Principal, q: JobQuery) -> ApiResult<JobPage> {
    caller.require(Permission::QueuesAdmin)?;
    let (page, per_page, offset) = Paging { page: q.page, per_page: q.per_page }.resolve()?;
    if let Some(s) = q.status.as_deref()
        && !STATUSES.contains(&s)
    {
        return Err(ApiError::bad_request("invalid_query", format!("status must be one of {}", STATUSES.join(", "))));
    }
    if let Some(queue) = q.queue.as_deref() {
        queue.parse::<Queue>().map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    }
    let filter = JobFilter { status: q.status, queue: q.queue, kind: q.kind, user_id: None };
    let (rows, total) = store::jobs::list(&ctx.db, &filter, offset, per_page).await?;
    Ok(JobPage { jobs: rows.into_iter().map(JobView::from).collect(), page, per_page, total })
}

/// Give either `ids`, or `limit` (the oldest dead jobs, optionally of one `queue`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub ids: Option<Vec<Uuid>>,
    pub limit: Option<u64>,
    pub queue: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResult {
    /// Jobs put back in their queue (dead jobs only; others are ignored).
    pub replayed: Vec<Uuid>,
    pub count: usize,
}

pub async fn replay(
    ctx: &AppContext,
    caller: &Principal,
    req: ReplayRequest,
    client: &ClientInfo,
) -> ApiResult<ReplayResult> {
    caller.require(Permission::QueuesAdmin)?;
    let queue = req
        .queue
        .as_deref()
        .map(|q| q.parse::<Queue>().map_err(|e| ApiError::unprocessable("invalid_queue", e.to_string())))
        .transpose()?;
    let txn = store::TransactionTrait::begin(&ctx.db).await.map_err(store::StoreError::from)?;
    let rows = match (req.ids, req.limit) {
        (Some(ids), None) if !ids.is_empty() && ids.len() <= 1000 => store::jobs::replay(&txn, &ids).await?,
        (None, Some(limit)) if (1..=1000).contains(&limit) => {
            store::jobs::replay_oldest(&txn, queue.map(Queue::as_str), limit).await?
        }
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_replay",
                "give either ids (1 to 1000) or limit (1 to 1000), not both",
            ));
        }
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    audit(&txn, Some(Actor::from(caller)), "admin.dlq.replay", json!({"jobs": ids, "count": ids.len()}), client)
        .await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    for r in &rows {
        if let (Ok(q), Ok(l)) = (r.queue.parse::<Queue>(), r.lane.parse::<Lane>())
            && let Err(e) = ctx.transport.push(r.id, q, l).await
        {
            tracing::warn!(job = %r.id, error = %e, "replayed job not pushed; the sweeper will push it");
        }
    }
    let count = ids.len();
    Ok(ReplayResult { replayed: ids, count })
}

pub async fn cancel(ctx: &AppContext, caller: &Principal, id: Uuid, client: &ClientInfo) -> ApiResult<JobView> {
    caller.require(Permission::QueuesAdmin)?;
    let txn = store::TransactionTrait::begin(&ctx.db).await.map_err(store::StoreError::from)?;
    let Some(row) = store::jobs::cancel(&txn, id).await? else {
        return match store::jobs::get(&ctx.db, id).await? {
            Some(r) => Err(ApiError::conflict("not_cancellable", format!("the job is already {}", r.status))),
            None => Err(ApiError::not_found("no such job")),
        };
    };
    audit(&txn, Some(Actor::from(caller)), "admin.job.cancel", json!({"job": id, "kind": row.kind}), client).await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    Ok(row.into())
}
