//! One camera: its ring, its viewers, its statistics and its publisher.

use std::{
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use parking_lot::Mutex;
use tokio::sync::{broadcast, watch};

use crate::{
    error::HubError,
    frame::VideoFrame,
    hub::{HubEvent, SourceKind},
    id::StreamId,
    jpeg::{self, JpegInfo},
    ring::FrameRing,
    viewer::{SlotStats, ViewerQueue, ViewerSlot},
};

/// A named video stream in the hub.
#[derive(Debug)]
pub struct VideoStream {
    id: StreamId,
    kind: SourceKind,
    /// Registration order, so "the first camera" is well defined.
    order: u64,
    created_at: SystemTime,
    max_frame_bytes: usize,
    state: Mutex<StreamState>,
    /// Copy-on-write: publishing clones the `Arc` and offers outside the
    /// lock, so a subscribe never waits for a fan-out (and vice versa).
    subscribers: Mutex<Arc<[Arc<ViewerSlot>]>>,
    viewer_count: watch::Sender<usize>,
    events: broadcast::Sender<HubEvent>,
}

#[derive(Debug)]
struct StreamState {
    /// The name the publisher gave.
    name: Option<String>,
    /// The name an admin gave (wins over the publisher's).
    label: Option<String>,
    ring: FrameRing,
    next_seq: u64,
    publisher: Option<PublisherRecord>,
    connected_since: Option<SystemTime>,
    last_activity: Instant,
    last_frame_at: Option<SystemTime>,
    frames: u64,
    bytes: u64,
    /// Counters of viewers that have left.
    retired: SlotStats,
    /// For the app's own sources: whether the device is delivering.
    availability: Availability,
    /// The last time somebody fetched the newest frame over HTTP (polling
    /// counts as watching, for on-demand sources).
    last_poll: Option<Instant>,
}

/// Whether a stream's source is delivering; remote cameras are always
/// `Live` while connected, the app's own cameras may be on standby (opened
/// only on demand) or unavailable (unplugged, busy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Availability {
    #[default]
    Live,
    Standby,
    Unavailable(String),
}

#[derive(Debug)]
struct PublisherRecord {
    lease: u64,
    superseded: watch::Sender<bool>,
}

