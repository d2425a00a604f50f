//! The `fileStream` DataChannel: a file of the audio library, in chunks.
//!
//! Once the channel opens the relay sends `metadata`, then chunks of
//! [`CHUNK_SIZE`] bytes from chunk 0, then `complete`. The page may send
//! `resume` (after a reconnect: from the first chunk it lacks) or `seek`
//! (`pcm` mode: from the chunk holding that second) at any time; the relay
//! answers `seeked` and continues from there, also after `complete` (the
//! channel stays open until the page closes it).
//!
//! Flow control: a chunk is sent only while the channel has less than
//! [`audio_channel::SEND_BUFFER`] (256 KiB) unacknowledged, and sending
//! resumes as the peer acknowledges (webrtc-rs's send-buffer limit, set on
//! every peer) — a slow page holds at most that much of the relay's memory
//! and gets every byte, in order. Messages from the page are read between
//! chunks, so a seek is answered within one chunk.

use std::{io::SeekFrom, path::PathBuf, sync::Arc};

use bytes::BytesMut;
use relaydeck_contract::{
    api::AudioFile,
    file_channel::{FileEvent, FileMessage, FileMode, PcmFormat, CHUNK_SIZE},
    socket::{code, SocketReply},
};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use super::audio_channel::ChannelEnd;
use crate::metrics::SentBytes;

/// The channel a page opens for a file.
pub const LABEL: &str = "fileStream";

/// A file to play, in one mode, from its path on disk.
#[derive(Debug, Clone)]
pub struct FilePlay {
    pub file: AudioFile,
    pub mode: FileMode,
    /// The PCM in `pcm` mode, the original in `bytes` mode.
    pub path: PathBuf,
    /// Where the bytes sent start in `path` (a recording's PCM: after its WAV header).
    pub offset: u64,
    /// `pcm` mode: the PCM's encoding (`s16le` for uploads; a recording's own).
    pub encoding: &'static str,
}

impl FilePlay {
    fn total_size(&self) -> u64 {
        match self.mode {
            FileMode::Pcm => self.file.pcm_size,
            FileMode::Bytes => self.file.size,
        }
    }

    fn total_chunks(&self) -> u64 {
        self.total_size().div_ceil(CHUNK_SIZE as u64)
    }

    /// PCM bytes per second (`pcm` mode).
    fn byte_rate(&self) -> f64 {
        let sample = if self.encoding == "s16le" { 2.0 } else { 4.0 };
        f64::from(self.file.sample_rate) * f64::from(self.file.channels) * sample
    }

    fn metadata(&self) -> FileEvent {
        let pcm = self.mode == FileMode::Pcm;
        FileEvent::Metadata {
            file: self.file.id.clone(),
            name: self.file.name.clone(),
            mode: self.mode,
            total_size: self.total_size(),
            total_chunks: self.total_chunks(),
            chunk_size: CHUNK_SIZE as u32,
            mime: match pcm {
                true => "audio/pcm".into(),
                false => self.file.mime.clone(),
            },
            duration_sec: self.file.duration_sec,
            format: pcm.then(|| PcmFormat {
                sample_rate: self.file.sample_rate,
                channels: self.file.channels,
                encoding: self.encoding.into(),
            }),
        }
    }

    /// Where chunk `n` starts, in seconds (`pcm` mode).
    fn seconds_of(&self, chunk: u64) -> Option<f64> {
        (self.mode == FileMode::Pcm).then(|| (chunk * CHUNK_SIZE as u64) as f64 / self.byte_rate())
    }

    /// The chunk a request moves to, or why it cannot.
    fn target(&self, m: &FileMessage) -> Result<u64, String> {
        let total = self.total_chunks();
        match *m {
            FileMessage::Resume { from_chunk } if from_chunk <= total => Ok(from_chunk),
            FileMessage::Resume { from_chunk } => Err(format!(
                "chunk {from_chunk} is past the end: the file has {total} chunks"
            )),
            FileMessage::Seek { .. } if self.mode == FileMode::Bytes => {
                Err("seek needs pcm mode (a byte of a compressed file is no time)".into())
            }
            FileMessage::Seek { seconds } if seconds.is_finite() && seconds >= 0.0 => {
                let chunk = (seconds * self.byte_rate() / CHUNK_SIZE as f64).floor() as u64;
                Ok(chunk.min(total))
            }
            FileMessage::Seek { seconds } => {
                Err(format!("cannot seek to {seconds}: give a second from 0 on"))
            }
            FileMessage::Ping(_) => unreachable!("answered before"),
        }
    }
}

/// Sends `play` on `dc` until the page closes the channel.
pub async fn run(dc: Arc<dyn DataChannel>, play: FilePlay, sent: SentBytes) -> ChannelEnd {
    match serve(&dc, &play, &sent).await {
        Ok(end) => end,
        Err(Failure::Closed) => ChannelEnd::Closed,
        Err(Failure::File(why)) => {
            tracing::warn!(file = %play.file.id, %why, "a library file could not be sent");
            let _ = send_json(&dc, &FileEvent::Error { message: why }).await;
            ChannelEnd::Closed
        }
    }
}

enum Failure {
    Closed,
    File(String),
}

impl From<webrtc::error::Error> for Failure {
    fn from(_: webrtc::error::Error) -> Self {
        Failure::Closed
    }
}

