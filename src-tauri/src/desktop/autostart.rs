//! Starting at login: the `startAtLogin` setting, carried out by Tauri's
//! autostart plugin (on Linux an XDG autostart entry,
//! `~/.config/autostart/Relay Deck.desktop`; a launch agent on macOS; the
//! Run key on Windows). The login start passes `--hidden`, so the app opens
//! in the tray without a window.
//!
//! The setting is the truth: at start and on every change the entry is made
//! or removed to match it, so an entry removed by hand comes back only when
//! the user turns the setting on again.

use relaydeck_server::store::settings::Settings;
use tauri::{plugin::TauriPlugin, AppHandle, Runtime};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt};
use tokio::sync::watch;

/// The flag a login start passes: no window, the tray only.
pub const HIDDEN_FLAG: &str = "--hidden";

pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, Some(vec![HIDDEN_FLAG]))
}

/// Makes the login entry follow `settings` for as long as the app runs.
pub fn follow(app: &AppHandle, mut settings: watch::Receiver<Settings>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let want = settings.borrow_and_update().start_at_login;
            apply(&app, want);
            if settings.changed().await.is_err() {
                return;
            }
        }
    });
}

fn apply(app: &AppHandle, want: bool) {
    let launcher = app.autolaunch();
    let result = match (launcher.is_enabled(), want) {
        (Ok(true), true) | (Ok(false), false) => return,
        (_, true) => launcher.enable(),
        (_, false) => launcher.disable(),
    };
    match result {
        Ok(()) => tracing::info!(start_at_login = want, "login start updated"),
        Err(e) => {
            tracing::warn!(error = %e, start_at_login = want, "the login start could not be changed")
        }
    }
}
