//! Webhook intake: verify the signature over the raw body, rate-limit per source, parse, and
//! commit the event row and its `webhook.process` job in one transaction before answering
//! 200 `{status: "accepted", event_id}`. A duplicate delivery (same provider event id, or the
//! same body when the provider sends no id) is answered 200 `duplicate` and stored once. A bad
//! signature is a 401 and stores nothing.

use actix_web::HttpRequest;
use actix_web::web::Payload;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::TransactionTrait;
use utoipa::ToSchema;
use uuid::Uuid;
use webhooks::{EventSource, HeaderLookup, Scheme, VerifyError};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

/// The Mezzofy platform's events.
pub const MEZZOFY_EVENTS: &[&str] =
    &["customer_signed_up", "customer_churned", "order_completed", "support_ticket_created", "feature_released"];

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// accepted | duplicate
    pub status: &'static str,
    /// The stored event (`GET /admin/webhooks`).
    pub event_id: Uuid,
}

/// actix's header map, for the verifiers.
struct Headers<'a>(&'a HttpRequest);

impl HeaderLookup for Headers<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.headers().get(name).and_then(|v| v.to_str().ok())
    }
}

/// Reads the raw body, refusing it (413) as soon as it passes `limit`.
pub async fn read_body(mut payload: Payload, limit: usize) -> ApiResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("invalid_body", format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("webhook bodies are limited to {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn verify_error(e: VerifyError) -> ApiError {
    if e.is_server_side() {
        tracing::error!(error = %e, "webhook verification is not possible");
        return ApiError::unavailable(e.code(), e.to_string());
    }
    ApiError::unauthorized(e.code(), e.to_string())
}

fn secrets(list: &[&settings::Secret]) -> Vec<webhooks::Secret> {
    list.iter().filter(|s| !s.is_empty()).map(|s| webhooks::Secret::new(s.expose().as_bytes().to_vec())).collect()
}

fn parse_json(body: &[u8]) -> ApiResult<Value> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("the body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("invalid_json", "the body must be a JSON object"));
    }
    Ok(v)
}

fn body_hash(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// Stores the event and its job together; returns the answer.
async fn accept(
    ctx: &AppContext,
    source: &str,
    event_type: &str,
    event_id: String,
    payload: Value,
) -> ApiResult<Accepted> {
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    // The event's id is ours, so its job can be enqueued first and the event row written with
    // the job's id in one insert; a duplicate rolls both back.
    let id = Uuid::now_v7();
    let job = jobs::NewJob::new(domain::jobs::Queue::Webhook, "webhook.process", json!({"event": id}))
        .priority(60)
        .idempotency_key(format!("webhook:{id}"))
        .max_attempts(5);
    let enqueued = jobs::enqueue(&txn, job).await.map_err(ApiError::internal)?;
    let (row, new) =
        store::webhooks::record(&txn, id, source, event_type, &event_id, payload, Some(enqueued.id)).await?;
    if !new {
        txn.rollback().await.map_err(store::StoreError::from)?;
        metrics::counter!("webhooks_total", "source" => source.to_string(), "outcome" => "duplicate").increment(1);
        return Ok(Accepted { status: "duplicate", event_id: row.id });
    }
    txn.commit().await.map_err(store::StoreError::from)?;
    // Committed: pushed now when the lane has room, else by the sweeper (also if Redis is down).
    ctx.transport.dispatch(&ctx.db, std::slice::from_ref(&enqueued)).await;
    metrics::counter!("webhooks_total", "source" => source.to_string(), "outcome" => "accepted").increment(1);
    Ok(Accepted { status: "accepted", event_id: row.id })
}

/// The per-source rate limit. When Redis is unreachable the delivery is let through (it is
/// signed, and PostgreSQL is the truth): losing a provider's event is worse than a burst.
async fn limit(ctx: &AppContext, source: &str) -> ApiResult<()> {
    let bucket = format!("webhook:{source}");
    match kv::ratelimit::check(&ctx.redis, &bucket, ctx.settings.rate_limits.webhooks, ctx.rate_window()).await {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => Err(ApiError::rate_limited(d.retry_after_secs())),
        Err(e) => {
            tracing::warn!(error = %e, source, "webhook rate limit unavailable (Redis); accepting");
            Ok(())
        }
    }
}

/// `POST /webhooks/mezzofy`.
pub async fn mezzofy(ctx: &AppContext, req: &HttpRequest, payload: Payload) -> ApiResult<Accepted> {
    let w = &ctx.settings.webhooks;
    let body = read_body(payload, w.body_limit_bytes).await?;
    limit(ctx, "mezzofy").await?;
    let scheme = Scheme::mezzofy(secrets(&[&w.secret, &w.previous_secret]));
    scheme.verify(&Headers(req), &body, chrono::Utc::now().timestamp()).map_err(verify_error)?;
    let json = parse_json(&body)?;
    let event = json
        .get("event")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("missing_event", "the body has no \"event\" field"))?;
    if !MEZZOFY_EVENTS.contains(&event) {
        return Err(ApiError::unprocessable(
            "unknown_event",
            format!(
                "unknown event '{}' (known: {})",
                event.chars().take(60).collect::<String>(),
                MEZZOFY_EVENTS.join(", ")
            ),
        ));
    }
    let event_id =
        webhooks::event_id(EventSource::Mezzofy, &Headers(req), Some(&json)).unwrap_or_else(|| body_hash(&body));
    let event = event.to_string();
    accept(ctx, "mezzofy", &event, event_id, json).await
}

