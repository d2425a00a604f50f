//! What is live where: the presence bucket, as this node reads it.
//!
//! Every node writes `NODE.node` once per heartbeat (1 s) and an entry per
//! stream, source and devkit it holds when that appears, changes or every
//! few seconds for its statistics, and deletes an entry when the thing
//! goes. An entry counts only while its node's own entry is fresh (renewed
//! within three heartbeats), so a node that dies takes everything it held
//! with it within ~3 s, without anyone deleting anything. The bucket's
//! `max_age` then clears the dead node's entries from NATS.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use relaydeck_contract::cluster::{MediaKind, PresenceEntry};

/// How often a node renews its own entry.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long an entry holds without its node's heartbeat.
pub const STALE_AFTER: Duration = Duration::from_secs(3);
/// How often an entry is rewritten with fresh statistics (it is written at
/// once when it appears or changes).
pub const REFRESH: Duration = Duration::from_secs(5);

/// The presence bucket as seen from one node.
#[derive(Debug, Default)]
pub struct PresenceMap {
    entries: HashMap<String, (PresenceEntry, Instant)>,
}

impl PresenceMap {
    /// A `Put` of `key`.
    pub fn put(&mut self, key: String, entry: PresenceEntry, now: Instant) {
        self.entries.insert(key, (entry, now));
    }

    /// A `Delete` or `Purge` of `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Whether `node`'s heartbeat is fresh.
    pub fn node_alive(&self, node: &str, now: Instant) -> bool {
        self.entries
            .get(&format!("{node}.node"))
            .is_some_and(|(_, seen)| now.duration_since(*seen) < STALE_AFTER)
    }

    /// Live nodes: name → URL.
    pub fn nodes(&self, now: Instant) -> Vec<(String, Option<String>)> {
        let mut v: Vec<_> = self
            .entries
            .values()
            .filter(|(e, seen)| e.kind == "node" && now.duration_since(*seen) < STALE_AFTER)
            .map(|(e, _)| (e.node.clone(), e.url.clone()))
            .collect();
        v.sort();
        v
    }

    /// Live entries of `kind` (`video`, `audio`, `devkit`) on other nodes than `me`.
    pub fn remote(&self, kind: &str, me: &str, now: Instant) -> Vec<&PresenceEntry> {
        let mut v: Vec<_> = self
            .entries
            .values()
            .map(|(e, _)| e)
            .filter(|e| e.kind == kind && e.node != me && e.id.is_some())
            .filter(|e| self.node_alive(&e.node, now))
            .collect();
        v.sort_by(|a, b| (&a.id, &a.node).cmp(&(&b.id, &b.node)));
        v
    }

    /// The live entry of `kind`/`id` on `node`.
    pub fn find(
        &self,
        node: &str,
        kind: MediaKind,
        id: &str,
        now: Instant,
    ) -> Option<&PresenceEntry> {
        let key = format!("{node}.{}.{id}", kind.as_str());
        self.entries
            .get(&key)
            .map(|(e, _)| e)
            .filter(|_| self.node_alive(node, now))
    }

    /// Every live entry of `kind` (this node's too).
    pub fn all(&self, kind: &str, now: Instant) -> Vec<&PresenceEntry> {
        let mut v: Vec<_> = self
            .entries
            .values()
            .map(|(e, _)| e)
            .filter(|e| e.kind == kind && self.node_alive(&e.node, now))
            .collect();
        v.sort_by(|a, b| (&a.id, &a.node).cmp(&(&b.id, &b.node)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(node: &str, kind: &str, id: Option<&str>) -> PresenceEntry {
        PresenceEntry {
            node: node.into(),
            kind: kind.into(),
            id: id.map(String::from),
            name: None,
            format: None,
            url: None,
            updated_ms: 0,
            heartbeat_ms: 1000,
            frames: 0,
            bytes: 0,
            viewers: 0,
        }
    }

    #[test]
    fn an_entry_lives_as_long_as_its_nodes_heartbeat() {
        let t0 = Instant::now();
        let mut p = PresenceMap::default();
        p.put("n1.node".into(), entry("n1", "node", None), t0);
        p.put("n1.video.cam".into(), entry("n1", "video", Some("cam")), t0);
        assert_eq!(p.remote("video", "n2", t0).len(), 1);
        assert!(
            p.remote("video", "n1", t0).is_empty(),
            "a node's own entries are not remote"
        );
        assert!(p.find("n1", MediaKind::Video, "cam", t0).is_some());
        // No heartbeat for longer than STALE_AFTER: gone, though the entry stays.
        let later = t0 + STALE_AFTER + Duration::from_millis(1);
        assert!(p.remote("video", "n2", later).is_empty());
        assert!(p.nodes(later).is_empty());
        // The heartbeat renewed: back.
        p.put("n1.node".into(), entry("n1", "node", None), later);
        assert_eq!(p.remote("video", "n2", later).len(), 1);
        // Deleted: gone at once.
        p.remove("n1.video.cam");
        assert!(p.find("n1", MediaKind::Video, "cam", later).is_none());
    }
}
