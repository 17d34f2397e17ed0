//! `mezzofy-scheduler`: thin entry point; see the library.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match settings::load(&settings::Sources::from_process()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mezzofy-scheduler: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    settings::telemetry::init("mezzofy-scheduler", &settings);
    match scheduler::run(settings, kv::presence::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mezzofy-scheduler: cannot start: {e:#}");
            ExitCode::from(1)
        }
    }
}
