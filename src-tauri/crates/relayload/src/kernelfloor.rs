//! The kernel's floor under the video fan-out.
//!
//! Hands one frame to N loopback TCP sockets 30 times a second with plain
//! system calls and nothing else: no WebSocket, no hub, no runtime. One
//! reader thread drains all sockets through epoll, as `relayload`'s viewers
//! do. The sender's CPU time (its thread only, which includes the loopback
//! receive work the kernel runs on the sending CPU) divided by the frames
//! handed over is what the kernel alone costs per delivered frame, to read
//! the relay's figure against (docs/BENCHMARKS.md).
//!
//!     cargo run --release -p relayload --bin kernelfloor -- --mode sendfile
//!
//! `--mode write` copies the frame into each socket; `--mode sendfile`
//! writes it once into a memory file and shares its pages, as the relay
//! does for large fan-outs.

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    floor::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!(
        "kernelfloor measures Linux system calls (memfd_create, sendfile); it runs on Linux only"
    );
}

#[cfg(target_os = "linux")]
mod floor {
    use std::{
        io::{self, Read, Write},
        net::{TcpListener, TcpStream},
        os::fd::{AsRawFd, FromRawFd, OwnedFd},
        thread,
        time::{Duration, Instant},
    };

    use anyhow::{bail, Context, Result};
    use clap::{Parser, ValueEnum};

    #[derive(Parser)]
    #[command(
        about = "The kernel's cost of handing one frame to N loopback sockets, for comparison with relayload"
    )]
    struct Args {
        /// Sockets the frame goes to.
        #[arg(long, default_value_t = 200)]
        viewers: usize,
        /// Frame size (relayload's 640×480 frame is 37 052 bytes).
        #[arg(long, default_value_t = 37_052)]
        bytes: usize,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        #[arg(long, value_enum, default_value_t = Mode::Sendfile)]
        mode: Mode,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum Mode {
        /// `write()` the frame to each socket (a copy per socket).
        Write,
        /// `sendfile()` it from a memory file written once per frame.
        Sendfile,
    }

    pub fn main() -> Result<()> {
        let args = Args::parse();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (mut readers, mut senders) = (Vec::new(), Vec::new());
        for _ in 0..args.viewers {
            readers.push(TcpStream::connect(addr)?);
            senders.push(listener.accept()?.0);
        }
        for s in &senders {
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
        }
        thread::spawn(move || drain(readers));

        let frame: Vec<u8> = (0..args.bytes).map(|i| (i * 31 % 251) as u8).collect();
        let period = Duration::from_secs(1) / args.fps;
        let frames = args.seconds * args.fps as u64;
        let (mut handed, mut refused) = (0u64, 0u64);
        let start_cpu = thread_cpu()?;
        let mut next = Instant::now();
        for _ in 0..frames {
            next += period;
            thread::sleep(next.saturating_duration_since(Instant::now()));
            let file = match args.mode {
                Mode::Write => None,
                Mode::Sendfile => Some(frame_file(&frame)?),
            };
            for s in &senders {
                let sent = match &file {
                    None => (&*s).write(&frame),
                    Some(file) => sendfile(s, file, frame.len()),
                };
                match sent {
                    Ok(n) if n == frame.len() => handed += 1,
                    _ => refused += 1,
                }
            }
        }
        let cpu = thread_cpu()? - start_cpu;
        if handed == 0 {
            bail!("no frame was handed over");
        }
        let mode = match args.mode {
            Mode::Write => "write",
            Mode::Sendfile => "sendfile",
        };
        println!(
            "{mode}: {} sockets × {} bytes @ {} fps for {} s: sender CPU {:.3} s, {:.2} µs per frame handed over ({handed} whole, {refused} partial or refused)",
            args.viewers,
            args.bytes,
            args.fps,
            args.seconds,
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / handed as f64
        );
        Ok(())
    }

    /// Reads every socket until the process ends.
    fn drain(readers: Vec<TcpStream>) -> Result<()> {
        // SAFETY: plain epoll set-up on descriptors this thread owns.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(io::Error::last_os_error()).context("epoll_create1");
        }
        for (i, r) in readers.iter().enumerate() {
            r.set_nonblocking(true)?;
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            // SAFETY: `ev` is a live event; both descriptors are open.
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, r.as_raw_fd(), &mut ev) };
        }
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: `events` has room for 256 entries.
            let n =
                unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, -1) };
            for ev in &events[..n.max(0) as usize] {
                let mut r = &readers[ev.u64 as usize];
                while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
            }
        }
    }

    /// A memory file holding `frame`, written once.
    fn frame_file(frame: &[u8]) -> Result<OwnedFd> {
        // SAFETY: a NUL-terminated name; the descriptor is owned from here on.
        let fd = unsafe { libc::memfd_create(c"kernelfloor".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error()).context("memfd_create");
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        std::fs::File::from(fd.try_clone()?).write_all(frame)?;
        Ok(fd)
    }

    fn sendfile(sock: &TcpStream, file: &OwnedFd, len: usize) -> io::Result<usize> {
        let mut offset: libc::off_t = 0;
        // SAFETY: both descriptors are open; `offset` is a live local.
        let n = unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &mut offset, len) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// CPU time of the calling thread (user + system).
    fn thread_cpu() -> Result<Duration> {
        // SAFETY: a zeroed rusage is valid; getrusage fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
            return Err(io::Error::last_os_error()).context("getrusage");
        }
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Ok(tv(usage.ru_utime) + tv(usage.ru_stime))
    }
}
