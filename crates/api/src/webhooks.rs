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
use std::sync::Arc;
use store::TransactionTrait;

use tokio::sync::{mpsc, oneshot};
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
    if has_nul(&v) {
        // PostgreSQL's jsonb cannot store U+0000; refused here rather than failing the write.
        return Err(ApiError::unprocessable("invalid_payload", "the body contains a \\u0000 character"));
    }
    Ok(v)
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn body_hash(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// Stores the event and its job together; returns the answer. Goes through the process's
/// [`Intake`] (group commit); without one, or when its batch failed, one transaction per event.
async fn accept(
    ctx: &AppContext,
    source: &str,
    event_type: &str,
    event_id: String,
    payload: Value,
) -> ApiResult<Accepted> {
    let event = store::webhooks::NewEvent {
        id: Uuid::now_v7(),
        source: source.to_string(),
        event_type: event_type.to_string(),
        event_id,
        payload,
        job_id: Uuid::now_v7(),
    };
    let (tx, rx) = oneshot::channel();
    let answer = match ctx.webhook_intake.send((event.clone(), tx)).await {
        Ok(()) => rx.await.ok(),
        Err(_) => None,
    };
    let accepted = match answer {
        Some(Ok(a)) => a,
        // The batch could not be written (e.g. one payload PostgreSQL refuses): this event
        // alone, so only a bad one fails.
        Some(Err(())) | None => accept_one(ctx, event).await?,
    };
    let outcome = if accepted.status == "accepted" { "accepted" } else { "duplicate" };
    metrics::counter!("webhooks_total", "source" => source.to_string(), "outcome" => outcome).increment(1);
    Ok(accepted)
}

async fn accept_one(ctx: &AppContext, e: store::webhooks::NewEvent) -> ApiResult<Accepted> {
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    // The event's id is ours, so its job can be enqueued first and the event row written with
    // the job's id in one insert; a duplicate rolls both back.
    let job = jobs::NewJob::new(domain::jobs::Queue::Webhook, WEBHOOK_PROCESS, json!({"event": e.id}))
        .priority(WEBHOOK_PRIORITY)
        .idempotency_key(format!("webhook:{}", e.id))
        .max_attempts(WEBHOOK_ATTEMPTS);
    let enqueued = jobs::enqueue(&txn, job).await.map_err(ApiError::internal)?;
    let (row, new) =
        store::webhooks::record(&txn, e.id, &e.source, &e.event_type, &e.event_id, e.payload, Some(enqueued.id))
            .await?;
    if !new {
        txn.rollback().await.map_err(store::StoreError::from)?;
        return Ok(Accepted { status: "duplicate", event_id: row.id });
    }
    txn.commit().await.map_err(store::StoreError::from)?;
    // Committed: pushed now when the lane has room, else by the sweeper (also if Redis is down).
    ctx.transport.dispatch(&ctx.db, std::slice::from_ref(&enqueued)).await;
    Ok(Accepted { status: "accepted", event_id: row.id })
}

const WEBHOOK_PROCESS: &str = "webhook.process";
const WEBHOOK_PRIORITY: u8 = 60;
const WEBHOOK_ATTEMPTS: u32 = 5;
/// Most events written by one statement.
const BATCH_MAX: usize = 256;

/// An event waiting for the group commit, and who waits for its answer (`Err` = write it
/// alone).
pub type Pending = (store::webhooks::NewEvent, oneshot::Sender<Result<Accepted, ()>>);

/// Group commit for webhook intake: events arriving while a write is in flight are written
/// together by the next one — one statement (events, duplicates resolved, their jobs) and one
/// commit for the lot — and each request is answered only after that commit. Under light load
/// a batch is one event; under heavy load PostgreSQL does one round trip and one fsync for
/// many deliveries instead of four round trips and an fsync each.
pub fn start_intake(db: store::DatabaseConnection, transport: jobs::Transport) -> mpsc::Sender<Pending> {
    let (tx, mut rx) = mpsc::channel::<Pending>(BATCH_MAX * 4);
    tokio::spawn(async move {
        let lane = domain::jobs::Lane::for_priority(WEBHOOK_PRIORITY);
        let job = Arc::new(store::webhooks::EventJob {
            queue: domain::jobs::Queue::Webhook.as_str().into(),
            kind: WEBHOOK_PROCESS.into(),
            priority: i16::from(WEBHOOK_PRIORITY),
            lane: lane.as_str().into(),
            max_attempts: WEBHOOK_ATTEMPTS as i32,
        });
        // A few batches in flight: the next one forms (and PostgreSQL works on it) while the
        // previous one commits.
        let in_flight = Arc::new(tokio::sync::Semaphore::new(WRITERS));
        loop {
            let Ok(permit) = in_flight.clone().acquire_owned().await else { break };
            let mut batch: Vec<Pending> = Vec::with_capacity(BATCH_MAX);
            if rx.recv_many(&mut batch, BATCH_MAX).await == 0 {
                break;
            }
            let (db, transport, job) = (db.clone(), transport.clone(), job.clone());
            tokio::spawn(async move {
                write_batch(&db, &transport, &job, lane, batch).await;
                drop(permit);
            });
        }
    });
    tx
}

/// Concurrent batch writers.
const WRITERS: usize = 4;

async fn write_batch(
    db: &store::DatabaseConnection,
    transport: &jobs::Transport,
    job: &store::webhooks::EventJob,
    lane: domain::jobs::Lane,
    mut batch: Vec<Pending>,
) {
    let events: Vec<store::webhooks::NewEvent> = batch.iter().map(|(e, _)| e.clone()).collect();
    let outcomes = match store::webhooks::record_batch(db, &events, job).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, events = batch.len(), "webhook batch not written; writing one by one");
            for (_, reply) in batch.drain(..) {
                let _ = reply.send(Err(()));
            }
            return;
        }
    };
    let mut enqueued = Vec::new();
    for ((event, reply), outcome) in batch.drain(..).zip(outcomes) {
        let answer = match outcome.row_id {
            Some(row) if outcome.is_new => {
                enqueued.push(jobs::Enqueued {
                    id: event.job_id,
                    queue: domain::jobs::Queue::Webhook,
                    lane,
                    created: true,
                    due_now: true,
                });
                Ok(Accepted { status: "accepted", event_id: row })
            }
            Some(row) => Ok(Accepted { status: "duplicate", event_id: row }),
            // Stored by a concurrent writer while this statement ran.
            None => match store::webhooks::find_by_event_id(db, &event.source, &event.event_id).await {
                Ok(Some(row)) => Ok(Accepted { status: "duplicate", event_id: row }),
                _ => Err(()),
            },
        };
        // Committed: the answer need not wait for Redis.
        let _ = reply.send(answer);
    }
    // Pushed now when the lanes have room, else by the sweeper from PostgreSQL.
    transport.dispatch(db, &enqueued).await;
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
