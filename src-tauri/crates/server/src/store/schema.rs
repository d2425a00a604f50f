//! Versions of the state files, and their migrations.
//!
//! Every state file of the data directory (`auth.json`, `devices.json`,
//! `camera-names.json`, `settings.json`, and `library/ID.json` for each file
//! of the audio library) carries a reserved key,
//! `"schemaVersion": "MAJOR.MINOR"`. A new minor version only adds keys, which
//! an older relay ignores with a warning; a new major version changes what
//! existing keys mean, so an older relay refuses to start on it rather than
//! misread it.
//!
//! [`migrate`] runs once at start-up, before any store opens its file. It
//! reads each file's version (files from before versions existed are 1.0),
//! and if any file needs a migration it first copies every state file into
//! `backups/schema-<unix ms>/` (private, with a `README` saying how to
//! restore), then migrates each file step by step to [`CURRENT`] and writes
//! it atomically. Restoring is copying the backup's files back: a relay of
//! the version that wrote them reads them as before, and this one migrates
//! them again.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use serde_json::{Map, Value};

/// The key every state file reserves for its version.
pub const KEY: &str = "schemaVersion";

/// The version this relay writes.
pub const CURRENT: Version = Version { major: 2, minor: 0 };

/// The state files, by name in the data directory.
pub const FILES: [&str; 4] = [
    "auth.json",
    "devices.json",
    super::camera_names::FILE_NAME,
    super::settings::FILE_NAME,
];

/// The audio library's folder: one state file per file of the library
/// (`ID.json`, beside its audio).
pub const LIBRARY_DIR: &str = "library";

/// Every state file of `dir`, as paths relative to it: [`FILES`] and the
/// library's entries.
fn state_files(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = FILES.iter().map(PathBuf::from).collect();
    if let Ok(entries) = std::fs::read_dir(dir.join(LIBRARY_DIR)) {
        let mut library: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .filter_map(|n| n.to_str().map(str::to_owned))
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .map(|n| Path::new(LIBRARY_DIR).join(n))
            .collect();
        library.sort();
        names.extend(library);
    }
    names
}

/// Where backups go, in the data directory.
pub const BACKUP_DIR: &str = "backups";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Version {
    /// `"2.0"`.
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.split_once('.')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

/// The version to write into a file (its `schemaVersion`).
pub fn current() -> Value {
    Value::String(CURRENT.to_string())
}

/// A store's `schemaVersion` field: read as whatever the file says (the
/// migration has dealt with it by then), written as [`CURRENT`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp;

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&CURRENT)
    }
}

