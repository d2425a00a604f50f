//! `GET /audio/ws` (listeners) and `GET /audio/publish` (publishers). Binary
//! messages are PCM in the `encoding` the `format` message names (`s16le`,
//! `s32le` or `f32le`, little-endian, interleaved); these are the text messages.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::socket::Ping;

/// What a listener sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ListenerMessage {
    Ping(Ping),
}

crate::socket_message!(ListenerMessage);

/// What a listener is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ListenerEvent {
    /// The format of the PCM that follows (first, and whenever it changes).
    #[serde(rename_all = "camelCase")]
    Format {
        source: String,
        sample_rate: u32,
        channels: u16,
        encoding: String,
    },
    /// Every `--audio-stats-interval`: the last chunk forwarded and the source's loss counters.
    #[serde(rename_all = "camelCase")]
    Stats {
        #[ts(type = "number | null")]
        seq: Option<u64>,
        #[ts(type = "number | null")]
        server_time_ms: Option<u64>,
        #[ts(type = "number")]
        lost: u64,
        #[ts(type = "number")]
        late: u64,
        #[ts(type = "number")]
        filled: u64,
        #[ts(type = "number")]
        duplicates: u64,
        #[ts(type = "number")]
        dropped: u64,
        online: bool,
    },
}

/// What an audio publisher sends as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PublisherMessage {
    /// The format of the PCM that follows; required before the first chunk.
    #[serde(rename_all = "camelCase")]
    Format {
        sample_rate: u32,
        channels: u16,
        #[serde(default)]
        #[ts(optional = nullable)]
        encoding: Option<String>,
    },
    Ping(Ping),
}

crate::socket_message!(PublisherMessage);

/// The acknowledgement of a publisher's `format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PublisherReply {
    #[serde(rename_all = "camelCase")]
    Registered {
        source: String,
        sample_rate: u32,
        channels: u16,
        encoding: String,
    },
}
