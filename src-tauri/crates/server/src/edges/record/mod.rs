//! Recording: one more edge. A recorder subscribes from the hub like a
//! viewer or a listener (so it never slows the live path: a recorder that
//! falls behind skips frames as a slow viewer does) and writes segments:
//!
//! * a camera: its JPEG frames as they came, each at its capture time, in
//!   Matroska ([`mkv`], `V_MJPEG`), with a frame index beside it;
//! * an audio source: its PCM in its own format as WAV ([`wav`]).
//!
//! Every second a recorder flushes and syncs its file (and a WAV's header)
//! — in `block_in_place`, so the worker's other tasks (the live path) move
//! on while the disk answers — so a crash or `kill -9` loses at most the
//! last second; the files are the
//! truth and [`catalog::Catalog`] is rebuilt from them at start. Segments
//! rotate after `--record-segment` (10 min) or `--record-segment-bytes`
//! (512 MiB), and when the format or the picture size changes. Below
//! `--record-reserve` (1 GiB) of free space a recorder closes its segment
//! and waits (state `disk_full`), and starts a new one when space returns.
//!
//! A camera may be recorded on motion instead ([`motion`]): frames are held
//! for the pre-roll while nothing moves, and written from the pre-roll's
//! first until the post-roll after the last motion; each motion event is
//! listed with a thumbnail.
//!
//! Recorders are started and stopped by the admin (`POST/DELETE
//! /api/recorders`) or by `recordRules` ([`rules`]); the segments are
//! listed, downloaded and deleted at `/api/recordings` (`api::recordings`).
//!
//! | module | what |
//! |--------|------|
//! | [`camera`] | a camera's recorder (continuous or on motion) |
//! | [`audio`] | an audio source's recorder |
//! | [`motion`] | motion detection and the pre-/post-roll gate (pure) |
//! | [`mkv`], [`wav`] | the segment files, written live |
//! | [`catalog`] | the SQLite index of segments and motion events |
//! | [`clip`] | a time range across segments as one file |
//! | [`rules`] | `recordRules` and retention |

mod audio;
mod camera;
pub mod catalog;
pub mod clip;
pub mod mkv;
pub mod motion;
pub mod rules;
pub mod wav;

