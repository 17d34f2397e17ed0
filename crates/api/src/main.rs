//! `mezzofy-api`: loads the configuration, connects to PostgreSQL and Redis, serves HTTP,
//! and stops gracefully on SIGTERM/SIGINT.

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match settings::load(&settings::Sources::from_process()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mezzofy-api: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    settings::telemetry::init("mezzofy-api", &settings);
    for w in settings.warnings() {
        tracing::warn!("{w}");
    }
    let roles = match settings::load_roles(std::path::Path::new(&settings.paths.roles_file)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mezzofy-api: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = match api::build_context(settings, roles).await {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("mezzofy-api: cannot start: {e:#}");
            return ExitCode::from(1);
        }
    };
    let bind = ctx.settings.server.bind.clone();
    let app = match api::Application::new(ctx) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("mezzofy-api: cannot start: {e:#}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(address = %bind, port = app.port(), "mezzofy-api listening");
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("mezzofy-api stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mezzofy-api: server error: {e}");
            ExitCode::from(1)
        }
    }
}
