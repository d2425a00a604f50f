//! The devkit audio socket.
//!
//! Every datagram is a 12-byte header (u32 BE session ID, u32 BE sequence,
//! u32 BE timestamp in sample frames) and PCM in the session's format, at
//! most 1472 bytes in all. A datagram for no live session, from another IP
//! than the session's TCP peer, or malformed, is dropped and counted.

use std::{
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::Instant,
};

use bytes::Bytes;
use tokio::net::UdpSocket;

use super::{session::UDP_HEADER, Devkits};

/// One unfragmented Ethernet payload: 1500 - 20 (IPv4) - 8 (UDP).
pub const MAX_DATAGRAM: usize = 1472;
/// The receive buffer the socket asks for.
pub const RECV_BUFFER: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub session: u32,
    pub seq: u32,
    pub ts: u32,
    pub pcm: Bytes,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DatagramError {
    TooShort(usize),
    TooLong(usize),
    Empty,
}

pub fn parse(buf: &[u8]) -> Result<Datagram, DatagramError> {
    if buf.len() > MAX_DATAGRAM {
        return Err(DatagramError::TooLong(buf.len()));
    }
    if buf.len() < UDP_HEADER {
        return Err(DatagramError::TooShort(buf.len()));
    }
    if buf.len() == UDP_HEADER {
        return Err(DatagramError::Empty);
    }
    let word = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    Ok(Datagram {
        session: word(0),
        seq: word(4),
        ts: word(8),
        pcm: Bytes::copy_from_slice(&buf[UDP_HEADER..]),
    })
}

/// Binds the socket with a 1 MiB receive buffer and logs what the OS granted.
pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if let Err(e) = socket.set_recv_buffer_size(RECV_BUFFER) {
        tracing::warn!("could not ask for a {RECV_BUFFER}-byte UDP receive buffer: {e}");
    }
    // Linux reports double the usable size (it counts its own bookkeeping).
    let granted = socket.recv_buffer_size().unwrap_or(0);
    tracing::info!(
        asked = RECV_BUFFER,
        granted,
        "devkit UDP receive buffer (raise net.core.rmem_max if granted is lower)"
    );
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Receives datagrams until the task is aborted.
pub async fn run(socket: UdpSocket, devkits: Arc<Devkits>) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    // Sessions holding packets ahead of a gap, and when to give up on the gap.
    let mut waiting: Vec<(u32, Instant)> = Vec::new();
    loop {
        let next_deadline = waiting.iter().map(|(_, d)| *d).min();
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => Some(r),
            _ = sleep_until(next_deadline) => None,
        };
        let now = Instant::now();
        if let Some(r) = received {
            let (n, from) = match r {
                Ok(pair) => pair,
                Err(e) => {
                    // ICMP errors surface here on some systems; keep serving.
                    tracing::debug!("UDP receive failed: {e}");
                    continue;
                }
            };
            let Ok(d) = parse(&buf[..n]) else {
                devkits.drops.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let Some(session) = devkits.session(d.session) else {
                devkits
                    .drops
                    .unknown_session
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if from.ip() != session.peer.ip() {
                devkits.drops.wrong_peer.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if d.pcm.len() % session.format.frame_bytes() != 0 {
                devkits.drops.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            waiting.retain(|(id, _)| *id != d.session);
            if let Some(deadline) = session.on_audio(d.seq, d.ts, d.pcm, now) {
                waiting.push((d.session, deadline));
            }
        }
        // Give up on gaps whose window has passed.
        let due: Vec<u32> = waiting
            .iter()
            .filter(|(_, d)| *d <= now)
            .map(|(id, _)| *id)
            .collect();
        waiting.retain(|(_, d)| *d > now);
        for id in due {
            if let Some(deadline) = devkits.session(id).and_then(|s| s.flush_due(now)) {
                waiting.push((id, deadline));
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_are_parsed_and_bounded() {
        let mut d = vec![0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0];
        d.extend([1, 2, 3, 4]);
        assert_eq!(
            parse(&d).unwrap(),
            Datagram {
                session: 7,
                seq: u32::MAX,
                ts: 256,
                pcm: Bytes::from_static(&[1, 2, 3, 4])
            }
        );
        assert_eq!(parse(&d[..11]), Err(DatagramError::TooShort(11)));
        assert_eq!(parse(&d[..12]), Err(DatagramError::Empty));
        assert_eq!(parse(&vec![0; 1473]), Err(DatagramError::TooLong(1473)));
        assert!(parse(&vec![0; 1472]).is_ok());
    }
}
