//! Audio listeners by `listenerId`: a newer socket with the same ID replaces
//! the older one (which its edge then closes), so a reconnecting player never
//! has two live streams.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

/// Live listener sockets by `listenerId`, so a newer one replaces an older one.
#[derive(Debug, Default)]
pub struct ListenerIds {
    live: Mutex<HashMap<String, (u64, CancellationToken)>>,
    next: std::sync::atomic::AtomicU64,
}

impl ListenerIds {
    /// Registers `id`, cancelling the socket that held it before.
    pub fn claim(&self, id: &str) -> (u64, CancellationToken) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = CancellationToken::new();
        if let Some((_, old)) = self.live.lock().insert(id.to_owned(), (n, token.clone())) {
            old.cancel();
        }
        (n, token)
    }

    pub fn release(&self, id: &str, n: u64) {
        let mut live = self.live.lock();
        if live.get(id).is_some_and(|(m, _)| *m == n) {
            live.remove(id);
        }
    }
}
