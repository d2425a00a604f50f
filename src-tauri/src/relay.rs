//! Starting the relay, shared by `relaydeck serve` and the desktop app:
//! settings from their store under the command line's overrides, the
//! server, and the app's own sources that follow the settings live (the
//! test-pattern camera).

use std::{collections::BTreeSet, sync::Arc};

use anyhow::Context;
use relaydeck_capture::TestPattern;
use relaydeck_hub::Hub;
use relaydeck_server::{
    store::settings::{Settings, SettingsHandle, SettingsStore},
    Server,
};

use crate::cli::ServeArgs;

/// The serve flags given on the command line or in the environment (clap
/// argument IDs); the others may come from the settings file.
pub type Explicit = BTreeSet<String>;

pub fn explicit_args(matches: &clap::ArgMatches) -> Explicit {
    use clap::parser::ValueSource;
    matches
        .ids()
        .filter(|id| matches!(matches.value_source(id.as_str()), Some(ValueSource::CommandLine | ValueSource::EnvVariable)))
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// Merges stored settings (or `first_run` when none are stored) with the
/// explicit flags into `args`, and returns the live settings handle.
pub fn settings(args: &mut ServeArgs, explicit: &Explicit, store: Arc<dyn SettingsStore>, first_run: Settings) -> anyhow::Result<SettingsHandle> {
    let stored = store.load().context("reading the settings")?;
    let mut current = stored.unwrap_or(first_run);
    args.server.apply_settings(&current, |id| explicit.contains(id));
    if explicit.contains("test_pattern") {
        current.test_pattern = args.test_pattern;
    }
    if explicit.contains("ring_frames") {
        current.ring_frames = args.server.ring_frames as usize;
    }
    args.test_pattern = current.test_pattern;
    let running = args.server.as_settings(current.clone());
    Ok(SettingsHandle::new(current, running, store))
}

/// Binds the server and starts the sources that follow the settings.
pub async fn start(args: &ServeArgs, settings: SettingsHandle) -> anyhow::Result<(Server, Hub)> {
    let hub = Hub::new(args.server.hub_config());
    let server = Server::bind_with_settings(args.server.clone(), hub.clone(), settings.clone()).await?;
    follow_test_pattern(&hub, args, &settings, server.state().shutdown.clone())?;
    Ok((server, hub))
}

/// Runs the test-pattern camera while the setting says so, from now until
/// the server shuts down.
fn follow_test_pattern(hub: &Hub, args: &ServeArgs, settings: &SettingsHandle, shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
    let config = args.test_pattern_config();
    let mut pattern = match settings.get().test_pattern {
        true => Some(TestPattern::start(hub, config.clone()).context("starting the test-pattern camera")?),
        false => None,
    };
    let mut rx = settings.subscribe();
    let hub = hub.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { break },
                _ = shutdown.cancelled() => break,
            }
            let wanted = rx.borrow_and_update().test_pattern;
            match (wanted, pattern.is_some()) {
                (true, false) => match TestPattern::start(&hub, config.clone()) {
                    Ok(p) => pattern = Some(p),
                    Err(e) => tracing::error!("cannot start the test-pattern camera: {e}"),
                },
                (false, true) => {
                    // Dropping joins the capture thread (at most one frame's time).
                    let p = pattern.take();
                    let _ = tokio::task::spawn_blocking(move || drop(p)).await;
                }
                _ => {}
            }
        }
        let _ = tokio::task::spawn_blocking(move || drop(pattern)).await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, FromArgMatches};
    use relaydeck_server::store::settings::JsonFileSettings;

    fn parse(argv: &[&str]) -> (ServeArgs, Explicit) {
        let m = Cli::command().try_get_matches_from(argv).unwrap();
        let Some(Command::Serve(args)) = Cli::from_arg_matches(&m).unwrap().command else { panic!("serve") };
        (args, explicit_args(m.subcommand_matches("serve").unwrap()))
    }

    #[test]
    fn the_settings_file_fills_in_what_the_command_line_leaves_out() {
        let dir = std::env::temp_dir().join(format!("relaydeck-relay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("settings.json"), r#"{"port": 3456, "lanAccess": true, "ringFrames": 4, "testPattern": true}"#).unwrap();
        let store = Arc::new(JsonFileSettings::in_dir(&dir));

        let (mut args, explicit) = parse(&["relaydeck", "serve", "--ring-frames", "8"]);
        let handle = settings(&mut args, &explicit, store.clone(), Settings::default()).unwrap();
        assert_eq!(args.server.bind.to_string(), "0.0.0.0:3456", "port and LAN access from the file");
        assert_eq!(args.server.ring_frames, 8, "the flag wins over the file");
        assert_eq!(handle.get().ring_frames, 8, "and is what this run follows");
        assert!(args.test_pattern, "the test pattern from the file");
        assert!(handle.pending_restart().is_empty());

        let (mut args, explicit) = parse(&["relaydeck", "serve", "--bind", "127.0.0.1:0"]);
        let handle = settings(&mut args, &explicit, store, Settings::default()).unwrap();
        assert_eq!(args.server.bind.to_string(), "127.0.0.1:0");
        assert_eq!(args.server.ring_frames, 4);
        assert_eq!(handle.pending_restart(), vec!["port", "lanAccess"], "the file's values wait for a start without the flag");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_settings_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("relaydeck-relay-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("settings.json"), r#"{"ringFrames": 0}"#).unwrap();
        let (mut args, explicit) = parse(&["relaydeck", "serve"]);
        let err = settings(&mut args, &explicit, Arc::new(JsonFileSettings::in_dir(&dir)), Settings::default()).unwrap_err();
        assert!(format!("{err:#}").contains("ringFrames"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
