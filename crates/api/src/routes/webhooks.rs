//! Webhook endpoints (signed by their senders, no bearer token) and the admin listing.

use actix_web::web::{Data, Json, Path, Payload, Query};
use actix_web::{HttpRequest, get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::webhooks::{self, Accepted};

/// An event from the Mezzofy platform, signed with `X-Mezzofy-Timestamp` and
/// `X-Mezzofy-Signature: sha256=<hex HMAC-SHA256(WEBHOOK_SECRET, "<timestamp>.<raw body>")>`
/// (5 minutes' tolerance). Stored with its job before the 200; a duplicate is stored once.
#[utoipa::path(
    tag = "webhooks",
    responses(
        (status = 200, body = Accepted),
        (status = 400, description = "Not JSON, or no event", body = ErrorBody),
        (status = 401, description = "Missing, stale or wrong signature", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Unknown event type", body = ErrorBody),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/mezzofy")]
pub async fn mezzofy(ctx: Data<AppContext>, req: HttpRequest, body: Payload) -> ApiResult<Json<Accepted>> {
    Ok(Json(webhooks::mezzofy(&ctx, &req, body).await?))
}

/// A Teams bot activity (Bot Framework JWT) or a Teams outgoing webhook (HMAC). An @mention
/// is answered in its channel by the assistant.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Accepted), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/teams")]
pub async fn teams(ctx: Data<AppContext>, req: HttpRequest, body: Payload) -> ApiResult<Json<Accepted>> {
    Ok(Json(webhooks::teams(&ctx, &req, body).await?))
}

/// A configured custom source (`webhooks.sources`): GitHub, Stripe or a generic HMAC.
#[utoipa::path(
    tag = "webhooks",
    params(("source" = String, Path)),
    responses((status = 200, body = Accepted), (status = 401, body = ErrorBody), (status = 404, description = "Unknown source", body = ErrorBody))
)]
#[post("/custom/{source}")]
pub async fn custom(
    ctx: Data<AppContext>,
    req: HttpRequest,
    source: Path<String>,
    body: Payload,
) -> ApiResult<Json<Accepted>> {
    Ok(Json(webhooks::custom(&ctx, &req, &source.into_inner(), body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    pub source: Option<String>,
    pub event_type: Option<String>,
    /// received | processing | completed | failed
    pub status: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Default 50, at most 200.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<store::webhooks::EventRow>,
    pub total: u64,
}

/// Received webhook events, newest first.
#[utoipa::path(tag = "admin", params(EventQuery), security(("bearer" = [])), responses((status = 200, body = EventList), (status = 403, body = ErrorBody)))]
#[get("/webhooks")]
pub async fn list_events(
    ctx: Data<AppContext>,
    caller: Authenticated,
    q: Query<EventQuery>,
) -> ApiResult<Json<EventList>> {
    caller.principal.require(domain::Permission::WebhooksAdmin)?;
    let q = q.into_inner();
    let f = store::webhooks::EventFilter {
        source: q.source,
        event_type: q.event_type,
        status: q.status,
        from: q.from,
        to: q.to,
    };
    let (events, total) =
        store::webhooks::list(&ctx.db, &f, q.limit.unwrap_or(50).clamp(1, 200), q.offset.unwrap_or(0)).await.map_err(
            |e| match e {
                store::StoreError::Invalid(m) => ApiError::unprocessable("invalid_filter", m),
                other => other.into(),
            },
        )?;
    Ok(Json(EventList { events, total }))
}
