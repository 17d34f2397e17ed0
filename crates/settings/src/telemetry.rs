//! One logging setup for every binary: `RUST_LOG` (or `logging.level`) filters; JSON lines in
//! production, readable lines in development. Nothing here logs secrets: settings print
//! redacted and request bodies are never logged.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::{LogFormat, Settings};

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored),
/// which keeps tests that build several applications in one process simple.
pub fn init(service: &str, settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.logging.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => settings.is_production(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_span_events(FmtSpan::NONE);
    let result = if json {
        builder.json().flatten_event(true).with_current_span(true).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    if result.is_ok() {
        tracing::info!(service, environment = ?settings.environment, "logging initialised");
    }
}