impl<'de> serde::Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Stamp)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "{path} was written by a newer Relay Deck (schema {found}; this one reads {}.x). \
         Start the newer version again, or restore the backup a migration made in {backups}",
        CURRENT.major
    )]
    Newer {
        path: PathBuf,
        found: Version,
        backups: PathBuf,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("backing up the state files to {path} before migrating them: {source}")]
    Backup {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the migrated {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What [`migrate`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migration {
    /// The backup made first (when anything was migrated).
    pub backup: Option<PathBuf>,
    /// Each file migrated, from which version.
    pub migrated: Vec<(String, Version)>,
    /// Files from a newer minor version (read as they are).
    pub newer_minor: Vec<(String, Version)>,
}

/// A file's version: its `schemaVersion`, or 1.0 for a file from before it.
fn version_of(path: &Path, file: &Map<String, Value>) -> Result<Version, SchemaError> {
    match file.get(KEY) {
        None => Ok(Version { major: 1, minor: 0 }),
        Some(Value::String(s)) => Version::parse(s).ok_or_else(|| SchemaError::Invalid {
            path: path.to_owned(),
            message: format!("{KEY} '{s}' is not MAJOR.MINOR"),
        }),
        Some(other) => Err(SchemaError::Invalid {
            path: path.to_owned(),
            message: format!("{KEY} must be a string like \"{CURRENT}\", not {other}"),
        }),
    }
}

/// 1.x → 2.0: `auth.json`, `devices.json` and `camera-names.json` had an
/// integer `version` (always 1), `settings.json` nothing; all now carry
/// `schemaVersion`.
fn v1_to_v2(file: &mut Map<String, Value>) {
    file.remove("version");
}

/// One migration: a file's object, rewritten in place.
type Step = fn(&mut Map<String, Value>);

/// The migrations, by the major version they start from.
const STEPS: &[(u32, Step)] = &[(1, v1_to_v2)];

/// Migrates one file's object to [`CURRENT`].
pub fn upgrade(file: &mut Map<String, Value>, from: Version) {
    for (major, step) in STEPS {
        if from.major <= *major {
            step(file);
        }
    }
    file.insert(KEY.to_owned(), current());
}

/// The state files as they are: name, path, parsed object, version.
type Loaded = Vec<(String, PathBuf, Map<String, Value>, Version)>;

fn load(dir: &Path) -> Result<Loaded, SchemaError> {
    let mut out = Vec::new();
    for name in state_files(dir) {
        let path = dir.join(&name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(SchemaError::Invalid {
                    path,
                    message: e.to_string(),
                })
            }
        };
        // A corrupt file is left to its store, which names what is wrong.
        let Ok(Value::Object(file)) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let version = version_of(&path, &file)?;
        out.push((name.display().to_string(), path, file, version));
    }
    Ok(out)
}

/// Brings every state file in `dir` to [`CURRENT`], backing them up first.
pub fn migrate(dir: &Path) -> Result<Migration, SchemaError> {
    let files = load(dir)?;
    let backups = dir.join(BACKUP_DIR);
    if let Some((_, path, _, found)) = files.iter().find(|f| f.3.major > CURRENT.major) {
        return Err(SchemaError::Newer {
            path: path.clone(),
            found: *found,
            backups,
        });
    }
    let mut report = Migration {
        newer_minor: files
            .iter()
            .filter(|f| f.3.major == CURRENT.major && f.3.minor > CURRENT.minor)
            .map(|f| (f.0.clone(), f.3))
            .collect(),
        ..Migration::default()
    };
    for (name, found) in &report.newer_minor {
        tracing::warn!(file = %name, schema = %found, "written by a newer minor version of Relay Deck: keys it added are ignored");
    }
    let old: Vec<_> = files.iter().filter(|f| f.3.major < CURRENT.major).collect();
    if old.is_empty() {
        return Ok(report);
    }
    let backup = backup(dir, &backups, old[0].3)?;
    for (name, path, file, from) in old {
        let mut file = file.clone();
        upgrade(&mut file, *from);
        let data = serde_json::to_vec_pretty(&Value::Object(file)).expect("JSON serialises");
        super::write_atomic(path, &data).map_err(|source| SchemaError::Write {
            path: path.clone(),
            source,
        })?;
        tracing::info!(file = %name, from = %from, to = %CURRENT, "state file migrated");
        report.migrated.push((name.clone(), *from));
    }
    tracing::info!(backup = %backup.display(), "the state files before the migration are kept here");
    report.backup = Some(backup);
    Ok(report)
}

/// Copies every state file of `dir` into a new private directory under
/// `backups`, byte for byte, with a note on restoring.
fn backup(dir: &Path, backups: &Path, from: Version) -> Result<PathBuf, SchemaError> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let target = backups.join(format!("schema-{from}-{ms}"));
    let fail = |source| SchemaError::Backup {
        path: target.clone(),
        source,
    };
    super::private_dir(backups).map_err(fail)?;
    super::private_dir(&target).map_err(fail)?;
    for name in state_files(dir) {
        match std::fs::read(dir.join(&name)) {
            Ok(bytes) => super::write_atomic(&target.join(&name), &bytes).map_err(fail)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
    }
    let note = format!(
        "The state files of {} as they were before Relay Deck migrated them from schema {from} to {CURRENT}.\n\
         To restore them: stop Relay Deck, copy these files back into the data directory, and start the\n\
         version that wrote them (a version reading schema {CURRENT} migrates them again).\n",
        dir.display()
    );
    super::write_atomic(&target.join("README"), note.as_bytes()).map_err(fail)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir() -> Dir {
        let d = std::env::temp_dir().join(format!(
            "relaydeck-schema-{}-{}",
            std::process::id(),
            crate::secrets::random_hex(4)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn read(path: &Path) -> Map<String, Value> {
        match serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() {
            Value::Object(m) => m,
            _ => panic!("an object"),
        }
    }

    #[test]
    fn versions_parse_as_major_dot_minor_only() {
        assert_eq!(Version::parse("2.0"), Some(CURRENT));
        assert_eq!(
            Version::parse("10.3"),
            Some(Version {
                major: 10,
                minor: 3
            })
        );
        for bad in [
            "2",
            "2.",
            ".1",
            "2.0.1",
            "a.b",
            "-1.0",
            "+2.0",
            " 2.0",
            "9999999999.0",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_version_one_directory_is_backed_up_byte_for_byte_then_migrated() {
        let d = dir();
        let auth = br#"{"version":1,"adminPasswordArgon2":null,"cookieKeyHex":null,"tokens":[]}"#;
        let settings = br#"{"port":3100,"theme":"dark"}"#;
        std::fs::write(d.path().join("auth.json"), auth).unwrap();
        std::fs::write(d.path().join("settings.json"), settings).unwrap();
        let report = migrate(d.path()).unwrap();
        let backup = report.backup.clone().unwrap();
        assert_eq!(std::fs::read(backup.join("auth.json")).unwrap(), auth);
        assert_eq!(
            std::fs::read(backup.join("settings.json")).unwrap(),
            settings
        );
        assert!(std::fs::read_to_string(backup.join("README"))
            .unwrap()
            .contains("copy these files back"));
        assert_eq!(
            report.migrated,
            vec![
                ("auth.json".into(), Version { major: 1, minor: 0 }),
                ("settings.json".into(), Version { major: 1, minor: 0 })
            ]
        );
        let a = read(&d.path().join("auth.json"));
        assert_eq!(a[KEY], "2.0");
        assert!(!a.contains_key("version"));
        assert_eq!(a["tokens"], serde_json::json!([]));
        let s = read(&d.path().join("settings.json"));
        assert_eq!(
            (s[KEY].clone(), s["port"].clone()),
            ("2.0".into(), 3100.into())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&d.path().join(BACKUP_DIR)), 0o700);
            assert_eq!(mode(&backup), 0o700);
            assert_eq!(mode(&backup.join("auth.json")), 0o600);
        }
        // Nothing left to do the second time: no second backup.
        assert_eq!(migrate(d.path()).unwrap(), Migration::default());
    }

    #[test]
    fn the_librarys_entries_are_state_files_too() {
        let d = dir();
        std::fs::create_dir_all(d.path().join(LIBRARY_DIR)).unwrap();
        let entry = br#"{"id":"song-mp3","name":"song.mp3"}"#;
        std::fs::write(d.path().join("library/song-mp3.json"), entry).unwrap();
        std::fs::write(d.path().join("library/song-mp3.pcm"), b"not json").unwrap();
        let report = migrate(d.path()).unwrap();
        assert_eq!(
            report.migrated,
            vec![(
                "library/song-mp3.json".into(),
                Version { major: 1, minor: 0 }
            )]
        );
        let backup = report.backup.unwrap();
        assert_eq!(
            std::fs::read(backup.join("library/song-mp3.json")).unwrap(),
            entry
        );
        assert!(
            !backup.join("library/song-mp3.pcm").exists(),
            "the audio is not a state file"
        );
        assert_eq!(read(&d.path().join("library/song-mp3.json"))[KEY], "2.0");
    }

    #[test]
    fn a_newer_major_version_stops_start_up_and_changes_nothing() {
        let d = dir();
        let newer = br#"{"schemaVersion":"3.0","devices":[]}"#;
        std::fs::write(d.path().join("devices.json"), newer).unwrap();
        std::fs::write(d.path().join("auth.json"), br#"{"version":1,"tokens":[]}"#).unwrap();
        let err = migrate(d.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "devices.json was written by a newer Relay Deck (schema 3.0; this one reads 2.x)"
            ),
            "{text}"
        );
        assert_eq!(std::fs::read(d.path().join("devices.json")).unwrap(), newer);
        assert!(
            !d.path().join(BACKUP_DIR).exists(),
            "no backup, no migration of the others"
        );
    }

    #[test]
    fn a_newer_minor_version_is_read_as_it_is() {
        let d = dir();
        let file = br#"{"schemaVersion":"2.7","names":{},"addedLater":true}"#;
        std::fs::write(d.path().join("camera-names.json"), file).unwrap();
        let report = migrate(d.path()).unwrap();
        assert_eq!(
            report.newer_minor,
            vec![("camera-names.json".into(), Version { major: 2, minor: 7 })]
        );
        assert_eq!(report.backup, None);
        assert_eq!(
            std::fs::read(d.path().join("camera-names.json")).unwrap(),
            file
        );
    }

    #[test]
    fn a_malformed_version_is_a_clear_error_and_a_corrupt_file_is_left_to_its_store() {
        let d = dir();
        std::fs::write(d.path().join("settings.json"), br#"{"schemaVersion":2}"#).unwrap();
        let err = migrate(d.path()).unwrap_err().to_string();
        assert!(
            err.contains("schemaVersion must be a string like \"2.0\""),
            "{err}"
        );
        std::fs::write(d.path().join("settings.json"), b"{\"port\":").unwrap();
        assert_eq!(migrate(d.path()).unwrap(), Migration::default());
    }
}
