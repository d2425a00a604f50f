//! Several nodes, one relay: the cluster over NATS.
//!
//! With `--nats`, a node joins the cluster named by `--cluster` as `--node`.
//! NATS carries everything between nodes; there is no clustering of our own:
//!
//! | module | concept |
//! |--------|---------|
//! | [`link`] | the NATS connection (reconnecting by itself) and the key-value buckets |
//! | [`presence`] | what is live on which node: heartbeats in the presence bucket |
//! | [`bridge`] | the task that keeps the local hub and the cluster in step: announcements, leases, remote streams in, wanted streams out |
//! | [`credentials`] | API tokens in the cluster's credentials bucket, each node's `auth.json` a watched replica |
//! | [`media`] | one remote stream's two halves: a hub viewer publishing to NATS, a hub publisher fed from NATS |
//! | [`split`] | frames larger than a NATS message, split and joined |
//!
//! The bridge is an edge like the others: a remote node's stream enters the
//! local hub as a publisher, so every other edge serves it unchanged; a
//! local stream leaves through an ordinary hub viewer. The subjects, headers
//! and records are `relaydeck_contract::cluster`; `docs/ARCHITECTURE.md`
//! ("The cluster") draws the picture and walks through each fault.

pub mod bridge;
pub mod credentials;
pub mod link;
pub mod media;
pub mod presence;
pub mod split;

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::Instant,
};

use parking_lot::{Mutex, RwLock};
use relaydeck_contract::cluster::MediaKind;

pub use link::{Link, LinkError, LinkStatus};
use presence::PresenceMap;

/// What the rest of the server may know of the cluster: this node's name,
/// who publishes each remote stream, the presence map, the counters.
/// A node without `--nats` has one too, that says so.
#[derive(Default)]
pub struct ClusterView {
    link: OnceLock<Link>,
    /// This node's name and the URL its UI answers on.
    pub node: Option<String>,
    pub url: String,
    pub presence: RwLock<PresenceMap>,
    /// Streams the bridge feeds into the local hub → the node that holds them.
    pub origins: RwLock<HashMap<(MediaKind, String), String>>,
    pub counters: Arc<ClusterCounters>,
}

impl ClusterView {
    /// A node that runs alone.
    pub fn single() -> Self {
        Self::default()
    }

    /// A node of a cluster, before its link is up.
    pub fn member(node: String, url: String) -> Self {
        Self {
            node: Some(node),
            url,
            ..Self::default()
        }
    }

    pub fn set_link(&self, link: Link) {
        let _ = self.link.set(link);
    }

    pub fn link(&self) -> Option<&Link> {
        self.link.get()
    }

    pub fn enabled(&self) -> bool {
        self.node.is_some()
    }

    /// The node that publishes `id` (`None` alone; this node's name for its own streams).
    pub fn node_of(&self, kind: MediaKind, id: &str) -> Option<String> {
        let me = self.node.clone()?;
        Some(
            self.origins
                .read()
                .get(&(kind, id.to_owned()))
                .cloned()
                .unwrap_or(me),
        )
    }

    /// Live nodes (name, URL), this one included once it has heartbeated.
    pub fn nodes(&self) -> Vec<(String, Option<String>)> {
        self.presence.read().nodes(Instant::now())
    }
}

/// What the bridge counts (`/api/health`'s `cluster`, `/metrics`).
#[derive(Debug, Default)]
pub struct ClusterCounters {
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub chunks_in: AtomicU64,
    pub chunks_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Frames or chunks the origin published that never arrived here (a gap in
    /// its sequence numbers: skipped by latest-wins on a slow link, or lost
    /// while a NATS server failed).
    pub frames_missed: AtomicU64,
    /// Split frames dropped whole because a part was missing.
    pub frames_dropped: AtomicU64,
    /// Messages without the headers the contract requires, or refused by the hub.
    pub malformed: AtomicU64,
    /// The last transfer times, origin receive → local hub (µs).
    latencies: Mutex<VecDeque<u64>>,
}

/// How many transfer times are kept for the percentiles.
const LATENCY_SAMPLES: usize = 4096;

impl ClusterCounters {
    pub fn note_latency(&self, us: u64) {
        let mut l = self.latencies.lock();
        if l.len() == LATENCY_SAMPLES {
            l.pop_front();
        }
        l.push_back(us);
    }

    /// p50 and p99 of the kept transfer times (µs), if any.
    pub fn latency_percentiles(&self) -> Option<(u64, u64)> {
        let mut v: Vec<u64> = self.latencies.lock().iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Some((at(0.50), at(0.99)))
    }

    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}
