use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get};

use crate::admin::health::{PublicHealth, public as public_health};
use crate::context::AppContext;
use crate::error::{ApiError, ErrorBody};
use crate::metrics;

/// Liveness and dependencies, unauthenticated; 503 when PostgreSQL or Redis is down.
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, body = PublicHealth),
        (status = 503, description = "PostgreSQL or Redis is down", body = PublicHealth),
    )
)]
#[get("/health")]
pub async fn health(ctx: Data<AppContext>) -> HttpResponse {
    let (report, ok) = public_health(&ctx).await;
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(report)
}

/// Prometheus metrics (text format). Requires a bearer token when `metrics.bearer_token` is set.
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, description = "Prometheus text exposition", content_type = "text/plain"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Metrics are disabled", body = ErrorBody),
    )
)]
#[get("/metrics")]
pub async fn metrics_endpoint(ctx: Data<AppContext>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if !ctx.settings.metrics.enabled {
        return Err(ApiError::not_found("metrics are disabled"));
    }
    let token = ctx.settings.metrics.bearer_token.expose();
    if !token.is_empty() {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = format!("Bearer {token}");
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::unauthorized("invalid_token", "metrics need the configured bearer token"));
        }
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(metrics::render()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
