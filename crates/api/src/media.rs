//! `POST /chat/send-media` and `POST /chat/send-url`: the upload (or page) becomes text
//! (`agents::intake`), then a normal chat turn answers with that text attached and marked
//! untrusted. The upload is kept as the user's artifact. Videos longer than
//! `input.video_inline_max_secs` are processed by a `media.process` job: the answer says
//! `queued` with its `task_id`, progress goes to the user's live connections, and the answer
//! is posted to the session when ready.

use actix_multipart::Multipart;
use actix_web::web::Data;
use agents::intake::{MEDIA_PROCESS, MediaJob};
use domain::Principal;
use domain::jobs::Queue;
use files::Category;
use serde::Deserialize;
use serde_json::{Value, json};
use store::TransactionTrait;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::artifacts;
use crate::auth::limit;
use crate::chat::{SendResponse, send_with};
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

/// Longest `message` field of a media upload, in bytes.
const MESSAGE_FIELD_LIMIT: usize = 64 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendUrlRequest {
    /// An http(s) URL on the public internet.
    pub url: String,
    /// What to do with the page (default: summarize it).
    pub message: Option<String>,
    pub session_id: Option<Uuid>,
}

fn default_question(category: Category) -> &'static str {
    match category {
        Category::Image => "What does this image show?",
        Category::Video => "What happens in this video?",
        Category::Audio => "What is said in this recording?",
        Category::File => "Summarize this document.",
    }
}

/// Handles a media upload; `(queued, response)`.
pub async fn send_media(
    ctx: &Data<AppContext>,
    caller: &Principal,
    form: Multipart,
) -> ApiResult<(bool, SendResponse)> {
    limit(ctx, &format!("chat:{}", caller.user_id), ctx.settings.rate_limits.chat).await?;
    let received = artifacts::receive(ctx, caller, form, &["message", "language"], MESSAGE_FIELD_LIMIT).await?;
    // The speaker's language helps the recognizer (its detection is weak for Malay).
    let language = match received.fields.get("language").map(|l| l.trim()).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(
            agents::intake::normalize_language(l)
                .ok_or_else(|| ApiError::unprocessable("invalid_language", "language must be en, zh or ms"))?,
        ),
    };
    let message = received
        .fields
        .get("message")
        .filter(|m| !m.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| default_question(received.category).to_string());
    agents::chat::check_message(&message).map_err(ApiError::from)?;
    let intake = &ctx.intake;
    if received.category == Category::Video {
        let probe = intake.probe(&received.tmp.0).await?;
        let max = ctx.settings.input.max_duration_secs;
        if probe.duration_secs() > max as f64 {
            return Err(ApiError::unprocessable(
                "media_too_long",
                format!("the video is longer than {} minutes, the longest accepted", max / 60),
            ));
        }
        if probe.duration_secs() > ctx.settings.input.video_inline_max_secs as f64 {
            let artifact = artifacts::keep(ctx, caller, &received).await?;
            return queue_video(ctx, caller, &message, received.session_id, artifact.id, probe.summary(), language)
                .await;
        }
    }
    let processed = intake.process(&received.tmp.0, &received.detected, received.category, language).await?;
    let artifact = artifacts::keep(ctx, caller, &received).await?;
    let mut summary = processed.summary;
    summary["artifact_id"] = json!(artifact.id);
    // A voice memo without a typed message: what was said is the request (still untrusted:
    // side effects it asks for wait for the user's confirmation).
    let typed = received.fields.get("message").is_some_and(|m| !m.trim().is_empty());
    let message = match processed.spoken {
        Some(spoken) if !typed => {
            summary["message_from_transcript"] = json!(true);
            spoken.chars().take(agents::chat::MAX_MESSAGE_CHARS).collect()
        }
        _ => message,
    };
    let metadata = json!({
        "input_type": received.category.as_str(),
        "extracted_text": processed.extracted_text,
        "artifact_id": artifact.id,
        "input_processed": summary,
        "language": language,
    });
    let (queued, mut response) = send_with(ctx, caller, &message, received.session_id, metadata).await?;
    response.input_processed = Some(summary);
    Ok((queued, response))
}

