//! The relay's settings persisted through `tauri-plugin-store`, in the same
//! `settings.json` headless `serve` uses (a flat object, one key per setting).

use std::{path::Path, sync::Arc};

use relaydeck_server::store::settings::{Settings, SettingsError, SettingsStore, FILE_NAME};
use tauri::{Runtime, Wry};
use tauri_plugin_store::{Store, StoreExt};

pub struct PluginSettings<R: Runtime = Wry> {
    store: Arc<Store<R>>,
}

impl PluginSettings {
    pub fn open(app: &tauri::AppHandle, data_dir: &Path) -> anyhow::Result<Self> {
        // An absolute path: the relay's data directory, which is also the
        // app's data directory unless --data-dir says otherwise.
        let store = app.store(data_dir.join(FILE_NAME))?;
        Ok(Self { store })
    }
}

impl<R: Runtime> SettingsStore for PluginSettings<R> {
    fn load(&self) -> Result<Option<Settings>, SettingsError> {
        let entries = self.store.entries();
        if entries.is_empty() {
            return Ok(None);
        }
        Settings::from_stored(&entries.into_iter().collect()).map(Some)
    }

    fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        for (key, value) in settings.to_map() {
            self.store.set(key, value);
        }
        self.store
            .save()
            .map_err(|e| SettingsError::Backend(e.to_string()))
    }
}
