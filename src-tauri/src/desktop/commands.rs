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
