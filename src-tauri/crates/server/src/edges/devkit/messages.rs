//! The JSON messages of the devkit command channel (see docs/PROTOCOL.md).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub device_id: String,
    pub token: String,
    #[serde(default)]
    pub fw: Option<String>,
    pub audio: HelloAudio,
}

/// The audio a devkit announces; checked by `session::check_audio` so the error can say what is wrong.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAudio {
    pub sample_rate: u32,
    pub channels: u16,
    pub format: String,
    /// Audio per datagram in milliseconds (a whole number of samples at the rate)...
    #[serde(default)]
    pub frame_ms: Option<u32>,
    /// ...or in sample frames, for durations that are no whole millisecond
    /// (44.1 kHz); wins when both are given.
    #[serde(default)]
    pub frame_samples: Option<u32>,
}

/// Messages a device sends after its hello.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FromDevice {
    Ping {
        #[serde(default)]
        t: Value,
    },
    Pong {
        #[serde(default)]
        t: Value,
    },
    Ack {
        id: u64,
        ok: bool,
        #[serde(default)]
        error: Option<String>,
    },
    Event {
        name: String,
        #[serde(flatten)]
        fields: Map<String, Value>,
    },
}

/// Messages the server sends after its welcome.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ToDevice<'a> {
    /// The answer to a valid hello.
    #[serde(rename_all = "camelCase")]
    Welcome {
        session_id: u32,
        udp_port: u16,
        keepalive_sec: u64,
    },
    Ping {
        t: u64,
    },
    Pong {
        t: Value,
    },
    Command {
        id: u64,
        name: &'a str,
        args: Value,
    },
    Error {
        code: &'a str,
        message: &'a str,
    },
}

/// The list in serde's "unknown variant `x`, expected one of `a`, `b`" for
/// the message type `kind` (`None`: some other error).
pub fn unknown_type(e: &serde_json::Error, kind: &str) -> Option<String> {
    let text = e.to_string();
    let rest = text.strip_prefix(&format!("unknown variant `{kind}`, expected one of "))?;
    let list = rest.split(" at line").next().unwrap_or(rest);
    Some(list.replace('`', ""))
}

pub fn to_text(message: &ToDevice<'_>) -> String {
    serde_json::to_string(message).expect("devkit messages serialise")
}

/// The longest `fw` string a hello may carry, in characters.
pub const MAX_FW_CHARS: usize = 128;

/// Error codes the server sends in `{"type":"error"}`.
pub mod code {
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const TIMEOUT: &str = "timeout";
    pub const REPLACED: &str = "replaced";
    pub const REVOKED: &str = "revoked";
    pub const SHUTTING_DOWN: &str = "shutting_down";
    pub const UNKNOWN_TYPE: &str = "unknown_type";
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    pub const TOO_MANY_STATUS: &str = "too_many_status";
    pub const TLS_REQUIRED: &str = "tls_required";
}

pub fn error(code: &str, message: &str) -> String {
    to_text(&ToDevice::Error { code, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_type_is_named_with_the_types_serde_knows() {
        let e = serde_json::from_str::<FromDevice>(r#"{"type":"bogus"}"#).unwrap_err();
        assert_eq!(
            unknown_type(&e, "bogus").as_deref(),
            Some("ping, pong, ack, event")
        );
        // A known type with a bad field is another error.
        let e = serde_json::from_str::<FromDevice>(r#"{"type":"ack","id":"x"}"#).unwrap_err();
        assert_eq!(unknown_type(&e, "ack"), None);
    }

    #[test]
    fn server_messages_keep_their_wire_shape() {
        let welcome = ToDevice::Welcome {
            session_id: 7,
            udp_port: 4001,
            keepalive_sec: 5,
        };
        assert_eq!(
            to_text(&welcome),
            r#"{"type":"welcome","sessionId":7,"udpPort":4001,"keepaliveSec":5}"#
        );
        assert_eq!(
            error("timeout", "late"),
            r#"{"type":"error","code":"timeout","message":"late"}"#
        );
    }
}
