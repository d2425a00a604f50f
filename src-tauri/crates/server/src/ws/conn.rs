//! A connected WebSocket: a reader task and a writer with bounded-time writes.
//!
//! The reader task owns the read half and hands complete messages to the
//! edge through a small bounded channel, so reading is never cancelled
//! half-way through a frame. Writes go through a [`WsWriter`] the edge may
//! share with publishers (see `edges::viewer`); the task's writes are bounded
//! by the configured timeout, so a peer that stops reading is closed instead
//! of holding a task (and its frame) forever.
//!
//! When the connection is a plain TCP socket, the socket is split into
//! owned halves (no lock between reader and writer); otherwise (a TLS
//! stream, say) `tokio::io::split` shares it.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use fastwebsockets::Payload;
use fastwebsockets::{
    after_handshake_split, Frame, OpCode, Role, WebSocket, WebSocketError, WebSocketRead,
};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use relaydeck_hub::ViewerSlot;
use tokio::{
    io::{AsyncRead, ReadBuf},
    net::TcpStream,
    sync::mpsc,
    task::JoinHandle,
};

use super::{
    close,
    writer::{BoxWrite, Opcode, RawSocket, WsWriter},
};

type Io = TokioIo<Upgraded>;
type BoxRead = Box<dyn AsyncRead + Send + Unpin>;

/// Per-endpoint message size limits.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    pub max_binary: usize,
    pub max_text: usize,
}

