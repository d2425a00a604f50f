//! Media between nodes: the two halves of a remote stream.
//!
//! **Out** (on the node that holds the publisher): while another node wants
//! the stream, one task watches it as an ordinary hub viewer, latest-wins, and
//! publishes each frame or chunk to the stream's subject. A slow NATS link
//! therefore skips frames here, like any slow viewer, and stalls nobody.
//!
//! **In** (on every other node): the stream exists in the local hub with the
//! bridge as its publisher, so every edge serves it unchanged. While it has
//! a local viewer or listener the task subscribes to its subject (once per
//! node, however many viewers) and renews the node's interest every second;
//! when the last one leaves, it unsubscribes and the interest lapses.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::StreamExt;
use relaydeck_contract::cluster::{self as wire, MediaKind};
use relaydeck_hub::{
    AudioFormat, AudioSource, Hub, ListenerItem, PublisherLease, SampleEncoding, SourceKind,
    VideoStream, ViewerQueue,
};
use tokio_util::sync::CancellationToken;

use super::{
    link::Link,
    split::{self, Joined, Joiner},
    ClusterCounters,
};

/// How often an interested node renews its want.
pub const WANT_EVERY: Duration = Duration::from_secs(1);
/// How long a want holds (three renewals).
pub const WANT_TTL: Duration = Duration::from_secs(3);
/// An HTTP poll of a remote camera's newest frame keeps its frames coming this long.
const POLL_INTEREST: Duration = Duration::from_secs(10);

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn header<'a>(h: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    h?.get(name).map(|v| v.as_str())
}

/// Publishes one local camera to its subject while the cluster wants it.
pub async fn video_out(
    link: Link,
    stream: Arc<VideoStream>,
    counters: Arc<ClusterCounters>,
    cancel: CancellationToken,
) {
    let subject = link.subjects.media(MediaKind::Video, stream.id().as_str());
    let part_size = split::part_size(link.max_payload());
    let queue = ViewerQueue::new();
    let sub = stream.subscribe(&queue);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = queue.ready() => {}
        }
        while let Some(frame) = sub.slot().take() {
            let jpeg = frame.jpeg();
            let parts = split::split(&jpeg, part_size);
            let count = parts.len();
            for (i, part) in parts.into_iter().enumerate() {
                let mut h = HeaderMap::new();
                h.insert(wire::HDR_SEQ, frame.seq.to_string().as_str());
                h.insert(
                    wire::HDR_CAPTURED_US,
                    frame.captured_us.to_string().as_str(),
                );
                h.insert(wire::HDR_FORMAT, "image/jpeg");
                h.insert(wire::HDR_NODE, link.node.as_str());
                if count > 1 {
                    h.insert(wire::HDR_PART, format!("{}/{count}", i + 1).as_str());
                    h.insert(wire::HDR_TOTAL, jpeg.len().to_string().as_str());
                }
                if let Err(e) = link
                    .client
                    .publish_with_headers(subject.clone(), h, part)
                    .await
                {
                    tracing::debug!(%subject, "cannot publish a frame: {e}");
                }
            }
            counters.frames_out.fetch_add(1, Ordering::Relaxed);
            counters
                .bytes_out
                .fetch_add(jpeg.len() as u64, Ordering::Relaxed);
            sub.slot().finish(Some(frame.seq));
        }
    }
}

/// Publishes one local audio source to its subject while the cluster wants it.
pub async fn audio_out(
    link: Link,
    source: Arc<AudioSource>,
    counters: Arc<ClusterCounters>,
    cancel: CancellationToken,
) {
    let subject = link.subjects.media(MediaKind::Audio, source.id().as_str());
    let sub = source.listen(Duration::ZERO);
    let mut format: Option<String> = None;
    loop {
        let batch = tokio::select! {
            _ = cancel.cancelled() => return,
            b = sub.queue().next_batch() => b,
        };
        let Some(batch) = batch else { return };
        for item in batch {
            match item {
                ListenerItem::Format(f) => format = Some(format_header(&f)),
                ListenerItem::Chunk(c) => {
                    let Some(fmt) = &format else { continue };
                    let mut h = HeaderMap::new();
                    h.insert(wire::HDR_SEQ, c.seq.to_string().as_str());
                    h.insert(
                        wire::HDR_CAPTURED_US,
                        (c.received_ms * 1000).to_string().as_str(),
                    );
                    h.insert(wire::HDR_FORMAT, fmt.as_str());
                    h.insert(wire::HDR_NODE, link.node.as_str());
                    counters.chunks_out.fetch_add(1, Ordering::Relaxed);
                    counters
                        .bytes_out
                        .fetch_add(c.pcm.len() as u64, Ordering::Relaxed);
                    if let Err(e) = link
                        .client
                        .publish_with_headers(subject.clone(), h, c.pcm)
                        .await
                    {
                        tracing::debug!(%subject, "cannot publish audio: {e}");
                    }
                }
            }
        }
    }
}

