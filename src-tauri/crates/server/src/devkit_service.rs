//! The one door from the rest of the relay (the REST API) into the devkit
//! edge: what may be asked of connected devkits. The edge implements it
//! ([`edges::devkit::Devkits`](crate::edges::devkit::Devkits)); handlers
//! see only this trait, so REST never reaches into the edge's sessions.

use std::{future::Future, net::SocketAddr, pin::Pin, time::Duration};

use relaydeck_contract::api::{DeviceAudio, UdpDropCounts};
use serde_json::{Map, Value};

/// Commands to devkits, their sessions' state, and the devkit ports.
pub trait DevkitService: Send + Sync {
    /// The devkit command channel's address (once bound).
    fn tcp_addr(&self) -> Option<SocketAddr>;
    /// The devkit audio port's address (once bound).
    fn udp_addr(&self) -> Option<SocketAddr>;
    /// Datagrams the UDP port dropped, by reason.
    fn drop_counts(&self) -> UdpDropCounts;
    /// SHA-256 of the certificate the command channel's TLS presents (`AB:CD:…`),
    /// when devkits may use TLS.
    fn tls_fingerprint(&self) -> Option<String>;
    /// The live session of `device_id`, if it is connected.
    fn session_info(&self, device_id: &str) -> Option<SessionInfo>;
    /// Ends a device's live session (it was revoked), telling it why.
    fn disconnect(&self, device_id: &str, code: &'static str, reason: &str);
    /// Sends a command and waits for the device's ack.
    fn command<'a>(
        &'a self,
        device_id: &'a str,
        name: &'a str,
        args: Value,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Ack, CommandError>> + Send + 'a>>;
}

/// A device's answer to a command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ack {
    pub id: u64,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The ack as the device sent it (it may carry more fields, such as a result).
    #[serde(skip)]
    pub raw: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("the device is offline")]
    Offline,
    #[error("the device did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the device's connection is too busy to take a command")]
    Busy,
}

/// What the API shows about a live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session_id: u32,
    pub ip: String,
    pub fw: Option<String>,
    pub format: DeviceAudio,
    /// `tls` or `tcp`: how the command channel is carried.
    pub transport: &'static str,
    pub connected_ms: u64,
    pub packets: u64,
    pub bytes: u64,
    pub lost: u64,
    pub late: u64,
    pub duplicates: u64,
    pub filled: u64,
    pub jitter_ms: f64,
    pub last_packet_ms: Option<u64>,
    pub listeners: usize,
    pub status: Map<String, Value>,
}
