//! The device registry: which devkits may connect, and with which token.
//!
//! A token is shown once, when the device is created; the registry keeps
//! only its SHA-256. The registry is the only writer of `devices.json`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use crate::secrets::{now_ms, random_hex, same, sha256_hex};
use parking_lot::Mutex;
use relaydeck_hub::StreamId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    pub device_id: String,
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    pub created_ms: u64,
    pub last_seen_ms: Option<u64>,
    /// The board's stable ID when it was paired over Bluetooth (a board
    /// paired again is this device, with a new token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RegistryFile {
    #[serde(rename = "schemaVersion", default)]
    schema_version: super::schema::Stamp,
    devices: Vec<DeviceRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid device ID: {0}")]
    InvalidId(String),
    #[error("the ID '{0}' is reserved for the app's own sources")]
    Reserved(String),
    #[error("a device with ID '{0}' already exists")]
    Exists(String),
    #[error("no device with ID '{0}'")]
    NotFound(String),
    #[error("the device name must be 1 to 100 characters")]
    BadName,
    #[error("a board ID has 1 to 64 printable characters")]
    BadBoardId,
    #[error("cannot read {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot write the device registry: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug)]
pub struct DeviceRegistry {
    path: PathBuf,
    devices: Mutex<BTreeMap<String, DeviceRecord>>,
}

fn hash(token: &str) -> String {
    sha256_hex(token)
}

