//! The write side of a server WebSocket, shared by the connection's task and
//! publishers' threads.
//!
//! The task writes with [`WsWriter::send`], which waits for the socket (the
//! caller bounds it with a timeout). A publisher fanning a frame out calls
//! [`WsWriter::try_send_now`], which writes only what the socket takes at
//! once and never waits: it fails over to the task when the socket is busy.
//! A frame started by one and not finished is finished by the task, so the
//! bytes of two messages never interleave.
//!
//! Server frames are never masked (RFC 6455 §5.1), so a frame is a 2–10 byte
//! header and the payload, written with one vectored write straight from the
//! shared frame memory: no copy before the kernel's.

use std::{
    future::{poll_fn, Future},
    io::{self, IoSlice},
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll, Waker},
};

use bytes::Bytes;
use parking_lot::Mutex;
use relaydeck_hub::{viewer::Handoff, ViewerSlot};

pub use super::raw_socket::RawSocket;
use tokio::io::AsyncWrite;

/// The opcodes a server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opcode {
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

pub type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;

pub struct WsWriter {
    state: Mutex<WriterState>,
    /// The socket's descriptor when the connection is plain TCP: the direct
    /// path writes to it with one `sendmsg`, skipping the async layers (see
    /// [`WsWriter::try_send_now`]). It stays open while `state.io` lives.
    raw: Option<RawSocket>,
    /// Where the bytes it sends are counted (`/metrics`), once the edge says.
    meter: std::sync::OnceLock<crate::metrics::ConnMeter>,
}

struct WriterState {
    io: BoxWrite,
    /// A message partly written; it goes out before any other.
    unfinished: Option<OutFrame>,
    /// The socket failed; every later write fails at once.
    failed: Option<io::ErrorKind>,
    /// A close frame is queued or out: RFC 6455 (5.5.1) allows nothing after
    /// it, so later messages are refused (a publisher's direct write too).
    closed: bool,
}

/// The slot to tell when a video frame is out, and the frame's sequence number.
type Completion = (Arc<ViewerSlot>, u64);

/// One outgoing message and how much of it is written.
struct OutFrame {
    header: [u8; 10],
    header_len: usize,
    payload: Bytes,
    written: usize,
    done: Option<Completion>,
}

impl OutFrame {
    fn new(opcode: Opcode, payload: Bytes) -> Self {
        let (header, header_len) = encode_header(opcode, payload.len());
        Self {
            header,
            header_len,
            payload,
            written: 0,
            done: None,
        }
    }

    fn total(&self) -> usize {
        self.header_len + self.payload.len()
    }

