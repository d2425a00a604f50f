//! What every capture edge's thread shares: a stop flag and a join on drop,
//! sleeps that end early on stop, and closing a device only once demand has
//! been gone for a while (so a page reload does not flash the camera light).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// An OS thread that is told to stop, and joined, when dropped.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Runs `body` on a thread named `name`; `body` watches the flag it gets.
    pub fn spawn(name: &str, body: impl FnOnce(Arc<AtomicBool>) + Send + 'static) -> Self {
        Self::try_spawn(name, body).expect("spawning a capture thread")
    }

    /// [`Worker::spawn`], with the OS's refusal to start a thread as an error.
    pub fn try_spawn(
        name: &str,
        body: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps up to `d`, waking early once `stopped` says so.
pub fn pause(d: Duration, stopped: impl Fn() -> bool) {
    let end = Instant::now() + d;
    while !stopped() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
}

/// Says when an open device has had no demand for `after`.
pub struct Linger {
    after: Duration,
    idle_since: Option<Instant>,
}

impl Linger {
    pub fn new(after: Duration) -> Self {
        Self {
            after,
            idle_since: None,
        }
    }

    /// Call once per turn with the current demand; true when it is time to close.
    pub fn expired(&mut self, demand: bool) -> bool {
        match (demand, self.idle_since) {
            (true, _) => self.idle_since = None,
            (false, None) => self.idle_since = Some(Instant::now()),
            (false, Some(t)) => return t.elapsed() >= self.after,
        }
        false
    }
}
