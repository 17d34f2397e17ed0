use actix_web::web::{Data, Json, Path, Query};
use actix_web::{HttpResponse, get, post};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::chat::{self, ConfirmResponse, History, SendRequest, SendResponse, SessionList, SessionQuery};
use crate::context::AppContext;
use crate::error::{ApiResult, ErrorBody};

/// Send a text message to the assistant. 200 with the answer, or 202 `queued` with a
/// `task_id` when the turn continues in the background.
#[utoipa::path(
    tag = "chat",
    request_body = SendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SendResponse),
        (status = 202, description = "Queued as a background job", body = SendResponse),
        (status = 404, description = "Unknown session, or not yours", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/send")]
pub async fn send(ctx: Data<AppContext>, caller: Authenticated, body: Json<SendRequest>) -> ApiResult<HttpResponse> {
    let (queued, answer) = chat::send(&ctx, &caller.principal, body.into_inner()).await?;
    Ok(if queued { HttpResponse::Accepted().json(answer) } else { HttpResponse::Ok().json(answer) })
}

/// The caller's chat sessions, most recent first.
#[utoipa::path(tag = "chat", params(SessionQuery), security(("bearer" = [])), responses((status = 200, body = SessionList)))]
#[get("/sessions")]
pub async fn sessions(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<SessionQuery>,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(chat::sessions(&ctx, &caller.principal, q.into_inner()).await?))
}

/// The messages of one of the caller's sessions (another user's is a 404).
#[utoipa::path(
    tag = "chat",
    params(("session_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = History), (status = 404, body = ErrorBody))
)]
#[get("/history/{session_id}")]
pub async fn history(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<History>> {
    Ok(Json(chat::history(&ctx, &caller.principal, id.into_inner()).await?))
}

/// Run a side effect the assistant held for consent (it had read untrusted content when it
/// asked). Runs exactly that call, once; only its owner may confirm, within 10 minutes.
#[utoipa::path(
    tag = "chat",
    params(("confirmation_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConfirmResponse),
        (status = 404, description = "Unknown, or another user's", body = ErrorBody),
        (status = 409, description = "Expired or already confirmed", body = ErrorBody),
    )
)]
#[post("/confirm/{confirmation_id}")]
pub async fn confirm(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<Json<ConfirmResponse>> {
    Ok(Json(chat::confirm(&ctx, &caller.principal, id.into_inner()).await?))
}
