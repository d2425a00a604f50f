//! The desktop app: a Tauri window over the same relay `serve` runs.
//!
//! The shell is thin. It starts the relay in-process ([`crate::relay`]),
//! persists the settings through `tauri-plugin-store` ([`settings_store`]),
//! claims a free port ([`port`]), signs its own webview in with a one-time
//! bootstrap code, and adds what only a desktop app has: a tray
//! ([`tray`]), a single instance, remembered window geometry, starting at
//! login ([`autostart`]). The window
//! shows the UI from `http://127.0.0.1:PORT/`, exactly what LAN browsers get;
//! frames, audio and stats reach it over the relay's WebSockets, never
//! through Tauri events.

mod autostart;
mod bluetooth;
mod commands;
mod port;
mod rendering;
mod settings_store;
mod tray;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use relaydeck_server::{store::settings::Settings, RunningServer};
use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};

use crate::{cli::ServeArgs, relay};

/// What the shell knows about the relay it runs (managed state).
pub struct Shell {
    pub base_url: String,
    pub lan_url: Option<String>,
    pub notices: Vec<String>,
    /// The window's first banner: the notices and, on first start, the
    /// generated admin password (kept out of `notices`, which commands return).
    first_banner: String,
    pub data_dir: std::path::PathBuf,
    /// The relay's certificate (PEM) when it serves HTTPS.
    own_cert: Option<String>,
    server: Mutex<Option<RunningServer>>,
}

impl Shell {
    /// The running relay's state (for the native pairing commands).
    pub fn app_state(&self) -> Option<relaydeck_server::state::AppState> {
        self.server
            .lock()
            .expect("not poisoned")
            .as_ref()
            .map(|s| s.state.clone())
    }

    /// Asks the relay to stop and waits (bounded) for it.
    fn stop_server(&self) {
        let Some(server) = self.server.lock().expect("not poisoned").take() else {
            return;
        };
        tauri::async_runtime::block_on(async move {
            if tokio::time::timeout(std::time::Duration::from_secs(10), server.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("the relay did not stop within 10 s");
            }
        });
        tracing::info!("relay stopped");
    }
}

/// Runs the desktop app until the user quits.
pub fn run(mut args: ServeArgs, explicit: relay::Explicit, hidden: bool) -> anyhow::Result<()> {
    rendering::choose();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            // A second launch shows the running instance instead.
            show_main_window(app);
        }))
        .plugin(tauri_plugin_store::Builder::default().build())
        // Size, position and the rest are remembered; whether the window is
        // shown is not: it is shown at every start but a login start (--hidden).
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(autostart::plugin())
        .manage(commands::NativePairing::default())
        .invoke_handler(tauri::generate_handler![
            commands::desktop_info,
            commands::copy_lan_url,
            commands::ble_boards,
            commands::ble_open,
            commands::ble_networks,
            commands::ble_identify,
            commands::ble_provision,
            commands::ble_cancel,
            commands::ble_pair_progress
        ])
        .setup(move |app| {
            let shell = start_relay(app.handle(), &mut args, &explicit)?;
            let url = shell.start_url(app.state::<BootstrapCode>().inner());
            let own_cert = shell.own_cert.clone();
            allow_relay_origin(app.handle(), &shell.base_url)?;
            app.manage(shell);
            tray::install(app.handle())?;
            // The page loads only once the webview is set up (WebRTC on, and
            // with HTTPS the relay's certificate trusted).
            let window = WebviewWindowBuilder::new(
                app,
                "main",
                WebviewUrl::External("about:blank".parse()?),
            )
            .title("Relay Deck")
            .inner_size(1200.0, 800.0)
            .min_inner_size(360.0, 480.0)
            // Started at login: in the tray only, until the user opens it.
            .visible(!hidden)
            .build()?;
            prepare_webview(&window, own_cert, url)?;
            close_to_tray(&window);
            if !hidden {
                let _ = window.set_focus();
            }
            watch_signals(app.handle().clone());
            Ok(())
        })
        .build(tauri::generate_context!("../tauri.conf.json"))
        .context("starting the desktop app")?;
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            if let Some(shell) = app.try_state::<Shell>() {
                shell.stop_server();
            }
        }
    });
    Ok(())
}

/// The page may call the shell's commands only from the relay's own origin:
/// its scheme, 127.0.0.1 and the port it actually bound (not any port, where
/// another local program could serve a page).
fn allow_relay_origin(app: &tauri::AppHandle, base_url: &str) -> tauri::Result<()> {
    let capability = tauri::ipc::CapabilityBuilder::new("relay-origin")
        .remote(base_url.to_owned())
        .window("main")
        .permission("core:default")
        .permission("allow-desktop-info")
        .permission("allow-copy-lan-url")
        .permission("allow-ble-boards")
        .permission("allow-ble-open")
        .permission("allow-ble-networks")
        .permission("allow-ble-identify")
        .permission("allow-ble-provision")
        .permission("allow-ble-cancel")
        .permission("allow-ble-pair-progress");
    app.add_capability(capability)
}

/// The one-time code the window signs in with (minted when the relay starts).
struct BootstrapCode(String);