/// `POST /webhooks/custom/{source}`.
pub async fn custom(ctx: &AppContext, req: &HttpRequest, source: &str, payload: Payload) -> ApiResult<Accepted> {
    let w = &ctx.settings.webhooks;
    let Some(cfg) = w.sources.get(source) else {
        return Err(ApiError::not_found("no such webhook source"));
    };
    let body = read_body(payload, w.body_limit_bytes).await?;
    limit(ctx, source).await?;
    let keys = secrets(&cfg.secrets.iter().collect::<Vec<_>>());
    let header_name = cfg.header.clone().unwrap_or_else(|| "X-Signature".into());
    let (scheme, id_source) = match cfg.scheme {
        settings::SignatureScheme::Github => (Scheme::github(keys), EventSource::Github),
        settings::SignatureScheme::Stripe => (Scheme::stripe(keys), EventSource::Stripe),
        settings::SignatureScheme::Generic => {
            (Scheme::generic(header_name, keys), EventSource::Generic { header: None, json_pointer: Some("/id") })
        }
    };
    scheme.verify(&Headers(req), &body, chrono::Utc::now().timestamp()).map_err(verify_error)?;
    let json = parse_json(&body)?;
    let event = cfg
        .event_header
        .as_deref()
        .and_then(|h| Headers(req).get(h).map(String::from))
        .or_else(|| cfg.event_field.as_deref().and_then(|f| json.get(f)).and_then(Value::as_str).map(String::from))
        .or_else(|| json.get("type").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| "event".into());
    let event: String = event.chars().filter(|c| !c.is_control()).take(100).collect();
    let event_id = webhooks::event_id(id_source, &Headers(req), Some(&json)).unwrap_or_else(|| body_hash(&body));
    accept(ctx, source, &event, event_id, json).await
}

/// `POST /webhooks/teams`: a Bot Framework activity (JWT) or a Teams outgoing webhook (HMAC).
pub async fn teams(ctx: &AppContext, req: &HttpRequest, payload: Payload) -> ApiResult<Accepted> {
    let w = &ctx.settings.webhooks;
    let body = read_body(payload, w.body_limit_bytes).await?;
    limit(ctx, "teams").await?;
    let now = chrono::Utc::now().timestamp();
    if let Some(bot) = &ctx.teams_bot {
        let json = parse_json(&body)?;
        let service_url = json.get("serviceUrl").and_then(Value::as_str).unwrap_or_default().to_string();
        let channel = json.get("channelId").and_then(Value::as_str).unwrap_or("msteams").to_string();
        let auth = Headers(req).get("Authorization").map(String::from);
        bot.verify_for_channel(auth.as_deref(), &service_url, &channel, now).await.map_err(verify_error)?;
        return teams_activity(ctx, req, &body, json).await;
    }
    if !w.teams_outgoing_secret.is_empty() {
        let scheme = Scheme::teams_outgoing(secrets(&[&w.teams_outgoing_secret]));
        scheme.verify(&Headers(req), &body, now).map_err(verify_error)?;
        let json = parse_json(&body)?;
        return teams_activity(ctx, req, &body, json).await;
    }
    Err(ApiError::unavailable(
        "webhook_not_configured",
        "Teams is not configured (set TEAMS_BOT_APP_ID or webhooks.teams_outgoing_secret)",
    ))
}

async fn teams_activity(ctx: &AppContext, req: &HttpRequest, body: &[u8], json: Value) -> ApiResult<Accepted> {
    let kind = json.get("type").and_then(Value::as_str).unwrap_or("message").to_string();
    let kind: String = kind.chars().filter(|c| !c.is_control()).take(60).collect();
    let event_id =
        webhooks::event_id(EventSource::Teams, &Headers(req), Some(&json)).unwrap_or_else(|| body_hash(body));
    accept(ctx, "teams", &kind, event_id, json).await
}

/// The Bot Framework verifier, when the bot is configured.
pub fn teams_bot(
    settings: &settings::Settings,
) -> anyhow::Result<Option<std::sync::Arc<webhooks::BotFrameworkVerifier>>> {
    let w = &settings.webhooks;
    if w.teams_app_id.trim().is_empty() {
        return Ok(None);
    }
    let config =
        webhooks::BotFrameworkConfig::new(w.teams_app_id.clone()).with_metadata_url(w.teams_openid_url.clone());
    Ok(Some(std::sync::Arc::new(webhooks::BotFrameworkVerifier::new(config)?)))
}
