//! Audio sources: timestamped PCM chunks, a ring of recent audio, and
//! listeners with bounded queues.
//!
//! A source (a devkit, a browser's microphone, the host microphone) has one
//! publisher at a time, holding an [`AudioLease`]. Every chunk it publishes
//! goes into the source's ring (the last few seconds, whether or not anybody
//! listens) and into each listener's [`ListenerQueue`]. A listener that falls
//! more than its lag limit behind loses its *oldest* audio, counted; nobody
//! else is affected and the publisher never waits.
//!
//! A source's format can change when its publisher reconnects: listeners
//! then receive [`ListenerItem::Format`] before the first chunk in the new
//! format, and the ring drops the audio of the old one.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use crate::{error::HubError, hub::SourceKind, id::StreamId, stream::unix_ms};

/// How one PCM sample is stored, little-endian, channels interleaved. The
/// relay never converts: listeners get a source's own encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SampleEncoding {
    /// Signed 16-bit integers.
    #[default]
    S16le,
    /// Signed 32-bit integers (I2S microphones, AudioPirate's `S32_LE`).
    S32le,
    /// IEEE 754 32-bit floats, nominally in [-1, 1].
    F32le,
}

impl SampleEncoding {
    pub const ALL: [SampleEncoding; 3] = [Self::S16le, Self::S32le, Self::F32le];

    /// The name used on every wire (`format` messages, the devkit hello, `/api/sources`).
    pub fn name(self) -> &'static str {
        match self {
            Self::S16le => "s16le",
            Self::S32le => "s32le",
            Self::F32le => "f32le",
        }
    }

    /// `name` as sent on a wire; a clear error naming the choices otherwise.
    pub fn parse(name: &str) -> Result<Self, HubError> {
        Self::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| {
                HubError::BadFormat(format!(
                    "encoding '{name}' is not supported (use s16le, s32le or f32le)"
                ))
            })
    }

    /// Bytes per sample.
    pub fn sample_bytes(self) -> usize {
        match self {
            Self::S16le => 2,
            Self::S32le | Self::F32le => 4,
        }
    }
}

/// A source's PCM format: rate, channels and sample encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    pub sample_rate: u32,
    pub channels: u16,
    pub encoding: SampleEncoding,
}

impl AudioFormat {
    /// What a source that has not streamed yet reports (`/api/sources`).
    pub const DEFAULT: AudioFormat = AudioFormat {
        sample_rate: 16_000,
        channels: 1,
        encoding: SampleEncoding::S16le,
    };

    /// Sample rates the relay accepts.
    pub const RATES: [u32; 8] = [
        8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
    ];

    /// An s16le format with a supported rate and one or two channels.
    pub fn new(sample_rate: u32, channels: u16) -> Result<Self, HubError> {
        Self::with_encoding(sample_rate, channels, SampleEncoding::S16le)
    }

    /// A format with a supported rate, one or two channels and `encoding`.
    pub fn with_encoding(
        sample_rate: u32,
        channels: u16,
        encoding: SampleEncoding,
    ) -> Result<Self, HubError> {
        if !Self::RATES.contains(&sample_rate) {
            return Err(HubError::BadFormat(format!(
                "sample rate {sample_rate} Hz is not supported (use 8000, 11025, 16000, 22050, 24000, 32000, 44100 or 48000)"
            )));
        }
        if !(1..=2).contains(&channels) {
            return Err(HubError::BadFormat(format!(
                "{channels} channels are not supported (use 1 or 2)"
            )));
        }
        Ok(Self {
            sample_rate,
            channels,
            encoding,
        })
    }

    /// Bytes per sample frame (one sample of every channel).
    pub fn frame_bytes(&self) -> usize {
        self.encoding.sample_bytes() * self.channels as usize
    }

    pub fn bytes_per_second(&self) -> usize {
        self.frame_bytes() * self.sample_rate as usize
    }

    /// Playing time of `bytes` of PCM.
    pub fn duration_of(&self, bytes: usize) -> Duration {
        Duration::from_micros(
            (bytes / self.frame_bytes()) as u64 * 1_000_000 / self.sample_rate as u64,
        )
    }

    /// Bytes of PCM that play for `ms` milliseconds (whole sample frames).
    pub fn bytes_for_ms(&self, ms: u64) -> usize {
        (self.sample_rate as u64 * ms / 1000) as usize * self.frame_bytes()
    }
}

