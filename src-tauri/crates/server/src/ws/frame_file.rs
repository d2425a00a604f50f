//! Fan-out by `sendfile`: the kernel shares a frame's pages with every
//! viewer's socket instead of copying the frame once per viewer.
//!
//! Why: writing a 37 KB JPEG to 200 sockets copies it 200 times into socket
//! buffers, and on loopback that copy is about a quarter of the fan-out's
//! CPU. So on Linux, when a publisher's thread fans a large frame out, it
//! writes the frame's whole WebSocket message (header and payload) once into
//! an anonymous memory file (`memfd_create`), and each viewer's socket gets
//! it with `sendfile`: the socket's queue takes references to the file's
//! pages, not a copy of them.
//!
//! Why it is safe: a [`FrameFile`] is written once, when it is made, and
//! never again. A thread keeps the files of the frames it is fanning out
//! ([`FanoutFiles`]): its files are closed after the fan-out's last socket
//! (or, if that socket was busy, once newer frames have taken their place). Pages a
//! socket still queues keep their own references: closing the file
//! truncates it whole, which takes the pages out of the file without
//! touching their bytes, so a slow viewer later reads exactly the frame.
//! The integration test `slow_viewers_read_every_shared_frame_intact`
//! checks that across the files of thirty frames.
//!
//! When it is used: a file costs about as much as copying the frame to
//! 20 sockets (creating it, filling fresh pages, closing it), and each
//! socket that gets it by `sendfile` instead of a copy saves about a
//! tenth of a socket write (`relayload`'s `kernelfloor` measures both). So a file is made only for a message of at
//! least [`MIN_FILE_BYTES`] that the fan-out still has to write to at least
//! [`MIN_SHARED_WRITES`] more sockets; smaller fan-outs copy, as before. If
//! the kernel refuses (no `memfd_create`, a sandbox that forbids it), the
//! relay says so once and copies from then on.

use std::{
    cell::RefCell,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    rc::Rc,
    sync::atomic::{AtomicBool, Ordering},
};

use bytes::Bytes;

/// Messages smaller than this are copied: a page reference per 4 KiB costs
/// more than copying a few KiB.
pub const MIN_FILE_BYTES: usize = 16 * 1024;

/// A file is made only when the fan-out still has this many sockets to
/// write the message to, besides the current one: fewer would not pay for it.
pub const MIN_SHARED_WRITES: usize = 32;

/// Files a thread keeps: one per frame and viewer kind (bare JPEG,
/// multi-camera packet) of the fan-out in progress, with room to spare.
const KEPT: usize = 4;

/// Set once the kernel has refused a memory file or `sendfile`.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// `sendfile` calls that moved bytes, process-wide: the proof (for tests and
/// profiles) that large fan-outs really went through frame files and did not
/// fall back to copies.
static SENDFILE_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many `sendfile` calls have moved bytes so far in this process.
pub fn sendfile_calls() -> u64 {
    SENDFILE_CALLS.load(Ordering::Relaxed)
}

/// One WebSocket message, written once into an anonymous memory file.
#[derive(Debug)]
pub struct FrameFile {
    fd: OwnedFd,
    len: usize,
}

