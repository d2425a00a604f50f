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
//! Recorders are started and stopped by the admin (`POST/DELETE
//! /api/recorders`); the segments are listed, downloaded and deleted at
//! `/api/recordings` (`api::recordings`).

pub mod catalog;
pub mod mkv;
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
use relaydeck_hub::{
    AudioFormat, Hub, HubEvent, ListenerItem, SampleEncoding, StreamId, ViewerQueue,
};
use tokio_util::sync::CancellationToken;

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
    state: Arc<Mutex<RecorderState>>,
    stop: CancellationToken,
    done: tokio::sync::watch::Receiver<bool>,
}

/// Every recorder, and the recordings.
#[derive(Debug)]
pub struct Recorders {
    pub dir: PathBuf,
    pub catalog: Arc<Catalog>,
    pub limits: RecordLimits,
    running: Mutex<HashMap<(StreamId, Kind), Running>>,
}

impl Recorders {
    /// The recordings under `dir` (created 0700), none recording.
    pub fn open(dir: &Path, limits: RecordLimits) -> io::Result<Self> {
        crate::store::private_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            catalog: Arc::new(Catalog::open(dir)?),
            limits,
            running: Mutex::default(),
        })
    }

    /// Starts recording `kind` of `id` (false: it already was).
    pub fn start(&self, hub: &Hub, id: StreamId, kind: Kind) -> bool {
        self.start_as(hub, id, kind, false)
    }

    fn start_as(&self, hub: &Hub, id: StreamId, kind: Kind, by_rule: bool) -> bool {
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
    pub async fn follow_rules(
        &self,
        hub: &Hub,
        wanted: std::collections::BTreeSet<(StreamId, Kind)>,
    ) {
        self.stop_where(|k, r| r.by_rule && !wanted.contains(k))
            .await;
        for (id, kind) in wanted {
            if self.start_as(hub, id.clone(), kind, true) {
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

    /// What records now: `(source, kind, state)`.
    pub fn active(&self) -> Vec<(StreamId, Kind, RecorderState)> {
        let mut out: Vec<_> = self
            .running
            .lock()
            .iter()
            .map(|((id, kind), r)| (id.clone(), *kind, r.state.lock().clone()))
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
}

/// A camera segment being written, and the linked audio source's subscription.
struct CameraSegment {
    open: Open<mkv::MkvWriter<BufWriter<fs::File>>>,
    /// The first frame's capture time (µs, whole ms): time 0 of the file.
    base_us: u64,
    size: (u32, u32),
    /// The last block's time: blocks never go back in time.
    last_ms: u64,
    audio: Option<relaydeck_hub::AudioSubscription>,
    audio_format: Option<AudioFormat>,
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

    /// Camera frames into Matroska segments; with an audio source of the same
    /// ID (a phone publishing both), its PCM as a second track of the same file.
    async fn camera(self) {
        let queue = ViewerQueue::new();
        let mut events = self.hub.events();
        let mut sub = self
            .hub
            .stream(self.id.as_str())
            .map(|s| s.subscribe(&queue));
        let mut seg: Option<CameraSegment> = None;
        let mut sync = tokio::time::interval(SYNC_EVERY);
        // A subscription hands over the camera's latest frame, which may be
        // older than the recording (a camera that opens on demand): skipped.
        let since_us = crate::secrets::now_ms() * 1000;
        loop {
            if let Some(frame) = sub.as_ref().and_then(|s| s.slot().take()) {
                if frame.captured_us >= since_us {
                    self.write_frame(&mut seg, &frame);
                }
                if let Some(s) = sub.as_ref() {
                    s.slot().finish(Some(frame.seq));
                }
                continue;
            }
            let audio = seg
                .as_ref()
                .and_then(|c| c.audio.as_ref().map(|a| a.queue().clone()));
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = queue.ready() => {}
                batch = async { audio.as_ref().expect("linked").next_batch().await }, if audio.is_some() => {
                    self.write_audio(&mut seg, batch);
                }
                // fsync blocks: the worker hands its other tasks on first, so the live path does not wait.
                _ = sync.tick() => blocking(|| self.sync_camera(&mut seg)),
                ev = events.recv() => match ev {
                    Ok(HubEvent::Joined { id }) if id == self.id => {
                        sub = self.hub.stream(self.id.as_str()).map(|s| s.subscribe(&queue));
                    }
                    Ok(HubEvent::Left { id }) if id == self.id => {
                        sub = None;
                        self.close_camera(seg.take().map(|c| c.open));
                        self.set(RecorderState::Waiting);
                    }
                    _ => {}
                },
            }
        }
        self.close_camera(seg.take().map(|c| c.open));
    }

    /// A frame into the open segment, opening one first when none is, when
    /// rotation is due or when the picture size changed.
    fn write_frame(&self, seg: &mut Option<CameraSegment>, frame: &relaydeck_hub::VideoFrame) {
        let size = (u32::from(frame.info.width), u32::from(frame.info.height));
        if seg
            .as_ref()
            .is_none_or(|c| self.rotate_due(&c.open) || c.size != size)
        {
            self.close_camera(seg.take().map(|c| c.open));
            match self.open_camera(frame, size) {
                Ok(c) => {
                    self.catalog.put(c.open.seg.clone());
                    *seg = Some(c);
                    self.set(RecorderState::Recording);
                }
                Err(state) => self.set(state),
            }
        }
        let Some(c) = seg.as_mut() else { return };
        let ms = (frame.captured_us.saturating_sub(c.base_us) / 1000).max(c.last_ms);
        let o = &mut c.open;
        match o.writer.block(1, ms, frame.jpeg_bytes()) {
            Ok(()) => {
                // The index points at the JPEG itself, the block's last bytes.
                let at = o.writer.len() - frame.len() as u64;
                if let Some(idx) = o.index.as_mut() {
                    let _ = writeln!(idx, "{ms} {at} {}", frame.len());
                }
                o.seg.bytes = o.writer.len();
                o.seg.frames += 1;
                o.seg.end_ms = o.seg.start_ms + ms;
                c.last_ms = ms;
            }
            Err(e) => {
                self.set(RecorderState::Failed(e.to_string()));
                self.close_camera(seg.take().map(|c| c.open));
            }
        }
    }

    fn open_camera(
        &self,
        frame: &relaydeck_hub::VideoFrame,
        size: (u32, u32),
    ) -> Result<CameraSegment, RecorderState> {
        let failed = |e: io::Error| RecorderState::Failed(e.to_string());
        let (seg, file) = self.create(Kind::Camera, frame.captured_us / 1000)?;
        let mut tracks = vec![mkv::Track::Video {
            width: size.0,
            height: size.1,
        }];
        // A linked audio source: the same ID, already streaming.
        let linked = self
            .hub
            .audio_source(self.id.as_str())
            .and_then(|s| s.format().map(|f| (s, f)));
        if let Some((_, f)) = &linked {
            let (bits, float) = bits_of(f.encoding);
            tracks.push(mkv::Track::Audio {
                rate: f.sample_rate,
                channels: f.channels,
                bits,
                float,
            });
        }
        let writer = mkv::MkvWriter::new(BufWriter::with_capacity(1 << 20, file), &tracks)
            .map_err(failed)?;
        let index = crate::store::private_file(&seg.index_path())
            .map(BufWriter::new)
            .map_err(failed)?;
        // From the ring back to the first frame: audio the hub got while the segment opened is not lost.
        let audio = linked
            .as_ref()
            .map(|(s, _)| s.listen(Duration::from_secs(1)));
        Ok(CameraSegment {
            open: Open {
                seg,
                writer,
                index: Some(index),
                started: tokio::time::Instant::now(),
            },
            base_us: frame.captured_us - frame.captured_us % 1000,
            size,
            last_ms: 0,
            audio,
            audio_format: linked.map(|(_, f)| f),
        })
    }

    /// The linked source's chunks as blocks of track 2, at the time the hub
    /// received them (the clock the frames are on too).
    fn write_audio(&self, seg: &mut Option<CameraSegment>, batch: Option<Vec<ListenerItem>>) {
        let Some(c) = seg.as_mut() else { return };
        let Some(batch) = batch else {
            c.audio = None; // the source went; the picture goes on
            return;
        };
        for item in batch {
            match item {
                ListenerItem::Format(f) if Some(f) != c.audio_format => {
                    // Another format does not fit this track: the rest of the segment is picture only.
                    c.audio = None;
                    return;
                }
                ListenerItem::Format(_) => {}
                ListenerItem::Chunk(chunk) => {
                    let received_us = chunk.received_ms * 1000;
                    if received_us < c.base_us {
                        continue; // before the segment's first frame
                    }
                    let ms = (received_us.saturating_sub(c.base_us) / 1000).max(c.last_ms);
                    if c.open.writer.block(2, ms, &chunk.pcm).is_ok() {
                        c.open.seg.bytes = c.open.writer.len();
                        c.last_ms = ms;
                    }
                }
            }
        }
    }

    fn sync_camera(&self, seg: &mut Option<CameraSegment>) {
        let Some(c) = seg.as_mut() else { return };
        let o = &mut c.open;
        let synced = o
            .writer
            .set_duration(o.seg.end_ms - o.seg.start_ms)
            .and_then(|()| o.writer.get_mut().flush())
            .and_then(|()| o.writer.get_mut().get_ref().sync_data())
            .and_then(|()| o.index.as_mut().map_or(Ok(()), |i| i.flush()));
        if let Err(e) = synced {
            self.set(RecorderState::Failed(e.to_string()));
            self.close_camera(seg.take().map(|c| c.open));
            return;
        }
        self.catalog.put(o.seg.clone());
        if free_bytes(&self.dir).is_some_and(|f| f < self.limits.reserve_bytes) {
            self.close_camera(seg.take().map(|c| c.open));
            self.set(RecorderState::DiskFull);
            tracing::warn!(source = %self.id, "recording stopped: free space is under the reserve");
        }
    }

    fn close_camera(&self, open: Option<Open<mkv::MkvWriter<BufWriter<fs::File>>>>) {
        let Some(mut o) = open else { return };
        let _ = o.writer.set_duration(o.seg.end_ms - o.seg.start_ms);
        let _ = o.writer.get_mut().flush();
        let _ = o.writer.get_mut().get_ref().sync_all();
        if let Some(mut idx) = o.index.take() {
            let _ = idx.flush();
            let _ = idx.get_ref().sync_all();
        }
        o.seg.live = false;
        self.catalog.put(o.seg);
    }

    /// Audio chunks into WAV segments.
    async fn audio(self) {
        let mut sync = tokio::time::interval(SYNC_EVERY);
        let mut open: Option<Open<wav::WavWriter<BufWriter<fs::File>>>> = None;
        let mut format: Option<AudioFormat> = None;
        // Audio from this moment on: a source found later is read from its
        // ring back to here (the hub keeps 5 s), so nothing between the
        // start and the subscription is lost.
        let mut since_ms = crate::secrets::now_ms();
        'source: loop {
            let Some(source) = self.hub.audio_source(self.id.as_str()) else {
                self.set(RecorderState::Waiting);
                tokio::select! {
                    _ = self.stop.cancelled() => break 'source,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => continue 'source,
                }
            };
            let sub = source.listen(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = self.stop.cancelled() => break 'source,
                    batch = sub.queue().next_batch() => {
                        let Some(batch) = batch else {
                            self.close_audio(open.take());
                            since_ms = crate::secrets::now_ms();
                            continue 'source;
                        };
                        for item in batch {
                            match item {
                                ListenerItem::Format(f) => {
                                    if format != Some(f) {
                                        self.close_audio(open.take());
                                    }
                                    format = Some(f);
                                }
                                ListenerItem::Chunk(c) => {
                                    let Some(f) = format else { continue };
                                    if c.received_ms < since_ms {
                                        continue;
                                    }
                                    if open.as_ref().is_none_or(|o| self.rotate_due(o)) {
                                        self.close_audio(open.take());
                                        open = self.open_audio(f, c.received_ms);
                                    }
                                    if let Some(o) = open.as_mut() {
                                        if let Err(e) = o.writer.write(&c.pcm) {
                                            self.set(RecorderState::Failed(e.to_string()));
                                            self.close_audio(open.take());
                                            continue;
                                        }
                                        o.seg.bytes = wav::HEADER as u64 + o.writer.data_len();
                                        o.seg.end_ms = o.seg.start_ms + f.duration_of(o.writer.data_len() as usize).as_millis() as u64;
                                    }
                                }
                            }
                        }
                    }
                    _ = sync.tick() => blocking(|| self.sync_audio(&mut open)),
                }
            }
        }
        self.close_audio(open.take());
    }

    fn open_audio(
        &self,
        f: AudioFormat,
        start_ms: u64,
    ) -> Option<Open<wav::WavWriter<BufWriter<fs::File>>>> {
        let (bits, float) = bits_of(f.encoding);
        let made = self.create(Kind::Audio, start_ms).and_then(|(seg, file)| {
            let writer = wav::WavWriter::new(
                BufWriter::with_capacity(256 * 1024, file),
                f.sample_rate,
                f.channels,
                bits,
                float,
            )
            .map_err(|e| RecorderState::Failed(e.to_string()))?;
            Ok(Open {
                seg,
                writer,
                index: None,
                started: tokio::time::Instant::now(),
            })
        });
        match made {
            Ok(o) => {
                self.catalog.put(o.seg.clone());
                self.set(RecorderState::Recording);
                Some(o)
            }
            Err(state) => {
                if state == RecorderState::DiskFull {
                    tracing::warn!(source = %self.id, "recording waits: free space is under the reserve");
                }
                self.set(state);
                None
            }
        }
    }

    fn sync_audio(&self, open: &mut Option<Open<wav::WavWriter<BufWriter<fs::File>>>>) {
        let Some(o) = open.as_mut() else { return };
        let synced = o
            .writer
            .get_mut()
            .flush()
            .and_then(|()| o.writer.update_header())
            .and_then(|()| o.writer.get_mut().flush())
            .and_then(|()| o.writer.get_mut().get_ref().sync_data());
        match synced {
            Err(e) => {
                self.set(RecorderState::Failed(e.to_string()));
                self.close_audio(open.take());
            }
            Ok(()) if free_bytes(&self.dir).is_some_and(|f| f < self.limits.reserve_bytes) => {
                tracing::warn!(source = %self.id, "recording stopped: free space is under the reserve");
                self.close_audio(open.take());
                self.set(RecorderState::DiskFull);
            }
            Ok(()) => self.catalog.put(o.seg.clone()),
        }
    }

    fn close_audio(&self, open: Option<Open<wav::WavWriter<BufWriter<fs::File>>>>) {
        let Some(mut o) = open else { return };
        let _ = o.writer.get_mut().flush();
        let _ = o.writer.update_header();
        let _ = o.writer.get_mut().flush();
        let _ = o.writer.get_mut().get_ref().sync_all();
        o.seg.live = false;
        self.catalog.put(o.seg);
    }
}
