//! Starting the relay, shared by `relaydeck serve` and the desktop app:
//! settings from their store under the command line's overrides, the
//! server, and the app's own sources that follow the settings live (the
//! test-pattern camera).

use std::{collections::BTreeSet, sync::Arc};

use anyhow::Context;
use relaydeck_capture::{
    camera::{
        nokhwa_backend::NokhwaBackend, CameraCapture, CameraCaptureConfig, CameraRequest,
        CameraSelector,
    },
    mic::{MicCapture, MicCaptureConfig},
    TestPattern,
};
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
        .filter(|id| {
            matches!(
                matches.value_source(id.as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        })
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// Merges stored settings (or `first_run` when none are stored) with the
/// explicit flags into `args`, and returns the live settings handle. The
/// data directory's state files are migrated to this version's schema first
/// (backed up before; a file from a newer major version stops start-up).
pub fn settings(
    args: &mut ServeArgs,
    explicit: &Explicit,
    store: Arc<dyn SettingsStore>,
    first_run: Settings,
) -> anyhow::Result<SettingsHandle> {
    let data_dir = args.server.data_dir();
    relaydeck_server::store::schema::migrate(&data_dir).with_context(|| {
        format!(
            "the state files in {} cannot be used by this version",
            data_dir.display()
        )
    })?;
    let stored = store.load().context("reading the settings")?;
    let mut current = stored.unwrap_or(first_run);
    args.server
        .apply_settings(&current, |id| explicit.contains(id));
    if explicit.contains("test_pattern") {
        current.test_pattern = args.test_pattern;
    }
    if explicit.contains("ring_frames") {
        current.ring_frames = args.server.ring_frames as usize;
    }
    if let Some(camera) = &args.camera {
        current.camera_enabled = true;
        current.camera = camera.clone();
    }
    if let Some(mic) = &args.mic {
        current.mic_enabled = true;
        current.mic = mic.clone();
    }
    args.test_pattern = current.test_pattern;
    let running = args.server.as_settings(current.clone());
    Ok(SettingsHandle::new(current, running, store))
}

/// Binds the server and starts the sources that follow the settings.
pub async fn start(args: &ServeArgs, settings: SettingsHandle) -> anyhow::Result<(Server, Hub)> {
    let hub = Hub::new(args.server.hub_config());
    let server = Server::bind_with_settings(args.server.clone(), hub.clone(), settings.clone())
        .await?
        .with_host(crate::host::capture_host());
    follow_test_pattern(&hub, args, &settings, server.state().shutdown.clone())?;
    follow_capture(&hub, &settings, server.state().shutdown.clone());
    Ok((server, hub))
}

/// What the capture edges are asked to run, from the settings.
#[derive(Debug, Clone, PartialEq)]
struct CaptureWish {
    camera: Option<CameraCaptureConfig>,
    mic: Option<MicCaptureConfig>,
}

fn capture_wish(s: &Settings) -> CaptureWish {
    let camera = s.camera_enabled.then(|| {
        let selector = (!s.camera.trim().is_empty()).then(|| {
            s.camera
                .trim()
                .parse::<CameraSelector>()
                .expect("infallible")
        });
        let mut c = CameraCaptureConfig::new(CameraRequest {
            camera: selector,
            width: s.camera_width,
            height: s.camera_height,
            fps: s.camera_fps,
        });
        c.quality = s.camera_quality as i32;
        c.always_on = s.camera_always_on;
        c
    });
    let mic = s.mic_enabled.then(|| {
        let (rate, channels) = s.mic_format.rate_channels();
        let mut m = MicCaptureConfig::new(&s.mic, rate, channels);
        m.always_on = s.mic_always_on;
        m
    });
    CaptureWish { camera, mic }
}

/// Runs the host camera and microphone edges as the settings say,
/// restarting one when its settings change.
fn follow_capture(
    hub: &Hub,
    settings: &SettingsHandle,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut rx = settings.subscribe();
    let hub = hub.clone();
    tokio::spawn(async move {
        let mut running: (Option<CameraCapture>, Option<MicCapture>) = (None, None);
        let mut applied = CaptureWish {
            camera: None,
            mic: None,
        };
        loop {
            let wish = capture_wish(&rx.borrow_and_update());
            if wish != applied {
                let hub = hub.clone();
                let (old, prev) = (std::mem::take(&mut running), applied.clone());
                let next = wish.clone();
                running = tokio::task::spawn_blocking(move || {
                    let (mut cam, mut mic) = old;
                    if next.camera != prev.camera {
                        drop(cam.take()); // joins the capture thread, closing the device
                        cam = next.camera.clone().and_then(|c| {
                            match CameraCapture::start(&hub, Arc::new(NokhwaBackend), c) {
                                Ok(c) => Some(c),
                                Err(e) => {
                                    tracing::error!("cannot start the camera edge: {e}");
                                    None
                                }
                            }
                        });
                    }
                    if next.mic != prev.mic {
                        drop(mic.take());
                        mic = next
                            .mic
                            .clone()
                            .and_then(|m| match MicCapture::start(&hub, m) {
                                Ok(m) => Some(m),
                                Err(e) => {
                                    tracing::error!("cannot start the microphone edge: {e}");
                                    None
                                }
                            });
                    }
                    (cam, mic)
                })
                .await
                .unwrap_or_default();
                applied = wish;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { break },
                _ = shutdown.cancelled() => break,
            }
        }
        let _ = tokio::task::spawn_blocking(move || drop(running)).await;
    });
}

/// Runs the test-pattern camera while the setting says so, from now until
/// the server shuts down.
fn follow_test_pattern(
    hub: &Hub,
    args: &ServeArgs,
    settings: &SettingsHandle,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let config = args.test_pattern_config();
    let mut pattern = match settings.get().test_pattern {
        true => Some(
            TestPattern::start(hub, config.clone()).context("starting the test-pattern camera")?,
        ),
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
        let Some(Command::Serve(args)) = Cli::from_arg_matches(&m).unwrap().command else {
            panic!("serve")
        };
        (args, explicit_args(m.subcommand_matches("serve").unwrap()))
    }

    #[test]
    fn the_settings_file_fills_in_what_the_command_line_leaves_out() {
        let dir = std::env::temp_dir().join(format!("relaydeck-relay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("settings.json"),
            r#"{"port": 3456, "lanAccess": true, "ringFrames": 4, "testPattern": true}"#,
        )
        .unwrap();
        let store = Arc::new(JsonFileSettings::in_dir(&dir));

        let (mut args, explicit) = parse(&["relaydeck", "serve", "--ring-frames", "8"]);
        let handle = settings(&mut args, &explicit, store.clone(), Settings::default()).unwrap();
        assert_eq!(
            args.server.bind.to_string(),
            "0.0.0.0:3456",
            "port and LAN access from the file"
        );
        assert_eq!(args.server.ring_frames, 8, "the flag wins over the file");
        assert_eq!(handle.get().ring_frames, 8, "and is what this run follows");
        assert!(args.test_pattern, "the test pattern from the file");
        assert!(handle.pending_restart().is_empty());

        let (mut args, explicit) = parse(&["relaydeck", "serve", "--bind", "127.0.0.1:0"]);
        let handle = settings(&mut args, &explicit, store, Settings::default()).unwrap();
        assert_eq!(args.server.bind.to_string(), "127.0.0.1:0");
        assert_eq!(args.server.ring_frames, 4);
        assert_eq!(
            handle.pending_restart(),
            vec!["port", "lanAccess"],
            "the file's values wait for a start without the flag"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn devkit_lan_opens_only_the_devkit_ports_and_an_explicit_devkit_bind_wins() {
        let dir = std::env::temp_dir().join(format!("relaydeck-relay-dk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("settings.json"), r#"{"devkitLan": true}"#).unwrap();
        let store = Arc::new(JsonFileSettings::in_dir(&dir));

        let (mut args, explicit) = parse(&["relaydeck", "serve"]);
        let handle = settings(&mut args, &explicit, store.clone(), Settings::default()).unwrap();
        assert_eq!(
            args.server.bind.to_string(),
            "127.0.0.1:3000",
            "the web UI stays on loopback"
        );
        assert_eq!(args.server.devkit_ip().to_string(), "0.0.0.0");
        assert!(handle.pending_restart().is_empty());

        let (mut args, explicit) = parse(&["relaydeck", "serve", "--devkit-bind", "127.0.0.1"]);
        let handle = settings(&mut args, &explicit, store, Settings::default()).unwrap();
        assert_eq!(
            args.server.devkit_ip().to_string(),
            "127.0.0.1",
            "the flag wins"
        );
        assert_eq!(handle.pending_restart(), vec!["devkitLan"]);

        // Without the setting or the flag the devkit ports follow --bind, as before.
        let (mut args, explicit) = parse(&["relaydeck", "serve", "--bind", "0.0.0.0:0"]);
        let store = Arc::new(JsonFileSettings::in_dir(&dir.join("empty")));
        let handle = settings(&mut args, &explicit, store, Settings::default()).unwrap();
        assert_eq!(args.server.devkit_ip().to_string(), "0.0.0.0");
        assert!(!handle.running().devkit_lan);
        assert!(
            !handle.pending_restart().contains(&"devkitLan"),
            "following --bind is what off means"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_settings_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("relaydeck-relay-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("settings.json"), r#"{"ringFrames": 0}"#).unwrap();
        let (mut args, explicit) = parse(&["relaydeck", "serve"]);
        let err = settings(
            &mut args,
            &explicit,
            Arc::new(JsonFileSettings::in_dir(&dir)),
            Settings::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("ringFrames"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
