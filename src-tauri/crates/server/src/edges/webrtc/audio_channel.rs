//! The `audioStream` DataChannel: a live source exactly as `/audio/ws` sends
//! it — a `format` message (text), the PCM chunks as the hub forwards them
//! (binary), a `stats` message every `--audio-stats-interval`; `ping` is
//! answered with `pong`.
//!
//! The channel is reliable and ordered, so a peer that cannot keep up must
//! not hold the relay's memory: beyond [`SEND_BUFFER`] bytes queued, chunks
//! are dropped and counted in `stats` (`dropped`), as a slow WebSocket
//! listener's are.

use std::{sync::Arc, time::Duration};

use bytes::BytesMut;
use relaydeck_contract::{
    audio_ws::ListenerMessage,
    socket::{code, SocketReply},
};
use relaydeck_hub::{AudioSource, ListenerItem};
use serde::Serialize;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::{
    metrics::SentBytes,
    wire::{listener_format as format_event, listener_stats as stats_event},
};

/// The channel a browser opens for live audio.
pub const LABEL: &str = "audioStream";

/// Bytes a peer may have queued before chunks are dropped (≈ 1.3 s of
/// 48 kHz stereo s16le).
pub const SEND_BUFFER: usize = 256 * 1024;

/// Why the channel ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ChannelEnd {
    Closed,
    SourceRemoved,
}

/// Plays `source` on `dc` until either side ends.
pub async fn run(
    dc: Arc<dyn DataChannel>,
    source: Arc<AudioSource>,
    stats_every: Duration,
    sent: SentBytes,
) -> ChannelEnd {
    let mut opened = false;
    let mut sub: Option<relaydeck_hub::AudioSubscription> = None;
    let mut stats = crate::ws::ticks::on_grid(stats_every);
    let mut last: Option<(u64, u64)> = None;
    let mut dropped = 0u64;
    loop {
        tokio::select! {
            biased;
            event = dc.poll() => match event {
                None | Some(DataChannelEvent::OnClose) => return ChannelEnd::Closed,
                Some(DataChannelEvent::OnOpen) if !opened => {
                    opened = true;
                    sub = Some(source.listen(Duration::ZERO));
                }
                Some(DataChannelEvent::OnMessage(m)) => {
                    if reply(&dc, &m.data).await.is_err() {
                        return ChannelEnd::Closed;
                    }
                }
                Some(_) => {}
            },
            batch = async { sub.as_ref().expect("opened").queue().next_batch().await }, if sub.is_some() => {
                let Some(batch) = batch else { return ChannelEnd::SourceRemoved };
                for item in batch {
                    let sent = match item {
                        ListenerItem::Format(f) => send_json(&dc, &format_event(source.id().as_str(), f)).await,
                        ListenerItem::Chunk(c) => {
                            last = Some((c.seq, c.received_ms));
                            match dc.try_send(BytesMut::from(&c.pcm[..])).await {
                                Ok(()) => {
                                    sent.sent(c.pcm.len());
                                    Ok(())
                                }
                                // Full: this peer is behind; the chunk is skipped, not queued.
                                Err(e) if still_open(&dc).await => {
                                    tracing::trace!(error = %e, "a WebRTC listener is behind");
                                    dropped += 1;
                                    Ok(())
                                }
                                Err(e) => Err(e),
                            }
                        }
                    };
                    if sent.is_err() {
                        return ChannelEnd::Closed;
                    }
                }
            },
            _ = stats.tick(), if sub.is_some() => {
                let queue_drops = sub.as_ref().map_or(0, |s| s.queue().dropped());
                if send_json(&dc, &stats_event(&source, queue_drops + dropped, last)).await.is_err() {
                    return ChannelEnd::Closed;
                }
            },
        }
    }
}

async fn still_open(dc: &Arc<dyn DataChannel>) -> bool {
    matches!(
        dc.ready_state().await,
        Ok(webrtc::data_channel::RTCDataChannelState::Open)
    )
}

async fn send_json(dc: &Arc<dyn DataChannel>, value: &impl Serialize) -> webrtc::error::Result<()> {
    let text = serde_json::to_string(value).expect("wire types serialise");
    dc.send_text(&text).await
}

/// A message from the listener: `ping` is answered; anything else gets an error.
async fn reply(dc: &Arc<dyn DataChannel>, data: &[u8]) -> webrtc::error::Result<()> {
    let answer = match serde_json::from_slice::<ListenerMessage>(data) {
        Ok(ListenerMessage::Ping(p)) => SocketReply::pong(p),
        Err(e) => SocketReply::error(code::BAD_MESSAGE, format!("not a listener message: {e}")),
    };
    send_json(dc, &answer).await
}
