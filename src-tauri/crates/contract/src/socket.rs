//! What every socket speaks: the application-level ping and pong, and the
//! error message sent for anything a socket does not accept.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use utoipa::ToSchema;

/// `{"type":"ping","t":…}`: any socket may send it; the answer is a
/// [`Pong`] with the same `t`, so a client can measure the round trip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct Ping {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub t: Option<Value>,
}

/// Socket messages every server socket may send besides its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SocketReply {
    /// The answer to a [`Ping`]: `t` echoed (`null` when the ping had none).
    Pong { t: Option<Value> },
    /// A message was not accepted; the connection stays open.
    Error(SocketError),
}

/// `{"type":"error","code":…,"message":…}`; `code` is stable, `message` is for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct SocketError {
    pub code: String,
    pub message: String,
}

impl SocketReply {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self::Error(SocketError {
            code: code.to_owned(),
            message: message.into(),
        })
    }

    pub fn pong(ping: Ping) -> Self {
        Self::Pong { t: ping.t }
    }
}

/// An inbound socket message: an internally tagged enum (`"type"`) with a
/// `ping` variant the shared session answers by itself.
pub trait SocketMessage: serde::de::DeserializeOwned + Send + 'static {
    /// `Ok(ping)` for the ping variant, `Err(self)` for the edge's own messages.
    fn into_ping(self) -> Result<Ping, Self>;
}

/// Implements [`SocketMessage`] for an enum with a `Ping(Ping)` variant.
#[macro_export]
macro_rules! socket_message {
    ($t:ty) => {
        impl $crate::socket::SocketMessage for $t {
            #[allow(unreachable_patterns)]
            fn into_ping(self) -> Result<$crate::socket::Ping, Self> {
                match self {
                    Self::Ping(p) => Ok(p),
                    other => Err(other),
                }
            }
        }
    };
}

/// Error codes of socket `error` messages (see docs/PROTOCOL.md).
pub mod code {
    pub const BAD_JSON: &str = "bad_json";
    pub const MISSING_TYPE: &str = "missing_type";
    pub const UNKNOWN_TYPE: &str = "unknown_type";
    pub const BAD_MESSAGE: &str = "bad_message";
    pub const UNEXPECTED_BINARY: &str = "unexpected_binary";
    pub const NOT_REGISTERED: &str = "not_registered";
    pub const ALREADY_REGISTERED: &str = "already_registered";
    pub const INVALID_FRAME: &str = "invalid_frame";
    pub const FRAME_REFUSED: &str = "frame_refused";
    pub const SINGLE_CAMERA: &str = "single_camera";
    pub const INVALID_ID: &str = "invalid_id";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NO_FORMAT: &str = "no_format";
    pub const BAD_AUDIO: &str = "bad_audio";
    pub const BAD_FORMAT: &str = "bad_format";
}
