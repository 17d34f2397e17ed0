//! `/scheduler/jobs`: recurring agent tasks.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, patch, post, put};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::context::AppContext;
use crate::error::{ApiResult, ErrorBody};
use crate::schedules::{self, CreateSchedule, History, RunNow, ScheduleList, ScheduleView, UpdateSchedule};

/// The caller's schedules, their department's, and (admins) every one, built-ins included.
#[utoipa::path(tag = "scheduler", security(("bearer" = [])), responses((status = 200, body = ScheduleList)))]
#[get("/jobs")]
pub async fn list(ctx: Data<AppContext>, caller: Authenticated) -> ApiResult<Json<ScheduleList>> {
    Ok(Json(schedules::list(&ctx, &caller.principal).await?))
}

/// Create a schedule (roles with `scheduler_manage`). At most 10 per user; nothing more
/// frequent than every 15 minutes.
#[utoipa::path(
    tag = "scheduler",
    request_body = CreateSchedule,
    security(("bearer" = [])),
    responses((status = 201, body = ScheduleView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/jobs")]
pub async fn create(
    ctx: Data<AppContext>,
    caller: Authenticated,
    body: Json<CreateSchedule>,
) -> ApiResult<HttpResponse> {
    let v = schedules::create(&ctx, &caller.principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

#[utoipa::path(tag = "scheduler", params(("id" = Uuid, Path)), security(("bearer" = [])), responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody)))]
#[get("/jobs/{id}")]
pub async fn get_one(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<ScheduleView>> {
    Ok(Json(schedules::get(&ctx, &caller.principal, id.into_inner()).await?))
}

/// Edit, pause (`is_active: false`) or resume a schedule (owner or scheduler admin).
#[utoipa::path(tag = "scheduler", params(("id" = Uuid, Path)), request_body = UpdateSchedule, security(("bearer" = [])), responses((status = 200, body = ScheduleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/jobs/{id}")]
pub async fn patch_one(
    ctx: Data<AppContext>,
    caller: Authenticated,
    id: Path<Uuid>,
    body: Json<UpdateSchedule>,
) -> ApiResult<Json<ScheduleView>> {
    Ok(Json(schedules::update(&ctx, &caller.principal, id.into_inner(), body.into_inner()).await?))
}

/// Same as `PATCH`.
#[utoipa::path(tag = "scheduler", params(("id" = Uuid, Path)), request_body = UpdateSchedule, security(("bearer" = [])), responses((status = 200, body = ScheduleView)))]
#[put("/jobs/{id}")]
pub async fn put_one(
    ctx: Data<AppContext>,
    caller: Authenticated,
    id: Path<Uuid>,
    body: Json<UpdateSchedule>,
) -> ApiResult<Json<ScheduleView>> {
    Ok(Json(schedules::update(&ctx, &caller.principal, id.into_inner(), body.into_inner()).await?))
}

/// Delete a schedule (owner or admin) → `{deleted: true}`.
#[utoipa::path(tag = "scheduler", params(("id" = Uuid, Path)), security(("bearer" = [])), responses((status = 200), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/jobs/{id}")]
pub async fn delete_one(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<HttpResponse> {
    schedules::delete(&ctx, &caller.principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"deleted": true})))
}

/// Past runs with their jobs' status and results.
#[utoipa::path(tag = "scheduler", params(("id" = Uuid, Path)), security(("bearer" = [])), responses((status = 200, body = History), (status = 404, body = ErrorBody)))]
#[get("/jobs/{id}/history")]
pub async fn history(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<History>> {
    Ok(Json(schedules::history(&ctx, &caller.principal, id.into_inner()).await?))
}

/// Run a schedule now (owner or scheduler admin) → 202 `{task_id}`.
#[utoipa::path(tag = "scheduler", params(("id" = Uuid, Path)), security(("bearer" = [])), responses((status = 202, body = RunNow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/jobs/{id}/run")]
pub async fn run_now(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<HttpResponse> {
    let r = schedules::run_now(&ctx, &caller.principal, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(r))
}