/// One piece of a source's audio, shared by every listener.
#[derive(Debug, Clone)]
pub struct AudioChunk {
    /// The publisher's sequence number for this chunk (a devkit's datagram
    /// sequence; a counter for other publishers). Silence that fills a gap
    /// carries the sequence number of the last packet it replaces.
    pub seq: u64,
    /// Position of the first sample frame since the source's format started.
    pub position: u64,
    /// When the relay received the audio (Unix ms).
    pub received_ms: u64,
    /// True when this chunk is silence standing in for lost audio.
    pub filled: bool,
    pub pcm: Bytes,
}

/// What a listener reads: a format (first, and again when it changes) or PCM.
#[derive(Debug, Clone)]
pub enum ListenerItem {
    Format(AudioFormat),
    Chunk(AudioChunk),
}

/// Loss counters a publisher reports (a devkit's reorder stage knows them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossStats {
    /// Packets that never arrived (their audio was replaced by silence).
    pub lost: u64,
    /// Packets that arrived after their place had been filled; dropped.
    pub late: u64,
    /// Packets received twice; the copy was dropped.
    pub duplicates: u64,
    /// Sample frames of silence inserted for lost packets.
    pub filled: u64,
}

/// One listener's bounded queue.
#[derive(Debug)]
pub struct ListenerQueue {
    items: Mutex<ListenerBuffer>,
    notify: Notify,
    max_lag: Duration,
}

#[derive(Debug, Default)]
struct ListenerBuffer {
    items: VecDeque<ListenerItem>,
    /// Playing time of the queued chunks, in µs.
    queued_us: u64,
    format: Option<AudioFormat>,
    /// Chunks dropped because this listener fell too far behind.
    dropped: u64,
    closed: bool,
}

impl ListenerQueue {
    fn new(max_lag: Duration) -> Self {
        Self {
            items: Mutex::new(ListenerBuffer::default()),
            notify: Notify::new(),
            max_lag,
        }
    }

    fn push(&self, item: ListenerItem) {
        let mut b = self.items.lock();
        match &item {
            ListenerItem::Format(f) => b.format = Some(*f),
            ListenerItem::Chunk(c) => {
                let Some(format) = b.format else { return };
                b.queued_us += format.duration_of(c.pcm.len()).as_micros() as u64;
            }
        }
        b.items.push_back(item);
        // Over the limit: drop the oldest audio (never a format marker, so
        // the listener always knows what it is playing).
        while b.queued_us > self.max_lag.as_micros() as u64 {
            let Some(i) = b
                .items
                .iter()
                .position(|i| matches!(i, ListenerItem::Chunk(_)))
            else {
                break;
            };
            let Some(ListenerItem::Chunk(c)) = b.items.remove(i) else {
                unreachable!()
            };
            let format = b.format.expect("a chunk is queued only after a format");
            b.queued_us = b
                .queued_us
                .saturating_sub(format.duration_of(c.pcm.len()).as_micros() as u64);
            b.dropped += 1;
        }
        drop(b);
        self.notify.notify_one();
    }