use std::{
    collections::HashMap,
    fs,
    io::{self, BufWriter, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use parking_lot::Mutex;
use relaydeck_contract::settings::MotionSettings;
use relaydeck_hub::{Hub, SampleEncoding, StreamId};
use tokio_util::sync::CancellationToken;

use crate::host::FrameScaler;

use catalog::{Catalog, Kind, Segment};

/// How often a recorder makes what it wrote durable.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What rotation and the disk reserve allow.
#[derive(Debug, Clone)]
pub struct RecordLimits {
    pub segment: Duration,
    pub segment_bytes: u64,
    pub reserve_bytes: u64,
}

/// What a recorder is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecorderState {
    /// The source is not there (yet): nothing to write.
    Waiting,
    /// On motion: the camera is watched and nothing moves.
    Watching,
    Recording,
    /// Free space is under the reserve: the segment was closed.
    DiskFull,
    /// Writing failed (the message); retried with the next frame or chunk.
    Failed(String),
}

#[derive(Debug)]
struct Running {
    /// Started by `recordRules` (which may stop it), not by the API.
    by_rule: bool,
    motion: Option<MotionSettings>,
    state: Arc<Mutex<RecorderState>>,
    stop: CancellationToken,
    done: tokio::sync::watch::Receiver<bool>,
}

/// Every recorder, and the recordings.
pub struct Recorders {
    pub dir: PathBuf,
    pub catalog: Arc<Catalog>,
    pub limits: RecordLimits,
    running: Mutex<HashMap<(StreamId, Kind), Running>>,
    /// The host's decoder, for motion detection.
    scaler: Mutex<Arc<dyn FrameScaler>>,
}

impl std::fmt::Debug for Recorders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorders")
            .field("dir", &self.dir)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What the rules want recorded: each recorder, on motion or not.
pub type Wanted = std::collections::BTreeMap<(StreamId, Kind), Option<MotionSettings>>;

impl Recorders {
    /// The recordings under `dir` (created 0700), none recording.
    pub fn open(dir: &Path, limits: RecordLimits) -> io::Result<Self> {
        crate::store::private_dir(dir)?;
        // A clip being cut when the relay stopped.
        for entry in fs::read_dir(dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".clip-") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            catalog: Arc::new(Catalog::open(dir)?),
            limits,
            running: Mutex::default(),
            scaler: Mutex::new(crate::host::Host::default().frames),
        })
    }

    /// The decoder motion detection uses (the host's; until set, none).
    pub fn set_scaler(&self, scaler: Arc<dyn FrameScaler>) {
        *self.scaler.lock() = scaler;
    }

    /// Starts recording `kind` of `id`, on motion when `motion` says how
    /// (false: it already was, in that mode).
    pub fn start(
        &self,
        hub: &Hub,
        id: StreamId,
        kind: Kind,
        motion: Option<MotionSettings>,
    ) -> bool {
        self.start_as(hub, id, kind, motion, false)
    }

    /// Is `id`'s `kind` recorded, and how?
    pub fn mode_of(&self, id: &StreamId, kind: Kind) -> Option<Option<MotionSettings>> {
        self.running
            .lock()
            .get(&(id.clone(), kind))
            .map(|r| r.motion.clone())
    }

    fn start_as(
        &self,
        hub: &Hub,
        id: StreamId,
        kind: Kind,
        motion: Option<MotionSettings>,
        by_rule: bool,
    ) -> bool {
        let mut running = self.running.lock();
        if running.contains_key(&(id.clone(), kind)) {
            return false;
        }
        let state = Arc::new(Mutex::new(RecorderState::Waiting));
        let stop = CancellationToken::new();
        let (done_tx, done) = tokio::sync::watch::channel(false);
        let task = Task {
            hub: hub.clone(),
            id: id.clone(),
            dir: self.dir.join(id.as_str()),
            catalog: self.catalog.clone(),
            limits: self.limits.clone(),
            state: state.clone(),
            stop: stop.clone(),
            motion: motion.clone(),
            scaler: self.scaler.lock().clone(),
        };
        tokio::spawn(async move {
            match kind {
                Kind::Camera => task.camera().await,
                Kind::Audio => task.audio().await,
            }
            let _ = done_tx.send(true);
        });
        running.insert(
            (id, kind),
            Running {
                by_rule,
                motion,
                state,
                stop,
                done,
            },
        );
        true
    }

    /// Stops `id`'s recorders and waits until their files are closed; the kinds stopped.
    pub async fn stop(&self, id: &str) -> Vec<Kind> {
        self.stop_where(|(s, _), _| s.as_str() == id).await
    }

    async fn stop_where(&self, which: impl Fn(&(StreamId, Kind), &Running) -> bool) -> Vec<Kind> {
        let stopped: Vec<(Kind, Running)> = {
            let mut running = self.running.lock();
            let keys: Vec<_> = running
                .iter()
                .filter(|(k, r)| which(k, r))
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| running.remove(&k).map(|r| (k.1, r)))
                .collect()
        };
        let mut kinds = Vec::new();
        for (kind, mut r) in stopped {
            r.stop.cancel();
            let _ = r.done.wait_for(|d| *d).await;
            kinds.push(kind);
        }
        kinds
    }

    /// Starts what the rules want and stops what they started and no longer want
    /// (a recorder started through the API is the API's to stop).
    /// A rule's recorder whose mode changed is started again in the new one.
    pub async fn follow_rules(&self, hub: &Hub, wanted: Wanted) {
        self.stop_where(|k, r| r.by_rule && wanted.get(k) != Some(&r.motion))
            .await;
        for ((id, kind), motion) in wanted {
            if self.start_as(hub, id.clone(), kind, motion, true) {
                tracing::info!(source = %id, kind = kind.name(), "recording by rule");
            }
        }
    }

    /// Stops every recorder (the relay is stopping).
    pub async fn stop_all(&self) {
        let ids: Vec<StreamId> = self.running.lock().keys().map(|(s, _)| s.clone()).collect();
        for id in ids {
            self.stop(id.as_str()).await;
        }
    }

    /// What records now: `(source, kind, state, on motion)`.
    pub fn active(&self) -> Vec<(StreamId, Kind, RecorderState, bool)> {
        let mut out: Vec<_> = self
            .running
            .lock()
            .iter()
            .map(|((id, kind), r)| {
                (
                    id.clone(),
                    *kind,
                    r.state.lock().clone(),
                    r.motion.is_some(),
                )
            })
            .collect();
        out.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        out
    }
}

