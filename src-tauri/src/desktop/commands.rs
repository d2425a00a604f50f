//! The shell's Tauri commands, for the UI when it runs inside the app
//! window. Everything else the UI does goes through the relay's HTTP API,
//! the same as in a browser.

use serde::Serialize;
use tauri::State;
use tauri_plugin_clipboard_manager::ClipboardExt;

use super::Shell;

/// Errors a command can return to the webview (serialized as a string).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("this relay listens on 127.0.0.1 only: turn on LAN access in Settings (it applies at the next start)")]
    NoLanUrl,
    #[error("clipboard: {0}")]
    Clipboard(String),
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesktopInfo {
    version: &'static str,
    base_url: String,
    lan_url: Option<String>,
    notices: Vec<String>,
    data_dir: String,
}

#[tauri::command]
pub fn desktop_info(shell: State<'_, Shell>) -> DesktopInfo {
    DesktopInfo {
        version: env!("CARGO_PKG_VERSION"),
        base_url: shell.base_url.clone(),
        lan_url: shell.lan_url.clone(),
        notices: shell.notices.clone(),
        data_dir: shell.data_dir.display().to_string(),
    }
}

#[tauri::command]
pub fn copy_lan_url(
    app: tauri::AppHandle,
    shell: State<'_, Shell>,
) -> Result<String, CommandError> {
    let url = shell.lan_url.clone().ok_or(CommandError::NoLanUrl)?;
    app.clipboard()
        .write_text(url.clone())
        .map_err(|e| CommandError::Clipboard(e.to_string()))?;
    Ok(url)
}

/// What the native pairing has done so far (the page polls it while
/// `ble_pair` runs).
#[derive(Default)]
pub struct PairProgress(std::sync::Mutex<Vec<PairStepView>>);

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairStepView {
    /// `started`, `done` or `prompt`.
    kind: &'static str,
    /// The step (`readBoard`, `authorize`, …), or the prompt's text.
    what: String,
    detail: String,
}

fn step_name(s: relaydeck_server::edges::pairing::Step) -> String {
    use relaydeck_server::edges::pairing::Step::*;
    match s {
        ReadBoard => "Read the board",
        Authorize => "Authorize",
        Register => "Register the board",
        SendWifi => "Send the Wi-Fi",
        SendRelaySettings => "Send the relay settings",
        WaitForBoard => "Wait for the board",
        Online => "Online",
    }
    .to_owned()
}

/// Boards in range that offer Improv Wi-Fi (a 4 s scan).
#[tauri::command]
pub async fn ble_boards() -> Result<Vec<super::bluetooth::BoardSeen>, String> {
    super::bluetooth::scan(std::time::Duration::from_secs(4))
        .await
        .map_err(|e| e.to_string())
}

/// Pairs the board `id` with the Wi-Fi `ssid`/`password`; the new device's ID.
#[tauri::command]
pub async fn ble_pair(
    shell: State<'_, Shell>,
    progress: State<'_, PairProgress>,
    id: String,
    ssid: String,
    password: String,
) -> Result<String, String> {
    use relaydeck_server::edges::pairing::{PairEvent, Pairing, RelayRegistrar, Timeouts};
    let state = shell.app_state().ok_or("the relay is not running")?;
    let relay = RelayRegistrar(state.device_state());
    progress.0.lock().expect("not poisoned").clear();
    let board = super::bluetooth::BtleplugBoard::connect(&id)
        .await
        .map_err(|e| e.to_string())?;
    let pairing = Pairing {
        link: &board,
        relay: &relay,
        timeouts: Timeouts::default(),
    };
    let log = |e: PairEvent| {
        let view = match e {
            PairEvent::Started(s) => PairStepView {
                kind: "started",
                what: step_name(s),
                detail: String::new(),
            },
            PairEvent::Done(s, d) => PairStepView {
                kind: "done",
                what: step_name(s),
                detail: d,
            },
            PairEvent::Prompt(p) => PairStepView {
                kind: "prompt",
                what: p,
                detail: String::new(),
            },
        };
        progress.0.lock().expect("not poisoned").push(view);
    };
    let result = pairing.run("a board", &ssid, &password, log).await;
    board.disconnect().await;
    result
        .map(|r| r.config.device_id)
        .map_err(|e| e.to_string())
}

/// The native pairing's steps so far.
#[tauri::command]
pub fn ble_pair_progress(progress: State<'_, PairProgress>) -> Vec<PairStepView> {
    progress.0.lock().expect("not poisoned").clone()
}
