//! Counters the edges keep for `/metrics` that the hub cannot know: who
//! is connected over which transport, the bytes each transport sent, and
//! the HTTP requests by route and status.
//!
//! An edge opens a [`ConnMeter`] per connection (a viewer, a listener);
//! it counts the connection in its transport's gauge until dropped, and
//! the bytes the edge reports sent. Each is one relaxed atomic add on a
//! counter of the transport, so the live path pays next to nothing.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Arc,
    },
};

use parking_lot::Mutex;

/// How media leaves the relay. A fixed set, so label sets stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    /// `/stream/ws` (binary or JSON frames).
    WebSocket,
    /// `multipart/x-mixed-replace` responses.
    Mjpeg,
    /// `/audio/ws` PCM.
    AudioWebSocket,
    /// `/api/audio/{id}/live.wav`.
    Wav,
    /// WebRTC peers (DataChannel frames, Opus tracks, WHEP).
    WebRtc,
}

impl Transport {
    pub const ALL: [Transport; 5] = [
        Transport::WebSocket,
        Transport::Mjpeg,
        Transport::AudioWebSocket,
        Transport::Wav,
        Transport::WebRtc,
    ];

    /// Its `transport` label.
    pub fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Mjpeg => "mjpeg",
            Transport::AudioWebSocket => "audio_websocket",
            Transport::Wav => "wav",
            Transport::WebRtc => "webrtc",
        }
    }

    /// Whether its connections watch (video) or listen (audio): the
    /// family they count in.
    pub fn is_video(self) -> bool {
        matches!(self, Transport::WebSocket | Transport::Mjpeg)
    }
}

#[derive(Debug, Default)]
struct TransportCounters {
    open: AtomicI64,
    sent_bytes: AtomicU64,
}

/// The counters of every transport and of the HTTP routes.
#[derive(Debug, Default)]
pub struct Meters {
    transports: [TransportCounters; 5],
    /// Requests by (route pattern, status): patterns come from the router,
    /// never from the request, so the set is as bounded as the route table.
    http: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Patterns seen, interned once (a `MatchedPath` is a `String` per request).
    routes: Mutex<Vec<&'static str>>,
}

/// What [`Meters`] hold now for one transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportReading {
    pub transport: Transport,
    pub open: u64,
    pub sent_bytes: u64,
}

impl Meters {
    /// Counts one connection of `transport` until the meter is dropped.
    pub fn open(self: &Arc<Self>, transport: Transport) -> ConnMeter {
        self.counters(transport)
            .open
            .fetch_add(1, Ordering::Relaxed);
        ConnMeter {
            meters: self.clone(),
            transport,
        }
    }

    fn add_sent(&self, t: Transport, n: usize) {
        self.counters(t)
            .sent_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    fn counters(&self, t: Transport) -> &TransportCounters {
        &self.transports[Transport::ALL.iter().position(|x| *x == t).expect("in ALL")]
    }

    pub fn transports(&self) -> Vec<TransportReading> {
        Transport::ALL
            .iter()
            .map(|&transport| {
                let c = self.counters(transport);
                TransportReading {
                    transport,
                    open: c.open.load(Ordering::Relaxed).max(0) as u64,
                    sent_bytes: c.sent_bytes.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// One HTTP request answered: `route` is the router's pattern, or
    /// `None` when no route matched.
    pub fn request(&self, route: Option<&str>, status: u16) {
        let route = route.map_or("unmatched", |r| self.intern(r));
        *self.http.lock().entry((route, status)).or_default() += 1;
    }

    fn intern(&self, route: &str) -> &'static str {
        let mut routes = self.routes.lock();
        if let Some(r) = routes.iter().find(|r| **r == route) {
            return r;
        }
        // Leaked once per route pattern of the router: a bounded set.
        let r: &'static str = Box::leak(route.to_owned().into_boxed_str());
        routes.push(r);
        r
    }

    pub fn requests(&self) -> Vec<((&'static str, u16), u64)> {
        self.http.lock().iter().map(|(k, v)| (*k, *v)).collect()
    }
}

/// One connection's place in its transport's counters.
#[derive(Debug)]
pub struct ConnMeter {
    meters: Arc<Meters>,
    transport: Transport,
}

impl ConnMeter {
    /// `n` bytes went to the connection's socket.
    pub fn sent(&self, n: usize) {
        self.meters.add_sent(self.transport, n);
    }

    /// A handle that counts bytes sent for this connection from another
    /// task (a WebRTC peer's track and channels), without counting the
    /// connection again.
    pub fn bytes(&self) -> SentBytes {
        SentBytes {
            meters: self.meters.clone(),
            transport: self.transport,
        }
    }
}

/// Counts bytes sent for one connection of a transport; see [`ConnMeter::bytes`].
#[derive(Debug, Clone)]
pub struct SentBytes {
    meters: Arc<Meters>,
    transport: Transport,
}

impl SentBytes {
    pub fn sent(&self, n: usize) {
        self.meters.add_sent(self.transport, n);
    }
}

impl Drop for ConnMeter {
    fn drop(&mut self) {
        self.meters
            .counters(self.transport)
            .open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_counts_while_it_lives_and_its_bytes_stay_counted() {
        let m = Arc::new(Meters::default());
        let a = m.open(Transport::Mjpeg);
        let b = m.open(Transport::Mjpeg);
        a.sent(100);
        b.sent(23);
        drop(a);
        let mjpeg = m
            .transports()
            .into_iter()
            .find(|t| t.transport == Transport::Mjpeg)
            .unwrap();
        assert_eq!((mjpeg.open, mjpeg.sent_bytes), (1, 123));
        drop(b);
        let all = m.transports();
        assert!(all.iter().all(|t| t.open == 0));
        assert_eq!(all.iter().map(|t| t.sent_bytes).sum::<u64>(), 123);
    }

    #[test]
    fn requests_are_counted_by_route_pattern_and_status() {
        let m = Meters::default();
        m.request(Some("/api/clients/{id}"), 200);
        m.request(Some("/api/clients/{id}"), 200);
        m.request(Some("/api/clients/{id}"), 404);
        m.request(None, 404);
        assert_eq!(
            m.requests(),
            [
                (("/api/clients/{id}", 200), 2),
                (("/api/clients/{id}", 404), 1),
                (("unmatched", 404), 1)
            ]
        );
        assert_eq!(m.routes.lock().len(), 1, "interned once");
    }
}