/// A point-in-time view of a stream for the REST API.
#[derive(Debug, Clone)]
pub struct StreamSnapshot {
    pub id: StreamId,
    pub name: Option<String>,
    pub kind: SourceKind,
    pub online: bool,
    pub created_at_ms: u64,
    pub connected_since_ms: Option<u64>,
    pub last_frame_ms: Option<u64>,
    pub frames: u64,
    pub bytes: u64,
    pub fps: f64,
    pub width: Option<u16>,
    pub height: Option<u16>,
    pub viewers: usize,
    pub delivered: u64,
    pub skipped: u64,
    pub latest_seq: Option<u64>,
    pub ring_len: usize,
    pub ring_capacity: usize,
    pub availability: Availability,
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl VideoStream {
    pub(crate) fn new(
        id: StreamId,
        kind: SourceKind,
        order: u64,
        ring_frames: usize,
        ring_max_bytes: usize,
        max_frame_bytes: usize,
        events: broadcast::Sender<HubEvent>,
    ) -> Self {
        Self {
            id,
            kind,
            order,
            created_at: SystemTime::now(),
            max_frame_bytes,
            state: Mutex::new(StreamState {
                name: None,
                label: None,
                ring: FrameRing::new(ring_frames, ring_max_bytes),
                next_seq: 1,
                publisher: None,
                connected_since: None,
                last_activity: Instant::now(),
                last_frame_at: None,
                frames: 0,
                bytes: 0,
                retired: SlotStats::default(),
                availability: Availability::Live,
                last_poll: None,
            }),
            subscribers: Mutex::new(Arc::from([])),
            viewer_count: watch::channel(0).0,
            events,
        }
    }

    pub fn id(&self) -> &StreamId {
        &self.id
    }

    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    pub(crate) fn order(&self) -> u64 {
        self.order
    }

    /// The admin's name for the camera, else the publisher's.
    pub fn name(&self) -> Option<String> {
        let st = self.state.lock();
        st.label.clone().or_else(|| st.name.clone())
    }

    /// An admin renames the camera (`None`: back to the publisher's name);
    /// viewers are told. Through [`Hub::set_label`](crate::Hub::set_label),
    /// so the name also outlives the stream.
    /// The admin's name, set before anybody can see the stream (no event).
    pub(crate) fn with_label(self, label: Option<String>) -> Self {
        self.state.lock().label = label;
        self
    }

    pub(crate) fn rename(&self, label: Option<String>) {
        self.state.lock().label = label;
        let _ = self.events.send(HubEvent::Renamed {
            id: self.id.clone(),
        });
    }

    pub fn is_online(&self) -> bool {
        self.state.lock().publisher.is_some()
    }

    pub fn availability(&self) -> Availability {
        self.state.lock().availability.clone()
    }

    /// Set by the source (the capture edge); viewers are told.
    pub fn set_availability(&self, availability: Availability) {
        let mut st = self.state.lock();
        if st.availability == availability {
            return;
        }
        st.availability = availability;
        drop(st);
        let _ = self.events.send(HubEvent::Availability {
            id: self.id.clone(),
        });
    }

    /// Somebody fetched the newest frame (`/latest`, a snapshot).
    pub fn note_poll(&self) {
        self.state.lock().last_poll = Some(Instant::now());
    }

    /// Whether the newest frame was fetched within `window`.
    pub fn polled_within(&self, window: std::time::Duration) -> bool {
        self.state
            .lock()
            .last_poll
            .is_some_and(|t| t.elapsed() < window)
    }

    /// The newest frame, if any.
    pub fn latest(&self) -> Option<VideoFrame> {
        self.state.lock().ring.latest().cloned()
    }

    /// A frame still in the ring, by sequence number.
    pub fn frame(&self, seq: u64) -> Option<VideoFrame> {
        self.state.lock().ring.get(seq).cloned()
    }

    /// All frames in the ring, oldest first.
    pub fn ring_frames(&self) -> Vec<VideoFrame> {
        self.state.lock().ring.iter().cloned().collect()
    }

    /// Number of viewers now, as a watch an edge can follow (for example to
    /// open a camera only while somebody watches).
    pub fn viewer_count(&self) -> watch::Receiver<usize> {
        self.viewer_count.subscribe()
    }

    /// Starts delivering this stream to `queue`; the newest frame is offered at once.
    pub fn subscribe(self: &Arc<Self>, queue: &ViewerQueue) -> Subscription {
        let slot = queue.new_slot(self.id.clone());
        let count = {
            let mut subs = self.subscribers.lock();
            *subs = subs.iter().cloned().chain([slot.clone()]).collect();
            subs.len()
        };
        // Offered after joining the list: if a newer frame is published in
        // between, the slot keeps that one and refuses this older one.
        if let Some(latest) = self.latest() {
            slot.offer(&latest, 0);
        }
        self.viewer_count.send_replace(count);
        Subscription {
            stream: self.clone(),
            slot,
        }
    }

    fn unsubscribe(&self, slot: &Arc<ViewerSlot>) {
        let count = {
            let mut subs = self.subscribers.lock();
            *subs = subs
                .iter()
                .filter(|s| !Arc::ptr_eq(s, slot))
                .cloned()
                .collect();
            subs.len()
        };
        let stats = slot.stats();
        let mut st = self.state.lock();
        st.retired.delivered += stats.delivered;
        st.retired.skipped += stats.skipped;
        drop(st);
        self.viewer_count.send_replace(count);
    }

    /// Counters of every current viewer of this stream.
    pub fn viewer_stats(&self) -> Vec<(u64, SlotStats)> {
        self.subscribers
            .lock()
            .iter()
            .map(|s| (s.viewer_id(), s.stats()))
            .collect()
    }

    pub fn snapshot(&self) -> StreamSnapshot {
        let live: Vec<SlotStats> = self.subscribers.lock().iter().map(|s| s.stats()).collect();
        let st = self.state.lock();
        let latest = st.ring.latest();
        let fresh = st
            .last_frame_at
            .is_some_and(|t| t.elapsed().map(|e| e.as_secs() < 2).unwrap_or(true));
        StreamSnapshot {
            id: self.id.clone(),
            name: st.label.clone().or_else(|| st.name.clone()),
            kind: self.kind,
            online: st.publisher.is_some(),
            created_at_ms: unix_ms(self.created_at),
            connected_since_ms: st.connected_since.map(unix_ms),
            last_frame_ms: st.last_frame_at.map(unix_ms),
            frames: st.frames,
            bytes: st.bytes,
            fps: if fresh && st.publisher.is_some() {
                (st.ring.measured_fps() * 10.0).round() / 10.0
            } else {
                0.0
            },
            width: latest.map(|f| f.info.width),
            height: latest.map(|f| f.info.height),
            viewers: live.len(),
            delivered: st.retired.delivered + live.iter().map(|s| s.delivered).sum::<u64>(),
            skipped: st.retired.skipped + live.iter().map(|s| s.skipped).sum::<u64>(),
            latest_seq: latest.map(|f| f.seq),
            ring_len: st.ring.len(),
            ring_capacity: st.ring.capacity(),
            availability: st.availability.clone(),
        }
    }

    /// Registers a new publisher; the previous one, if any, is told it was superseded.
    pub(crate) fn attach_publisher(
        &self,
        lease: u64,
        name: Option<String>,
    ) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let mut st = self.state.lock();
        if let Some(old) = st.publisher.replace(PublisherRecord {
            lease,
            superseded: tx,
        }) {
            old.superseded.send_replace(true);
        }
        if name.is_some() {
            st.name = name;
        }
        st.connected_since = Some(SystemTime::now());
        st.last_activity = Instant::now();
        let name = st.label.clone().or_else(|| st.name.clone());
        drop(st);
        let _ = self.events.send(HubEvent::Online {
            id: self.id.clone(),
            name,
        });
        rx
    }

