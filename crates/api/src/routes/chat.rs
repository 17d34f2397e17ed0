use actix_multipart::Multipart;
use actix_web::web::{Data, Json, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::chat::{self, ConfirmResponse, History, SendRequest, SendResponse, SessionList, SessionQuery};
use crate::context::AppContext;
use crate::error::{ApiResult, ErrorBody};
use crate::media::SendUrlRequest;

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
pub async fn send(
    ctx: Data<AppContext>,
    req: HttpRequest,
    caller: Authenticated,
    body: Json<SendRequest>,
) -> ApiResult<HttpResponse> {
    if wants_event_stream(&req) {
        return crate::sse::start(ctx, caller.principal, body.into_inner()).await;
    }
    let (queued, answer) = chat::send(&ctx, &caller.principal, body.into_inner()).await?;
    Ok(answered(queued, answer))
}

fn answered(queued: bool, answer: SendResponse) -> HttpResponse {
    if queued { HttpResponse::Accepted().json(answer) } else { HttpResponse::Ok().json(answer) }
}

/// `Accept: text/event-stream` asks for the turn's events as Server-Sent Events.
fn wants_event_stream(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().starts_with("text/event-stream")))
}

/// Send an image, video, audio recording or document with an optional question
/// (multipart: `message?`, `session_id?`, `input_type` image|video|audio|file, `media_file`,
/// `language?` en|zh|ms — the speaker's language, which helps the recognizer).
/// The file is judged by its content; its text (OCR, transcript, document text) goes to the
/// agent marked untrusted, and `input_processed` describes what was found. Videos longer
/// than a minute answer 202 `queued` and are processed by a job.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "message?, session_id?, input_type, media_file"),
    responses(
        (status = 200, body = SendResponse),
        (status = 202, description = "Queued (long video, or a background skill)", body = SendResponse),
        (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody),
        (status = 413, description = "Over the type's size limit (refused while streaming)", body = ErrorBody),
        (status = 415, description = "Not an accepted format; names the detected type", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, description = "A processor needed for this input is unavailable", body = ErrorBody),
    )
)]
#[post("/send-media")]
pub async fn send_media(ctx: Data<AppContext>, caller: Authenticated, form: Multipart) -> ApiResult<HttpResponse> {
    let (queued, answer) = crate::media::send_media(&ctx, &caller.principal, form).await?;
    Ok(answered(queued, answer))
}

/// Send a URL to read (rendered in headless Chromium when available, with a screenshot),
/// with an optional instruction. Private, loopback and metadata addresses are refused.
#[utoipa::path(
    tag = "chat",
    request_body = SendUrlRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SendResponse),
        (status = 202, body = SendResponse),
        (status = 404, description = "Unknown session", body = ErrorBody),
        (status = 422, description = "Not a fetchable public URL", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 502, description = "The page could not be fetched", body = ErrorBody),
    )
)]
#[post("/send-url")]
pub async fn send_url(
    ctx: Data<AppContext>,
    caller: Authenticated,
    body: Json<SendUrlRequest>,
) -> ApiResult<HttpResponse> {
    let (queued, answer) = crate::media::send_url(&ctx, &caller.principal, body.into_inner()).await?;
    Ok(answered(queued, answer))
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