/// Writes the user's message and the `media.process` job in one transaction.
async fn queue_video(
    ctx: &AppContext,
    caller: &Principal,
    message: &str,
    session_id: Option<Uuid>,
    artifact_id: Uuid,
    probe: Value,
    language: Option<&str>,
) -> ApiResult<(bool, SendResponse)> {
    let mut summary = probe;
    summary["type"] = json!("video");
    summary["artifact_id"] = json!(artifact_id);
    summary["status"] = json!("queued");
    let metadata = json!({
        "input_type": "video",
        "artifact_id": artifact_id,
        "input_processed": summary,
        "language": language,
    });
    let history = ctx.settings.agents.history_messages;
    let turn = agents::chat::prepare(&ctx.db, caller, message, session_id, metadata, history).await?;
    let payload = MediaJob {
        turn_id: turn.turn_id,
        user_id: caller.user_id,
        session_id: turn.session_id,
        message_id: turn.message_id,
        artifact_id,
    };
    let job = jobs::NewJob::new(Queue::Agent, MEDIA_PROCESS, &payload)
        .priority(60)
        .user(caller.user_id)
        .idempotency_key(format!("media:{}", turn.turn_id))
        .max_attempts(3);
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    agents::chat::store_message(&txn, caller, &turn).await?;
    let enqueued = jobs::enqueue(&txn, job).await.map_err(ApiError::internal)?;
    txn.commit().await.map_err(store::StoreError::from)?;
    ctx.transport.dispatch(&ctx.db, std::slice::from_ref(&enqueued)).await;
    let mut response = SendResponse::queued(
        turn.session_id,
        turn.message_id,
        enqueued.id,
        format!(
            "The video is being processed in the background: I'll post the answer to this conversation when it's ready (task {}).",
            enqueued.id
        ),
    );
    response.input_processed = Some(summary);
    Ok((true, response))
}

/// Handles `POST /chat/send-url`.
pub async fn send_url(
    ctx: &Data<AppContext>,
    caller: &Principal,
    req: SendUrlRequest,
) -> ApiResult<(bool, SendResponse)> {
    limit(ctx, &format!("chat:{}", caller.user_id), ctx.settings.rate_limits.chat).await?;
    let message = req.message.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| "Summarize this page.".to_string());
    agents::chat::check_message(&message).map_err(ApiError::from)?;
    if let Some(s) = req.session_id
        && !store::chat::owns_session(&ctx.db, caller.user_id, s).await?
    {
        return Err(ApiError::not_found("no such session"));
    }
    let page = ctx.intake.process_url(&req.url).await?;
    let mut summary = page.processed.summary;
    if let Some(png) = page.screenshot {
        let storage = artifacts::store(ctx);
        let key = files::ArtifactStorage::new_key("png");
        storage.put_bytes(&png, &key).await.map_err(ApiError::internal)?;
        let row = store::artifacts::insert(
            &ctx.db,
            store::artifacts::NewArtifact {
                id: Uuid::now_v7(),
                user_id: caller.user_id,
                session_id: req.session_id,
                kind: "png".into(),
                name: "screenshot.png".into(),
                path: key.clone(),
                size_bytes: png.len() as i64,
                content_type: "image/png".into(),
                source: "generated".into(),
                category: Some("image".into()),
            },
        )
        .await;
        match row {
            Ok(row) => {
                summary["screenshot"] =
                    json!({"artifact_id": row.id, "download_url": format!("/files/{}", row.id), "type": "png"});
            }
            Err(e) => {
                let _ = storage.delete(&key).await;
                return Err(e.into());
            }
        }
    }
    let metadata = json!({
        "input_type": "url",
        "extracted_text": page.processed.extracted_text,
        "url": req.url,
        "input_processed": summary,
    });
    let (queued, mut response) = send_with(ctx, caller, &message, req.session_id, metadata).await?;
    response.input_processed = Some(summary);
    Ok((queued, response))
}