    /// Writes until the whole frame is out or the socket is full.
    fn poll_write(&mut self, io: &mut BoxWrite, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.total() {
            let n = {
                let (head, body) = if self.written < self.header_len {
                    (
                        &self.header[self.written..self.header_len],
                        &self.payload[..],
                    )
                } else {
                    (&[][..], &self.payload[self.written - self.header_len..])
                };
                let bufs = [IoSlice::new(head), IoSlice::new(body)];
                ready!(Pin::new(&mut *io).poll_write_vectored(cx, &bufs))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Reports the outcome to the slot waiting for it, if any.
    fn complete(mut self, ok: bool) {
        if let Some((slot, seq)) = self.done.take() {
            slot.finish(ok.then_some(seq));
        }
    }
}

impl Drop for OutFrame {
    fn drop(&mut self) {
        // A frame abandoned mid-write (timeout, closed socket) is not held any more.
        if let Some((slot, _)) = self.done.take() {
            slot.finish(None);
        }
    }
}

impl WriterState {
    /// Drives the unfinished message, if any, to the end.
    fn poll_unfinished(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.failed {
            return Poll::Ready(Err(kind.into()));
        }
        let Some(frame) = self.unfinished.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let res = ready!(frame.poll_write(&mut self.io, cx));
        let frame = self.unfinished.take().expect("checked above");
        frame.complete(res.is_ok());
        if let Err(e) = &res {
            self.failed = Some(e.kind());
        }
        Poll::Ready(res)
    }
}

impl WsWriter {
    pub fn new(io: BoxWrite) -> Arc<Self> {
        Self::with_raw(io, None)
    }

    /// A writer whose `io` is the plain TCP socket `raw` (which `io` keeps open).
    pub fn with_raw(io: BoxWrite, raw: Option<RawSocket>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(WriterState {
                io,
                unfinished: None,
                failed: None,
                closed: false,
            }),
            raw,
            meter: std::sync::OnceLock::new(),
        })
    }

    /// Counts this socket in `meter`'s transport (the edge that owns the
    /// socket knows which); the first meter given stays.
    pub fn set_meter(&self, meter: crate::metrics::ConnMeter) {
        let _ = self.meter.set(meter);
    }

    fn count(&self, bytes: usize) {
        if let Some(m) = self.meter.get() {
            m.sent(bytes);
        }
    }

    /// Writes one message after any unfinished one; waits for the socket.
    /// If the future is dropped half-way, the rest goes out before the next
    /// message.
    pub async fn send(
        &self,
        opcode: Opcode,
        payload: Bytes,
        done: Option<Completion>,
    ) -> io::Result<()> {
        let is_close = opcode == Opcode::Close;
        let mut frame = OutFrame::new(opcode, payload);
        frame.done = done;
        self.count(frame.total());
        let mut next = Some(frame);
        poll_fn(|cx| {
            let mut st = self.state.lock();
            loop {
                ready!(st.poll_unfinished(cx))?;
                match next.take() {
                    Some(_) if st.closed => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "the close frame is sent: nothing may follow it",
                        )))
                    }
                    Some(frame) => {
                        st.closed |= is_close;
                        st.unfinished = Some(frame);
                    }
                    None => return Poll::Ready(Ok(())),
                }
            }
        })
        .await
    }

    /// Finishes a message a publisher started; waits for the socket.
    pub async fn flush_unfinished(&self) -> io::Result<()> {
        poll_fn(|cx| self.state.lock().poll_unfinished(cx)).await
    }

    /// Asks the CPU for this writer's memory ahead of a direct write (see
    /// `relaydeck_hub::prefetch`).
    pub fn prefetch(&self) {
        relaydeck_hub::prefetch::prefetch(self);
        relaydeck_hub::prefetch::prefetch(&self.state);
    }

    /// Writes as much of a video frame as the socket takes now, never waiting.
    /// `body` is the payload; `owned` gives it as shared memory, and is only
    /// called when part of the frame has to wait or for a shared frame file. On [`Handoff::Started`] the
    /// rest is left for [`WsWriter::flush_unfinished`] (the hub wakes the
    /// connection's task for it), and `slot` is told when it is out. `ahead`:
    /// how many more sockets this fan-out writes the same frame to.
    pub fn try_send_now(
        &self,
        body: &[u8],
        owned: impl Fn() -> Bytes,
        slot: &Arc<ViewerSlot>,
        seq: u64,
        ahead: usize,
    ) -> Handoff {
        let Some(mut st) = self.state.try_lock() else {
            return Handoff::Busy;
        };
        if st.unfinished.is_some() || st.failed.is_some() || st.closed {
            return Handoff::Busy;
        }
        let (header, header_len) = encode_header(Opcode::Binary, body.len());
        let head = &header[..header_len];
        let written = match self.raw {
            Some(raw) => raw.send_frame(head, body, &owned, ahead),
            None => poll_now(&mut st.io, head, body),
        };
        match written {
            Ok(n) if n == header_len + body.len() => {
                self.count(n);
                Handoff::Delivered
            }
            Ok(0) => Handoff::Busy,
            Ok(n) => {
                self.count(header_len + body.len());
                let mut frame = OutFrame::new(Opcode::Binary, owned());
                frame.written = n;
                frame.done = Some((slot.clone(), seq));
                st.unfinished = Some(frame);
                Handoff::Started
            }
            Err(e) => {
                st.failed = Some(e.kind());
                Handoff::Busy
            }
        }
    }
}