async fn serve(
    dc: &Arc<dyn DataChannel>,
    play: &FilePlay,
    sent: &SentBytes,
) -> Result<ChannelEnd, Failure> {
    let total = play.total_chunks();
    let mut file = tokio::fs::File::open(&play.path)
        .await
        .map_err(|e| Failure::File(format!("the file cannot be opened: {e}")))?;
    // `None` until the channel opens; then the next chunk to send.
    let mut next: Option<u64> = None;
    let mut completed = false;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let sending = next.is_some_and(|n| n < total);
        tokio::select! {
            biased;
            event = dc.poll() => match event {
                None | Some(DataChannelEvent::OnClose) => return Ok(ChannelEnd::Closed),
                Some(DataChannelEvent::OnOpen) if next.is_none() => {
                    send_json(dc, &play.metadata()).await?;
                    next = Some(0);
                }
                Some(DataChannelEvent::OnMessage(m)) => {
                    if let Some(to) = request(dc, play, &m.data).await? {
                        send_json(dc, &FileEvent::Seeked { chunk: to, seconds: play.seconds_of(to) }).await?;
                        next = Some(to);
                        completed = false;
                    }
                }
                Some(_) => {}
            },
            writable = dc.writable(), if sending => {
                writable?;
                let n = next.expect("sending");
                let len = read_chunk(&mut file, play.offset, n, play.total_size(), &mut buf).await?;
                dc.send(BytesMut::from(&buf[..len])).await?;
                sent.sent(len);
                next = Some(n + 1);
            },
        }
        if next == Some(total) && !completed {
            send_json(dc, &FileEvent::Complete).await?;
            completed = true;
        }
    }
}

/// Chunk `n` into `buf`; its length.
async fn read_chunk(
    file: &mut tokio::fs::File,
    offset: u64,
    n: u64,
    total: u64,
    buf: &mut [u8],
) -> Result<usize, Failure> {
    let start = n * CHUNK_SIZE as u64;
    let len = (total - start).min(CHUNK_SIZE as u64) as usize;
    let read = async {
        file.seek(SeekFrom::Start(offset + start)).await?;
        file.read_exact(&mut buf[..len]).await
    };
    read.await
        .map_err(|e| Failure::File(format!("chunk {n} cannot be read: {e}")))?;
    Ok(len)
}

/// A message from the page: the chunk to continue from, or `None` when it
/// was answered (`pong`, or an error naming what was wrong with it).
async fn request(
    dc: &Arc<dyn DataChannel>,
    play: &FilePlay,
    data: &[u8],
) -> Result<Option<u64>, Failure> {
    let reply = match serde_json::from_slice::<FileMessage>(data) {
        Ok(FileMessage::Ping(p)) => SocketReply::pong(p),
        Ok(m) => match play.target(&m) {
            Ok(chunk) => return Ok(Some(chunk)),
            Err(why) => SocketReply::error(code::BAD_MESSAGE, why),
        },
        Err(e) => SocketReply::error(
            code::BAD_MESSAGE,
            format!("not a file channel message: {e}"),
        ),
    };
    send_json(dc, &reply).await?;
    Ok(None)
}

async fn send_json(dc: &Arc<dyn DataChannel>, value: &impl Serialize) -> webrtc::error::Result<()> {
    let text = serde_json::to_string(value).expect("wire types serialise");
    dc.send_text(&text).await
}

#[cfg(test)]
mod tests {
    use relaydeck_contract::api::FileOrigin;

    use super::*;

    fn play(mode: FileMode, pcm_size: u64) -> FilePlay {
        FilePlay {
            file: AudioFile {
                id: "f".into(),
                name: "f.wav".into(),
                origin: FileOrigin::Upload,
                source: None,
                format: "wav".into(),
                mime: "audio/wav".into(),
                size: 1000,
                sample_rate: 44_100,
                channels: 2,
                duration_sec: pcm_size as f64 / 176_400.0,
                pcm_size,
                added_ms: 0,
            },
            mode,
            path: PathBuf::new(),
            offset: 0,
            encoding: "s16le",
        }
    }

    #[test]
    fn a_second_is_an_exact_chunk_in_pcm_mode() {
        // 10 s of 44.1 kHz stereo: 1 764 000 bytes, 27 chunks (the last shorter).
        let p = play(FileMode::Pcm, 1_764_000);
        assert_eq!(p.total_chunks(), 27);
        // Second 3.0 is byte 529 200, inside chunk 8 (524 288 ..= 589 823).
        assert_eq!(p.target(&FileMessage::Seek { seconds: 3.0 }), Ok(8));
        let start = p.seconds_of(8).unwrap();
        assert!(start <= 3.0 && 3.0 - start < CHUNK_SIZE as f64 / 176_400.0);
        assert_eq!(p.target(&FileMessage::Seek { seconds: 0.0 }), Ok(0));
        assert_eq!(
            p.target(&FileMessage::Seek { seconds: 99.0 }),
            Ok(27),
            "past the end: complete"
        );
        assert!(p.target(&FileMessage::Seek { seconds: -1.0 }).is_err());
        assert!(p.target(&FileMessage::Seek { seconds: f64::NAN }).is_err());
        assert_eq!(p.target(&FileMessage::Resume { from_chunk: 27 }), Ok(27));
        assert!(p
            .target(&FileMessage::Resume { from_chunk: 28 })
            .unwrap_err()
            .contains("27 chunks"));
    }

    #[test]
    fn bytes_mode_sends_the_file_and_cannot_seek() {
        let p = play(FileMode::Bytes, 1_764_000);
        assert_eq!(p.total_chunks(), 1, "1000 bytes: one short chunk");
        assert!(p
            .target(&FileMessage::Seek { seconds: 1.0 })
            .unwrap_err()
            .contains("pcm mode"));
        assert_eq!(p.seconds_of(0), None);
        match p.metadata() {
            FileEvent::Metadata {
                mime,
                format,
                total_size,
                chunk_size,
                ..
            } => {
                assert_eq!(
                    (mime.as_str(), format, total_size, chunk_size),
                    ("audio/wav", None, 1000, 65_536)
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
