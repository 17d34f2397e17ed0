use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path, Query};
use actix_web::{HttpResponse, get, post, put};
use uuid::Uuid;

use crate::admin::audit::{AuditPage, AuditQuery};
use crate::admin::health::AdminHealth;
use crate::admin::users::{AdminUser, CreateUserRequest, UpdateUserRequest, UserPage, UserQuery};
use crate::admin::{audit, health, outbox, usage, users};
use crate::auth::Authenticated;
use crate::client::ClientInfo;
use crate::context::AppContext;
use crate::error::{ApiResult, ErrorBody};

/// List users (permission `users_read`).
#[utoipa::path(
    tag = "admin",
    params(UserQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserPage),
        (status = 400, description = "Bad filter or paging", body = ErrorBody),
        (status = 403, description = "Missing permission", body = ErrorBody),
    )
)]
#[get("/users")]
pub async fn list_users(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    Ok(Json(users::list(&ctx, &caller.principal, q.into_inner()).await?))
}

/// One user (permission `users_read`).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AdminUser), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/users/{id}")]
pub async fn get_user(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<AdminUser>> {
    Ok(Json(users::get(&ctx, &caller.principal, id.into_inner()).await?))
}

/// Create a user (permission `users_manage`).
#[utoipa::path(
    tag = "admin",
    request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AdminUser),
        (status = 403, body = ErrorBody),
        (status = 409, description = "E-mail already taken", body = ErrorBody),
        (status = 422, description = "Invalid e-mail, name, department, role or weak password", body = ErrorBody),
    )
)]
#[post("/users")]
pub async fn create_user(
    ctx: Data<AppContext>,
    caller: Authenticated,
    client: ClientInfo,
    body: Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let user = users::create(&ctx, &caller.principal, body.into_inner(), &client).await?;
    Ok(HttpResponse::Created().json(user))
}

/// Change a user's name, department, role, active flag or password (permission `users_manage`).
/// Deactivating or setting a password signs the user out everywhere at once.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path)),
    request_body = UpdateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AdminUser),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Would demote or deactivate yourself or the last admin", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[put("/users/{id}")]
pub async fn update_user(
    ctx: Data<AppContext>,
    caller: Authenticated,
    client: ClientInfo,
    id: Path<Uuid>,
    body: Json<UpdateUserRequest>,
) -> ApiResult<Json<AdminUser>> {
    Ok(Json(users::update(&ctx, &caller.principal, id.into_inner(), body.into_inner(), &client).await?))
}

/// The audit log, newest first (permission `audit_read`).
#[utoipa::path(
    tag = "admin",
    params(AuditQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/audit")]
pub async fn list_audit(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(audit::list(&ctx, &caller.principal, q.into_inner()).await?))
}

/// Deliveries with their rendered content, newest first (permission `outbox_read`).
#[utoipa::path(
    tag = "admin",
    params(outbox::OutboxQuery),
    security(("bearer" = [])),
    responses((status = 200, body = outbox::OutboxPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[get("/outbox")]
pub async fn list_outbox(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<outbox::OutboxQuery>,
) -> ApiResult<Json<outbox::OutboxPage>> {
    Ok(Json(outbox::list(&ctx, &caller.principal, q.into_inner()).await?))
}

/// LLM calls, tokens and cost per provider and model (permission `usage_read`).
#[utoipa::path(
    tag = "admin",
    params(usage::UsageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = usage::UsageReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/usage")]
pub async fn llm_usage(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<usage::UsageQuery>,
) -> ApiResult<Json<usage::UsageReport>> {
    Ok(Json(usage::report(&ctx, &caller.principal, q.into_inner()).await?))
}

/// Detailed health: database, Redis, live workers and schedulers (permission `system_health`).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AdminHealth),
        (status = 403, body = ErrorBody),
        (status = 503, description = "Something is down (same body)", body = AdminHealth),
    )
)]
#[get("/health")]
pub async fn admin_health(ctx: Data<AppContext>, caller: Authenticated) -> ApiResult<HttpResponse> {
    let (report, ok) = health::detailed(&ctx, &caller.principal).await?;
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok(HttpResponse::build(status).json(report))
}
