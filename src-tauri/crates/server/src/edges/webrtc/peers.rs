//! The WebRTC peers the relay holds: limits per IP and in total, and the
//! listener IDs (a new offer with a `clientId` already held replaces the
//! older peer, as `/audio/ws`'s `listenerId` does).

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

#[derive(Debug, Default)]
pub struct PeerTable {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    per_ip: HashMap<IpAddr, usize>,
    total: usize,
    /// `clientId` → the peer holding it (its number, and what ends it).
    clients: HashMap<String, (u64, CancellationToken)>,
    next: u64,
}

/// One admitted peer's place; dropping it frees the place.
#[derive(Debug)]
pub struct PeerSlot {
    table: Arc<PeerTable>,
    ip: IpAddr,
    client: String,
    n: u64,
    /// Cancelled when a newer offer takes this `clientId`.
    pub replaced: CancellationToken,
}

impl PeerTable {
    /// A place for a peer from `ip` under `client`: refused at either limit.
    /// An older peer with the same `client` is told to end.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        client: &str,
        max_total: usize,
        max_per_ip: usize,
    ) -> Result<PeerSlot, ApiError> {
        let mut t = self.inner.lock();
        if t.total >= max_total {
            return Err(ApiError::WebRtcFull(max_total));
        }
        let from_ip = t.per_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= max_per_ip {
            return Err(ApiError::Quota {
                code: "too_many_peers",
                message: format!(
                    "{ip} holds {max_per_ip} WebRTC peers already, the most one address may"
                ),
            });
        }
        t.total += 1;
        *t.per_ip.entry(ip).or_default() += 1;
        t.next += 1;
        let n = t.next;
        let replaced = CancellationToken::new();
        if let Some((_, older)) = t.clients.insert(client.to_owned(), (n, replaced.clone())) {
            older.cancel();
        }
        Ok(PeerSlot {
            table: self.clone(),
            ip,
            client: client.to_owned(),
            n,
            replaced,
        })
    }

    /// Peers held now.
    pub fn count(&self) -> usize {
        self.inner.lock().total
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut t = self.table.inner.lock();
        t.total -= 1;
        if let Some(c) = t.per_ip.get_mut(&self.ip) {
            *c -= 1;
            if *c == 0 {
                t.per_ip.remove(&self.ip);
            }
        }
        if t.clients
            .get(&self.client)
            .is_some_and(|(n, _)| *n == self.n)
        {
            t.clients.remove(&self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn limits_per_ip_and_in_total_free_up_when_a_peer_goes() {
        let table = Arc::new(PeerTable::default());
        let a1 = table.admit(ip(1), "a1", 3, 2).unwrap();
        let _a2 = table.admit(ip(1), "a2", 3, 2).unwrap();
        let e = table.admit(ip(1), "a3", 3, 2).unwrap_err();
        assert!(matches!(
            e,
            ApiError::Quota {
                code: "too_many_peers",
                ..
            }
        ));
        let _b1 = table.admit(ip(2), "b1", 3, 2).unwrap();
        assert!(matches!(
            table.admit(ip(3), "c1", 3, 2),
            Err(ApiError::WebRtcFull(3))
        ));
        drop(a1);
        assert_eq!(table.count(), 2);
        table.admit(ip(1), "a3", 3, 2).expect("a place again");
    }

    #[test]
    fn a_new_offer_with_the_same_client_id_ends_the_older_peer() {
        let table = Arc::new(PeerTable::default());
        let old = table.admit(ip(1), "kitchen", 8, 8).unwrap();
        let new = table.admit(ip(1), "kitchen", 8, 8).unwrap();
        assert!(old.replaced.is_cancelled() && !new.replaced.is_cancelled());
        drop(old); // the old one going does not free the new one's ID
        let newer = table.admit(ip(1), "kitchen", 8, 8).unwrap();
        assert!(new.replaced.is_cancelled() && !newer.replaced.is_cancelled());
    }
}