fn start_relay(
    app: &tauri::AppHandle,
    args: &mut ServeArgs,
    explicit: &relay::Explicit,
) -> anyhow::Result<Shell> {
    let data_dir = args.server.data_dir();
    let store = Arc::new(settings_store::PluginSettings::open(app, &data_dir)?);
    // First start of the desktop app: show something moving at once.
    // The computer's own camera and microphone too, each opened only while
    // somebody watches or listens.
    let first_run = Settings {
        test_pattern: true,
        camera_enabled: true,
        mic_enabled: true,
        devkit_lan: true,
        ..Settings::default()
    };
    let settings = relay::settings(args, explicit, store, first_run)?;
    let (server, notices) = tauri::async_runtime::block_on(port::bind_free(args, settings))?;
    let addr = server.local_addr();
    let scheme = if args.server.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let base_url = format!("{scheme}://127.0.0.1:{}", addr.port());
    let lan_url = addr
        .ip()
        .is_unspecified()
        .then(|| {
            relaydeck_server::lan::ipv4_addresses()
                .first()
                .map(|ip| format!("{scheme}://{ip}:{}", addr.port()))
        })
        .flatten();
    let mut first_banner = notices.clone();
    if let Some(password) = server.generated_password() {
        // Shown once, in the window (the fragment never reaches a server log).
        first_banner.push(format!("The admin password for browsers on your network is {password}. It is shown only now; change it in Settings."));
        tracing::info!("an admin password was generated and shown in the window");
    }
    let own_cert = match server.tls_info() {
        Some((path, _, _)) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the relay's certificate {}", path.display()))?,
        ),
        None => None,
    };
    let code = server.state().auth.mint_bootstrap_code();
    app.manage(BootstrapCode(code));
    autostart::follow(app, server.state().settings.subscribe());
    let running = tauri::async_runtime::block_on(async move { server.spawn() });
    for n in &notices {
        tracing::warn!("{n}");
    }
    tracing::info!(url = %base_url, "relay running");
    Ok(Shell {
        base_url,
        lan_url,
        notices,
        first_banner: first_banner.join(" "),
        data_dir,
        own_cert,
        server: Mutex::new(Some(running)),
    })
}

impl Shell {
    /// The login page with the bootstrap code in the fragment (never sent
    /// to the server, never logged), then the Cameras page.
    fn start_url(&self, code: &BootstrapCode) -> String {
        let mut fragment = format!("bootstrap={}&next=%2F%23%2Fcameras", code.0);
        if !self.first_banner.is_empty() {
            fragment.push_str("&notice=");
            fragment.push_str(&percent_encode(&self.first_banner));
        }
        format!("{}/login#{fragment}", self.base_url)
    }
}

/// Turns on WebKitGTK's WebRTC (off by default; the Listen page plays the
/// Opus track with it, and over WebSocket without), lets the window accept
/// the relay's own (usually self-signed) certificate for 127.0.0.1 — that
/// one certificate, for that host only — when there is one, then loads `url`.
#[cfg(target_os = "linux")]
fn prepare_webview(
    window: &tauri::WebviewWindow,
    own_cert: Option<String>,
    url: String,
) -> tauri::Result<()> {
    window.with_webview(move |platform| {
        use webkit2gtk::{SettingsExt, WebContextExt, WebViewExt};
        let webview = platform.inner();
        if let Some(settings) = WebViewExt::settings(&webview) {
            settings.set_enable_webrtc(true);
            tracing::info!(
                webrtc = settings.enables_webrtc(),
                "the window's WebRTC (what WebKitGTK was built with decides)"
            );
        }
        if let Some(pem) = own_cert {
            match (
                webview.context(),
                webkit2gtk::gio::TlsCertificate::from_pem(&pem),
            ) {
                (Some(context), Ok(cert)) => {
                    context.allow_tls_certificate_for_host(&cert, "127.0.0.1")
                }
                (_, Err(e)) => tracing::error!("the relay's certificate is not valid PEM: {e}"),
                (None, _) => tracing::error!("the window has no web context"),
            }
        }
        webview.load_uri(&url);
    })
}

#[cfg(not(target_os = "linux"))]
fn prepare_webview(
    window: &tauri::WebviewWindow,
    _own_cert: Option<String>,
    url: String,
) -> tauri::Result<()> {
    // Elsewhere the system's trust store decides; the user accepts the certificate once.
    window.navigate(url.parse().expect("a valid URL"))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn show_main_window(app: &tauri::AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Closing the window keeps the relay running: the window hides (its page
/// then sees `document.hidden`, closes its sockets and draws nothing) and the
/// tray's "Open Relay Deck", or launching the app again, brings it back. The
/// tray's Quit, SIGTERM or Ctrl-C stop the relay.
fn close_to_tray(window: &tauri::WebviewWindow) {
    let w = window.clone();
    window.on_window_event(move |event| {
        if let tauri::WindowEvent::CloseRequested { api, .. } = event {
            api.prevent_close();
            if let Err(e) = w.hide() {
                tracing::warn!("hiding the window: {e}");
            }
            tracing::info!("window closed to the tray; the relay keeps running");
        }
    });
}

/// SIGTERM and Ctrl-C end the app the same way the tray's Quit does (Tauri
/// does not raise `RunEvent::Exit` for signals by itself).
fn watch_signals(app: tauri::AppHandle) {
    tauri::async_runtime::spawn(async move {
        crate::shutdown_signal().await;
        app.exit(0);
    });
}
