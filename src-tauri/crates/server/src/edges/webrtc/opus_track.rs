//! A peer's Opus track: the source's shared [`OpusFeed`] packets, RTP-packetised
//! and sent to this one peer.

use std::{sync::Arc, time::Instant};

use rtc::{
    media::Sample,
    media_stream::MediaStreamTrack,
    peer_connection::configuration::{
        interceptor_registry::register_default_interceptors,
        media_engine::{MediaEngine, MIME_TYPE_OPUS},
    },
    rtp_transceiver::rtp_sender::{
        RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
        RtpCodecKind,
    },
};
use tokio::sync::broadcast::error::RecvError;
use webrtc::{
    media_stream::track_local::{static_sample::TrackLocalStaticSample, TrackLocal},
    peer_connection::PeerConnection,
    rtp_transceiver::RtpSender,
};

use super::opus_feed::{OpusFeed, OpusPacket};
use crate::metrics::SentBytes;

/// The payload type the relay offers Opus under (what browsers use too).
const PAYLOAD_TYPE: u8 = 111;

/// Opus as the answer declares it: 48 kHz, two channels (RFC 7587 says so
/// whatever the content), in-band FEC asked of the sender.
fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// A media engine that knows Opus only, and the default interceptors
/// (sender reports, NACK responder) for it.
pub fn media_engine() -> Result<(MediaEngine, rtc::interceptor::Registry), webrtc::error::Error> {
    let mut engine = MediaEngine::default();
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: PAYLOAD_TYPE,
        },
        RtpCodecKind::Audio,
    )?;
    let registry = register_default_interceptors(rtc::interceptor::Registry::new(), &mut engine)?;
    Ok((engine, registry))
}

/// The track added to one peer, before the offer is applied.
pub struct OpusTrack {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
}

impl OpusTrack {
    pub async fn add_to(
        pc: &impl PeerConnection,
        source: &str,
    ) -> Result<Self, webrtc::error::Error> {
        let ssrc = rand_ssrc();
        let track = Arc::new(TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                format!("relaydeck-{source}"),
                "audio".to_owned(),
                source.to_owned(),
                RtpCodecKind::Audio,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: opus_codec(),
                    ..Default::default()
                }],
            ),
        )?);
        let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        Ok(Self {
            track,
            sender,
            ssrc,
        })
    }

    /// Sends the feed's packets until the feed or the peer ends.
    pub async fn play(self, feed: Arc<OpusFeed>, sent: SentBytes) {
        let payload_type = match self.sender.get_parameters().await {
            Ok(p) => p
                .rtp_parameters
                .codecs
                .first()
                .map_or(PAYLOAD_TYPE, |c| c.payload_type),
            Err(e) => {
                tracing::debug!(error = %e, "the Opus track was not negotiated");
                return;
            }
        };
        let mut packets = feed.subscribe();
        let mut skipped: u64 = 0;
        loop {
            let next = tokio::select! {
                next = packets.recv() => next,
                _ = feed.ended() => return, // the source was removed
            };
            let packet = match next {
                Ok(p) => p,
                Err(RecvError::Lagged(n)) => {
                    skipped += n;
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let sample = Sample {
                data: packet.data,
                duration: OpusPacket::DURATION,
                // Skipped packets advance the RTP clock and sequence, so the
                // browser conceals them as lost instead of playing late.
                prev_dropped_packets: skipped.min(u16::MAX as u64) as u16,
                ..Sample::new(packet.at)
            };
            skipped = 0;
            let len = sample.data.len();
            if let Err(e) = self
                .track
                .sample_writer(self.ssrc, payload_type)
                .write_sample(&sample)
                .await
            {
                tracing::debug!(error = %e, "the Opus track ended");
                return;
            }
            sent.sent(len);
        }
    }
}

fn rand_ssrc() -> u32 {
    let b = crate::secrets::random_bytes(4);
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
