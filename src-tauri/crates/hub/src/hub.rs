//! The registry of streams.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::RwLock;
use tokio::sync::broadcast;

use crate::{
    audio::{AudioFormat, AudioLease, AudioSource},
    error::HubError,
    id::StreamId,
    publisher::PublisherLease,
    stream::VideoStream,
};

/// Who publishes a stream: a remote client, or one of the app's own sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Remote,
    Local,
}

/// What viewers are told about the set of cameras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubEvent {
    /// A stream was created.
    Joined { id: StreamId },
    /// A stream's publisher connected (again).
    Online { id: StreamId, name: Option<String> },
    /// A stream's publisher left; its last frame is still served.
    Offline { id: StreamId },
    /// A stream was removed after being idle.
    Left { id: StreamId },
    /// A stream's source changed availability (live, standby, unavailable).
    Availability { id: StreamId },
    /// An admin renamed a stream.
    Renamed { id: StreamId },
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Frames kept per camera.
    pub ring_frames: usize,
    /// Bytes of frames kept per camera (the newest frame is always kept).
    pub ring_max_bytes: usize,
    /// Largest JPEG accepted, in bytes.
    pub max_frame_bytes: usize,
    /// How long a stream without a publisher stays before the sweep removes it.
    pub idle_timeout: Duration,
    /// IDs only the app's own sources may publish under.
    pub reserved_ids: Vec<String>,
    /// Audio kept per audio source.
    pub audio_ring: Duration,
    /// How far an audio listener may fall behind before its oldest audio is dropped.
    pub listener_max_lag: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            ring_frames: 16,
            ring_max_bytes: 64 * 1024 * 1024,
            max_frame_bytes: 5 * 1024 * 1024,
            idle_timeout: Duration::from_secs(120),
            reserved_ids: ["test-pattern", "host-camera", "mic", "screen"]
                .map(String::from)
                .to_vec(),
            audio_ring: Duration::from_secs(5),
            listener_max_lag: Duration::from_secs(1),
        }
    }
}

/// The hub: cheap to clone, shared by every edge.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    config: HubConfig,
    streams: RwLock<HashMap<StreamId, Arc<VideoStream>>>,
    audio: RwLock<HashMap<StreamId, Arc<AudioSource>>>,
    events: broadcast::Sender<HubEvent>,
    next_order: AtomicU64,
    next_lease: AtomicU64,
    /// Ring size for streams created from now on (a setting, changed live).
    ring_frames: std::sync::atomic::AtomicUsize,
    /// The admin's names for cameras, by ID: they outlive the stream (the
    /// idle sweep, a publisher that comes back) and apply when it reappears.
    labels: RwLock<HashMap<StreamId, String>>,
}

