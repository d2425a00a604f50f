//! The bridge: one task per node that keeps the local hub and the cluster
//! in step.
//!
//! It reads three things (the presence bucket, the lease bucket, other nodes'
//! wants) and the local hub, and after each change *reconciles*: every
//! stream published here is announced and leased; every stream published
//! elsewhere, and leased there, exists here with the bridge as its
//! publisher ([`media::video_in`], [`media::audio_in`]); every local stream
//! another node wants is sent out ([`media::video_out`], [`media::audio_out`]).
//! Reconciling is idempotent, so the loop also runs it once a heartbeat,
//! which is how it recovers after NATS comes back.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::StreamExt;
use relaydeck_contract::cluster::{self as wire, Lease, MediaKind, PresenceEntry};
use relaydeck_hub::{Hub, PublisherLease, SourceKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    link::{Bucket, Link},
    media,
    presence::{HEARTBEAT, REFRESH},
    ClusterView,
};

type Key = (MediaKind, String);

/// A remote stream fed into the local hub.
struct Inbound {
    origin: String,
    cancel: CancellationToken,
    /// The video lease's signal (audio tasks hold their lease themselves).
    done: tokio::task::JoinHandle<()>,
}

/// A local stream sent to the cluster while wanted.
struct Outbound {
    last_want: Instant,
    cancel: CancellationToken,
    /// The stream or source it watches (restarted if the ID's stream is replaced).
    target: usize,
}

/// What this node has announced: key → (entry as written, when).
type Announced = HashMap<String, (PresenceEntry, Instant)>;

enum Input {
    Presence(kv::Entry),
    Lease(kv::Entry),
    Want(MediaKind, String),
}

