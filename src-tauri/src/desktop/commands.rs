//! The shell's Tauri commands, for the UI when it runs inside the app
//! window. Everything else the UI does goes through the relay's HTTP API,
//! the same as in a browser.

use std::sync::{Arc, Mutex};

use relaydeck_server::edges::pairing::{
    PairError, PairEvent, PairingSession, RelayRegistrar, Timeouts,
};
use serde::Serialize;
use tauri::State;
use tauri_plugin_clipboard_manager::ClipboardExt;
use tokio_util::sync::CancellationToken;

use super::{bluetooth::BtleplugBoard, Shell};

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

/// The native pairing (the window has no Web Bluetooth): one session at a
/// time, driven a call at a time by the `/pair` page, the same steps as in a
/// browser. The flow is `relaydeck_server::edges::pairing`; these commands
/// only hold the session between calls.
#[derive(Default)]
pub struct NativePairing {
    session: Mutex<Option<Arc<Session>>>,
    /// Cancels a connection still being made (before there is a session).
    connecting: Mutex<Option<CancellationToken>>,
}

type Session = PairingSession<BtleplugBoard, RelayRegistrar>;

impl NativePairing {
    fn current(&self) -> Result<Arc<Session>, String> {
        self.session
            .lock()
            .expect("not poisoned")
            .clone()
            .ok_or_else(|| "no board is open: find a board first".to_owned())
    }

    /// Ends the session (and a connection being made), letting the board go.
    async fn end(&self) {
        if let Some(t) = self.connecting.lock().expect("not poisoned").take() {
            t.cancel();
        }
        let session = self.session.lock().expect("not poisoned").take();
        if let Some(s) = session {
            s.cancel();
            s.link().disconnect().await;
        }
    }

    /// Ends `session` if it is still the current one.
    async fn finish(&self, session: &Arc<Session>) {
        {
            let mut current = self.session.lock().expect("not poisoned");
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, session)) {
                *current = None;
            }
        }
        session.link().disconnect().await;
    }
}

/// One step of the native pairing, as the page shows it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairStepView {
    /// `started`, `done`, `skipped` or `prompt`.
    kind: &'static str,
    /// The step (`Read the board`, `Authorize`, …), or the prompt's text.
    what: String,
    detail: String,
}

impl From<PairEvent> for PairStepView {
    fn from(e: PairEvent) -> Self {
        let (kind, what, detail) = match e {
            PairEvent::Started(s) => ("started", s.label().to_owned(), String::new()),
            PairEvent::Done(s, d) => ("done", s.label().to_owned(), d),
            PairEvent::Skipped(s, d) => ("skipped", s.label().to_owned(), d),
            PairEvent::Prompt(p) => ("prompt", p, String::new()),
        };
        Self { kind, what, detail }
    }
}

/// The open board, as the page needs it for the Wi-Fi form.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardView {
    name: String,
    can_scan: bool,
    can_identify: bool,
}

#[derive(Serialize)]
pub struct NetworkView {
    ssid: String,
    rssi: i32,
    auth: String,
}

/// Boards in range that offer Improv Wi-Fi (a 4 s scan).
#[tauri::command]
pub async fn ble_boards() -> Result<Vec<super::bluetooth::BoardSeen>, String> {
    super::bluetooth::scan(std::time::Duration::from_secs(4))
        .await
        .map_err(|e| e.to_string())
}

/// Connects to board `id`, reads it and waits for its button when it asks
/// for one (an earlier session ends first).
#[tauri::command]
pub async fn ble_open(
    shell: State<'_, Shell>,
    pairing: State<'_, NativePairing>,
    id: String,
) -> Result<BoardView, String> {
    let state = shell.app_state().ok_or("the relay is not running")?;
    pairing.end().await;
    let connecting = CancellationToken::new();
    *pairing.connecting.lock().expect("not poisoned") = Some(connecting.clone());
    let board = tokio::select! {
        _ = connecting.cancelled() => Err(PairError::Cancelled),
        b = BtleplugBoard::connect(&id) => b,
    }
    .map_err(|e| e.to_string())?;
    let session = Arc::new(Session::new(
        board,
        RelayRegistrar(state.device_state()),
        Timeouts::default(),
    ));
    if connecting.is_cancelled() {
        session.link().disconnect().await;
        return Err(PairError::Cancelled.to_string());
    }
    *pairing.session.lock().expect("not poisoned") = Some(session.clone());
    match session.open("a board").await {
        Ok(facts) => Ok(BoardView {
            name: facts.name,
            can_scan: facts.capabilities.scan(),
            can_identify: facts.capabilities.identify(),
        }),
        Err(e) => {
            pairing.finish(&session).await;
            Err(e.to_string())
        }
    }
}

/// The networks the open board sees, strongest first.
#[tauri::command]
pub async fn ble_networks(pairing: State<'_, NativePairing>) -> Result<Vec<NetworkView>, String> {
    let nets = pairing
        .current()?
        .networks()
        .await
        .map_err(|e| e.to_string())?;
    Ok(nets
        .into_iter()
        .map(|n| NetworkView {
            ssid: n.ssid,
            rssi: n.rssi,
            auth: n.auth,
        })
        .collect())
}

/// Makes the open board blink or beep.
#[tauri::command]
pub async fn ble_identify(pairing: State<'_, NativePairing>) -> Result<(), String> {
    pairing
        .current()?
        .identify()
        .await
        .map_err(|e| e.to_string())
}

/// Registers the open board and gives it the Wi-Fi and the relay settings;
/// the new device's ID once it said hello. The board is let go either way.
#[tauri::command]
pub async fn ble_provision(
    pairing: State<'_, NativePairing>,
    ssid: String,
    password: String,
) -> Result<String, String> {
    let session = pairing.current()?;
    let result = session.provision(&ssid, &password).await;
    pairing.finish(&session).await;
    result
        .map(|r| r.config.device_id)
        .map_err(|e| e.to_string())
}

/// Cancels the native pairing wherever it is; a device registered for it
/// that has not come online is revoked.
#[tauri::command]
pub async fn ble_cancel(pairing: State<'_, NativePairing>) -> Result<(), String> {
    pairing.end().await;
    Ok(())
}

/// The native pairing's steps so far.
#[tauri::command]
pub fn ble_pair_progress(pairing: State<'_, NativePairing>) -> Vec<PairStepView> {
    let session = pairing.session.lock().expect("not poisoned").clone();
    session
        .map(|s| s.events().into_iter().map(Into::into).collect())
        .unwrap_or_default()
}
