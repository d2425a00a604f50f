//! The user's settings: one typed struct, one file (`settings.json` in the
//! data directory), one writer at a time.
//!
//! The file is a flat JSON object, the shape `tauri-plugin-store` writes, so
//! the desktop app (which persists through the plugin, see the shell's
//! `settings` module) and headless `serve` (which uses [`JsonFileSettings`])
//! read and write the same file. Whoever runs the relay supplies the
//! [`SettingsStore`]; the relay itself only talks to the trait.
//!
//! Command-line flags and environment variables override the file for the
//! run they start, and are never written back.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use serde_json::{Map, Value};
use tokio::sync::watch;

/// The file's name in the data directory (the desktop app's store uses it too).
pub const FILE_NAME: &str = "settings.json";

pub use relaydeck_contract::settings::{MicFormat, Settings, Theme, RESTART_FIELDS};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("setting '{field}': {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("settings are not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("unknown setting '{0}'")]
    Unknown(String),
    #[error("reading or writing the settings file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("saving settings: {0}")]
    Backend(String),
}

/// At most 8 servers of 1–4 `stun:`/`stuns:`/`turn:`/`turns:` URLs; TURN
/// needs a username and a credential (browsers refuse it otherwise).
fn check_ice_servers(servers: &[relaydeck_contract::settings::IceServer]) -> Result<(), String> {
    if servers.len() > 8 {
        return Err("at most 8 ICE servers".into());
    }
    for s in servers {
        if s.urls.is_empty() || s.urls.len() > 4 {
            return Err("each ICE server has 1 to 4 URLs".into());
        }
        for url in &s.urls {
            let scheme = url.split_once(':').map(|(s, _)| s);
            if url.len() > 256 || url.chars().any(char::is_control) {
                return Err(format!(
                    "'{url}' is longer than 256 characters or has control characters"
                ));
            }
            match scheme {
                Some("stun" | "stuns") if url.len() > 5 => {}
                Some("turn" | "turns") if url.len() > 5 => {
                    if s.username.as_deref().unwrap_or("").is_empty()
                        || s.credential.as_deref().unwrap_or("").is_empty()
                    {
                        return Err(format!(
                            "the TURN server {url} needs a username and a credential"
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "'{url}' is not a stun:, stuns:, turn: or turns: URL"
                    ))
                }
            }
        }
        let long = |v: &Option<String>| v.as_ref().is_some_and(|v| v.len() > 256);
        if long(&s.username) || long(&s.credential) {
            return Err(
                "an ICE server's username and credential are at most 256 characters".into(),
            );
        }
    }
    Ok(())
}

/// What the relay does with [`Settings`] (the type itself is a wire type of the contract).
pub trait SettingsExt: Sized {
    fn validate(&self) -> Result<(), SettingsError>;
    fn patched(&self, patch: &Value) -> Result<Settings, SettingsError>;
    fn from_stored(stored: &Map<String, Value>) -> Result<Settings, SettingsError>;
    fn to_map(&self) -> Map<String, Value>;
}

impl SettingsExt for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |field, message: &str| {
            Err(SettingsError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if !(1..=1024).contains(&self.ring_frames) {
            return invalid("ringFrames", "must be between 1 and 1024 frames");
        }
        if !(20..=5000).contains(&self.audio_buffer_ms) {
            return invalid("audioBufferMs", "must be between 20 and 5000 ms");
        }
        if !(16..=7680).contains(&self.camera_width) || !(16..=4320).contains(&self.camera_height) {
            return invalid(
                "cameraWidth",
                "camera size must be between 16×16 and 7680×4320",
            );
        }
        if !(1..=120).contains(&self.camera_fps) {
            return invalid("cameraFps", "must be between 1 and 120");
        }
        if !(1..=100).contains(&self.camera_quality) {
            return invalid("cameraQuality", "must be between 1 and 100");
        }
        if self.camera.len() > 200 || self.mic.len() > 200 {
            return invalid("camera", "device names are at most 200 characters");
        }
        if let Err(why) = check_ice_servers(&self.ice_servers) {
            return invalid("iceServers", &why);
        }
        if let Err(why) = check_record_rules(&self.record_rules) {
            return invalid("recordRules", &why);
        }
        if !self.record_dir.is_empty()
            && (!std::path::Path::new(&self.record_dir).is_absolute()
                || self.record_dir.chars().any(char::is_control))
        {
            return invalid(
                "recordDir",
                "must be an absolute path (or empty for the data directory's recordings)",
            );
        }
        if !(1..=95).contains(&self.record_max_disk_percent) {
            return invalid("recordMaxDiskPercent", "must be between 1 and 95 percent");
        }
        if self.record_keep_days > 3650 {
            return invalid(
                "recordKeepDays",
                "must be at most 3650 days (0 keeps recordings until space runs out)",
            );
        }
        Ok(())
    }

    /// These settings with `patch`'s fields replaced (a JSON merge patch of
    /// top-level keys). Unknown keys and wrong types are errors, so a typo
    /// never silently does nothing.
    fn patched(&self, patch: &Value) -> Result<Settings, SettingsError> {
        let Value::Object(patch) = patch else {
            return Err(SettingsError::Shape(
                "expected a JSON object of settings".into(),
            ));
        };
        let Value::Object(mut merged) = serde_json::to_value(self).expect("settings serialize")
        else {
            unreachable!()
        };
        for (key, value) in patch {
            if !merged.contains_key(key) {
                return Err(SettingsError::Unknown(key.clone()));
            }
            merged.insert(key.clone(), value.clone());
        }
        let next: Settings = serde_json::from_value(Value::Object(merged))
            .map_err(|e| SettingsError::Shape(e.to_string()))?;
        next.validate()?;
        Ok(next)
    }

    /// Reads settings from a stored object, keeping defaults for missing keys
    /// and ignoring keys this version does not know (a newer version's file).
    fn from_stored(stored: &Map<String, Value>) -> Result<Settings, SettingsError> {
        let Value::Object(mut merged) =
            serde_json::to_value(Settings::default()).expect("settings serialize")
        else {
            unreachable!()
        };
        for (key, value) in stored {
            if key == super::schema::KEY {
                continue; // the file's version, dealt with at start-up (`schema::migrate`)
            }
            if merged.contains_key(key) {
                merged.insert(key.clone(), value.clone());
            } else {
                tracing::warn!(key = ?key, "ignoring an unknown key in the settings file");
            }
        }
        let s: Settings = serde_json::from_value(Value::Object(merged))
            .map_err(|e| SettingsError::Shape(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self).expect("settings serialize") {
            Value::Object(m) => m,
            _ => unreachable!("settings serialize to an object"),
        }
    }
}

/// Where settings live. Headless: [`JsonFileSettings`]; the desktop app:
/// `tauri-plugin-store`.
pub trait SettingsStore: Send + Sync {
    /// The stored settings, or `None` when nothing is stored yet.
    fn load(&self) -> Result<Option<Settings>, SettingsError>;
    fn save(&self, settings: &Settings) -> Result<(), SettingsError>;
}

/// `settings.json` written by the relay itself (headless `serve`).
pub struct JsonFileSettings {
    path: PathBuf,
}

impl JsonFileSettings {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl SettingsStore for JsonFileSettings {
    fn load(&self) -> Result<Option<Settings>, SettingsError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SettingsError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let map: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| SettingsError::Shape(format!("{}: {e}", self.path.display())))?;
        Settings::from_stored(&map).map(Some)
    }

    fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let mut map = settings.to_map();
        map.insert(super::schema::KEY.to_owned(), super::schema::current());
        let text = serde_json::to_vec_pretty(&map).expect("settings serialize");
        super::write_atomic(&self.path, &text).map_err(|source| SettingsError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// The live settings: the current value for everyone who follows it (a
/// `watch`), and the store that persists each change.
#[derive(Clone)]
pub struct SettingsHandle {
    current: watch::Sender<Settings>,
    store: Arc<dyn SettingsStore>,
    /// What the running relay started with, for the fields that need a restart.
    running: Settings,
}

impl std::fmt::Debug for SettingsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsHandle")
            .field("current", &*self.current.borrow())
            .field("running", &self.running)
            .finish()
    }
}

impl SettingsHandle {
    pub fn new(initial: Settings, running: Settings, store: Arc<dyn SettingsStore>) -> Self {
        Self {
            current: watch::channel(initial).0,
            store,
            running,
        }
    }

    /// Settings that live only in memory (tests, tools).
    pub fn in_memory(initial: Settings) -> Self {
        struct Nowhere;
        impl SettingsStore for Nowhere {
            fn load(&self) -> Result<Option<Settings>, SettingsError> {
                Ok(None)
            }
            fn save(&self, _: &Settings) -> Result<(), SettingsError> {
                Ok(())
            }
        }
        Self::new(initial.clone(), initial, Arc::new(Nowhere))
    }

    pub fn get(&self) -> Settings {
        self.current.borrow().clone()
    }

    pub fn running(&self) -> &Settings {
        &self.running
    }

    /// Follows every change (the test pattern, the hub's ring size, …).
    pub fn subscribe(&self) -> watch::Receiver<Settings> {
        self.current.subscribe()
    }

    /// Validates, persists, then publishes `next`. Nothing changes when the
    /// store fails.
    pub fn update(&self, next: Settings) -> Result<(), SettingsError> {
        next.validate()?;
        self.store.save(&next)?;
        self.current.send_replace(next);
        Ok(())
    }

    /// The settings whose stored value differs from what this run uses.
    pub fn pending_restart(&self) -> Vec<&'static str> {
        let (now, run) = (self.get(), &self.running);
        let mut fields = Vec::new();
        if now.port != run.port {
            fields.push("port");
        }
        if now.lan_access != run.lan_access {
            fields.push("lanAccess");
        }
        if now.tls != run.tls {
            fields.push("tls");
        }
        if now.devkit_lan != run.devkit_lan {
            fields.push("devkitLan");
        }
        if now.record_dir != run.record_dir {
            fields.push("recordDir");
        }
        fields
    }
}