pub fn format_header(f: &AudioFormat) -> String {
    wire::audio_format_header(f.sample_rate, f.channels, f.encoding.name())
}

fn parse_format(s: &str) -> Option<AudioFormat> {
    let (rate, channels, enc) = wire::parse_audio_format_header(s)?;
    AudioFormat::with_encoding(rate, channels, SampleEncoding::parse(&enc).ok()?).ok()
}

/// Counts the frames the origin published that never arrived here.
#[derive(Debug, Default)]
struct GapCounter {
    last: Option<u64>,
}

impl GapCounter {
    /// The number of sequence numbers skipped before `seq`.
    fn see(&mut self, seq: u64) -> u64 {
        let gap = match self.last {
            Some(last) if seq > last + 1 => seq - last - 1,
            _ => 0,
        };
        // A smaller number means a new publisher at the origin: start again.
        self.last = Some(seq);
        gap
    }
}

/// Waits until the stream has a local viewer (or a recent poll), or the
/// task must end. Returns false when it must end.
async fn wait_for_interest(
    viewers: &mut tokio::sync::watch::Receiver<usize>,
    polled: impl Fn() -> bool,
    superseded: &mut tokio::sync::watch::Receiver<bool>,
    cancel: &CancellationToken,
) -> bool {
    loop {
        if *superseded.borrow() || cancel.is_cancelled() {
            return false;
        }
        if *viewers.borrow() > 0 || polled() {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => return false,
            r = superseded.changed() => if r.is_err() { return false },
            r = viewers.changed() => if r.is_err() { return false },
            // Polls leave no signal: look again now and then.
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// This node's interest in one remote stream while it is subscribed: a
/// want now, renewed every [`WANT_EVERY`] while the stream has local
/// interest, and one renewal of grace after the last viewer leaves (a page
/// reload is not a new subscription).
struct Want {
    kind: MediaKind,
    id: String,
    every: tokio::time::Interval,
    idle: u32,
}

impl Want {
    /// Subscribes to the stream's subject and says so; `None` (after a
    /// pause) if NATS refused the subscription.
    async fn start(
        link: &Link,
        kind: MediaKind,
        id: &str,
    ) -> Option<(async_nats::Subscriber, Self)> {
        let subject = link.subjects.media(kind, id);
        let sub = match link.client.subscribe(subject.clone()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(%subject, "cannot subscribe: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return None;
            }
        };
        let mut every = tokio::time::interval(WANT_EVERY);
        every.tick().await;
        let want = Self {
            kind,
            id: id.to_owned(),
            every,
            idle: 0,
        };
        want.send(link).await;
        Some((sub, want))
    }

    async fn due(&mut self) {
        self.every.tick().await;
    }

    /// Renews the want if the stream is still `wanted` here; false once the
    /// grace is over (the caller unsubscribes).
    async fn renew(&mut self, link: &Link, wanted: bool) -> bool {
        if wanted {
            self.idle = 0;
            self.send(link).await;
            return true;
        }
        self.idle += 1;
        self.idle <= 1
    }

    async fn send(&self, link: &Link) {
        let mut h = HeaderMap::new();
        h.insert(wire::HDR_TTL_MS, WANT_TTL.as_millis().to_string().as_str());
        let _ = link
            .client
            .publish_with_headers(
                link.subjects.want(self.kind, &self.id),
                h,
                Bytes::from(link.node.clone()),
            )
            .await;
    }
}

/// Feeds a remote camera into the local hub through `lease` while it has
/// viewers here. Ends when a local publisher takes the ID over or `cancel`.
pub async fn video_in(
    link: Link,
    lease: PublisherLease,
    max_frame_bytes: usize,
    counters: Arc<ClusterCounters>,
    cancel: CancellationToken,
) {
    let stream = lease.stream().clone();
    let id = stream.id().to_string();
    let subject = link.subjects.media(MediaKind::Video, &id);
    let mut viewers = stream.viewer_count();
    let mut superseded = lease.superseded_signal();
    let mut joiner = Joiner::new(max_frame_bytes);
    let mut gaps = GapCounter::default();
    let polled = || stream.polled_within(POLL_INTEREST);
    while wait_for_interest(&mut viewers, polled, &mut superseded, &cancel).await {
        let Some((mut sub, mut want)) = Want::start(&link, MediaKind::Video, &id).await else {
            continue;
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = superseded.changed() => return,
                _ = want.due() => {
                    let wanted = *viewers.borrow() > 0 || polled();
                    if !want.renew(&link, wanted).await { break; }
                }
                msg = sub.next() => {
                    let Some(msg) = msg else { break };
                    let h = msg.headers.as_ref();
                    let Some(seq) = header(h, wire::HDR_SEQ).and_then(|s| s.parse::<u64>().ok()) else {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let part = header(h, wire::HDR_PART).and_then(split::parse_part);
                    let total = header(h, wire::HDR_TOTAL).and_then(|s| s.parse().ok()).unwrap_or(0);
                    let before = joiner.dropped;
                    let joined = joiner.push(seq, part, total, msg.payload);
                    counters.frames_dropped.fetch_add(joiner.dropped - before, Ordering::Relaxed);
                    let Joined::Frame(jpeg) = joined else { continue };
                    counters.frames_missed.fetch_add(gaps.see(seq), Ordering::Relaxed);
                    match lease.publish(&jpeg) {
                        Ok(_) => {
                            counters.frames_in.fetch_add(1, Ordering::Relaxed);
                            counters.bytes_in.fetch_add(jpeg.len() as u64, Ordering::Relaxed);
                            if let Some(c) = header(h, wire::HDR_CAPTURED_US).and_then(|s| s.parse::<u64>().ok()) {
                                counters.note_latency(now_us().saturating_sub(c));
                            }
                        }
                        Err(e) => {
                            counters.malformed.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(%subject, "a remote frame was refused: {e}");
                        }
                    }
                }
            }
        }
        drop(sub);
    }
}

/// Feeds a remote audio source into the local hub while it has listeners here.
pub async fn audio_in(
    link: Link,
    hub: Hub,
    id: String,
    name: Option<String>,
    first: AudioFormat,
    counters: Arc<ClusterCounters>,
    cancel: CancellationToken,
) {
    let Ok(mut lease) = hub.publish_audio_as(&id, name.clone(), SourceKind::Remote, first) else {
        return;
    };
    let mut format = first;
    let mut listeners = lease.source().listener_watch();
    let mut superseded = lease.superseded_signal();
    let mut gaps = GapCounter::default();
    while wait_for_interest(&mut listeners, || false, &mut superseded, &cancel).await {
        let Some((mut sub, mut want)) = Want::start(&link, MediaKind::Audio, &id).await else {
            continue;
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = superseded.changed() => return,
                _ = want.due() => {
                    let wanted = *listeners.borrow() > 0;
                    if !want.renew(&link, wanted).await { break; }
                }
                msg = sub.next() => {
                    let Some(msg) = msg else { break };
                    let h = msg.headers.as_ref();
                    let seq = header(h, wire::HDR_SEQ).and_then(|s| s.parse::<u64>().ok());
                    let fmt = header(h, wire::HDR_FORMAT).and_then(parse_format);
                    let (Some(seq), Some(fmt)) = (seq, fmt) else {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    if fmt != format {
                        // The origin changed format: publish the new one (listeners are told).
                        match hub.publish_audio_as(&id, name.clone(), SourceKind::Remote, fmt) {
                            Ok(l) => { lease = l; format = fmt; superseded = lease.superseded_signal(); }
                            Err(_) => return,
                        }
                    }
                    counters.frames_missed.fetch_add(gaps.see(seq), Ordering::Relaxed);
                    let len = msg.payload.len() as u64;
                    if lease.publish(seq, msg.payload).is_ok() {
                        counters.chunks_in.fetch_add(1, Ordering::Relaxed);
                        counters.bytes_in.fetch_add(len, Ordering::Relaxed);
                        if let Some(c) = header(h, wire::HDR_CAPTURED_US).and_then(|s| s.parse::<u64>().ok()) {
                            counters.note_latency(now_us().saturating_sub(c));
                        }
                    } else {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        drop(sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_what_never_arrived() {
        let mut g = GapCounter::default();
        assert_eq!(g.see(5), 0);
        assert_eq!(g.see(6), 0);
        assert_eq!(g.see(9), 2);
        // A new publisher at the origin restarts its numbers: no gap.
        assert_eq!(g.see(1), 0);
        assert_eq!(g.see(2), 0);
    }

    #[test]
    fn the_format_header_round_trips() {
        let f =
            AudioFormat::with_encoding(16000, 1, SampleEncoding::parse("s16le").unwrap()).unwrap();
        assert_eq!(parse_format(&format_header(&f)), Some(f));
        assert_eq!(
            parse_format("audio/pcm;rate=0;channels=1;encoding=s16le"),
            None
        );
        assert_eq!(parse_format("image/jpeg"), None);
    }
}
