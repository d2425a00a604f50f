//! `relaydeck`: the Relay Deck binary.
//!
//! * `relaydeck serve [flags]`: the headless relay (see `--help`).
//! * `relaydeck device add|list|revoke|command`: devkits, through a running server's API.
//! * `relaydeck token add|list|revoke`: scoped API tokens and share links.
//! * `relaydeck devkit-sim`: a simulated devkit streaming a tone, a WAV file or speech.
//! * `relaydeck`: the desktop app. Until the desktop shell lands, it runs
//!   the relay with the test-pattern camera, which is what a newcomer wants
//!   to see first.

mod api_client;
mod cli;
mod device_cli;
mod sim_cli;
mod token_cli;

use anyhow::Context;
use clap::Parser;
use relaydeck_capture::TestPattern;
use relaydeck_hub::Hub;
use relaydeck_server::Server;

use cli::{Cli, Command, ServeArgs};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of causes on one line, without a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Device(args)) => return device_cli::run(args),
        Some(Command::Token(args)) => return token_cli::run(args),
        Some(Command::DevkitSim(args)) => {
            return tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(sim_cli::run(args));
        }
        None => {
            tracing::info!("no subcommand: running the relay with the test-pattern camera (`relaydeck serve --help` for options)");
            ServeArgs::parse_defaults_with_test_pattern()
        }
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("relaydeck")
        .build()
        .context("starting the async runtime")?
        .block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let hub = Hub::new(args.server.hub_config());
    let server = Server::bind(args.server.clone(), hub.clone()).await?;
    let addr = server.local_addr();
    let _pattern = match args.test_pattern {
        true => Some(TestPattern::start(&hub, args.test_pattern_config()).context("starting the test-pattern camera")?),
        false => None,
    };
    let devkits = &server.state().devkits;
    let ports = (devkits.tcp_addr().map(|a| a.port()), devkits.udp_addr().map(|a| a.port()));
    let data_dir = args.server.data_dir();
    cli::print_banner(
        &args,
        cli::BannerFacts { addr, devkit_ports: ports, data_dir: &data_dir, new_password: server.generated_password(), tls: server.tls_info() },
    );
    server.run(shutdown_signal()).await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