impl Hub {
    pub fn new(config: HubConfig) -> Self {
        Self {
            inner: Arc::new(HubInner {
                ring_frames: std::sync::atomic::AtomicUsize::new(config.ring_frames),
                config,
                streams: RwLock::new(HashMap::new()),
                audio: RwLock::new(HashMap::new()),
                events: broadcast::channel(1024).0,
                next_order: AtomicU64::new(0),
                next_lease: AtomicU64::new(1),
                labels: RwLock::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// Frames kept per camera for cameras that appear from now on (those
    /// already streaming keep their ring).
    pub fn set_ring_frames(&self, frames: usize) {
        self.inner
            .ring_frames
            .store(frames.max(1), Ordering::Relaxed);
    }

    pub fn ring_frames(&self) -> usize {
        self.inner.ring_frames.load(Ordering::Relaxed)
    }

    pub fn is_reserved(&self, id: &str) -> bool {
        self.inner.config.reserved_ids.iter().any(|r| r == id)
    }

    /// Join/online/offline/leave notifications. A receiver that lags should
    /// resynchronise from [`Hub::streams`].
    pub fn events(&self) -> broadcast::Receiver<HubEvent> {
        self.inner.events.subscribe()
    }

    /// Takes the right to publish under `id`, creating the stream when new.
    /// A current publisher of the same ID is superseded.
    pub fn publish_as(
        &self,
        id: &str,
        name: Option<String>,
        kind: SourceKind,
    ) -> Result<PublisherLease, HubError> {
        let id = StreamId::new(id)?;
        if kind == SourceKind::Remote && self.is_reserved(id.as_str()) {
            return Err(HubError::ReservedId(id.to_string()));
        }
        let stream = self.get_or_create(&id, kind);
        let lease = self.inner.next_lease.fetch_add(1, Ordering::Relaxed);
        let superseded = stream.attach_publisher(lease, name);
        Ok(PublisherLease::new(stream, lease, superseded))
    }

    /// Names camera `id` (`None`: back to its publisher's name), now if it
    /// exists and whenever it appears again.
    pub fn set_label(&self, id: &StreamId, label: Option<String>) {
        let mut labels = self.inner.labels.write();
        match &label {
            Some(l) => labels.insert(id.clone(), l.clone()),
            None => labels.remove(id),
        };
        drop(labels);
        if let Some(stream) = self.stream(id.as_str()) {
            stream.rename(label);
        }
    }

    fn get_or_create(&self, id: &StreamId, kind: SourceKind) -> Arc<VideoStream> {
        if let Some(s) = self.inner.streams.read().get(id) {
            return s.clone();
        }
        let mut streams = self.inner.streams.write();
        let cfg = &self.inner.config;
        let mut created = false;
        let stream = streams
            .entry(id.clone())
            .or_insert_with(|| {
                created = true;
                let label = self.inner.labels.read().get(id).cloned();
                Arc::new(
                    VideoStream::new(
                        id.clone(),
                        kind,
                        self.inner.next_order.fetch_add(1, Ordering::Relaxed),
                        self.ring_frames(),
                        cfg.ring_max_bytes,
                        cfg.max_frame_bytes,
                        self.inner.events.clone(),
                    )
                    .with_label(label),
                )
            })
            .clone();
        drop(streams);
        if created {
            let _ = self.inner.events.send(HubEvent::Joined { id: id.clone() });
        }
        stream
    }

    /// Takes the right to publish audio under `id` in `format`. A current
    /// publisher of the same source is superseded; listeners are told when
    /// the format changes.
    pub fn publish_audio_as(
        &self,
        id: &str,
        name: Option<String>,
        kind: SourceKind,
        format: AudioFormat,
    ) -> Result<AudioLease, HubError> {
        let id = StreamId::new(id)?;
        if kind == SourceKind::Remote && self.is_reserved(id.as_str()) {
            return Err(HubError::ReservedId(id.to_string()));
        }
        let source = self.audio_source_or_create(&id, kind);
        let lease = self.inner.next_lease.fetch_add(1, Ordering::Relaxed);
        Ok(AudioLease::new(source, lease, name, format))
    }

    /// The audio source `id`, created (offline, without a format) when
    /// absent, so a listener can wait for a known device to come online.
    pub fn audio_source_or_create(&self, id: &StreamId, kind: SourceKind) -> Arc<AudioSource> {
        if let Some(s) = self.inner.audio.read().get(id) {
            return s.clone();
        }
        let cfg = &self.inner.config;
        self.inner
            .audio
            .write()
            .entry(id.clone())
            .or_insert_with(|| {
                Arc::new(AudioSource::new(
                    id.clone(),
                    kind,
                    cfg.audio_ring,
                    cfg.listener_max_lag,
                ))
            })
            .clone()
    }

    pub fn audio_source(&self, id: &str) -> Option<Arc<AudioSource>> {
        self.inner.audio.read().get(id).cloned()
    }

    /// Every audio source, sorted by ID.
    pub fn audio_sources(&self) -> Vec<Arc<AudioSource>> {
        let mut all: Vec<_> = self.inner.audio.read().values().cloned().collect();
        all.sort_by(|a, b| a.id().cmp(b.id()));
        all
    }

    /// Removes an audio source now (its device was revoked); its listeners' queues end.
    pub fn remove_audio_source(&self, id: &str) {
        if let Some(source) = self.inner.audio.write().remove(id) {
            source.close_listeners();
        }
    }

    pub fn stream(&self, id: &str) -> Option<Arc<VideoStream>> {
        self.inner.streams.read().get(id).cloned()
    }

    /// Every stream, in the order they were first registered.
    pub fn streams(&self) -> Vec<Arc<VideoStream>> {
        let mut all: Vec<_> = self.inner.streams.read().values().cloned().collect();
        all.sort_by_key(|s| s.order());
        all
    }

    /// The earliest-registered stream still present (µStreamer-style `/stream`).
    pub fn first_stream(&self) -> Option<Arc<VideoStream>> {
        self.inner
            .streams
            .read()
            .values()
            .min_by_key(|s| s.order())
            .cloned()
    }

    /// Removes the camera `id` now (an admin's choice, instead of waiting for
    /// the idle sweep). A camera whose publisher is connected is not removed:
    /// it would be back with its next frame.
    pub fn remove_stream(&self, id: &str) -> Result<(), HubError> {
        let mut streams = self.inner.streams.write();
        let Some(stream) = streams.get(id) else {
            return Err(HubError::UnknownStream(id.to_owned()));
        };
        if stream.is_online() {
            return Err(HubError::StillPublishing(id.to_owned()));
        }
        let (sid, _) = streams.remove_entry(id).expect("present");
        drop(streams);
        // Removed, not swept: the camera is forgotten, its name with it.
        self.inner.labels.write().remove(&sid);
        let _ = self.inner.events.send(HubEvent::Left { id: sid });
        Ok(())
    }

    /// Removes streams that have had no publisher and no frame since
    /// `now - idle_timeout`, and returns their IDs.
    pub fn sweep(&self, now: Instant) -> Vec<StreamId> {
        let Some(deadline) = now.checked_sub(self.inner.config.idle_timeout) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        self.inner.streams.write().retain(|id, s| {
            let idle = s.is_idle_since(deadline);
            if idle {
                removed.push(id.clone());
            }
            !idle
        });
        for id in &removed {
            let _ = self.inner.events.send(HubEvent::Left { id: id.clone() });
        }
        self.inner
            .audio
            .write()
            .retain(|_, s| !s.is_idle_since(deadline));
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viewer::ViewerQueue;

    fn jpeg(tag: u8) -> Vec<u8> {
        crate::jpeg::markers_only(tag)
    }

    #[test]
    fn an_admin_removes_an_offline_camera_but_not_a_connected_one() {
        let hub = Hub::new(HubConfig::default());
        let mut events = hub.events();
        let lease = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
        assert_eq!(
            hub.remove_stream("cam"),
            Err(HubError::StillPublishing("cam".into()))
        );
        drop(lease);
        assert_eq!(hub.remove_stream("cam"), Ok(()));
        assert!(hub.stream("cam").is_none());
        assert_eq!(
            hub.remove_stream("cam"),
            Err(HubError::UnknownStream("cam".into()))
        );
        let mut left = false;
        while let Ok(e) = events.try_recv() {
            left |= e
                == HubEvent::Left {
                    id: StreamId::new("cam").unwrap(),
                };
        }
        assert!(left, "viewers are told");
    }

    #[test]
    fn an_admins_name_wins_over_the_publishers_and_outlives_the_stream() {
        let hub = Hub::new(HubConfig {
            idle_timeout: Duration::from_secs(1),
            ..HubConfig::default()
        });
        let cam = StreamId::new("cam").unwrap();
        let lease = hub
            .publish_as("cam", Some("Phone".into()), SourceKind::Remote)
            .unwrap();
        let stream = hub.stream("cam").unwrap();
        let mut events = hub.events();
        hub.set_label(&cam, Some("Front door".into()));
        assert_eq!(events.try_recv(), Ok(HubEvent::Renamed { id: cam.clone() }));
        assert_eq!(stream.name().as_deref(), Some("Front door"));
        drop(lease);
        let again = hub
            .publish_as("cam", Some("Phone".into()), SourceKind::Remote)
            .unwrap();
        assert_eq!(stream.snapshot().name.as_deref(), Some("Front door"));
        // Swept while idle, the camera comes back under the admin's name.
        drop(again);
        assert_eq!(
            hub.sweep(Instant::now() + Duration::from_secs(5)),
            vec![cam.clone()]
        );
        let _back = hub
            .publish_as("cam", Some("Phone".into()), SourceKind::Remote)
            .unwrap();
        assert_eq!(
            hub.stream("cam").unwrap().name().as_deref(),
            Some("Front door")
        );
        hub.set_label(&cam, None);
        assert_eq!(hub.stream("cam").unwrap().name().as_deref(), Some("Phone"));
    }

    #[test]
    fn a_name_given_before_the_camera_appears_applies_when_it_does() {
        let hub = Hub::new(HubConfig::default());
        hub.set_label(&StreamId::new("porch").unwrap(), Some("Porch".into()));
        let _lease = hub.publish_as("porch", None, SourceKind::Remote).unwrap();
        assert_eq!(
            hub.stream("porch").unwrap().name().as_deref(),
            Some("Porch")
        );
    }

    #[test]
    fn a_removed_camera_forgets_its_name() {
        let hub = Hub::new(HubConfig::default());
        let cam = StreamId::new("cam").unwrap();
        drop(hub.publish_as("cam", None, SourceKind::Remote).unwrap());
        hub.set_label(&cam, Some("Old".into()));
        hub.remove_stream("cam").unwrap();
        let _lease = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
        assert_eq!(hub.stream("cam").unwrap().name(), None);
    }

    #[test]
    fn reserved_ids_are_for_local_sources_only() {
        let hub = Hub::new(HubConfig::default());
        assert_eq!(
            hub.publish_as("test-pattern", None, SourceKind::Remote)
                .unwrap_err(),
            HubError::ReservedId("test-pattern".into())
        );
        assert!(hub
            .publish_as("test-pattern", None, SourceKind::Local)
            .is_ok());
    }

    #[test]
    fn a_newer_publisher_takes_over() {
        let hub = Hub::new(HubConfig::default());
        let old = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
        old.publish(&jpeg(1)).unwrap();
        let new = hub
            .publish_as("cam", Some("Kitchen".into()), SourceKind::Remote)
            .unwrap();
        assert!(old.is_superseded());
        assert_eq!(old.publish(&jpeg(2)).unwrap_err(), HubError::Superseded);
        assert_eq!(
            new.publish(&jpeg(3)).unwrap().seq,
            2,
            "sequence continues across publishers"
        );
        drop(old);
        assert!(
            hub.stream("cam").unwrap().is_online(),
            "the old lease's drop must not mark the new one offline"
        );
        drop(new);
        assert!(!hub.stream("cam").unwrap().is_online());
    }

    #[test]
    fn viewers_get_the_newest_frame_on_subscribe_and_then_every_new_one() {
        let hub = Hub::new(HubConfig::default());
        let lease = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
        lease.publish(&jpeg(1)).unwrap();
        lease.publish(&jpeg(2)).unwrap();
        let q = ViewerQueue::new();
        let sub = lease.stream().subscribe(&q);
        assert_eq!(sub.slot().take().unwrap().seq, 2);
        sub.slot().finish(Some(2));
        lease.publish(&jpeg(3)).unwrap();
        assert_eq!(sub.slot().take().unwrap().jpeg_bytes(), &jpeg(3)[..]);
        assert_eq!(*lease.stream().viewer_count().borrow(), 1);
        drop(sub);
        assert_eq!(*lease.stream().viewer_count().borrow(), 0);
    }

    #[test]
    fn invalid_frames_do_not_enter_the_ring() {
        let hub = Hub::new(HubConfig {
            max_frame_bytes: 64,
            ..HubConfig::default()
        });
        let lease = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
        assert!(matches!(
            lease.publish(b"not a jpeg"),
            Err(HubError::InvalidFrame(_))
        ));
        assert!(matches!(
            lease.publish(&[0u8; 65]),
            Err(HubError::FrameTooLarge {
                size: 65,
                limit: 64
            })
        ));
        assert!(lease.stream().latest().is_none());
    }

    #[test]
    fn the_sweep_removes_only_idle_streams_without_a_publisher() {
        let hub = Hub::new(HubConfig {
            idle_timeout: Duration::from_secs(60),
            ..HubConfig::default()
        });
        let live = hub.publish_as("live", None, SourceKind::Remote).unwrap();
        drop(hub.publish_as("gone", None, SourceKind::Remote).unwrap());
        let mut events = hub.events();
        assert!(
            hub.sweep(Instant::now()).is_empty(),
            "not idle for long enough yet"
        );
        let later = Instant::now() + Duration::from_secs(61);
        assert_eq!(hub.sweep(later), vec![StreamId::new("gone").unwrap()]);
        assert_eq!(
            events.try_recv().unwrap(),
            HubEvent::Left {
                id: StreamId::new("gone").unwrap()
            }
        );
        assert!(hub.stream("live").is_some());
        drop(live);
    }

    #[test]
    fn first_stream_is_the_earliest_registered() {
        let hub = Hub::new(HubConfig::default());
        let _b = hub.publish_as("b", None, SourceKind::Remote).unwrap();
        let _a = hub.publish_as("a", None, SourceKind::Remote).unwrap();
        assert_eq!(hub.first_stream().unwrap().id().as_str(), "b");
        let ids: Vec<_> = hub.streams().iter().map(|s| s.id().to_string()).collect();
        assert_eq!(ids, ["b", "a"]);
    }

    /// Records how many viewers the hub said were still ahead.
    struct AheadSink(parking_lot::Mutex<Vec<usize>>);

    impl crate::viewer::DirectSink for AheadSink {
        fn try_send(
            &self,
            _slot: &std::sync::Arc<crate::ViewerSlot>,
            _frame: &crate::VideoFrame,
            ahead: usize,
        ) -> crate::Handoff {
            self.0.lock().push(ahead);
            crate::Handoff::Delivered
        }
    }

    #[test]
    fn a_sink_is_told_how_many_viewers_the_fan_out_still_has_ahead() {
        let hub = Hub::new(HubConfig::default());
        let cam = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
        let sink = std::sync::Arc::new(AheadSink(Default::default()));
        let queues: Vec<_> = (0..3)
            .map(|_| ViewerQueue::with_sink(sink.clone()))
            .collect();
        let _subs: Vec<_> = queues.iter().map(|q| cam.stream().subscribe(q)).collect();
        cam.publish(&jpeg(1)).unwrap();
        assert_eq!(*sink.0.lock(), vec![2, 1, 0]);
    }
}
