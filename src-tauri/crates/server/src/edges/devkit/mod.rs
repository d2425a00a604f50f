//! The devkit edge: microcontroller boards that take commands over TCP and
//! stream PCM over UDP (docs/PROTOCOL.md, "Devkits").
//!
//! * [`accept`]: one TCP connection, plain or TLS (told apart by its first byte).
//! * [`framing`]: length-prefixed JSON frames on the command channel.
//! * [`messages`]: the JSON messages.
//! * [`session`]: one device's TCP connection: hello, auth, keepalive, commands, events.
//! * [`udp`]: the datagram socket: header parsing, session and peer checks.
//! * [`reorder`]: the reorder window, gap filling, late and duplicate packets.
//!
//! [`Devkits`] is the table of live sessions the three share; the REST API
//! reaches it only through [`DevkitService`](crate::devkit_service::DevkitService). Audio goes into the hub under the device's ID, whether or not
//! anybody listens.

pub mod accept;
pub mod framing;
pub mod messages;
pub mod reorder;
pub mod session;
pub mod udp;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use std::{future::Future, pin::Pin};

use parking_lot::Mutex;

use crate::devkit_service::{Ack, DevkitService};
use serde_json::Value;

pub use crate::devkit_service::{CommandError, SessionInfo};
pub use session::DevkitSession;

/// Datagrams dropped before reaching a session.
#[derive(Debug, Default)]
pub struct UdpDrops {
    pub unknown_session: AtomicU64,
    pub wrong_peer: AtomicU64,
    pub malformed: AtomicU64,
}

pub use relaydeck_contract::api::UdpDropCounts;

/// The live devkit sessions, by session ID and by device ID.
#[derive(Debug, Default)]
pub struct Devkits {
    by_session: Mutex<HashMap<u32, Arc<DevkitSession>>>,
    by_device: Mutex<HashMap<String, Arc<DevkitSession>>>,
    pub drops: UdpDrops,
    udp_addr: Mutex<Option<SocketAddr>>,
    tcp_addr: Mutex<Option<SocketAddr>>,
    /// TLS on the command channel, when devkits may use it.
    tls: Mutex<Option<DevkitTls>>,
}

/// The command channel's TLS: the acceptor and its certificate's SHA-256.
#[derive(Clone)]
struct DevkitTls {
    acceptor: tokio_rustls::TlsAcceptor,
    fingerprint: String,
}

impl std::fmt::Debug for DevkitTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevkitTls")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Devkits {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn udp_addr(&self) -> Option<SocketAddr> {
        *self.udp_addr.lock()
    }

    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        *self.tcp_addr.lock()
    }

    pub(crate) fn set_addrs(&self, tcp: SocketAddr, udp: SocketAddr) {
        *self.tcp_addr.lock() = Some(tcp);
        *self.udp_addr.lock() = Some(udp);
    }

    pub(crate) fn set_tls(&self, acceptor: tokio_rustls::TlsAcceptor, fingerprint: String) {
        *self.tls.lock() = Some(DevkitTls {
            acceptor,
            fingerprint,
        });
    }

    /// The command channel's TLS acceptor, when devkits may use TLS.
    pub(crate) fn tls_acceptor(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.tls.lock().as_ref().map(|t| t.acceptor.clone())
    }

    pub fn drop_counts(&self) -> UdpDropCounts {
        UdpDropCounts {
            unknown_session: self.drops.unknown_session.load(Ordering::Relaxed),
            wrong_peer: self.drops.wrong_peer.load(Ordering::Relaxed),
            malformed: self.drops.malformed.load(Ordering::Relaxed),
        }
    }

    /// A fresh, unused, non-zero session ID.
    fn new_session_id(&self) -> u32 {
        let sessions = self.by_session.lock();
        loop {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).expect("the OS random number generator failed");
            let id = u32::from_be_bytes(b);
            if id != 0 && !sessions.contains_key(&id) {
                return id;
            }
        }
    }

    /// Registers a session; a live session of the same device is replaced
    /// (and returned, so the caller can close it).
    fn insert(&self, session: Arc<DevkitSession>) -> Option<Arc<DevkitSession>> {
        self.by_session.lock().insert(session.id, session.clone());
        let old = self
            .by_device
            .lock()
            .insert(session.device_id.clone(), session);
        if let Some(old) = &old {
            self.by_session.lock().remove(&old.id);
        }
        old
    }

    fn remove(&self, session: &DevkitSession) {
        self.by_session.lock().remove(&session.id);
        let mut by_device = self.by_device.lock();
        if by_device
            .get(&session.device_id)
            .is_some_and(|s| s.id == session.id)
        {
            by_device.remove(&session.device_id);
        }
    }

    pub fn session(&self, session_id: u32) -> Option<Arc<DevkitSession>> {
        self.by_session.lock().get(&session_id).cloned()
    }

    pub fn device(&self, device_id: &str) -> Option<Arc<DevkitSession>> {
        self.by_device.lock().get(device_id).cloned()
    }
}

impl DevkitService for Devkits {
    fn tcp_addr(&self) -> Option<SocketAddr> {
        Devkits::tcp_addr(self)
    }

    fn udp_addr(&self) -> Option<SocketAddr> {
        Devkits::udp_addr(self)
    }

    fn drop_counts(&self) -> UdpDropCounts {
        Devkits::drop_counts(self)
    }

    fn tls_fingerprint(&self) -> Option<String> {
        self.tls.lock().as_ref().map(|t| t.fingerprint.clone())
    }

    fn session_info(&self, device_id: &str) -> Option<SessionInfo> {
        self.device(device_id).map(|s| s.info())
    }

    fn disconnect(&self, device_id: &str, code: &'static str, reason: &str) {
        if let Some(s) = self.device(device_id) {
            s.close(code, reason);
        }
    }

    fn command<'a>(
        &'a self,
        device_id: &'a str,
        name: &'a str,
        args: Value,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Ack, CommandError>> + Send + 'a>> {
        Box::pin(async move {
            let session = self.device(device_id).ok_or(CommandError::Offline)?;
            session.command(name, args, timeout).await
        })
    }
}