/// Runs blocking file work (an fsync) so that, on a multi-threaded runtime,
/// the worker's other tasks move to another thread meanwhile
/// (`block_in_place`); on a current-thread runtime (tests) it simply runs.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Free bytes on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// A WAV file's PCM length in ms, its header repaired first if a crash left
/// it behind the data (the data is cut to whole sample frames).
pub fn recover_wav(path: &Path) -> io::Result<u64> {
    let mut f = fs::OpenOptions::new().read(true).write(true).open(path)?;
    let mut head = [0u8; wav::HEADER];
    use std::io::Read;
    f.read_exact(&mut head)?;
    let format = wav::Format::read(&head);
    let (rate, block) = (format.rate, format.block());
    if rate == 0 || block == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a recording's WAV header",
        ));
    }
    let on_disk = f.metadata()?.len().saturating_sub(wav::HEADER as u64);
    let data = on_disk - on_disk % block;
    let recorded = u64::from(u32::from_le_bytes(head[40..44].try_into().unwrap()));
    if recorded != data {
        f.set_len(wav::HEADER as u64 + data)?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&format.header(data as u32))?;
        f.sync_all()?;
    }
    Ok(data * 1000 / (u64::from(rate) * block))
}

/// One recorder's loop.
struct Task {
    hub: Hub,
    id: StreamId,
    dir: PathBuf,
    catalog: Arc<Catalog>,
    limits: RecordLimits,
    state: Arc<Mutex<RecorderState>>,
    stop: CancellationToken,
    /// A camera recorded on motion: how.
    motion: Option<MotionSettings>,
    scaler: Arc<dyn FrameScaler>,
}

fn bits_of(e: SampleEncoding) -> (u16, bool) {
    match e {
        SampleEncoding::S16le => (16, false),
        SampleEncoding::S32le => (32, false),
        SampleEncoding::F32le => (32, true),
    }
}

/// An open segment file with its catalog entry.
struct Open<W> {
    seg: Segment,
    writer: W,
    index: Option<BufWriter<fs::File>>,
    started: tokio::time::Instant,
}

impl Task {
    fn set(&self, s: RecorderState) {
        *self.state.lock() = s;
    }

    /// A new segment's file, or the state that says why not.
    fn create(&self, kind: Kind, start_ms: u64) -> Result<(Segment, fs::File), RecorderState> {
        if free_bytes(self.dir.parent().unwrap_or(&self.dir))
            .is_some_and(|f| f < self.limits.reserve_bytes)
        {
            return Err(RecorderState::DiskFull);
        }
        let failed = |e: io::Error| RecorderState::Failed(e.to_string());
        crate::store::private_dir(&self.dir).map_err(failed)?;
        let path = self
            .dir
            .join(format!("{}-{start_ms}.{}", kind.name(), kind.extension()));
        let file = crate::store::private_file(&path).map_err(failed)?;
        let seg = Segment {
            source: self.id.clone(),
            kind,
            start_ms,
            end_ms: start_ms,
            bytes: 0,
            frames: 0,
            live: true,
            path,
        };
        Ok((seg, file))
    }

    fn rotate_due<W>(&self, open: &Open<W>) -> bool {
        open.started.elapsed() >= self.limits.segment || open.seg.bytes >= self.limits.segment_bytes
    }
}