    /// Everything queued, oldest first; waits while the queue is empty.
    /// Returns `None` once the source has gone away for good.
    pub async fn next_batch(&self) -> Option<Vec<ListenerItem>> {
        loop {
            let notified = self.notify.notified();
            {
                let mut b = self.items.lock();
                if !b.items.is_empty() {
                    b.queued_us = 0;
                    return Some(b.items.drain(..).collect());
                }
                if b.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Chunks this listener lost by falling behind.
    pub fn dropped(&self) -> u64 {
        self.items.lock().dropped
    }

    fn close(&self) {
        self.items.lock().closed = true;
        self.notify.notify_one();
    }
}

/// A listener's registration; dropping it unsubscribes.
#[derive(Debug)]
pub struct AudioSubscription {
    source: Arc<AudioSource>,
    queue: Arc<ListenerQueue>,
}

impl AudioSubscription {
    pub fn queue(&self) -> &Arc<ListenerQueue> {
        &self.queue
    }

    pub fn source(&self) -> &Arc<AudioSource> {
        &self.source
    }
}

impl Drop for AudioSubscription {
    fn drop(&mut self) {
        // Under the list's lock, so a snapshot counts the listener's drops
        // once, live or retired (the counter never goes back).
        let mut listeners = self.source.listeners.lock();
        listeners.retain(|q| !Arc::ptr_eq(q, &self.queue));
        self.source
            .retired_dropped
            .fetch_add(self.queue.dropped(), std::sync::atomic::Ordering::Relaxed);
        let count = listeners.len();
        drop(listeners);
        self.source.listener_count.send_replace(count);
    }
}

/// A point-in-time view of a source for the REST API.
#[derive(Debug, Clone)]
pub struct AudioSnapshot {
    pub id: StreamId,
    pub kind: SourceKind,
    pub name: Option<String>,
    pub online: bool,
    pub format: Option<AudioFormat>,
    pub encoding: &'static str,
    pub chunks: u64,
    pub bytes: u64,
    pub last_chunk_ms: Option<u64>,
    pub last_seq: Option<u64>,
    pub listeners: usize,
    pub ring_ms: u64,
    pub loss: LossStats,
    /// Chunks dropped because a listener fell too far behind, over every
    /// listener the source has had.
    pub dropped: u64,
    /// Whether the source is delivering (the app's own microphone may be on
    /// standby or unavailable; see [`Availability`](crate::Availability)).
    pub availability: crate::Availability,
}

/// One audio source in the hub.
#[derive(Debug)]
pub struct AudioSource {
    id: StreamId,
    kind: SourceKind,
    ring_limit: Duration,
    max_listener_lag: Duration,
    state: Mutex<AudioState>,
    listeners: Mutex<Vec<Arc<ListenerQueue>>>,
    /// Chunks dropped for listeners that have left.
    retired_dropped: std::sync::atomic::AtomicU64,
    online: watch::Sender<bool>,
    /// How many listeners the source has (for sources fetched on demand,
    /// such as a cluster node's, which fetch only while someone listens).
    listener_count: watch::Sender<usize>,
}

#[derive(Debug)]
struct AudioState {
    name: Option<String>,
    format: Option<AudioFormat>,
    ring: VecDeque<AudioChunk>,
    ring_us: u64,
    /// Position of the next sample frame in the current format.
    position: u64,
    lease: Option<(u64, watch::Sender<bool>)>,
    chunks: u64,
    bytes: u64,
    last_chunk_ms: Option<u64>,
    last_seq: Option<u64>,
    last_activity: Instant,
    availability: crate::Availability,
    loss: LossStats,
}

impl AudioSource {
    pub(crate) fn new(
        id: StreamId,
        kind: SourceKind,
        ring_limit: Duration,
        max_listener_lag: Duration,
    ) -> Self {
        Self {
            id,
            kind,
            ring_limit,
            max_listener_lag,
            state: Mutex::new(AudioState {
                name: None,
                format: None,
                ring: VecDeque::new(),
                ring_us: 0,
                position: 0,
                lease: None,
                chunks: 0,
                bytes: 0,
                last_chunk_ms: None,
                last_seq: None,
                last_activity: Instant::now(),
                availability: crate::Availability::Live,
                loss: LossStats::default(),
            }),
            listeners: Mutex::new(Vec::new()),
            retired_dropped: Default::default(),
            online: watch::channel(false).0,
            listener_count: watch::channel(0).0,
        }
    }

    pub fn id(&self) -> &StreamId {
        &self.id
    }

    pub fn format(&self) -> Option<AudioFormat> {
        self.state.lock().format
    }

    pub fn is_online(&self) -> bool {
        *self.online.borrow()
    }

    /// Follows the source going on- and offline.
    pub fn online_watch(&self) -> watch::Receiver<bool> {
        self.online.subscribe()
    }

    pub fn loss(&self) -> LossStats {
        self.state.lock().loss
    }

    /// Set by the app's own sources (the microphone edge).
    pub fn set_availability(&self, availability: crate::Availability) {
        self.state.lock().availability = availability;
    }

    pub fn availability(&self) -> crate::Availability {
        self.state.lock().availability.clone()
    }

    pub fn listener_count(&self) -> usize {
        self.listeners.lock().len()
    }

    /// Follows the number of listeners.
    pub fn listener_watch(&self) -> watch::Receiver<usize> {
        self.listener_count.subscribe()
    }

    /// Starts a listener. It first receives the current format (if any),
    /// then the last `backlog` of the ring, then live audio.
    pub fn listen(self: &Arc<Self>, backlog: Duration) -> AudioSubscription {
        let queue = Arc::new(ListenerQueue::new(self.max_listener_lag.max(backlog)));
        let st = self.state.lock();
        if let Some(format) = st.format {
            queue.push(ListenerItem::Format(format));
            let want = backlog.as_micros() as u64;
            let mut have = 0u64;
            let start = st
                .ring
                .iter()
                .rposition(|c| {
                    have += format.duration_of(c.pcm.len()).as_micros() as u64;
                    have >= want
                })
                .unwrap_or(0);
            if want > 0 {
                for c in st.ring.iter().skip(start) {
                    queue.push(ListenerItem::Chunk(c.clone()));
                }
            }
        }
        // Registered while the state lock is held, so no chunk is missed or doubled.
        let count = {
            let mut listeners = self.listeners.lock();
            listeners.push(queue.clone());
            listeners.len()
        };
        drop(st);
        self.listener_count.send_replace(count);
        AudioSubscription {
            source: self.clone(),
            queue,
        }
    }

    /// The ring's chunks (oldest first), in the current format.
    pub fn ring(&self) -> Vec<AudioChunk> {
        self.state.lock().ring.iter().cloned().collect()
    }

    pub fn snapshot(&self) -> AudioSnapshot {
        let (listeners, dropped) = {
            let l = self.listeners.lock();
            let retired = self
                .retired_dropped
                .load(std::sync::atomic::Ordering::Relaxed);
            (
                l.len(),
                retired + l.iter().map(|q| q.dropped()).sum::<u64>(),
            )
        };
        let st = self.state.lock();
        AudioSnapshot {
            id: self.id.clone(),
            kind: self.kind,
            name: st.name.clone(),
            online: self.is_online(),
            format: st.format,
            encoding: st.format.unwrap_or(AudioFormat::DEFAULT).encoding.name(),
            chunks: st.chunks,
            bytes: st.bytes,
            last_chunk_ms: st.last_chunk_ms,
            last_seq: st.last_seq,
            listeners,
            ring_ms: st.ring_us / 1000,
            loss: st.loss,
            dropped,
            availability: st.availability.clone(),
        }
    }

    fn attach(
        &self,
        lease: u64,
        name: Option<String>,
        format: AudioFormat,
    ) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let mut st = self.state.lock();
        if let Some((_, old)) = st.lease.replace((lease, tx)) {
            let _ = old.send(true);
        }
        if name.is_some() {
            st.name = name;
        }
        st.last_activity = Instant::now();
        if st.format != Some(format) {
            st.format = Some(format);
            st.ring.clear();
            st.ring_us = 0;
            st.position = 0;
            for q in self.listeners.lock().iter() {
                q.push(ListenerItem::Format(format));
            }
        }
        drop(st);
        self.online.send_replace(true);
        rx
    }

    fn detach(&self, lease: u64) {
        let mut st = self.state.lock();
        if st.lease.as_ref().is_some_and(|(l, _)| *l == lease) {
            st.lease = None;
            st.last_activity = Instant::now();
            drop(st);
            self.online.send_replace(false);
        }
    }

    fn publish(
        &self,
        lease: u64,
        seq: u64,
        pcm: Bytes,
        filled: bool,
    ) -> Result<AudioChunk, HubError> {
        let mut st = self.state.lock();
        if st.lease.as_ref().is_none_or(|(l, _)| *l != lease) {
            return Err(HubError::Superseded);
        }
        let format = st.format.expect("a lease always sets the format");
        if !pcm.len().is_multiple_of(format.frame_bytes()) {
            return Err(HubError::BadFormat(format!(
                "{} bytes is not a whole number of {}-byte sample frames",
                pcm.len(),
                format.frame_bytes()
            )));
        }
        let now = SystemTime::now();
        let chunk = AudioChunk {
            seq,
            position: st.position,
            received_ms: unix_ms(now),
            filled,
            pcm,
        };
        st.position += (chunk.pcm.len() / format.frame_bytes()) as u64;
        st.chunks += 1;
        st.bytes += chunk.pcm.len() as u64;
        st.last_chunk_ms = Some(chunk.received_ms);
        st.last_seq = Some(seq);
        st.last_activity = Instant::now();
        st.ring_us += format.duration_of(chunk.pcm.len()).as_micros() as u64;
        st.ring.push_back(chunk.clone());
        while st.ring_us > self.ring_limit.as_micros() as u64 {
            let Some(old) = st.ring.pop_front() else {
                break;
            };
            st.ring_us = st
                .ring_us
                .saturating_sub(format.duration_of(old.pcm.len()).as_micros() as u64);
        }
        // Listeners are pushed under the state lock so every listener sees
        // chunks in order, and a listener joining now neither misses nor
        // doubles this one.
        for q in self.listeners.lock().iter() {
            q.push(ListenerItem::Chunk(chunk.clone()));
        }
        Ok(chunk)
    }

    pub(crate) fn is_idle_since(&self, deadline: Instant) -> bool {
        let st = self.state.lock();
        st.lease.is_none() && st.last_activity <= deadline && self.listeners.lock().is_empty()
    }

    pub(crate) fn close_listeners(&self) {
        for q in self.listeners.lock().iter() {
            q.close();
        }
    }
}

/// The right to publish one audio source; a newer publisher takes it over.
#[derive(Debug)]
pub struct AudioLease {
    source: Arc<AudioSource>,
    lease: u64,
    superseded: watch::Receiver<bool>,
}

impl AudioLease {
    pub(crate) fn new(
        source: Arc<AudioSource>,
        lease: u64,
        name: Option<String>,
        format: AudioFormat,
    ) -> Self {
        let superseded = source.attach(lease, name, format);
        Self {
            source,
            lease,
            superseded,
        }
    }

    pub fn source(&self) -> &Arc<AudioSource> {
        &self.source
    }

    /// Publishes PCM received from the source.
    pub fn publish(&self, seq: u64, pcm: Bytes) -> Result<AudioChunk, HubError> {
        self.source.publish(self.lease, seq, pcm, false)
    }

    /// Publishes silence standing in for lost audio.
    pub fn publish_silence(&self, seq: u64, frames: usize) -> Result<AudioChunk, HubError> {
        let bytes = frames * self.source.format().map_or(2, |f| f.frame_bytes());
        self.source
            .publish(self.lease, seq, Bytes::from(vec![0u8; bytes]), true)
    }

    /// Replaces the loss counters the publisher keeps.
    pub fn report_loss(&self, loss: LossStats) {
        self.source.state.lock().loss = loss;
    }

    pub fn is_superseded(&self) -> bool {
        *self.superseded.borrow()
    }

    /// An owned signal that turns `true` once another publisher has taken
    /// over (for a select loop that cannot borrow the lease).
    pub fn superseded_signal(&self) -> watch::Receiver<bool> {
        self.superseded.clone()
    }

    pub async fn superseded(&self) {
        let mut rx = self.superseded.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

impl Drop for AudioLease {
    fn drop(&mut self) {
        self.source.detach(self.lease);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Arc<AudioSource> {
        Arc::new(AudioSource::new(
            StreamId::new("dk").unwrap(),
            SourceKind::Remote,
            Duration::from_millis(100),
            Duration::from_millis(60),
        ))
    }

    const MONO16: AudioFormat = AudioFormat::DEFAULT;

    #[test]
    fn every_encoding_has_its_width_and_a_name_that_parses_back() {
        for e in SampleEncoding::ALL {
            assert_eq!(SampleEncoding::parse(e.name()), Ok(e));
            let f = AudioFormat::with_encoding(44_100, 2, e).unwrap();
            assert_eq!(f.frame_bytes(), 2 * e.sample_bytes());
            assert_eq!(f.duration_of(f.bytes_for_ms(1000)), Duration::from_secs(1));
        }
        assert_eq!(SampleEncoding::S32le.sample_bytes(), 4);
        assert!(SampleEncoding::parse("S16LE").is_err(), "names are exact");
        assert!(AudioFormat::with_encoding(96_000, 1, SampleEncoding::F32le).is_err());
    }

    /// 20 ms of 16 kHz mono, filled with `tag`.
    fn pcm(tag: u8) -> Bytes {
        Bytes::from(vec![tag; 640])
    }

    fn chunks(items: &[ListenerItem]) -> Vec<u8> {
        items
            .iter()
            .filter_map(|i| {
                if let ListenerItem::Chunk(c) = i {
                    Some(c.pcm[0])
                } else {
                    None
                }
            })
            .collect()
    }

    #[tokio::test]
    async fn a_listener_gets_the_format_then_every_chunk_in_order() {
        let src = source();
        let lease = AudioLease::new(src.clone(), 1, None, MONO16);
        let sub = src.listen(Duration::ZERO);
        for tag in 1..=3 {
            lease.publish(tag as u64, pcm(tag)).unwrap();
        }
        let batch = sub.queue().next_batch().await.unwrap();
        assert!(matches!(batch[0], ListenerItem::Format(f) if f == MONO16));
        assert_eq!(chunks(&batch), vec![1, 2, 3]);
    }

    #[test]
    fn the_ring_keeps_the_last_n_ms_whether_or_not_anybody_listens() {
        let src = source();
        let lease = AudioLease::new(src.clone(), 1, None, MONO16);
        for tag in 1..=10 {
            lease.publish(tag as u64, pcm(tag)).unwrap();
        }
        let ring: Vec<u8> = src.ring().iter().map(|c| c.pcm[0]).collect();
        assert_eq!(ring, vec![6, 7, 8, 9, 10], "100 ms = five 20 ms chunks");
    }

    #[tokio::test]
    async fn a_backlog_replays_the_ring_before_live_audio() {
        let src = source();
        let lease = AudioLease::new(src.clone(), 1, None, MONO16);
        for tag in 1..=5 {
            lease.publish(tag as u64, pcm(tag)).unwrap();
        }
        let sub = src.listen(Duration::from_millis(40));
        lease.publish(6, pcm(6)).unwrap();
        assert_eq!(
            chunks(&sub.queue().next_batch().await.unwrap()),
            vec![4, 5, 6]
        );
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_loses_its_oldest_audio_only() {
        let src = source();
        let lease = AudioLease::new(src.clone(), 1, None, MONO16);
        let slow = src.listen(Duration::ZERO);
        let fast = src.listen(Duration::ZERO);
        for tag in 1..=3 {
            lease.publish(tag as u64, pcm(tag)).unwrap();
        }
        assert_eq!(
            chunks(&fast.queue().next_batch().await.unwrap()),
            vec![1, 2, 3]
        );
        for tag in 4..=6 {
            lease.publish(tag as u64, pcm(tag)).unwrap();
        }
        assert_eq!(
            chunks(&fast.queue().next_batch().await.unwrap()),
            vec![4, 5, 6]
        );
        // 60 ms of lag allowed: the slow one keeps the newest three of six.
        let batch = slow.queue().next_batch().await.unwrap();
        assert!(
            matches!(batch[0], ListenerItem::Format(_)),
            "the format marker is never dropped"
        );
        assert_eq!(chunks(&batch), vec![4, 5, 6]);
        assert_eq!(slow.queue().dropped(), 3);
        assert_eq!(fast.queue().dropped(), 0);
        // The source counts them, and still does once the listener has left.
        let source = slow.source().clone();
        assert_eq!(source.snapshot().dropped, 3);
        drop(slow);
        assert_eq!(source.snapshot().dropped, 3);
    }

    #[tokio::test]
    async fn a_new_format_is_announced_and_clears_the_ring() {
        let src = source();
        let first = AudioLease::new(src.clone(), 1, None, MONO16);
        first.publish(1, pcm(1)).unwrap();
        let sub = src.listen(Duration::ZERO);
        let stereo48 = AudioFormat::new(48_000, 2).unwrap();
        let second = AudioLease::new(src.clone(), 2, None, stereo48);
        assert!(first.is_superseded());
        assert_eq!(first.publish(2, pcm(2)).unwrap_err(), HubError::Superseded);
        second.publish(1, Bytes::from(vec![9u8; 1920])).unwrap();
        let batch = sub.queue().next_batch().await.unwrap();
        assert!(matches!(batch[0], ListenerItem::Format(f) if f == MONO16));
        assert!(matches!(batch[1], ListenerItem::Format(f) if f == stereo48));
        assert_eq!(chunks(&batch), vec![9]);
        assert_eq!(src.ring().len(), 1);
    }

    #[test]
    fn partial_sample_frames_are_refused() {
        let src = source();
        let lease = AudioLease::new(src, 1, None, AudioFormat::new(16_000, 2).unwrap());
        assert!(matches!(
            lease.publish(1, Bytes::from_static(&[0; 6])),
            Err(HubError::BadFormat(_))
        ));
    }

    #[test]
    fn unsupported_formats_are_refused() {
        assert!(AudioFormat::new(96_000, 1).is_err());
        assert!(
            AudioFormat::new(44_100, 1).is_ok(),
            "44.1 kHz is a devkit rate"
        );
        assert!(AudioFormat::new(16_000, 3).is_err());
        assert_eq!(AudioFormat::new(48_000, 2).unwrap().bytes_for_ms(7), 1344);
    }
}
