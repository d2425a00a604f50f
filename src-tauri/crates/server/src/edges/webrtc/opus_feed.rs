//! One Opus encoder per live source, shared by every WebRTC listener of it.
//!
//! The first listener of a source starts its [`OpusFeed`]: a task that
//! listens to the source in the hub like any other listener, encodes 20 ms
//! packets once, and hands the same `Bytes` to every peer through a
//! broadcast channel. Each peer only packetises (RTP) and encrypts (SRTP),
//! which it must do per peer anyway. When the last listener goes, the feed
//! stops, so a source nobody listens to over WebRTC costs nothing.
//!
//! A peer that falls behind by more than [`BACKLOG`] packets skips the
//! oldest (the broadcast channel's lag): its RTP sequence numbers jump, and
//! the browser conceals the gap as it would a network loss.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Weak,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use parking_lot::Mutex;
use relaydeck_hub::{AudioSource, ListenerItem};
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::opus_encode::{OpusEncoder, FRAME_MS};

/// Packets a listener may be behind (1 s) before it skips.
pub const BACKLOG: usize = 50;

/// One encoded 20 ms frame.
#[derive(Debug, Clone)]
pub struct OpusPacket {
    pub data: Bytes,
    /// When its audio reached the relay (the sample's capture time for RTP).
    pub at: Instant,
}

impl OpusPacket {
    pub const DURATION: Duration = Duration::from_millis(FRAME_MS as u64);
}

/// The feeds running now, by source.
#[derive(Default)]
pub struct OpusFeeds {
    feeds: Mutex<HashMap<String, Weak<OpusFeed>>>,
}

/// A running encoder; held by each listener, stopped when the last one goes.
pub struct OpusFeed {
    source: Arc<AudioSource>,
    packets: broadcast::Sender<OpusPacket>,
    encoded: Arc<AtomicU64>,
    /// Cancelled when the encoder ends on its own (the source was removed).
    ended: CancellationToken,
    _stop: DropGuard,
}

impl OpusFeed {
    /// A receiver of the packets from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<OpusPacket> {
        self.packets.subscribe()
    }

    /// Packets encoded since the feed started (one per 20 ms of audio,
    /// however many listen).
    pub fn encoded(&self) -> u64 {
        self.encoded.load(Ordering::Relaxed)
    }

    /// Resolves when the source was removed from the hub (no more packets).
    pub async fn ended(&self) {
        self.ended.cancelled().await
    }
}

impl OpusFeeds {
    /// The feed of `source`, started if none runs.
    pub fn feed(&self, source: &Arc<AudioSource>) -> Arc<OpusFeed> {
        let mut feeds = self.feeds.lock();
        feeds.retain(|_, f| f.strong_count() > 0);
        let id = source.id().as_str();
        // A source removed and made again under its ID is a new source: a
        // feed of the old one (kept alive by its last peers) is not reused.
        let running = feeds.get(id).and_then(Weak::upgrade);
        if let Some(feed) = running.filter(|f| Arc::ptr_eq(&f.source, source)) {
            if !feed.ended.is_cancelled() {
                return feed;
            }
        }
        let (packets, _) = broadcast::channel(BACKLOG);
        let stop = CancellationToken::new();
        let ended = CancellationToken::new();
        let encoded = Arc::new(AtomicU64::new(0));
        let task = encode(
            source.clone(),
            packets.clone(),
            encoded.clone(),
            stop.clone(),
        );
        let on_end = ended.clone();
        tokio::spawn(async move {
            task.await;
            on_end.cancel();
        });
        let feed = Arc::new(OpusFeed {
            source: source.clone(),
            packets,
            encoded,
            ended,
            _stop: stop.drop_guard(),
        });
        feeds.insert(id.to_owned(), Arc::downgrade(&feed));
        feed
    }

    /// Encoders running now (what the benchmark and the tests read).
    pub fn running(&self) -> usize {
        self.feeds
            .lock()
            .values()
            .filter(|f| f.strong_count() > 0)
            .count()
    }
}

