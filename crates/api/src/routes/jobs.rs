use actix_web::web::{Data, Json, Path, Query};
use actix_web::{get, post};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::client::ClientInfo;
use crate::context::AppContext;
use crate::error::{ApiResult, ErrorBody};
use crate::jobs::{self, JobPage, JobQuery, JobView, QueuesView, ReplayRequest, ReplayResult};

/// A background job's status, progress, result or error (its owner, or `queues_admin`).
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = JobView), (status = 404, description = "Unknown, or not yours", body = ErrorBody))
)]
#[get("/jobs/{id}")]
pub async fn get_job(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<JobView>> {
    Ok(Json(jobs::get(&ctx, &caller.principal, id.into_inner()).await?))
}

/// Per queue: counts by status, oldest waiting age, completions in the last minute and hour
/// (permission `queues_admin`).
#[utoipa::path(tag = "admin", security(("bearer" = [])), responses((status = 200, body = QueuesView), (status = 403, body = ErrorBody)))]
#[get("/queues")]
pub async fn queues(ctx: Data<AppContext>, caller: Authenticated) -> ApiResult<Json<QueuesView>> {
    Ok(Json(jobs::queues(&ctx, &caller.principal).await?))
}

/// Jobs by status, queue and kind, newest first (permission `queues_admin`).
#[utoipa::path(
    tag = "admin",
    params(JobQuery),
    security(("bearer" = [])),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/jobs")]
pub async fn list_jobs(ctx: Data<AppContext>, caller: Authenticated, q: Query<JobQuery>) -> ApiResult<Json<JobPage>> {
    Ok(Json(jobs::list(&ctx, &caller.principal, q.into_inner()).await?))
}

/// Replay dead jobs (by ids, or the oldest `limit`): attempts reset, audited; replaying the
/// same job twice at once runs it once (permission `queues_admin`).
#[utoipa::path(
    tag = "admin",
    request_body = ReplayRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ReplayResult), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/dlq/replay")]
pub async fn replay(
    ctx: Data<AppContext>,
    caller: Authenticated,
    client: ClientInfo,
    body: Json<ReplayRequest>,
) -> ApiResult<Json<ReplayResult>> {
    Ok(Json(jobs::replay(&ctx, &caller.principal, body.into_inner(), &client).await?))
}

/// Cancel a job that has not finished (permission `queues_admin`).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = JobView),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already finished", body = ErrorBody),
    )
)]
#[post("/jobs/{id}/cancel")]
pub async fn cancel(
    ctx: Data<AppContext>,
    caller: Authenticated,
    client: ClientInfo,
    id: Path<Uuid>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(jobs::cancel(&ctx, &caller.principal, id.into_inner(), &client).await?))
}