pub async fn run(view: Arc<ClusterView>, link: Link, hub: Hub, shutdown: CancellationToken) {
    let (tx, mut rx) = mpsc::channel::<Input>(1024);
    tokio::spawn(watch_bucket(
        link.clone(),
        Bucket::Presence,
        tx.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(watch_bucket(
        link.clone(),
        Bucket::Leases,
        tx.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(watch_wants(link.clone(), tx, shutdown.clone()));
    let mut bridge = Bridge {
        view,
        link,
        hub: hub.clone(),
        inbound: HashMap::new(),
        outbound: HashMap::new(),
        announced: HashMap::new(),
        leases: BTreeMap::new(),
        mine: HashMap::new(),
        audio_since: HashMap::new(),
    };
    let mut events = hub.events();
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {
                bridge.heartbeat().await;
            }
            _ = events.recv() => {}
            input = rx.recv() => match input {
                Some(Input::Presence(e)) => bridge.on_presence(e),
                Some(Input::Lease(e)) => bridge.on_lease(e),
                Some(Input::Want(kind, id)) => bridge.on_want(kind, id),
                None => break,
            },
        }
        bridge.reconcile().await;
    }
    bridge.leave().await;
}

struct Bridge {
    view: Arc<ClusterView>,
    link: Link,
    hub: Hub,
    inbound: HashMap<Key, Inbound>,
    outbound: HashMap<Key, Outbound>,
    announced: Announced,
    /// The lease bucket as last seen.
    leases: BTreeMap<Key, Lease>,
    /// Leases this node wrote: key → since.
    mine: HashMap<Key, u64>,
    /// When each local audio source was first seen online (its snapshot has no such time).
    audio_since: HashMap<String, u64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn lease_key(kind: MediaKind, id: &str) -> String {
    format!("{}.{id}", kind.as_str())
}

fn parse_lease_key(key: &str) -> Option<Key> {
    let (kind, id) = key.split_once('.')?;
    Some((MediaKind::parse(kind)?, id.to_owned()))
}

/// One thing published on this node.
struct Local {
    key: Key,
    name: Option<String>,
    format: String,
    since_ms: u64,
    frames: u64,
    bytes: u64,
    viewers: u32,
}

impl Bridge {
    /// Whether the bridge itself publishes `key` here.
    fn fed_by_bridge(&self, key: &Key) -> bool {
        self.inbound.get(key).is_some_and(|i| !i.done.is_finished())
    }

    /// Streams and sources whose current publisher is on this node.
    fn locals(&mut self) -> Vec<Local> {
        let mut out = Vec::new();
        for s in self.hub.streams() {
            let key = (MediaKind::Video, s.id().to_string());
            // The app's own sources keep their names on their node.
            if !s.is_online() || self.fed_by_bridge(&key) || self.hub.is_reserved(&key.1) {
                continue;
            }
            let snap = s.snapshot();
            out.push(Local {
                key,
                name: snap.name,
                format: "image/jpeg".into(),
                since_ms: snap.connected_since_ms.unwrap_or(0),
                frames: snap.frames,
                bytes: snap.bytes,
                viewers: snap.viewers as u32,
            });
        }
        let mut online_audio = std::collections::HashSet::new();
        for a in self.hub.audio_sources() {
            let key = (MediaKind::Audio, a.id().to_string());
            if !a.is_online() || self.fed_by_bridge(&key) || self.hub.is_reserved(&key.1) {
                continue;
            }
            online_audio.insert(key.1.clone());
            let since_ms = *self.audio_since.entry(key.1.clone()).or_insert_with(now_ms);
            let snap = a.snapshot();
            let Some(format) = snap.format else { continue };
            out.push(Local {
                key,
                name: snap.name,
                format: media::format_header(&format),
                since_ms,
                frames: snap.chunks,
                bytes: snap.bytes,
                viewers: snap.listeners as u32,
            });
        }
        self.audio_since.retain(|id, _| online_audio.contains(id));
        out
    }

    fn on_presence(&mut self, e: kv::Entry) {
        let mut p = self.view.presence.write();
        match e.operation {
            Operation::Put => match serde_json::from_slice::<PresenceEntry>(&e.value) {
                Ok(entry) => p.put(e.key, entry, Instant::now()),
                Err(err) => tracing::debug!(key = %e.key, "ignoring a presence entry: {err}"),
            },
            Operation::Delete | Operation::Purge => p.remove(&e.key),
        }
    }

    fn on_lease(&mut self, e: kv::Entry) {
        let Some(key) = parse_lease_key(&e.key) else {
            return;
        };
        match e.operation {
            Operation::Put => match serde_json::from_slice::<Lease>(&e.value) {
                Ok(l) => {
                    self.leases.insert(key, l);
                }
                Err(err) => tracing::debug!(key = %e.key, "ignoring a lease: {err}"),
            },
            Operation::Delete | Operation::Purge => {
                self.leases.remove(&key);
            }
        }
    }

    fn on_want(&mut self, kind: MediaKind, id: String) {
        let key = (kind, id);
        if let Some(o) = self.outbound.get_mut(&key) {
            o.last_want = Instant::now();
            return;
        }
        self.start_outbound(key);
    }

    fn start_outbound(&mut self, key: Key) {
        if self.fed_by_bridge(&key) || self.hub.is_reserved(&key.1) {
            return;
        }
        let cancel = CancellationToken::new();
        let counters = self.view.counters.clone();
        let target = match key.0 {
            MediaKind::Video => {
                let Some(stream) = self.hub.stream(&key.1).filter(|s| s.is_online()) else {
                    return;
                };
                let target = Arc::as_ptr(&stream) as usize;
                tokio::spawn(media::video_out(
                    self.link.clone(),
                    stream,
                    counters,
                    cancel.clone(),
                ));
                target
            }
            MediaKind::Audio => {
                let Some(source) = self.hub.audio_source(&key.1).filter(|s| s.is_online()) else {
                    return;
                };
                let target = Arc::as_ptr(&source) as usize;
                tokio::spawn(media::audio_out(
                    self.link.clone(),
                    source,
                    counters,
                    cancel.clone(),
                ));
                target
            }
        };
        tracing::debug!(kind = key.0.as_str(), id = %key.1, "sending to the cluster");
        self.outbound.insert(
            key,
            Outbound {
                last_want: Instant::now(),
                cancel,
                target,
            },
        );
    }

    /// Renews this node's presence, and rewrites entries that changed or are due.
    async fn heartbeat(&mut self) {
        let Ok(kv) = self.link.store(Bucket::Presence).await else {
            return;
        };
        let now = Instant::now();
        let node_entry = PresenceEntry {
            node: self.link.node.clone(),
            kind: "node".into(),
            id: None,
            name: None,
            format: None,
            url: Some(self.view.url.clone()),
            updated_ms: now_ms(),
            heartbeat_ms: HEARTBEAT.as_millis() as u64,
            frames: 0,
            bytes: 0,
            viewers: 0,
        };
        let _ = put_json(
            &kv,
            &wire::presence_key(&self.link.node, "node", None),
            &node_entry,
        )
        .await;
        let mut seen = std::collections::HashSet::new();
        for l in self.locals() {
            let key = wire::presence_key(&self.link.node, l.key.0.as_str(), Some(&l.key.1));
            seen.insert(key.clone());
            let entry = PresenceEntry {
                node: self.link.node.clone(),
                kind: l.key.0.as_str().into(),
                id: Some(l.key.1.clone()),
                name: l.name,
                format: Some(l.format),
                url: None,
                updated_ms: now_ms(),
                heartbeat_ms: HEARTBEAT.as_millis() as u64,
                frames: l.frames,
                bytes: l.bytes,
                viewers: l.viewers,
            };
            let due = match self.announced.get(&key) {
                Some((old, at)) => {
                    old.name != entry.name
                        || old.format != entry.format
                        || now.duration_since(*at) >= REFRESH
                }
                None => true,
            };
            if due && put_json(&kv, &key, &entry).await.is_ok() {
                self.announced.insert(key, (entry, now));
            }
        }
        let gone: Vec<String> = self
            .announced
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            if kv.delete(&key).await.is_ok() {
                self.announced.remove(&key);
            }
        }
    }

    /// Brings inbound, outbound and leases in line with what is known.
    async fn reconcile(&mut self) {
        let now = Instant::now();
        let locals = self.locals();
        // Leases: a local publisher newer than the lease's takes it.
        for l in &locals {
            let newer = match self.leases.get(&l.key) {
                None => true,
                Some(lease) if lease.node == self.link.node => false,
                Some(lease) => l.since_ms > lease.since_ms,
            };
            if newer && self.mine.get(&l.key) != Some(&l.since_ms) {
                self.write_lease(&l.key, l.since_ms).await;
            }
        }
        // Inbound: streams leased to another live node that announces them.
        let mut wanted: HashMap<Key, PresenceEntry> = HashMap::new();
        {
            let p = self.view.presence.read();
            for kind in [MediaKind::Video, MediaKind::Audio] {
                for e in p.remote(kind.as_str(), &self.link.node, now) {
                    let id = e.id.clone().expect("remote entries have IDs");
                    let key = (kind, id);
                    let holder = self.leases.get(&key).map(|l| l.node.as_str());
                    if holder.is_none_or(|h| h == e.node) {
                        wanted.insert(key, e.clone());
                    }
                }
            }
        }
        // A local publisher still holding an ID whose lease went elsewhere is
        // taken over by the inbound stream (a newer publisher on another node).
        let local_keys: std::collections::HashSet<Key> =
            locals.iter().map(|l| l.key.clone()).collect();
        wanted.retain(|key, _| {
            !local_keys.contains(key)
                || self
                    .leases
                    .get(key)
                    .is_some_and(|l| l.node != self.link.node)
        });
        let stale: Vec<Key> = self
            .inbound
            .iter()
            .filter(|(k, i)| {
                i.done.is_finished() || wanted.get(*k).is_none_or(|e| e.node != i.origin)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(i) = self.inbound.remove(&key) {
                i.cancel.cancel();
                self.view.origins.write().remove(&key);
            }
        }
        for (key, entry) in wanted {
            if !self.inbound.contains_key(&key) {
                self.start_inbound(key, entry);
            }
        }
        // Outbound: wants lapse; a replaced stream restarts its sender.
        let lapsed: Vec<Key> = self
            .outbound
            .iter()
            .filter(|(k, o)| {
                now.duration_since(o.last_want) > media::WANT_TTL
                    || self.fed_by_bridge(k)
                    || self.current_target(k) != Some(o.target)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in lapsed {
            if let Some(o) = self.outbound.remove(&key) {
                o.cancel.cancel();
                if now.duration_since(o.last_want) <= media::WANT_TTL {
                    self.start_outbound(key);
                }
            }
        }
    }

    fn current_target(&self, key: &Key) -> Option<usize> {
        match key.0 {
            MediaKind::Video => self
                .hub
                .stream(&key.1)
                .filter(|s| s.is_online())
                .map(|s| Arc::as_ptr(&s) as usize),
            MediaKind::Audio => self
                .hub
                .audio_source(&key.1)
                .filter(|s| s.is_online())
                .map(|s| Arc::as_ptr(&s) as usize),
        }
    }

    async fn write_lease(&mut self, key: &Key, since_ms: u64) {
        let Ok(kv) = self.link.store(Bucket::Leases).await else {
            return;
        };
        let lease = Lease {
            node: self.link.node.clone(),
            since_ms,
        };
        if put_json(&kv, &lease_key(key.0, &key.1), &lease)
            .await
            .is_ok()
        {
            self.mine.insert(key.clone(), since_ms);
            self.leases.insert(key.clone(), lease);
        }
    }

    fn start_inbound(&mut self, key: Key, entry: PresenceEntry) {
        let cancel = CancellationToken::new();
        let counters = self.view.counters.clone();
        let done = match key.0 {
            MediaKind::Video => {
                let lease: PublisherLease =
                    match self
                        .hub
                        .publish_as(&key.1, entry.name.clone(), SourceKind::Remote)
                    {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::debug!(id = %key.1, "cannot bridge a remote camera: {e}");
                            return;
                        }
                    };
                tokio::spawn(media::video_in(
                    self.link.clone(),
                    lease,
                    self.hub.config().max_frame_bytes,
                    counters,
                    cancel.clone(),
                ))
            }
            MediaKind::Audio => {
                let Some(format) = entry
                    .format
                    .as_deref()
                    .and_then(wire::parse_audio_format_header)
                    .and_then(|(r, c, e)| {
                        relaydeck_hub::AudioFormat::with_encoding(
                            r,
                            c,
                            relaydeck_hub::SampleEncoding::parse(&e).ok()?,
                        )
                        .ok()
                    })
                else {
                    return;
                };
                tokio::spawn(media::audio_in(
                    self.link.clone(),
                    self.hub.clone(),
                    key.1.clone(),
                    entry.name.clone(),
                    format,
                    counters,
                    cancel.clone(),
                ))
            }
        };
        tracing::info!(kind = key.0.as_str(), id = %key.1, origin = %entry.node, "a remote stream joins this node");
        self.view
            .origins
            .write()
            .insert(key.clone(), entry.node.clone());
        self.inbound.insert(
            key,
            Inbound {
                origin: entry.node,
                cancel,
                done,
            },
        );
    }

    /// A graceful stop: this node's entries go at once, not after the heartbeat lapses.
    async fn leave(&mut self) {
        for (_, i) in self.inbound.drain() {
            i.cancel.cancel();
        }
        for (_, o) in self.outbound.drain() {
            o.cancel.cancel();
        }
        if let Ok(kv) = self.link.store(Bucket::Presence).await {
            let node_key = wire::presence_key(&self.link.node, "node", None);
            for key in self.announced.keys().chain([&node_key]) {
                let _ = kv.delete(key).await;
            }
        }
        let _ = self.link.client.flush().await;
    }
}

async fn put_json<T: serde::Serialize>(
    kv: &kv::Store,
    key: &str,
    value: &T,
) -> Result<u64, String> {
    let data = serde_json::to_vec(value).expect("serialisable");
    kv.put(key, Bytes::from(data))
        .await
        .map_err(|e| e.to_string())
}

/// Forwards a bucket's current entries, then its changes; starts again
/// (from the current state) whenever the watch breaks, e.g. while NATS is down.
async fn watch_bucket(
    link: Link,
    which: Bucket,
    tx: mpsc::Sender<Input>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let watch = match link.store(which).await {
            Ok(kv) => kv.watch_with_history(">").await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match watch {
            Ok(mut w) => loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    n = w.next() => n,
                };
                match next {
                    Some(Ok(entry)) => {
                        let input = match which {
                            Bucket::Presence => Input::Presence(entry),
                            _ => Input::Lease(entry),
                        };
                        if tx.send(input).await.is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::debug!("watch of {which:?} broke: {e}");
                        break;
                    }
                    None => break,
                }
            },
            Err(e) => tracing::debug!("cannot watch {which:?}: {e}"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
}

async fn watch_wants(link: Link, tx: mpsc::Sender<Input>, shutdown: CancellationToken) {
    let subject = link.subjects.want_all();
    loop {
        // The client re-subscribes by itself after a reconnect; this loop
        // only covers a subscribe that fails outright.
        let mut sub = match link.client.subscribe(subject.clone()).await {
            Ok(s) => s,
            Err(_) => {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(HEARTBEAT) => continue,
                }
            }
        };
        loop {
            let msg = tokio::select! {
                _ = shutdown.cancelled() => return,
                m = sub.next() => m,
            };
            let Some(msg) = msg else { break };
            if let Some((kind, id)) = link.subjects.parse_want(msg.subject.as_str()) {
                // A node does not want its own streams over NATS.
                if msg.payload.as_ref() != link.node.as_bytes()
                    && tx.send(Input::Want(kind, id.to_owned())).await.is_err()
                {
                    return;
                }
            }
        }
    }
}