/// What the reader hands to the edge.
pub enum Inbound {
    Text(String),
    Binary(Bytes),
    /// The peer answered a ping (or sent an unsolicited pong).
    Pong,
    /// A control frame the protocol obliges us to send back (pong, close echo).
    /// Pass it to [`WsConn::send_reply`].
    Reply(Frame<'static>),
    /// The peer closed the connection (a close frame, or end of stream).
    Closed {
        code: Option<u16>,
        reason: String,
    },
    /// The peer sent something the connection cannot survive.
    Failed(ReadFailure),
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(t) => write!(f, "Text({t:?})"),
            Self::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
            Self::Pong => write!(f, "Pong"),
            Self::Reply(frame) => write!(f, "Reply({:?})", frame.opcode),
            Self::Closed { code, reason } => write!(f, "Closed({code:?}, {reason:?})"),
            Self::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadFailure {
    #[error("{kind} message exceeds the limit of {limit} bytes")]
    TooLarge { kind: &'static str, limit: usize },
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    #[error("WebSocket protocol error: {0}")]
    Protocol(String),
}

impl ReadFailure {
    pub fn close_code(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => close::TOO_BIG,
            Self::InvalidUtf8 => close::INVALID_PAYLOAD,
            Self::Protocol(_) => close::PROTOCOL_ERROR,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("the peer did not accept data for {0:?}")]
    WriteTimeout(Duration),
    #[error("WebSocket write failed: {0}")]
    Write(#[from] std::io::Error),
}

pub struct WsConn {
    writer: Arc<WsWriter>,
    inbound: mpsc::Receiver<Inbound>,
    reader: JoinHandle<()>,
    write_timeout: Duration,
}

/// Splits the upgraded connection into a reader and a writer.
fn split_io(io: Io) -> (BoxRead, BoxWrite, Option<RawSocket>) {
    match io.into_inner().downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => {
            let tcp = parts.io.into_inner();
            limit_unsent(&tcp);
            let raw = RawSocket::of(&tcp);
            let (read, write) = tcp.into_split();
            // Bytes the HTTP layer read past the handshake come first.
            (
                Box::new(Prefixed {
                    prefix: parts.read_buf,
                    inner: read,
                }),
                Box::new(write),
                raw,
            )
        }
        Err(upgraded) => {
            let (read, write) = tokio::io::split(TokioIo::new(upgraded));
            (Box::new(read), Box::new(write), None)
        }
    }
}

/// Unsent bytes the kernel may queue for one WebSocket before it reports
/// the socket as busy.
pub const NOTSENT_LOWAT: u32 = 64 * 1024;

/// Keeps a slow peer's backlog in the relay's own bounded queues (where it
/// is counted and the oldest data is dropped first) instead of in kernel
/// send buffers, which autotune to megabytes: with `TCP_NOTSENT_LOWAT` the
/// socket stops taking data once 64 KiB wait unsent. Data in flight on a
/// fast link is not affected.
fn limit_unsent(tcp: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        use std::os::fd::AsRawFd;
        let value: libc::c_int = NOTSENT_LOWAT as libc::c_int;
        // SAFETY: a valid socket descriptor and a correctly sized option value.
        let rc = unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NOTSENT_LOWAT,
                &value as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(
                "TCP_NOTSENT_LOWAT not set: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    let _ = tcp;
}

/// A reader that yields `prefix` before the stream.
struct Prefixed<R> {
    prefix: Bytes,
    inner: R,
}

impl<R: AsyncRead + Unpin> AsyncRead for Prefixed<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.prefix.is_empty() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let n = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl WsConn {
    pub(crate) fn new(ws: WebSocket<Io>, limits: WsLimits, write_timeout: Duration) -> Self {
        let (read, write, raw) = split_io(ws.into_inner());
        let (mut read, _) = after_handshake_split(read, tokio::io::sink(), Role::Server);
        read.set_auto_pong(true);
        read.set_auto_close(true);
        // Per-frame limit (the reassembler checks the total): one more than
        // the largest message, because the library refuses lengths >= max.
        read.set_max_message_size(limits.max_binary.max(limits.max_text) + 1);
        let (tx, inbound) = mpsc::channel(4);
        let reader = tokio::spawn(read_loop(read, tx, limits));
        Self {
            writer: WsWriter::with_raw(write, raw),
            inbound,
            reader,
            write_timeout,
        }
    }

    /// The write side, for a direct sink that writes from publishers' threads.
    pub fn writer(&self) -> &Arc<WsWriter> {
        &self.writer
    }

    /// The next message from the peer. Cancel-safe: it only waits on a channel.
    pub async fn recv(&mut self) -> Option<Inbound> {
        self.inbound.recv().await
    }

    async fn bounded(
        &self,
        write: impl Future<Output = std::io::Result<()>>,
    ) -> Result<(), WsError> {
        match tokio::time::timeout(self.write_timeout, write).await {
            Ok(res) => Ok(res?),
            Err(_) => Err(WsError::WriteTimeout(self.write_timeout)),
        }
    }

    async fn write(&mut self, opcode: Opcode, payload: Bytes) -> Result<(), WsError> {
        self.bounded(self.writer.send(opcode, payload, None)).await
    }

    pub async fn send_text(&mut self, text: String) -> Result<(), WsError> {
        self.write(Opcode::Text, Bytes::from(text)).await
    }

    /// Sends one of the contract's messages as a text message.
    pub async fn send_json<T: serde::Serialize>(&mut self, value: &T) -> Result<(), WsError> {
        let text = serde_json::to_string(value).expect("contract types serialise");
        self.send_text(text).await
    }

    /// Sends one binary message, written straight from the shared `data`.
    pub async fn send_binary(&mut self, data: Bytes) -> Result<(), WsError> {
        self.write(Opcode::Binary, data).await
    }

    /// Sends one video frame and tells `slot` when it is out (or abandoned).
    pub async fn send_frame(
        &mut self,
        data: Bytes,
        slot: Arc<ViewerSlot>,
        seq: u64,
    ) -> Result<(), WsError> {
        self.bounded(self.writer.send(Opcode::Binary, data, Some((slot, seq))))
            .await
    }

    /// Finishes a frame a publisher started writing directly.
    pub async fn flush_unfinished(&mut self) -> Result<(), WsError> {
        self.bounded(self.writer.flush_unfinished()).await
    }

    pub async fn send_ping(&mut self) -> Result<(), WsError> {
        self.write(Opcode::Ping, Bytes::from_static(b"relaydeck"))
            .await
    }

    /// Sends a control frame the reader was obliged to answer with.
    pub async fn send_reply(&mut self, frame: Frame<'static>) -> Result<(), WsError> {
        let opcode = match frame.opcode {
            OpCode::Pong => Opcode::Pong,
            OpCode::Close => Opcode::Close,
            other => {
                tracing::debug!(?other, "unexpected reply frame dropped");
                return Ok(());
            }
        };
        self.write(opcode, into_bytes(frame.payload)).await
    }

    /// Sends a close frame with a reason, then gives the peer a moment to
    /// answer before the connection is dropped.
    pub async fn close(mut self, code: u16, reason: &str) {
        // Close reasons are limited to 123 bytes by the 125-byte control frame limit.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        if self
            .write(Opcode::Close, Bytes::from(payload))
            .await
            .is_ok()
        {
            let wait = async {
                while let Some(msg) = self.inbound.recv().await {
                    if matches!(msg, Inbound::Closed { .. } | Inbound::Failed(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
        }
    }
}

/// The keepalive verdict: `Some(reason)` when the peer has been silent
/// (no pong, no message) for longer than `timeout`.
pub fn silent_for_too_long(last_seen: std::time::Instant, timeout: Duration) -> Option<String> {
    (last_seen.elapsed() > timeout).then(|| format!("no answer to pings for {timeout:?}"))
}

impl Drop for WsConn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_loop(mut read: WebSocketRead<BoxRead>, tx: mpsc::Sender<Inbound>, limits: WsLimits) {
    let mut assembler = Assembler::new(limits);
    loop {
        let replies = tx.clone();
        let mut send_fn = move |frame: Frame<'static>| {
            let replies = replies.clone();
            async move {
                replies
                    .send(Inbound::Reply(frame))
                    .await
                    .map_err(|_| "connection task ended")
            }
        };
        let event = match read.read_frame(&mut send_fn).await {
            Ok(frame) => match frame.opcode {
                OpCode::Close => {
                    let (code, reason) = parse_close(&frame.payload);
                    Some(Inbound::Closed { code, reason })
                }
                OpCode::Pong => Some(Inbound::Pong),
                OpCode::Ping => None,
                _ => match assembler.push(frame.fin, frame.opcode, into_bytes(frame.payload)) {
                    Ok(msg) => msg,
                    Err(failure) => Some(Inbound::Failed(failure)),
                },
            },
            Err(e) => Some(match e {
                WebSocketError::UnexpectedEOF
                | WebSocketError::IoError(_)
                | WebSocketError::ConnectionClosed => Inbound::Closed {
                    code: None,
                    reason: String::new(),
                },
                WebSocketError::FrameTooLarge => Inbound::Failed(assembler.too_large()),
                WebSocketError::InvalidUTF8 => Inbound::Failed(ReadFailure::InvalidUtf8),
                WebSocketError::SendError(_) => return,
                other => Inbound::Failed(ReadFailure::Protocol(other.to_string())),
            }),
        };
        let Some(event) = event else { continue };
        let last = matches!(event, Inbound::Closed { .. } | Inbound::Failed(_));
        if tx.send(event).await.is_err() || last {
            return;
        }
    }
}

fn into_bytes(payload: Payload<'_>) -> Bytes {
    match payload {
        Payload::Bytes(b) => b.freeze(),
        other => Bytes::copy_from_slice(&other),
    }
}

fn parse_close(payload: &[u8]) -> (Option<u16>, String) {
    if payload.len() < 2 {
        return (None, String::new());
    }
    (
        Some(u16::from_be_bytes([payload[0], payload[1]])),
        String::from_utf8_lossy(&payload[2..]).into_owned(),
    )
}

/// Reassembles fragmented messages, enforcing the size limits on the total.
struct Assembler {
    limits: WsLimits,
    partial: Option<(OpCode, BytesMut)>,
}

impl Assembler {
    fn new(limits: WsLimits) -> Self {
        Self {
            limits,
            partial: None,
        }
    }

    fn limit(&self, opcode: OpCode) -> (&'static str, usize) {
        if opcode == OpCode::Text {
            ("text", self.limits.max_text)
        } else {
            ("binary", self.limits.max_binary)
        }
    }

    /// The failure for a frame the library refused as too large.
    fn too_large(&self) -> ReadFailure {
        let (kind, limit) = match &self.partial {
            Some((op, _)) => self.limit(*op),
            None => ("binary", self.limits.max_binary.max(self.limits.max_text)),
        };
        ReadFailure::TooLarge { kind, limit }
    }

    fn push(
        &mut self,
        fin: bool,
        opcode: OpCode,
        data: Bytes,
    ) -> Result<Option<Inbound>, ReadFailure> {
        let (opcode, data) = match (opcode, self.partial.take()) {
            (OpCode::Continuation, None) => {
                return Err(ReadFailure::Protocol(
                    "continuation frame without a start".into(),
                ))
            }
            (OpCode::Continuation, Some((op, mut buf))) => {
                let (kind, limit) = self.limit(op);
                if buf.len() + data.len() > limit {
                    return Err(ReadFailure::TooLarge { kind, limit });
                }
                buf.extend_from_slice(&data);
                if !fin {
                    self.partial = Some((op, buf));
                    return Ok(None);
                }
                (op, buf.freeze())
            }
            (_, Some(_)) => {
                return Err(ReadFailure::Protocol(
                    "new message before the previous one ended".into(),
                ))
            }
            (op, None) => {
                let (kind, limit) = self.limit(op);
                if data.len() > limit {
                    return Err(ReadFailure::TooLarge { kind, limit });
                }
                if !fin {
                    self.partial = Some((op, BytesMut::from(&data[..])));
                    return Ok(None);
                }
                (op, data)
            }
        };
        Ok(Some(match opcode {
            OpCode::Text => Inbound::Text(
                String::from_utf8(data.to_vec()).map_err(|_| ReadFailure::InvalidUtf8)?,
            ),
            _ => Inbound::Binary(data),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asm() -> Assembler {
        Assembler::new(WsLimits {
            max_binary: 10,
            max_text: 4,
        })
    }

    #[test]
    fn fragments_are_joined_and_limited_in_total() {
        let mut a = asm();
        assert!(a
            .push(false, OpCode::Binary, Bytes::from_static(b"abc"))
            .unwrap()
            .is_none());
        assert!(a
            .push(false, OpCode::Continuation, Bytes::from_static(b"def"))
            .unwrap()
            .is_none());
        match a
            .push(true, OpCode::Continuation, Bytes::from_static(b"g"))
            .unwrap()
        {
            Some(Inbound::Binary(b)) => assert_eq!(&b[..], b"abcdefg"),
            other => panic!("{other:?}"),
        }
        let mut a = asm();
        a.push(false, OpCode::Binary, Bytes::from_static(b"123456"))
            .unwrap();
        assert!(matches!(
            a.push(true, OpCode::Continuation, Bytes::from_static(b"78901")),
            Err(ReadFailure::TooLarge {
                kind: "binary",
                limit: 10
            })
        ));
    }

    #[test]
    fn text_has_its_own_limit_and_must_be_utf8() {
        assert!(matches!(
            asm().push(true, OpCode::Text, Bytes::from_static(b"12345")),
            Err(ReadFailure::TooLarge { kind: "text", .. })
        ));
        assert!(matches!(
            asm().push(true, OpCode::Text, Bytes::from_static(b"\xff")),
            Err(ReadFailure::InvalidUtf8)
        ));
        let mut a = asm();
        // A character split across two fragments is fine once joined.
        a.push(false, OpCode::Text, Bytes::from_static(b"\xc3"))
            .unwrap();
        assert!(
            matches!(a.push(true, OpCode::Continuation, Bytes::from_static(b"\xa9")), Ok(Some(Inbound::Text(t))) if t == "é")
        );
    }

    #[test]
    fn stray_continuations_are_protocol_errors() {
        assert!(matches!(
            asm().push(true, OpCode::Continuation, Bytes::new()),
            Err(ReadFailure::Protocol(_))
        ));
        let mut a = asm();
        a.push(false, OpCode::Binary, Bytes::from_static(b"a"))
            .unwrap();
        assert!(matches!(
            a.push(true, OpCode::Binary, Bytes::new()),
            Err(ReadFailure::Protocol(_))
        ));
    }
}
