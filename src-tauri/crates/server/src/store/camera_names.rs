//! The names an admin gave cameras (`camera-names.json`), so a renamed
//! camera keeps its name across publisher reconnections, the idle sweep and
//! relay restarts. This store is the file's only writer.
//!
//! The hub holds the same names in memory ([`Hub::set_label`]); the store
//! is read once at start-up to seed it and written on every rename.
//!
//! [`Hub::set_label`]: relaydeck_hub::Hub::set_label

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub const FILE_NAME: &str = "camera-names.json";

#[derive(Debug, Serialize, Deserialize)]
struct NamesFile {
    #[serde(rename = "schemaVersion", default)]
    schema_version: super::schema::Stamp,
    /// Camera ID → the admin's name for it.
    names: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CameraNamesError {
    #[error("cannot read {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot save the camera names: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug)]
pub struct CameraNames {
    path: PathBuf,
    names: Mutex<BTreeMap<String, String>>,
}

impl CameraNames {
    /// Opens (or starts) the store in `dir`. A corrupt file is an error,
    /// never silently replaced.
    pub fn open(dir: &Path) -> Result<Self, CameraNamesError> {
        let path = dir.join(FILE_NAME);
        let corrupt = |message: String| CameraNamesError::Corrupt {
            path: path.clone(),
            message,
        };
        let names = match std::fs::read(&path) {
            Ok(data) => {
                serde_json::from_slice::<NamesFile>(&data)
                    .map_err(|e| corrupt(e.to_string()))?
                    .names
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(corrupt(e.to_string())),
        };
        Ok(Self {
            path,
            names: Mutex::new(names),
        })
    }

    /// Every stored name, by camera ID.
    pub fn all(&self) -> BTreeMap<String, String> {
        self.names.lock().clone()
    }

    /// Names camera `id` (`None` forgets its name) and saves the file before
    /// returning; on a write error the name in memory is left as it was.
    pub fn set(&self, id: &str, name: Option<&str>) -> Result<(), CameraNamesError> {
        let mut names = self.names.lock();
        let mut next = names.clone();
        match name {
            Some(n) => next.insert(id.to_owned(), n.to_owned()),
            None => next.remove(id),
        };
        if next == *names {
            return Ok(());
        }
        let file = NamesFile {
            schema_version: super::schema::Stamp,
            names: next,
        };
        let data = serde_json::to_vec_pretty(&file).expect("names serialize");
        super::write_atomic(&self.path, &data)?;
        *names = file.names;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("relaydeck-names-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_name_survives_reopening_and_forgetting_removes_it() {
        let d = dir("reopen");
        let names = CameraNames::open(&d).unwrap();
        names.set("porch", Some("Front door")).unwrap();
        names.set("yard", Some("Garden")).unwrap();
        names.set("yard", None).unwrap();
        let again = CameraNames::open(&d).unwrap();
        assert_eq!(
            again.all(),
            BTreeMap::from([("porch".to_owned(), "Front door".to_owned())])
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_an_error_and_is_left_alone() {
        let d = dir("corrupt");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(FILE_NAME), b"{not json").unwrap();
        let err = CameraNames::open(&d).unwrap_err();
        assert!(err.to_string().contains(FILE_NAME), "{err}");
        assert_eq!(std::fs::read(d.join(FILE_NAME)).unwrap(), b"{not json");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_write_is_an_error_and_keeps_the_old_name() {
        let d = dir("failed");
        let names = CameraNames::open(&d).unwrap();
        names.set("porch", Some("Front door")).unwrap();
        // A non-empty directory where the file goes: the rename fails, even for root.
        std::fs::remove_file(d.join(FILE_NAME)).unwrap();
        std::fs::create_dir_all(d.join(FILE_NAME).join("x")).unwrap();
        assert!(matches!(
            names.set("porch", Some("Back door")),
            Err(CameraNamesError::Io(_))
        ));
        assert_eq!(names.all()["porch"], "Front door");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
