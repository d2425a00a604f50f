//! The `fileStream` DataChannel: an audio file of the library to a browser
//! (`POST /api/offer` with `"file"`). Binary messages are the file's chunks
//! of [`CHUNK_SIZE`] bytes (the last one shorter), in order from the chunk
//! the last `metadata` or `seeked` message named; these are the text
//! messages.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::socket::Ping;

/// The size of every chunk but the last.
pub const CHUNK_SIZE: usize = 65_536;

/// What the file channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    /// The file's PCM, decoded by the relay (`format` tells its layout), so
    /// a second of the file is an exact byte offset: the default for playing.
    #[default]
    Pcm,
    /// The uploaded file byte for byte (download, or decode in the page).
    Bytes,
}

/// What the relay sends on the file channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FileEvent {
    /// First, once the channel opens; the chunks from chunk 0 follow.
    #[serde(rename_all = "camelCase")]
    Metadata {
        file: String,
        name: String,
        mode: FileMode,
        /// Bytes in all chunks together (the PCM's size in `pcm` mode).
        #[ts(type = "number")]
        total_size: u64,
        #[ts(type = "number")]
        total_chunks: u64,
        /// Always [`CHUNK_SIZE`].
        chunk_size: u32,
        /// `audio/wav`, `audio/flac`, `audio/mpeg`, `audio/ogg` in `bytes`
        /// mode; `audio/pcm` in `pcm` mode.
        mime: String,
        duration_sec: f64,
        /// `pcm` mode: the PCM's layout (always `s16le`, interleaved).
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<PcmFormat>,
    },
    /// The answer to `resume` or `seek`: every binary message after this one
    /// is chunk `chunk`, `chunk + 1`, … Chunks still arriving before it were
    /// sent before the request and are to be ignored.
    #[serde(rename_all = "camelCase")]
    Seeked {
        #[ts(type = "number")]
        chunk: u64,
        /// Where `chunk` starts in the file's time (`pcm` mode; `null` in `bytes` mode).
        #[ts(type = "number | null")]
        seconds: Option<f64>,
    },
    /// The last chunk was sent.
    Complete,
    /// The file cannot be served (any more); the relay closes the channel.
    Error { message: String },
}

/// The PCM of a file in `pcm` mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PcmFormat {
    pub sample_rate: u32,
    pub channels: u16,
    pub encoding: String,
}

/// What the page sends on the file channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FileMessage {
    /// After a reconnect: continue from chunk `fromChunk` (the first one the
    /// page does not have).
    #[serde(rename_all = "camelCase")]
    Resume {
        #[ts(type = "number")]
        from_chunk: u64,
    },
    /// `pcm` mode: continue from the chunk that holds second `seconds`.
    Seek {
        seconds: f64,
    },
    Ping(Ping),
}

crate::socket_message!(FileMessage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_the_protocol_writes_them() {
        let m: FileMessage = serde_json::from_str(r#"{"type":"resume","fromChunk":7}"#).unwrap();
        assert_eq!(m, FileMessage::Resume { from_chunk: 7 });
        let m: FileMessage = serde_json::from_str(r#"{"type":"seek","seconds":1.5}"#).unwrap();
        assert_eq!(m, FileMessage::Seek { seconds: 1.5 });
        let e = serde_json::to_value(FileEvent::Seeked {
            chunk: 3,
            seconds: None,
        })
        .unwrap();
        assert_eq!(
            e,
            serde_json::json!({"type":"seeked","chunk":3,"seconds":null})
        );
        assert_eq!(
            serde_json::to_value(FileEvent::Complete).unwrap(),
            serde_json::json!({"type":"complete"})
        );
    }
}
