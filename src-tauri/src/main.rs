//! `relaydeck`: the Relay Deck binary.
//!
//! * `relaydeck serve [flags]`: the headless relay (see `--help`).
//! * `relaydeck device add|list|revoke|command`: devkits, through a running server's API.
//! * `relaydeck token add|list|revoke`: scoped API tokens and share links.
//! * `relaydeck devkit-sim`: a simulated devkit streaming a tone, a WAV file or speech.
//! * `relaydeck`: the desktop app (with the default `desktop` feature): a
//!   window over the same relay, started in-process. Without a display, or
//!   built without the feature, it runs the headless relay with the
//!   test-pattern camera instead and says so.

mod api_client;
mod cli;
#[cfg(feature = "desktop")]
mod desktop;
mod device_cli;
mod host;
mod relay;
mod sim_cli;
mod token_cli;

use std::{io::IsTerminal, sync::Arc};

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use relaydeck_server::store::settings::{JsonFileSettings, Settings};

use cli::{Cli, Command, ServeArgs};

/// Text for a terminal, or one JSON object per line carrying the fields of
/// its spans (a request's `request_id` among them).
fn init_logging(format: cli::LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        cli::LogFormat::Text => fmt.init(),
        cli::LogFormat::Json => fmt
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .init(),
    }
}

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
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(cli.log_format);
    let explicit = matches
        .subcommand_matches("serve")
        .map(relay::explicit_args)
        .unwrap_or_default();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Device(args)) => return device_cli::run(args),
        Some(Command::Token(args)) => return token_cli::run(args),
        Some(Command::DevkitSim(args)) => {
            return tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(sim_cli::run(args));
        }
        None => {
            let (args, env_explicit) = ServeArgs::parse_defaults_with_test_pattern();
            match desktop_unavailable() {
                None => return run_desktop(args, env_explicit, cli.hidden),
                Some(why) => {
                    eprintln!("relaydeck: {why}; running the headless relay instead (`relaydeck serve --help` for options).");
                    return runtime()?.block_on(serve(args, env_explicit));
                }
            }
        }
    };
    runtime()?.block_on(serve(args, explicit))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("relaydeck")
        .build()
        .context("starting the async runtime")
}

/// Why the window cannot open here, if it cannot.
fn desktop_unavailable() -> Option<&'static str> {
    if !cfg!(feature = "desktop") {
        return Some("this build has no desktop app (built without the `desktop` feature)");
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Some("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    }
    None
}

#[cfg(feature = "desktop")]
fn run_desktop(args: ServeArgs, explicit: relay::Explicit, hidden: bool) -> anyhow::Result<()> {
    desktop::run(args, explicit, hidden)
}

#[cfg(not(feature = "desktop"))]
fn run_desktop(_args: ServeArgs, _explicit: relay::Explicit, _hidden: bool) -> anyhow::Result<()> {
    unreachable!("desktop_unavailable() says so without the feature")
}

async fn serve(mut args: ServeArgs, explicit: relay::Explicit) -> anyhow::Result<()> {
    let store = Arc::new(JsonFileSettings::in_dir(&args.server.data_dir()));
    let first_run = Settings {
        test_pattern: args.test_pattern,
        ..Settings::default()
    };
    let settings = relay::settings(&mut args, &explicit, store.clone(), first_run)
        .with_context(|| format!("settings file {}", store.path().display()))?;
    let (server, _hub) = relay::start(&args, settings).await?;
    let addr = server.local_addr();
    let devkits = &server.state().devkits;
    let ports = devkits
        .tcp_addr()
        .zip(devkits.udp_addr())
        .map(|(tcp, udp)| (tcp.ip(), tcp.port(), udp.port()));
    let data_dir = args.server.data_dir();
    let new_password = server
        .generated_password()
        .map(|p| cli::NewPassword::deliver(p, &data_dir, std::io::stdout().is_terminal()))
        .transpose()
        .context("writing the first-start admin password")?;
    cli::print_banner(
        &args,
        cli::BannerFacts {
            addr,
            devkit: ports,
            data_dir: &data_dir,
            new_password,
            tls: server.tls_info(),
        },
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
