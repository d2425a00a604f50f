//! The credentials on disk (`auth.json` in the data directory): the admin
//! password's Argon2 hash, the cookie signing key and the API tokens
//! (SHA-256 only). [`AuthStore`] is the file's only writer.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{hex, now_ms, random_bytes, same, Scope};
use crate::secrets::{sha256_hex, unhex};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// The cameras/sources it is limited to (`None`: all).
    pub ids: Option<BTreeSet<String>>,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
    pub sha256: String,
}

impl TokenRecord {
    pub fn expired(&self, now: u64) -> bool {
        self.expires_ms.is_some_and(|e| e <= now)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(rename = "schemaVersion", default)]
    schema_version: crate::store::schema::Stamp,
    admin_password_argon2: Option<String>,
    cookie_key_hex: Option<String>,
    tokens: Vec<TokenRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot write the credentials file: {0}")]
    Io(#[from] std::io::Error),
    #[error("no token with the ID '{0}'")]
    NotFound(String),
}

#[derive(Debug)]
pub struct AuthStore {
    path: PathBuf,
    file: Mutex<AuthFile>,
    /// In a cluster: tokens added here, for the cluster's credentials bucket.
    added: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<TokenRecord>>,
}

impl AuthStore {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        give_back_argon2_memory();
        let path = dir.join("auth.json");
        let file = match std::fs::read(&path) {
            Ok(data) => serde_json::from_slice(&data).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AuthFile {
                schema_version: crate::store::schema::Stamp,
                ..Default::default()
            },
            Err(e) => {
                return Err(StoreError::Corrupt {
                    path,
                    message: e.to_string(),
                })
            }
        };
        Ok(Self {
            path,
            file: Mutex::new(file),
            added: std::sync::OnceLock::new(),
        })
    }

    fn save(&self, file: &AuthFile) -> Result<(), StoreError> {
        let data = serde_json::to_vec_pretty(file).expect("serialisable");
        // 0600 from the first byte (`write_atomic`).
        crate::store::write_atomic(&self.path, &data)?;
        Ok(())
    }

    pub fn has_password(&self) -> bool {
        self.file.lock().admin_password_argon2.is_some()
    }

    pub fn set_password(&self, password: &str) -> Result<(), StoreError> {
        let salt = SaltString::encode_b64(&random_bytes(16)).expect("16 bytes is a valid salt");
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 hashing")
            .to_string();
        give_back_argon2_memory();
        let mut f = self.file.lock();
        f.admin_password_argon2 = Some(hash);
        self.save(&f)
    }

    /// Argon2 verification (deliberately slow; callers rate-limit it).
    pub fn check_password(&self, password: &str) -> bool {
        let Some(hash) = self.file.lock().admin_password_argon2.clone() else {
            return false;
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        give_back_argon2_memory();
        ok
    }

    /// The cookie signing key, generated once and kept.
    pub fn cookie_key(&self) -> Result<Vec<u8>, StoreError> {
        let mut f = self.file.lock();
        if let Some(k) = f.cookie_key_hex.as_deref().and_then(unhex) {
            return Ok(k);
        }
        let key = random_bytes(32);
        f.cookie_key_hex = Some(hex(&key));
        self.save(&f)?;
        Ok(key)
    }

    pub fn add_token(&self, record: TokenRecord) -> Result<(), StoreError> {
        let mut f = self.file.lock();
        f.tokens.push(record.clone());
        self.save(&f)?;
        if let Some(tx) = self.added.get() {
            let _ = tx.send(record);
        }
        Ok(())
    }

    /// Tokens added from now on (once: the cluster's credentials replica).
    pub fn follow_additions(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<TokenRecord>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.added.set(tx).ok().map(|_| rx)
    }

    /// A token as the cluster holds it: added, or replaced if it differs.
    /// Returns whether the file changed.
    pub fn apply_replica_token(&self, record: TokenRecord) -> Result<bool, StoreError> {
        let mut f = self.file.lock();
        match f.tokens.iter_mut().find(|t| t.id == record.id) {
            Some(t) if *t == record => return Ok(false),
            Some(t) => *t = record,
            None => f.tokens.push(record),
        }
        self.save(&f)?;
        Ok(true)
    }

    /// A token the cluster revoked. Returns whether it was here.
    pub fn remove_replica_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut f = self.file.lock();
        let before = f.tokens.len();
        f.tokens.retain(|t| t.id != id);
        if f.tokens.len() == before {
            return Ok(false);
        }
        self.save(&f)?;
        Ok(true)
    }

    pub fn revoke_token(&self, id: &str) -> Result<TokenRecord, StoreError> {
        let mut f = self.file.lock();
        let i = f
            .tokens
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let removed = f.tokens.remove(i);
        self.save(&f)?;
        Ok(removed)
    }

    pub fn tokens(&self) -> Vec<TokenRecord> {
        self.file.lock().tokens.clone()
    }

    /// The live (unexpired) token whose secret is `secret`.
    pub fn find_token(&self, secret: &str) -> Option<TokenRecord> {
        let hash = sha256_hex(secret);
        let now = now_ms();
        // Every record is compared, in constant time, so timing says nothing.
        let mut found = None;
        for t in self.file.lock().tokens.iter() {
            if same(t.sha256.as_bytes(), hash.as_bytes()) {
                found = Some(t.clone());
            }
        }
        found.filter(|t| !t.expired(now))
    }
}

/// Argon2 works in 19 MiB of memory. By default glibc raises its mmap
/// threshold after such a block is freed, so the next one comes from a
/// heap arena and stays resident: a relay that checked one password would
/// hold 19 MiB for ever. A fixed 1 MiB threshold keeps big blocks in their
/// own mappings (returned to the OS on free); frames and buffers are far
/// smaller and unaffected.
fn give_back_argon2_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static FIXED: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt and malloc_trim only tune and release the allocator's free memory.
        FIXED.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        });
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