/// Each rule names a valid source and kind once; a schedule has valid days and times.
fn check_record_rules(rules: &[relaydeck_contract::settings::RecordRule]) -> Result<(), String> {
    use relaydeck_contract::settings::{minute_of_day, RecordMode};
    if rules.len() > 256 {
        return Err("at most 256 rules".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in rules {
        relaydeck_hub::StreamId::new(&r.source)
            .map_err(|e| format!("source '{}': {e}", r.source))?;
        if !["camera", "audio"].contains(&r.kind.as_str()) {
            return Err(format!("kind '{}' is not camera or audio", r.kind));
        }
        if !seen.insert((r.source.clone(), r.kind.clone())) {
            return Err(format!("{} {} has two rules; keep one", r.kind, r.source));
        }
        match (r.mode, r.schedule.is_empty()) {
            (RecordMode::Schedule, true) => {
                return Err(format!(
                    "{} {}: a schedule needs at least one span",
                    r.kind, r.source
                ))
            }
            (RecordMode::Always, false) => {
                return Err(format!(
                    "{} {}: 'always' takes no schedule",
                    r.kind, r.source
                ))
            }
            _ => {}
        }
        match (r.mode, &r.motion) {
            (RecordMode::Motion, _) if r.kind != "camera" => {
                return Err(format!(
                    "audio {}: motion is detected in camera pictures only",
                    r.source
                ))
            }
            (RecordMode::Motion, Some(m)) => m
                .check()
                .map_err(|why| format!("camera {}: {why}", r.source))?,
            (RecordMode::Always | RecordMode::Schedule, Some(_)) => {
                return Err(format!(
                    "{} {}: 'motion' settings go with the motion mode",
                    r.kind, r.source
                ))
            }
            _ => {}
        }
        for span in &r.schedule {
            if span.days.is_empty() || span.days.iter().any(|d| !(1..=7).contains(d)) {
                return Err("days are 1 (Monday) to 7 (Sunday), at least one".into());
            }
            for t in [&span.start, &span.end] {
                if minute_of_day(t).is_none() {
                    return Err(format!("'{t}' is not a time (HH:MM, 00:00 to 23:59)"));
                }
            }
            if span.start == span.end {
                return Err(format!("{} to {} is no time at all", span.start, span.end));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_changes_only_its_keys_and_refuses_typos_and_bad_values() {
        let s = Settings::default();
        let next = s
            .patched(&json!({"testPattern": true, "theme": "dark"}))
            .unwrap();
        assert!(next.test_pattern);
        assert_eq!(next.theme, Theme::Dark);
        assert_eq!(next.port, 3000);
        assert!(
            matches!(s.patched(&json!({"testPatern": true})), Err(SettingsError::Unknown(k)) if k == "testPatern")
        );
        assert!(matches!(
            s.patched(&json!({"port": 70000})),
            Err(SettingsError::Shape(_))
        ));
        assert!(matches!(
            s.patched(&json!({"port": "80"})),
            Err(SettingsError::Shape(_))
        ));
        assert!(matches!(
            s.patched(&json!({"ringFrames": 0})),
            Err(SettingsError::Invalid {
                field: "ringFrames",
                ..
            })
        ));
        assert!(matches!(
            s.patched(&json!([1])),
            Err(SettingsError::Shape(_))
        ));
    }

    #[test]
    fn ice_servers_must_be_what_a_browser_takes() {
        let s = Settings::default();
        let ok = s
            .patched(&json!({"iceServers": [
                {"urls": ["stun:stun.example.net:3478"]},
                {"urls": ["turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"], "username": "u", "credential": "p"}
            ]}))
            .unwrap();
        assert_eq!(ok.ice_servers.len(), 2);
        let refused = |v: Value| match s.patched(&json!({ "iceServers": v })) {
            Err(SettingsError::Invalid {
                field: "iceServers",
                message,
            }) => message,
            Err(SettingsError::Shape(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(refused(json!([{"urls": ["http://example.net"]}])).contains("not a stun:"));
        assert!(refused(json!([{"urls": ["turn:t.example.net"]}]))
            .contains("needs a username and a credential"));
        assert!(refused(json!([{"urls": []}])).contains("1 to 4"));
        assert!(refused(json!([{"urls": ["stun:"]}])).contains("not a stun:"));
        assert!(refused(json!(vec![json!({"urls": ["stun:a"]}); 9])).contains("at most 8"));
        assert!(
            refused(json!([{"urls": ["stun:a"], "password": "x"}])).contains("password"),
            "unknown fields are refused"
        );
    }

    #[test]
    fn the_file_round_trips_and_tolerates_keys_of_newer_versions() {
        let dir = std::env::temp_dir().join(format!("relaydeck-settings-{}", std::process::id()));
        let store = JsonFileSettings::in_dir(&dir);
        assert!(store.load().unwrap().is_none());
        let s = Settings {
            port: 3100,
            theme: Theme::Light,
            ..Settings::default()
        };
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap(), Some(s));
        std::fs::write(store.path(), r#"{"port": 3200, "futureThing": 1}"#).unwrap();
        assert_eq!(store.load().unwrap().unwrap().port, 3200);
        std::fs::write(store.path(), r#"{"port": "x"}"#).unwrap();
        assert!(store.load().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn restart_fields_are_reported_until_the_next_start() {
        let h = SettingsHandle::in_memory(Settings::default());
        h.update(
            h.get()
                .patched(&json!({"port": 3300, "theme": "dark"}))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(h.pending_restart(), vec!["port"]);
        assert_eq!(h.subscribe().borrow().theme, Theme::Dark);
    }
}