    pub(crate) fn detach_publisher(&self, lease: u64) {
        let mut st = self.state.lock();
        if st.publisher.as_ref().is_some_and(|p| p.lease == lease) {
            st.publisher = None;
            st.connected_since = None;
            st.last_activity = Instant::now();
            drop(st);
            let _ = self.events.send(HubEvent::Offline {
                id: self.id.clone(),
            });
        }
    }

    /// Validates and stores a JPEG from the publisher holding `lease`, then
    /// offers it to every viewer. Never waits on a viewer.
    pub(crate) fn publish(&self, lease: u64, jpeg: &[u8]) -> Result<VideoFrame, HubError> {
        if jpeg.len() > self.max_frame_bytes {
            return Err(HubError::FrameTooLarge {
                size: jpeg.len(),
                limit: self.max_frame_bytes,
            });
        }
        let info: JpegInfo = jpeg::inspect(jpeg)?;
        let now = SystemTime::now();
        let frame = {
            let mut st = self.state.lock();
            if st.publisher.as_ref().is_none_or(|p| p.lease != lease) {
                return Err(HubError::Superseded);
            }
            let frame = VideoFrame::build(&self.id, st.next_seq, unix_us(now), info, jpeg);
            st.next_seq += 1;
            st.frames += 1;
            st.bytes += jpeg.len() as u64;
            st.last_frame_at = Some(now);
            st.last_activity = frame.received_at;
            st.ring.push(frame.clone());
            frame
        };
        let subscribers = self.subscribers.lock().clone();
        // Each step is a whole socket write, so fetching one viewer ahead
        // per pointer hop is early enough (see `prefetch`).
        for (i, slot) in subscribers.iter().enumerate() {
            if let Some(next) = subscribers.get(i + 3) {
                next.prefetch();
            }
            if let Some(next) = subscribers.get(i + 2) {
                next.prefetch_sink();
            }
            if let Some(next) = subscribers.get(i + 1) {
                next.prefetch_sink_target();
            }
            slot.offer(&frame, subscribers.len() - i - 1);
        }
        Ok(frame)
    }

    /// True when the stream has no publisher and has been idle since `deadline`.
    pub(crate) fn is_idle_since(&self, deadline: Instant) -> bool {
        let st = self.state.lock();
        st.publisher.is_none() && st.last_activity <= deadline
    }
}

/// A viewer's subscription to one stream; dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    stream: Arc<VideoStream>,
    slot: Arc<ViewerSlot>,
}

impl Subscription {
    pub fn slot(&self) -> &Arc<ViewerSlot> {
        &self.slot
    }

    pub fn stream(&self) -> &Arc<VideoStream> {
        &self.stream
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stream.unsubscribe(&self.slot);
    }
}
