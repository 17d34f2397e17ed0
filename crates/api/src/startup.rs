//! Building and running the HTTP application. `main.rs` and the tests call the same code.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use domain::RoleCatalog;
use domain::auth::TokenCodec;
use domain::password::PasswordHasher;
use settings::Settings;
use tokio::sync::Semaphore;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

use crate::context::{AppContext, UserCache};
use crate::error::{ApiError, json_error, path_error, query_error};
use crate::{client, metrics, openapi, routes};

/// Connects to PostgreSQL and Redis and assembles the context. Errors are written for an
/// operator: they say what could not be reached and where.
pub async fn build_context(settings: Settings, roles: RoleCatalog) -> anyhow::Result<AppContext> {
    let db = store::connect_configured(&settings.database).await?;
    store::require_schema(&db, &migrations::migration_names()).await?;
    let redis = kv::Redis::connect_configured(&settings.redis).await?;
    let settings = Arc::new(settings);
    let assistant = agents::chat::build(settings.clone(), db.clone())
        .context("loading the assistant (knowledge directory, skills, LLM providers)")?;
    let hasher = PasswordHasher::new(settings.auth.password_hash).context("auth.password_hash")?;
    let tokens = TokenCodec::new(
        settings.auth.effective_secret().as_bytes(),
        &settings.auth.issuer,
        &settings.auth.audience,
        settings.auth.access_token_minutes * 60,
        settings.auth.refresh_token_days * 86_400,
    );
    let permits = match settings.auth.max_concurrent_hashes {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        n => n,
    };
    let teams_bot = crate::webhooks::teams_bot(&settings).context("the Teams bot verifier")?;
    let redis_url = settings.redis.url.expose().to_string();
    let hub = realtime::Hub::start(
        &redis_url,
        redis.prefix(),
        realtime::HubOptions { per_connection_queue: settings.realtime.connection_queue, ..Default::default() },
    )
    .context("the live-connection hub (redis.url)")?;
    let turn_log = realtime::TurnLog::new(
        &redis,
        &redis_url,
        realtime::TurnLogOptions {
            ttl: Duration::from_secs(settings.realtime.turn_events_ttl_secs),
            max_len: 5000,
            ..Default::default()
        },
    )
    .context("the turn event log (redis.url)")?;
    let intake = agents::intake::Intake::from_settings(&settings, assistant.llm.clone());
    let transport = jobs::Transport::new(redis.clone());
    Ok(AppContext {
        webhook_intake: crate::webhooks::start_intake(db.clone(), transport.clone()),
        intake: Arc::new(intake),
        hub,
        publisher: realtime::Publisher::new(&redis),
        turn_log,
        teams_bot,
        trusted_proxies: client::parse_trusted(&settings.server.trusted_proxies),
        users: UserCache::new(Duration::from_secs(settings.auth.user_cache_secs)),
        roles: Arc::new(roles),
        db,
        transport,
        redis,
        tokens,
        hasher: Arc::new(hasher),
        hash_permits: Arc::new(Semaphore::new(permits)),
        started_at: Instant::now(),
        assistant: Arc::new(assistant),
        settings,
    })
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server.
    pub fn new(ctx: AppContext) -> anyhow::Result<Self> {
        metrics::install();
        let bind = ctx.settings.server.bind.clone();
        let listener = TcpListener::bind(&bind).with_context(|| format!("cannot listen on {bind}"))?;
        let port = listener.local_addr()?.port();
        let workers = match ctx.settings.server.workers {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let shutdown = ctx.settings.server.shutdown_timeout_secs;
        let data = web::Data::new(ctx);
        let server = HttpServer::new(move || {
            let ctx = data.clone();
            let limit = ctx.settings.server.json_body_limit_bytes;
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(openapi::ApiDoc::openapi())
                .app_data(ctx.clone())
                .app_data(web::JsonConfig::default().limit(limit).error_handler(json_error))
                .app_data(web::PayloadConfig::new(limit))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .service(routes::system::health)
                .service(routes::system::metrics_endpoint)
                .service(
                    scope("/auth")
                        .service(routes::auth::login)
                        .service(routes::auth::refresh)
                        .service(routes::auth::logout)
                        .service(routes::auth::me)
                        .service(routes::auth::change_password),
                )
                .service(
                    scope("/admin")
                        .service(routes::admin::list_users)
                        .service(routes::admin::create_user)
                        .service(routes::admin::get_user)
                        .service(routes::admin::update_user)
                        .service(routes::admin::list_audit)
                        .service(routes::admin::llm_usage)
                        .service(routes::admin::list_outbox)
                        .service(routes::webhooks::list_events)
                        .service(routes::admin::admin_health)
                        .service(routes::jobs::queues)
                        .service(routes::jobs::list_jobs)
                        .service(routes::jobs::replay)
                        .service(routes::jobs::cancel),
                )
                .service(routes::jobs::get_job)
                .service(
                    scope("/chat")
                        .service(routes::chat::send)
                        .service(routes::chat::sessions)
                        .service(routes::chat::history)
                        .service(routes::chat::confirm)
                        .service(routes::chat::send_media)
                        .service(routes::chat::send_url)
                        .service(crate::sse::stream)
                        .service(crate::sse::resume)
                        .service(crate::ws::ws),
                )
                .service(
                    scope("/scheduler")
                        .service(routes::scheduler::list)
                        .service(routes::scheduler::create)
                        .service(routes::scheduler::get_one)
                        .service(routes::scheduler::patch_one)
                        .service(routes::scheduler::put_one)
                        .service(routes::scheduler::delete_one)
                        .service(routes::scheduler::history)
                        .service(routes::scheduler::run_now),
                )
                .service(
                    scope("/webhooks")
                        .service(routes::webhooks::mezzofy)
                        .service(routes::webhooks::teams)
                        .service(routes::webhooks::custom),
                )
                .service(
                    scope("/devices")
                        .service(routes::devices::register)
                        .service(routes::devices::list)
                        .service(routes::devices::remove),
                )
                .service(
                    scope("/files")
                        .service(routes::files::upload)
                        .service(routes::files::list)
                        .service(routes::files::list_alias)
                        .service(routes::files::download)
                        .service(routes::files::remove),
                )
                .split_for_parts();
            app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
                .route("/docs", web::get().to(docs_redirect))
                .default_service(web::to(not_found))
                .wrap(cors(&ctx.settings))
                .wrap(from_fn(metrics::track))
                .wrap(from_fn(response_headers))
                .wrap(TracingLogger::default())
        })
        .listen(listener)?
        .workers(workers)
        .shutdown_timeout(shutdown)
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or the handle stops it), then lets in-flight requests
    /// finish within `server.shutdown_timeout_secs`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn cors(settings: &Settings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(3600);
    for origin in &settings.server.cors_origins {
        cors = if origin == "*" { cors.allow_any_origin() } else { cors.allowed_origin(origin) };
    }
    cors
}

/// Adds `X-Request-Id` (the id in every log line of this request) and `nosniff`.
async fn response_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().map(|r| r.to_string());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if let Some(id) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert(HeaderName::from_static("x-request-id"), id);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(res)
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path: String = req.path().chars().take(200).collect();
    Err(ApiError::not_found(format!("no endpoint {} {}", req.method(), path)))
}