impl DeviceRegistry {
    /// Opens (or starts) the registry in `dir`. A corrupt file is an error,
    /// never silently replaced.
    pub fn open(dir: &Path) -> Result<Self, RegistryError> {
        let path = dir.join("devices.json");
        let devices = match std::fs::read(&path) {
            Ok(data) => {
                let file: RegistryFile =
                    serde_json::from_slice(&data).map_err(|e| RegistryError::Corrupt {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                file.devices
                    .into_iter()
                    .map(|d| (d.device_id.clone(), d))
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(RegistryError::Corrupt {
                    path,
                    message: e.to_string(),
                })
            }
        };
        Ok(Self {
            path,
            devices: Mutex::new(devices),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn save(&self, devices: &BTreeMap<String, DeviceRecord>) -> Result<(), RegistryError> {
        let file = RegistryFile {
            schema_version: super::schema::Stamp,
            devices: devices.values().cloned().collect(),
        };
        let data = serde_json::to_vec_pretty(&file).expect("the registry always serialises");
        super::write_atomic(&self.path, &data)?;
        Ok(())
    }

    /// Creates a device and returns it with its token (the only time the token exists in clear).
    pub fn create(
        &self,
        id: Option<&str>,
        name: &str,
        reserved: impl Fn(&str) -> bool,
    ) -> Result<(DeviceRecord, String), RegistryError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RegistryError::BadName);
        }
        let mut devices = self.devices.lock();
        let id = match id {
            Some(id) => StreamId::new(id)
                .map_err(|e| RegistryError::InvalidId(e.to_string()))?
                .to_string(),
            None => loop {
                let id = format!("dk-{}", &random_hex(4));
                if !devices.contains_key(&id) {
                    break id;
                }
            },
        };
        if reserved(&id) {
            return Err(RegistryError::Reserved(id));
        }
        if devices.contains_key(&id) {
            return Err(RegistryError::Exists(id));
        }
        let token = random_hex(24);
        let record = DeviceRecord {
            device_id: id.clone(),
            name: name.to_owned(),
            token_sha256: hash(&token),
            created_ms: now_ms(),
            last_seen_ms: None,
            board_id: None,
        };
        devices.insert(id.clone(), record.clone());
        if let Err(e) = self.save(&devices) {
            devices.remove(&id);
            return Err(e);
        }
        Ok((record, token))
    }

    /// A device for the board `board_id`: the one it was paired as before,
    /// with a new token (the old one stops working), or a new one. Returns
    /// the record, its token, and whether the board was known.
    pub fn pair(
        &self,
        board_id: &str,
        id: Option<&str>,
        name: &str,
        reserved: impl Fn(&str) -> bool,
    ) -> Result<(DeviceRecord, String, bool), RegistryError> {
        let board_id = board_id.trim();
        if board_id.is_empty()
            || board_id.chars().count() > 64
            || board_id.chars().any(char::is_control)
        {
            return Err(RegistryError::BadBoardId);
        }
        let mut devices = self.devices.lock();
        let known = devices
            .values()
            .find(|d| d.board_id.as_deref() == Some(board_id))
            .cloned();
        if let Some(old) = known {
            let token = random_hex(24);
            let mut record = old.clone();
            record.token_sha256 = hash(&token);
            devices.insert(record.device_id.clone(), record.clone());
            if let Err(e) = self.save(&devices) {
                devices.insert(old.device_id.clone(), old);
                return Err(e);
            }
            return Ok((record, token, true));
        }
        drop(devices);
        let (mut record, token) = self.create(id, name, reserved)?;
        let mut devices = self.devices.lock();
        record.board_id = Some(board_id.to_owned());
        devices.insert(record.device_id.clone(), record.clone());
        if let Err(e) = self.save(&devices) {
            devices.remove(&record.device_id);
            let _ = self.save(&devices);
            return Err(e);
        }
        Ok((record, token, false))
    }

    pub fn revoke(&self, id: &str) -> Result<DeviceRecord, RegistryError> {
        let mut devices = self.devices.lock();
        let record = devices
            .remove(id)
            .ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
        if let Err(e) = self.save(&devices) {
            devices.insert(id.to_owned(), record);
            return Err(e);
        }
        Ok(record)
    }

    /// The device, if `token` is its token.
    pub fn authenticate(&self, id: &str, token: &str) -> Option<DeviceRecord> {
        let devices = self.devices.lock();
        let record = devices.get(id)?;
        same(record.token_sha256.as_bytes(), hash(token).as_bytes()).then(|| record.clone())
    }

    /// Records a successful connection.
    pub fn touch(&self, id: &str) -> Result<(), RegistryError> {
        let mut devices = self.devices.lock();
        let Some(record) = devices.get_mut(id) else {
            return Ok(());
        };
        record.last_seen_ms = Some(now_ms());
        self.save(&devices)
    }

    pub fn get(&self, id: &str) -> Option<DeviceRecord> {
        self.devices.lock().get(id).cloned()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.devices.lock().contains_key(id)
    }

    pub fn list(&self) -> Vec<DeviceRecord> {
        self.devices.lock().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "relaydeck-reg-{}-{}",
            std::process::id(),
            random_hex(4)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn tokens_are_stored_only_as_hashes_and_survive_a_restart() {
        let d = dir();
        let reg = DeviceRegistry::open(&d).unwrap();
        let (rec, token) = reg.create(Some("dk-01"), "Kitchen", |_| false).unwrap();
        let file = std::fs::read_to_string(reg.path()).unwrap();
        assert!(
            !file.contains(&token),
            "the clear token must never be written"
        );
        assert!(file.contains(&rec.token_sha256));
        let reg = DeviceRegistry::open(&d).unwrap();
        assert!(reg.authenticate("dk-01", &token).is_some());
        assert!(reg.authenticate("dk-01", "wrong").is_none());
        assert!(reg.authenticate("dk-02", &token).is_none());
    }

    #[test]
    fn ids_are_generated_validated_and_unique() {
        let reg = DeviceRegistry::open(&dir()).unwrap();
        let (a, _) = reg.create(None, "A", |_| false).unwrap();
        assert!(a.device_id.starts_with("dk-"));
        assert!(matches!(
            reg.create(Some(&a.device_id), "B", |_| false),
            Err(RegistryError::Exists(_))
        ));
        assert!(matches!(
            reg.create(Some("bad id"), "B", |_| false),
            Err(RegistryError::InvalidId(_))
        ));
        assert!(matches!(
            reg.create(Some("mic"), "B", |id| id == "mic"),
            Err(RegistryError::Reserved(_))
        ));
        assert!(matches!(
            reg.create(None, "  ", |_| false),
            Err(RegistryError::BadName)
        ));
        reg.revoke(&a.device_id).unwrap();
        assert!(matches!(
            reg.revoke(&a.device_id),
            Err(RegistryError::NotFound(_))
        ));
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_registry() {
        let d = dir();
        std::fs::write(d.join("devices.json"), b"{\"version\":1,\"devi").unwrap();
        assert!(matches!(
            DeviceRegistry::open(&d),
            Err(RegistryError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_board_paired_again_is_the_same_device_with_a_new_token() {
        let d = dir();
        let reg = DeviceRegistry::open(&d).unwrap();
        let (first, old, known) = reg.pair("board-a1b2", None, "Porch", |_| false).unwrap();
        assert!(!known);
        let (again, new, known) = reg.pair("board-a1b2", None, "Porch 2", |_| false).unwrap();
        assert!(known);
        assert_eq!(again.device_id, first.device_id, "not duplicated");
        assert_eq!(reg.list().len(), 1);
        assert!(
            reg.authenticate(&first.device_id, &old).is_none(),
            "the old token stops working"
        );
        assert!(reg.authenticate(&first.device_id, &new).is_some());
        let reopened = DeviceRegistry::open(&d).unwrap();
        assert_eq!(
            reopened.get(&first.device_id).unwrap().board_id.as_deref(),
            Some("board-a1b2")
        );
        let (other, _, known) = reopened
            .pair("board-ffff", None, "Shed", |_| false)
            .unwrap();
        assert!(!known && other.device_id != first.device_id);
        assert!(matches!(
            reg.pair("bad\nid", None, "x", |_| false),
            Err(RegistryError::BadBoardId)
        ));
    }
}