/// A frame's header for a payload of `len` bytes, and the header's length.
fn encode_header(opcode: Opcode, len: usize) -> ([u8; 10], usize) {
    let mut header = [0u8; 10];
    header[0] = 0x80 | opcode as u8;
    let header_len = if len < 126 {
        header[1] = len as u8;
        2
    } else if len <= u16::MAX as usize {
        header[1] = 126;
        header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        header[1] = 127;
        header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (header, header_len)
}

/// One vectored write through the async layers, never waiting: the bytes
/// written (0 when the socket is full).
fn poll_now(io: &mut BoxWrite, head: &[u8], body: &[u8]) -> io::Result<usize> {
    // A no-op waker: if the socket is full, the task is woken by the
    // caller instead and polls again with its own waker. Outside tokio's
    // cooperative budget: a fan-out to hundreds of viewers is one bounded
    // loop, and a spent budget would report every socket after the 128th as
    // busy.
    let mut cx = Context::from_waker(Waker::noop());
    let bufs = [IoSlice::new(head), IoSlice::new(body)];
    let mut write = tokio::task::coop::unconstrained(poll_fn(|cx| {
        Pin::new(&mut *io).poll_write_vectored(cx, &bufs)
    }));
    match Pin::new(&mut write).poll(&mut cx) {
        Poll::Ready(Ok(0)) => Err(io::ErrorKind::WriteZero.into()),
        Poll::Ready(res) => res,
        Poll::Pending => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_use_the_shortest_length_encoding() {
        let f = OutFrame::new(Opcode::Text, Bytes::from(vec![0; 125]));
        assert_eq!(&f.header[..f.header_len], &[0x81, 125]);
        let f = OutFrame::new(Opcode::Binary, Bytes::from(vec![0; 126]));
        assert_eq!(&f.header[..f.header_len], &[0x82, 126, 0, 126]);
        let f = OutFrame::new(Opcode::Binary, Bytes::from(vec![0; 70_000]));
        assert_eq!(
            &f.header[..f.header_len],
            &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }

    #[tokio::test]
    async fn a_frame_started_directly_is_finished_before_the_next_message() {
        // A pipe with a tiny buffer: the direct write can only start the frame.
        let (client, server) = tokio::io::duplex(16);
        let writer = WsWriter::new(Box::new(server));
        let payload = Bytes::from((0..100u8).collect::<Vec<_>>());
        {
            let mut st = writer.state.lock();
            let mut frame = OutFrame::new(Opcode::Binary, payload.clone());
            let mut cx = Context::from_waker(Waker::noop());
            assert!(frame.poll_write(&mut st.io, &mut cx).is_pending());
            assert_eq!(frame.written, 16);
            st.unfinished = Some(frame);
        }
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut client, &mut all)
                .await
                .unwrap();
            all
        });
        writer
            .send(Opcode::Text, Bytes::from_static(b"hi"), None)
            .await
            .unwrap();
        drop(writer);
        let all = reader.await.unwrap();
        assert_eq!(&all[..2], &[0x82, 100]);
        assert_eq!(&all[2..102], &payload[..]);
        assert_eq!(&all[102..], &[0x81, 2, b'h', b'i']);
    }

    #[tokio::test]
    async fn nothing_follows_a_close_frame() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let writer = WsWriter::new(Box::new(server));
        writer
            .send(Opcode::Close, Bytes::from_static(&[0x03, 0xE8]), None)
            .await
            .unwrap();
        let refused = writer
            .send(Opcode::Binary, Bytes::from_static(b"late"), None)
            .await;
        assert_eq!(refused.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        drop(writer);
        let mut all = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut { client }, &mut all)
            .await
            .unwrap();
        assert_eq!(
            all,
            [0x88, 2, 0x03, 0xE8],
            "the close frame, and nothing after it"
        );
    }
}