/// The feed's task: the source's PCM in, packets out, until stopped or the
/// source is removed.
async fn encode(
    source: Arc<AudioSource>,
    packets: broadcast::Sender<OpusPacket>,
    encoded: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    let sub = source.listen(Duration::ZERO);
    let mut encoder: Option<OpusEncoder> = None;
    loop {
        let batch = tokio::select! {
            _ = stop.cancelled() => return,
            batch = sub.queue().next_batch() => batch,
        };
        let Some(batch) = batch else { return };
        for item in batch {
            match item {
                ListenerItem::Format(f) => {
                    encoder = OpusEncoder::new(f)
                        .inspect_err(|e| tracing::warn!(source = %source.id(), error = %e, "no Opus for this source"))
                        .ok();
                }
                ListenerItem::Chunk(c) => {
                    let Some(enc) = encoder.as_mut() else {
                        continue;
                    };
                    match enc.push(&c.pcm) {
                        Ok(out) => {
                            let at = Instant::now();
                            for data in out {
                                encoded.fetch_add(1, Ordering::Relaxed);
                                // No receiver yet is not an error: a peer is connecting.
                                let _ = packets.send(OpusPacket { data, at });
                            }
                        }
                        Err(e) => {
                            tracing::warn!(source = %source.id(), error = %e, "Opus encoding failed; the encoder starts again");
                            encoder = OpusEncoder::new(enc.format()).ok();
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relaydeck_hub::{AudioFormat, AudioLease, Hub, HubConfig, SourceKind};

    /// A devkit-like source "kitchen" (16 kHz mono) in `hub`: its lease and the source.
    fn kitchen(hub: &Hub) -> (AudioLease, Arc<AudioSource>) {
        let format = AudioFormat::new(16_000, 1).unwrap();
        let lease = hub
            .publish_audio_as("kitchen", None, SourceKind::Remote, format)
            .unwrap();
        (lease, hub.audio_source("kitchen").unwrap())
    }

    #[tokio::test]
    async fn listeners_of_one_source_share_one_encoder_which_stops_with_the_last() {
        let hub = Hub::new(HubConfig::default());
        let (lease, source) = kitchen(&hub);
        let feeds = OpusFeeds::default();
        let a = feeds.feed(&source);
        let b = feeds.feed(&source);
        assert!(Arc::ptr_eq(&a, &b) && feeds.running() == 1);
        let (mut ra, mut rb) = (a.subscribe(), b.subscribe());
        tokio::task::yield_now().await;
        // 100 ms of audio: five packets, encoded once, received by both.
        for seq in 0..5u64 {
            lease.publish(seq, Bytes::from(vec![0u8; 640])).unwrap();
        }
        for _ in 0..5 {
            let (pa, pb) = (ra.recv().await.unwrap(), rb.recv().await.unwrap());
            assert_eq!(pa.data, pb.data);
            assert_eq!(
                pa.data.as_ptr(),
                pb.data.as_ptr(),
                "the same bytes, not a copy"
            );
        }
        assert_eq!(a.encoded(), 5);
        drop((a, b));
        assert_eq!(feeds.running(), 0);
        assert!(
            ra.recv().await.is_err(),
            "the stopped feed's channel closes"
        );
    }

    #[tokio::test]
    async fn a_removed_source_ends_its_feed_and_a_new_source_under_its_id_gets_a_new_one() {
        let hub = Hub::new(HubConfig::default());
        let (_lease, old) = kitchen(&hub);
        let feeds = OpusFeeds::default();
        let feed = feeds.feed(&old);
        tokio::task::yield_now().await;
        hub.remove_audio_source("kitchen");
        tokio::time::timeout(Duration::from_secs(5), feed.ended())
            .await
            .expect("the feed ends with its source");
        let (_lease, new) = kitchen(&hub);
        let fresh = feeds.feed(&new);
        assert!(!Arc::ptr_eq(&feed, &fresh), "not the old source's feed");
    }
}
