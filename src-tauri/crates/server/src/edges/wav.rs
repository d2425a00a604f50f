//! `GET /api/audio/{id}/live.wav`: a source as a never-ending WAV file over
//! chunked HTTP, playable by ffplay, VLC, mpv and a browser `<audio>`.
//!
//! The header's RIFF and data sizes are 0xFFFFFFFF, the convention for a
//! WAV stream of unknown length (ffmpeg and browsers read it as "until the
//! connection ends"). The stream ends when the source's format changes (a
//! WAV header cannot change mid-file): clients reconnect and get a new header.

use std::convert::Infallible;

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use bytes::Bytes;
use relaydeck_hub::{AudioFormat, AudioSubscription, ListenerItem, SampleEncoding};
use tokio_util::sync::CancellationToken;

use crate::streams::{find_audio_source as find_source, parse_backlog};
use crate::{
    auth::Access,
    error::ApiError,
    state::{AppState, MediaState},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/audio/{id}/live.wav", get(live_wav))
}

/// A 44-byte WAV header for a stream of unknown length: `WAVE_FORMAT_PCM`
/// (1) for s16le and s32le, `WAVE_FORMAT_IEEE_FLOAT` (3) for f32le, in the
/// canonical 16-byte `fmt ` chunk (what ffmpeg, sox and browsers read; a
/// float file's optional `fact` chunk only matters for files of known length).
pub fn header(f: AudioFormat) -> [u8; 44] {
    let mut h = [0u8; 44];
    let block_align = f.frame_bytes() as u16;
    let (tag, bits): (u16, u16) = match f.encoding {
        SampleEncoding::S16le => (1, 16),
        SampleEncoding::S32le => (1, 32),
        SampleEncoding::F32le => (3, 32),
    };
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&tag.to_le_bytes());
    h[22..24].copy_from_slice(&f.channels.to_le_bytes());
    h[24..28].copy_from_slice(&f.sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(f.bytes_per_second() as u32).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&bits.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    h
}

async fn live_wav(State(state): State<MediaState>, access: Access) -> Result<Response, ApiError> {
    let id = access.id()?.to_string();
    // Asked again here, for the ID this edge serves (defence in depth).
    access.view(&id)?;
    let source = find_source(&state, &id).map_err(|_| ApiError::UnknownSource(id.clone()))?;
    let backlog = parse_backlog(state.config.audio_ring, access.param("backlogMs"))
        .map_err(ApiError::BadRequest)?;
    let format = source
        .format()
        .ok_or_else(|| ApiError::NoAudioYet(id.clone()))?;
    let sub = source.listen(backlog);
    let body = WavBody {
        sub,
        format,
        header_sent: false,
        format_changed: false,
        ended: access.ended.clone(),
        meter: state.meters.open(crate::metrics::Transport::Wav),
    };
    let stream = futures_util::stream::unfold(body, WavBody::next_chunk);
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

struct WavBody {
    sub: AudioSubscription,
    format: AudioFormat,
    header_sent: bool,
    format_changed: bool,
    /// The caller's credential was revoked or expired, or the server is stopping.
    ended: CancellationToken,
    meter: crate::metrics::ConnMeter,
}

impl WavBody {
    async fn next_chunk(self) -> Option<(Result<Bytes, Infallible>, Self)> {
        let (chunk, body) = self.next_part().await?;
        body.meter.sent(chunk.len());
        Some((Ok(chunk), body))
    }

    async fn next_part(mut self) -> Option<(Bytes, Self)> {
        if !self.header_sent {
            self.header_sent = true;
            return Some((Bytes::copy_from_slice(&header(self.format)), self));
        }
        loop {
            if self.format_changed {
                return None;
            }
            let batch = tokio::select! {
                _ = self.ended.cancelled() => return None,
                b = self.sub.queue().next_batch() => b?,
            };
            let mut out = Vec::new();
            for item in batch {
                match item {
                    // The listener's first item repeats the format we started with.
                    ListenerItem::Format(f) if f == self.format => {}
                    ListenerItem::Format(_) => {
                        self.format_changed = true;
                        break;
                    }
                    ListenerItem::Chunk(c) => out.push(c.pcm),
                }
            }
            match out.len() {
                0 => continue,
                1 => return Some((out.pop().unwrap(), self)),
                _ => return Some((Bytes::from(out.concat()), self)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_describes_16_bit_pcm_of_unknown_length() {
        let h = header(AudioFormat::new(16_000, 1).unwrap());
        assert_eq!(&h[0..4], b"RIFF");
        assert_eq!(&h[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(h[24..28].try_into().unwrap()), 16_000);
        assert_eq!(u32::from_le_bytes(h[28..32].try_into().unwrap()), 32_000);
        assert_eq!(u16::from_le_bytes(h[32..34].try_into().unwrap()), 2);
        assert_eq!(&h[36..40], b"data");
    }
}