impl FrameFile {
    /// A sealed-by-convention file holding `head` then `body`.
    pub fn create(head: &[u8], body: &[u8]) -> io::Result<Self> {
        // SAFETY: the name is a NUL-terminated literal.
        let raw = unsafe { libc::memfd_create(c"relaydeck-frame".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let file = Self {
            fd,
            len: head.len() + body.len(),
        };
        file.write_all(head, body)?;
        Ok(file)
    }

    fn write_all(&self, head: &[u8], body: &[u8]) -> io::Result<()> {
        let mut done = 0;
        while done < self.len {
            let (a, b) = if done < head.len() {
                (&head[done..], body)
            } else {
                (&[][..], &body[done - head.len()..])
            };
            let iov = [
                libc::iovec {
                    iov_base: a.as_ptr() as *mut libc::c_void,
                    iov_len: a.len(),
                },
                libc::iovec {
                    iov_base: b.as_ptr() as *mut libc::c_void,
                    iov_len: b.len(),
                },
            ];
            // SAFETY: both iovecs point at live buffers of the given lengths.
            let n =
                unsafe { libc::pwritev(self.fd.as_raw_fd(), iov.as_ptr(), 2, done as libc::off_t) };
            match n {
                n if n > 0 => done += n as usize,
                0 => return Err(io::ErrorKind::WriteZero.into()),
                _ => {
                    let err = io::Error::last_os_error();
                    if err.kind() != io::ErrorKind::Interrupted {
                        return Err(err);
                    }
                }
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Gives the whole message to the non-blocking socket `sock`: the bytes
    /// it took (0 when its buffer is full).
    pub fn send_to(&self, sock: RawFd) -> io::Result<usize> {
        let mut offset: libc::off_t = 0;
        // SAFETY: both descriptors are open; `offset` is a live local.
        let n = unsafe { libc::sendfile(sock, self.fd.as_raw_fd(), &mut offset, self.len) };
        if n > 0 {
            SENDFILE_CALLS.fetch_add(1, Ordering::Relaxed);
        }
        super::raw_socket::sent_now(n)
    }
}

/// The files of a thread's recent frames, keyed by the payload's address
/// and length. An entry holding a file also holds the payload (`pinned`), so
/// its memory cannot be reused by another frame while the key is in use.
#[derive(Default)]
pub struct FanoutFiles {
    recent: [Option<Recent>; KEPT],
    next: usize,
}

struct Recent {
    addr: usize,
    len: usize,
    file: Option<(Rc<FrameFile>, Bytes)>,
}

impl FanoutFiles {
    /// The file to send `head` + `body` from, if this message has one or is
    /// worth one: `ahead` is how many more sockets the fan-out writes it to
    /// after this one. `owned` gives `body` as shared memory (called once
    /// per file).
    pub fn file_for(
        &mut self,
        head: &[u8],
        body: &[u8],
        owned: impl FnOnce() -> Bytes,
        ahead: usize,
    ) -> Option<Rc<FrameFile>> {
        if body.len() < MIN_FILE_BYTES || UNAVAILABLE.load(Ordering::Relaxed) {
            return None;
        }
        let worth_one = ahead >= MIN_SHARED_WRITES && sigpipe_ignored();
        let recent = self.entry(body.as_ptr() as usize, body.len(), worth_one)?;
        if recent.file.is_none() && worth_one {
            // Made from the pinned copy, so the file is this frame even if an
            // earlier frame happened to live at the same address.
            let pinned = owned();
            match FrameFile::create(head, &pinned) {
                Ok(file) => recent.file = Some((Rc::new(file), pinned)),
                Err(e) => give_up("memfd_create", &e),
            }
        }
        let file = recent.file.as_ref().map(|(file, _)| file.clone());
        if ahead == 0 {
            // The fan-out's last socket. A thread runs one fan-out at a time,
            // so no file here is needed any more (that of the other viewer
            // kind neither): let go of them all and of their frames. The
            // caller's handle closes this one after its write.
            self.recent = Default::default();
        }
        file
    }

    /// The entry of the message at `addr`; a new one (retiring the oldest)
    /// only if `create`.
    fn entry(&mut self, addr: usize, len: usize, create: bool) -> Option<&mut Recent> {
        let found = self
            .recent
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.addr == addr && r.len == len));
        let at = match found {
            Some(at) => at,
            None if create => {
                let at = self.next;
                self.next = (self.next + 1) % KEPT;
                // Dropping the old entry closes its file.
                self.recent[at] = Some(Recent {
                    addr,
                    len,
                    file: None,
                });
                at
            }
            None => return None,
        };
        self.recent[at].as_mut()
    }
}

/// `sendfile` has no `MSG_NOSIGNAL`: a viewer that hung up raises SIGPIPE,
/// which would end the process unless it is ignored. Rust programs ignore
/// it from the start; a host that does not gets copies instead of files.
fn sigpipe_ignored() -> bool {
    static IGNORED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IGNORED.get_or_init(|| {
        // SAFETY: a zeroed sigaction is valid; a null new action only reads the current one.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        let read = unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut current) } == 0;
        let ignored = read && current.sa_sigaction == libc::SIG_IGN;
        if !ignored {
            give_up(
                "checking SIGPIPE",
                &io::Error::other("SIGPIPE is not ignored in this process"),
            );
        }
        ignored
    })
}

/// Stops using files for the rest of the process, and says why once.
pub fn give_up(call: &str, err: &io::Error) {
    if !UNAVAILABLE.swap(true, Ordering::Relaxed) {
        tracing::warn!(%err, "{call} failed; frames are copied to each viewer's socket instead of shared");
    }
}

thread_local! {
    static FILES: RefCell<FanoutFiles> = RefCell::new(FanoutFiles::default());
}

/// [`FanoutFiles::file_for`] on this thread's files.
pub fn file_for(
    head: &[u8],
    body: &[u8],
    owned: impl FnOnce() -> Bytes,
    ahead: usize,
) -> Option<Rc<FrameFile>> {
    FILES.with(|files| files.borrow_mut().file_for(head, body, owned, ahead))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize, fill: u8) -> Bytes {
        Bytes::from(vec![fill; len])
    }

    #[test]
    fn a_file_holds_the_header_then_the_payload() {
        let file = FrameFile::create(b"\x82\x7e", &[1, 2, 3]).unwrap();
        let mut read = vec![0u8; 8];
        // SAFETY: reading into a live buffer from an open descriptor.
        let n =
            unsafe { libc::pread(file.fd.as_raw_fd(), read.as_mut_ptr().cast(), read.len(), 0) };
        assert_eq!(&read[..n as usize], &[0x82, 0x7e, 1, 2, 3]);
        assert_eq!(file.len(), 5);
    }

    const MANY: usize = MIN_SHARED_WRITES;

    #[test]
    fn a_frame_gets_a_file_only_when_enough_sockets_follow_and_keeps_it_to_the_end_of_the_fan_out()
    {
        let mut files = FanoutFiles::default();
        let body = frame(MIN_FILE_BYTES, 7);
        assert!(
            files
                .file_for(b"h", &body, || body.clone(), MANY - 1)
                .is_none(),
            "a small fan-out copies"
        );
        let first = files
            .file_for(b"h", &body, || body.clone(), MANY)
            .expect("a large fan-out shares");
        let again = files
            .file_for(b"h", &body, || panic!("made once"), 1)
            .expect("kept");
        let last = files
            .file_for(b"h", &body, || panic!("made once"), 0)
            .expect("kept to the end of the fan-out");
        assert!(Rc::ptr_eq(&first, &again) && Rc::ptr_eq(&first, &last));
        assert_eq!(first.len(), 1 + body.len());
        drop((again, last));
        assert_eq!(
            Rc::strong_count(&first),
            1,
            "after its last socket the thread holds the file no more"
        );
        assert!(files.recent.iter().all(Option::is_none));
    }

    #[test]
    fn the_end_of_a_fan_out_releases_the_files_of_both_viewer_kinds() {
        let mut files = FanoutFiles::default();
        let packet = frame(MIN_FILE_BYTES + 20, 3);
        let jpeg = packet.slice(20..);
        let for_multi = files
            .file_for(b"m", &packet, || packet.clone(), MANY + 1)
            .unwrap();
        let for_single = files.file_for(b"s", &jpeg, || jpeg.clone(), MANY).unwrap();
        assert!(
            !Rc::ptr_eq(&for_multi, &for_single),
            "each kind has its own message"
        );
        files.file_for(b"s", &jpeg, || jpeg.clone(), 0);
        assert_eq!(
            (Rc::strong_count(&for_multi), Rc::strong_count(&for_single)),
            (1, 1)
        );
    }

    #[test]
    fn small_messages_are_copied() {
        let mut files = FanoutFiles::default();
        let body = frame(MIN_FILE_BYTES - 1, 1);
        assert!(files.file_for(b"h", &body, || body.clone(), 1000).is_none());
    }

    #[test]
    fn a_new_frame_retires_the_oldest_file() {
        let mut files = FanoutFiles::default();
        let frames: Vec<Bytes> = (0..=KEPT as u8).map(|i| frame(MIN_FILE_BYTES, i)).collect();
        let mut made = Vec::new();
        for f in &frames {
            made.push(files.file_for(b"", f, || f.clone(), MANY).unwrap());
        }
        // The first frame's entry was replaced: near the end of its fan-out it is copied.
        assert!(files
            .file_for(b"", &frames[0], || frames[0].clone(), 0)
            .is_none());
        assert_eq!(
            Rc::strong_count(&made[0]),
            1,
            "the thread let go of the oldest file"
        );
        assert_eq!(Rc::strong_count(&made[KEPT]), 2, "the newest is kept");
    }
}
