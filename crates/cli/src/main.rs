//! `mezzofy`: the admin CLI (migrate, seed, users).

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let settings = match settings::load(&settings::Sources::from_process()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mezzofy: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli::run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mezzofy: {e:#}");
            ExitCode::from(1)
        }
    }
}
