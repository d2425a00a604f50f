//! Checking the admin password without stalling the relay.
//!
//! Argon2 takes tens of milliseconds of CPU and 19 MiB by design. It runs on
//! the blocking pool, at most [`CONCURRENT_CHECKS`] at a time, so guessing
//! over HTTP Basic cannot slow other requests; players that send Basic with
//! every request are answered from a cache of recent successes (keyed by a
//! hash of the password, never the password; at most [`CACHE_LIFETIME`];
//! emptied when the password changes).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// Argon2 checks in flight at once (this machine class has two cores).
pub const CONCURRENT_CHECKS: usize = 2;
/// How long a successful Basic check is remembered.
pub const CACHE_LIFETIME: Duration = Duration::from_secs(5 * 60);
const CACHE_ENTRIES: usize = 64;

#[derive(Debug)]
pub struct PasswordChecks {
    permits: Semaphore,
    recent: Mutex<HashMap<String, Instant>>,
}

impl Default for PasswordChecks {
    fn default() -> Self {
        Self {
            permits: Semaphore::new(CONCURRENT_CHECKS),
            recent: Mutex::default(),
        }
    }
}

impl PasswordChecks {
    pub(super) fn permits(&self) -> &Semaphore {
        &self.permits
    }

    /// Whether `password` checked out within the cache's lifetime.
    pub(super) fn recently_ok(&self, password: &str) -> bool {
        let key = crate::secrets::sha256_hex(password);
        let mut recent = self.recent.lock();
        recent.retain(|_, at| at.elapsed() < CACHE_LIFETIME);
        recent.contains_key(&key)
    }

    pub(super) fn remember(&self, password: &str) {
        let mut recent = self.recent.lock();
        if recent.len() >= CACHE_ENTRIES {
            recent.clear();
        }
        recent.insert(crate::secrets::sha256_hex(password), Instant::now());
    }

    /// The password changed: nothing checked before counts any more.
    pub(super) fn forget(&self) {
        self.recent.lock().clear();
    }

    #[doc(hidden)]
    pub fn cached(&self) -> usize {
        self.recent.lock().len()
    }
}
