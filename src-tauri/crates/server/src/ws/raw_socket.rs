//! The publisher's direct write to a plain TCP viewer socket.
//!
//! Why not through tokio: at hundreds of viewers per frame, the trait
//! object, the readiness check and the cooperative-budget wrapper cost more
//! than the bookkeeping they save, because each touches per-viewer memory
//! that is cold by the time the fan-out reaches it. The socket is
//! non-blocking (tokio set it so); when the kernel says `EAGAIN` the frame
//! goes to the viewer's task, whose own write through tokio sees the same
//! `EAGAIN` and registers for readiness, so nothing is lost or doubled.
//!
//! A large frame written to many viewers goes out by `sendfile` from a
//! [`FrameFile`](super::frame_file::FrameFile) (Linux), so the kernel shares
//! its pages instead of copying it per viewer; otherwise one `sendmsg` of
//! header and payload.

use std::io;

use bytes::Bytes;

/// A plain TCP socket's descriptor. Its owner (the connection's writer)
/// keeps it open for as long as this is used.
#[derive(Debug, Clone, Copy)]
pub struct RawSocket(#[cfg(unix)] std::os::fd::RawFd);

impl RawSocket {
    #[cfg(unix)]
    pub fn of(tcp: &tokio::net::TcpStream) -> Option<Self> {
        Some(Self(std::os::fd::AsRawFd::as_raw_fd(tcp)))
    }

    #[cfg(not(unix))]
    pub fn of(_tcp: &tokio::net::TcpStream) -> Option<Self> {
        None
    }

    /// Writes the message `head` + `body` as far as the socket takes it now:
    /// the bytes written, 0 when the socket is full. `owned` gives `body` as
    /// shared memory, for a frame file; `ahead` is how many more sockets
    /// this fan-out writes the same message to.
    pub fn send_frame(
        self,
        head: &[u8],
        body: &[u8],
        owned: impl FnOnce() -> Bytes,
        ahead: usize,
    ) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if let Some(file) = super::frame_file::file_for(head, body, owned, ahead) {
            match file.send_to(self.0) {
                Err(e) if refused_by_kernel(&e) => super::frame_file::give_up("sendfile", &e),
                sent => return sent,
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (owned, ahead);
        self.send_parts(head, body)
    }

    /// One `sendmsg` of `head` then `body`: the bytes written, 0 when the
    /// socket is full. `MSG_NOSIGNAL`: a closed peer is an error, not SIGPIPE.
    #[cfg(unix)]
    fn send_parts(self, head: &[u8], body: &[u8]) -> io::Result<usize> {
        let mut iov = [
            libc::iovec {
                iov_base: head.as_ptr() as *mut libc::c_void,
                iov_len: head.len(),
            },
            libc::iovec {
                iov_base: body.as_ptr() as *mut libc::c_void,
                iov_len: body.len(),
            },
        ];
        // SAFETY: a zeroed msghdr is valid; it points at two live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len() as _;
        // SAFETY: `self.0` is an open socket (its owner outlives this call:
        // the writer's state, locked by the caller, holds it).
        let n = unsafe { libc::sendmsg(self.0, &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        sent_now(n)
    }

    #[cfg(not(unix))]
    fn send_parts(self, _head: &[u8], _body: &[u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// A non-blocking send's return value as the bytes written now: a full
/// socket (`EAGAIN`) or an interrupted call is 0 bytes, not an error.
#[cfg(unix)]
pub(super) fn sent_now(n: isize) -> io::Result<usize> {
    if n >= 0 {
        return Ok(n as usize);
    }
    let err = io::Error::last_os_error();
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
        _ => Err(err),
    }
}

/// Errors that say `sendfile` cannot be used here at all (as opposed to a
/// closed or reset peer, which ends that viewer like any failed write).
/// `sendfile` raises no SIGPIPE for a closed peer here: files are used only
/// while that signal is ignored, so the peer's close is `EPIPE` like
/// `sendmsg`'s.
#[cfg(target_os = "linux")]
fn refused_by_kernel(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM)
    )
}
