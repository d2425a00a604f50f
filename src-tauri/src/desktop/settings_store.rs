//! The relay's settings in the desktop app: `settings.json` in the data
//! directory, the same file (a flat object, one key per setting) headless
//! `serve` uses.
//!
//! `tauri-plugin-store` reads it; the relay's own writer writes it. The
//! plugin's `save` is a plain `fs::write` (mode from the umask, not atomic: a
//! crash mid-write leaves a torn file), and on exit it saves every store it
//! holds. So writes go through the core's `JsonFileSettings` (0600 from the
//! first byte, fsync, rename), and the plugin's store is closed after each
//! read, so it never writes the file back.

use std::path::{Path, PathBuf};

use relaydeck_server::store::settings::{
    JsonFileSettings, Settings, SettingsError, SettingsExt, SettingsStore, FILE_NAME,
};
use tauri::AppHandle;
use tauri_plugin_store::StoreExt;

pub struct PluginSettings {
    app: AppHandle,
    path: PathBuf,
    writer: JsonFileSettings,
}

impl PluginSettings {
    pub fn open(app: &AppHandle, data_dir: &Path) -> anyhow::Result<Self> {
        // An absolute path: the relay's data directory, which is also the
        // app's data directory unless --data-dir says otherwise.
        Ok(Self {
            app: app.clone(),
            path: data_dir.join(FILE_NAME),
            writer: JsonFileSettings::in_dir(data_dir),
        })
    }
}

impl SettingsStore for PluginSettings {
    fn load(&self) -> Result<Option<Settings>, SettingsError> {
        let store = self
            .app
            .store(&self.path)
            .map_err(|e| SettingsError::Backend(e.to_string()))?;
        let entries = store.entries();
        // Not kept open: the plugin would save it on exit with its own writer.
        store.close_resource();
        if entries.is_empty() {
            return Ok(None);
        }
        let mut stored: serde_json::Map<_, _> = entries.into_iter().collect();
        // The desktop app's default, for a file from before the setting existed
        // (headless `serve` defaults to off: its devkit ports follow --bind).
        stored
            .entry("devkitLan")
            .or_insert(serde_json::Value::Bool(true));
        Settings::from_stored(&stored).map(Some)
    }

    fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        self.writer.save(settings)
    }
}
