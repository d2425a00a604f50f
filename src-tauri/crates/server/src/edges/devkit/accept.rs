//! One accepted devkit TCP connection: plain or TLS, told apart by its
//! first byte, then handed to [`session::run`].
//!
//! A plain connection starts with a frame's 4-byte big-endian length, at
//! most 65 536, so its first byte is 0x00; a TLS connection starts with a
//! handshake record, whose first byte is 0x16. One port serves both, so a
//! board that has TLS uses it and a board without it still connects (unless
//! `--devkit-require-tls`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{io::AsyncWriteExt, net::TcpStream};

use super::{
    framing,
    messages::{self, code},
    session::{self, Transport},
    Devkits,
};
use crate::state::AppState;

/// The first byte of a TLS handshake record (RFC 8446, 5.1).
const TLS_HANDSHAKE: u8 = 0x16;

/// Which transport a connection that begins with `first` speaks.
pub fn transport_of(first: u8) -> Transport {
    if first == TLS_HANDSHAKE {
        Transport::Tls
    } else {
        Transport::Tcp
    }
}

/// Runs one devkit connection to its end.
pub async fn serve(state: AppState, devkits: Arc<Devkits>, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let timeout = state.config.hello_timeout;
    let mut first = [0u8; 1];
    let transport = match tokio::time::timeout(timeout, tcp.peek(&mut first)).await {
        Ok(Ok(1)) => transport_of(first[0]),
        // Closed, failed or silent: the session's hello timeout says so.
        _ => Transport::Tcp,
    };
    match (transport, devkits.tls_acceptor()) {
        (Transport::Tls, Some(acceptor)) => {
            match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => session::run(state, devkits, tls, peer, Transport::Tls).await,
                Ok(Err(e)) => tracing::info!(%peer, "devkit TLS handshake failed: {e}"),
                Err(_) => tracing::info!(%peer, "devkit TLS handshake timed out"),
            }
        }
        (Transport::Tls, None) => {
            // Nothing a TLS client could read: closing is the clearest answer.
            tracing::info!(%peer, "devkit spoke TLS, which is off (--devkit-tls false)");
        }
        (Transport::Tcp, _) if state.config.devkit_require_tls => {
            tracing::info!(%peer, "plain devkit connection refused: TLS is required");
            let mut tcp = tcp;
            let msg = messages::error(
                code::TLS_REQUIRED,
                "this relay accepts devkits over TLS only (--devkit-require-tls); connect with TLS and pin the relay's certificate",
            );
            let _ =
                tokio::time::timeout(Duration::from_secs(2), framing::write_frame(&mut tcp, &msg))
                    .await;
            let _ = tcp.shutdown().await;
        }
        (Transport::Tcp, _) => session::run(state, devkits, tcp, peer, Transport::Tcp).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_handshake_and_a_plain_frame_are_told_apart_by_their_first_byte() {
        assert_eq!(transport_of(0x16), Transport::Tls);
        // A plain frame's length is at most 65 536: its first byte is 0.
        assert_eq!(transport_of((65_536u32).to_be_bytes()[0]), Transport::Tcp);
        assert_eq!(transport_of(0x00), Transport::Tcp);
    }
}
