use actix_multipart::Multipart;
use actix_web::web::{Data, Json, Path, Query};
use actix_web::{HttpResponse, delete, get, post};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::artifacts::{self, ArtifactList, ArtifactView};
use crate::auth::Authenticated;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// Upload a file (multipart: `file`, optional `input_type` and `session_id`). Validated by
/// content; 413 as soon as it passes its type's limit; 415 names the detected type.
#[utoipa::path(
    tag = "files",
    security(("bearer" = [])),
    responses(
        (status = 201, body = ArtifactView),
        (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/upload")]
pub async fn upload(ctx: Data<AppContext>, caller: Authenticated, form: Multipart) -> ApiResult<HttpResponse> {
    let view = artifacts::upload(&ctx, &caller.principal, form).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Default 50, at most 200.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

async fn list_impl(ctx: &AppContext, caller: &Authenticated, q: ListQuery) -> ApiResult<Json<ArtifactList>> {
    Ok(Json(artifacts::list(ctx, &caller.principal, q.limit.unwrap_or(50), q.offset.unwrap_or(0)).await?))
}

/// The caller's files, newest first.
#[utoipa::path(tag = "files", params(ListQuery), security(("bearer" = [])), responses((status = 200, body = ArtifactList)))]
#[get("/")]
pub async fn list(ctx: Data<AppContext>, caller: Authenticated, q: Query<ListQuery>) -> ApiResult<Json<ArtifactList>> {
    list_impl(&ctx, &caller, q.into_inner()).await
}

/// Same as `GET /files/`.
#[utoipa::path(tag = "files", params(ListQuery), security(("bearer" = [])), responses((status = 200, body = ArtifactList)))]
#[get("/list")]
pub async fn list_alias(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<ListQuery>,
) -> ApiResult<Json<ArtifactList>> {
    list_impl(&ctx, &caller, q.into_inner()).await
}

/// Download a file: its detected type, `nosniff`, a safe `Content-Disposition`.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The file's bytes"), (status = 404, body = ErrorBody))
)]
#[get("/{id}")]
pub async fn download(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<HttpResponse> {
    let a = artifacts::visible(&ctx, &caller.principal, id.into_inner()).await?;
    let (size, body) = artifacts::store(&ctx).read_stream(&a.path).await.map_err(|e| match e {
        ::files::StoreFileError::NotFound => ApiError::not_found("the file's content is gone"),
        other => ApiError::internal(other),
    })?;
    let body = body.map(|chunk| chunk.map_err(std::io::Error::other));
    let mut res = HttpResponse::Ok();
    res.content_type(a.content_type.as_str())
        .insert_header(("Content-Disposition", ::files::content_disposition(&a.name)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"));
    res.no_chunking(size);
    Ok(res.streaming(body))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Deleted {
    pub deleted: bool,
}

/// Delete one of your files.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody))
)]
#[delete("/{id}")]
pub async fn remove(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<Deleted>> {
    artifacts::delete(&ctx, &caller.principal, id.into_inner()).await?;
    Ok(Json(Deleted { deleted: true }))
}
