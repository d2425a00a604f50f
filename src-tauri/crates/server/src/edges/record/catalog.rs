//! The recordings on disk, as the API lists them: one entry per segment in
//! an SQLite index, reconciled with the files at start (the files are the
//! truth; the index is rebuilt from them when it is lost).
//!
//! Layout: `<record dir>/<source>/<kind>-<start ms>.mkv|.wav`, a camera
//! segment with its frame index `….idx` beside it (one line per frame:
//! `ms offset length`, appended as frames are written); a motion event as
//! `motion-<start ms>.json` (`{"startMs","endMs","peak"}`, rewritten
//! atomically as it goes on) with its thumbnail `motion-<start ms>.jpg`.

use std::{
    collections::BTreeMap,
    fs,
    io::{self, BufRead},
    path::{Path, PathBuf},
};

use parking_lot::Mutex;
use relaydeck_hub::StreamId;

/// What a segment records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Camera,
    Audio,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Camera => "camera",
            Kind::Audio => "audio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "camera" => Some(Kind::Camera),
            "audio" => Some(Kind::Audio),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Camera => "mkv",
            Kind::Audio => "wav",
        }
    }
}

/// One segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub source: StreamId,
    pub kind: Kind,
    pub start_ms: u64,
    pub end_ms: u64,
    pub bytes: u64,
    /// Frames (camera) of the segment.
    pub frames: u64,
    /// Still being written.
    pub live: bool,
    pub path: PathBuf,
}

impl Segment {
    /// Its ID in URLs: `source.kind.startms`.
    pub fn id(&self) -> String {
        format!("{}.{}.{}", self.source, self.kind.name(), self.start_ms)
    }

    pub fn index_path(&self) -> PathBuf {
        self.path.with_extension("idx")
    }
}

/// `source.kind.startms` → its parts.
pub fn parse_id(id: &str) -> Option<(StreamId, Kind, u64)> {
    let mut parts = id.rsplitn(3, '.');
    let start = parts.next()?.parse().ok()?;
    let kind = Kind::parse(parts.next()?)?;
    let source = StreamId::new(parts.next()?).ok()?;
    Some((source, kind, start))
}

/// The index of every segment: SQLite (`index.sqlite3` in the record
/// directory, WAL), one row per segment, indexed by source and time, so
/// a time-range query stays fast with years of segments. The files are the
/// truth: at open the index is reconciled with them (rows without a file
/// go, files without a row are read and added, rows a crash left `live`
/// are read again), and an index that cannot be opened is rebuilt from them.
#[derive(Debug)]
pub struct Catalog {
    dir: PathBuf,
    db: Mutex<rusqlite::Connection>,
}

/// Something moved in front of a camera recorded on motion.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionRecord {
    pub source: StreamId,
    /// Capture times (Unix ms) of the first and the last picture that moved.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The largest share of the watched picture that changed.
    pub peak: f64,
    pub live: bool,
}

impl MotionRecord {
    /// Its ID in URLs: `source.startms`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.source, self.start_ms)
    }

    fn file(&self, dir: &Path, ext: &str) -> PathBuf {
        dir.join(self.source.as_str())
            .join(format!("motion-{}.{ext}", self.start_ms))
    }

    pub fn thumbnail_path(&self, dir: &Path) -> PathBuf {
        self.file(dir, "jpg")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MotionFile {
    start_ms: u64,
    end_ms: u64,
    peak: f64,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS segments (
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        frames INTEGER NOT NULL,
        live INTEGER NOT NULL,
        path TEXT NOT NULL,
        PRIMARY KEY (source, kind, start_ms)
    );
    CREATE INDEX IF NOT EXISTS segments_by_time ON segments (start_ms, end_ms);
    CREATE TABLE IF NOT EXISTS motion (
        source TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        peak REAL NOT NULL,
        live INTEGER NOT NULL,
        PRIMARY KEY (source, start_ms)
    );
    CREATE INDEX IF NOT EXISTS motion_by_time ON motion (start_ms, end_ms);
";

fn open_db(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    db.execute_batch(SCHEMA)?;
    // A file that is not this index (or is damaged) fails here, not later.
    db.query_row("SELECT count(*) FROM segments", [], |r| r.get::<_, i64>(0))?;
    Ok(db)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Segment>> {
    let source: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let path: String = r.get(7)?;
    let (Ok(source), Some(kind)) = (StreamId::new(&source), Kind::parse(&kind)) else {
        return Ok(None);
    };
    Ok(Some(Segment {
        source,
        kind,
        start_ms: r.get::<_, i64>(2)? as u64,
        end_ms: r.get::<_, i64>(3)? as u64,
        bytes: r.get::<_, i64>(4)? as u64,
        frames: r.get::<_, i64>(5)? as u64,
        live: r.get::<_, i64>(6)? != 0,
        path: PathBuf::from(path),
    }))
}

const COLUMNS: &str = "source, kind, start_ms, end_ms, bytes, frames, live, path";

impl Catalog {
    /// The index in `dir`, reconciled with the files (or rebuilt from them).
    pub fn open(dir: &Path) -> io::Result<Self> {
        let path = dir.join("index.sqlite3");
        let db = match open_db(&path) {
            Ok(db) => db,
            Err(e) => {
                tracing::warn!(index = %path.display(), error = %e, "the recordings index is rebuilt from the files");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = fs::remove_file(dir.join(format!("index.sqlite3{suffix}")));
                }
                open_db(&path).map_err(io::Error::other)?
            }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o600));
        }
        let catalog = Catalog {
            dir: dir.to_owned(),
            db: Mutex::new(db),
        };
        catalog.reconcile(dir);
        catalog.reload_motion();
        Ok(catalog)
    }

    /// Rows without a file go; files without a row, and rows left `live`, are read.
    fn reconcile(&self, dir: &Path) {
        let known: BTreeMap<PathBuf, Segment> = self
            .all()
            .into_iter()
            .map(|s| (s.path.clone(), s))
            .collect();
        let mut on_disk = std::collections::BTreeSet::new();
        for (source, path) in files(dir) {
            on_disk.insert(path.clone());
            if known.get(&path).is_some_and(|s| !s.live) {
                continue;
            }
            match read_segment(&source, &path) {
                Ok(Some(seg)) => self.put(seg),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "a recording is skipped")
                }
            }
        }
        for (path, seg) in known {
            if !on_disk.contains(&path) {
                self.remove(&seg);
            }
        }
    }

    pub fn put(&self, seg: Segment) {
        let db = self.db.lock();
        let done = db.execute(
            &format!("INSERT OR REPLACE INTO segments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            rusqlite::params![
                seg.source.as_str(),
                seg.kind.name(),
                seg.start_ms as i64,
                seg.end_ms as i64,
                seg.bytes as i64,
                seg.frames as i64,
                seg.live as i64,
                seg.path.to_string_lossy(),
            ],
        );
        if let Err(e) = done {
            tracing::warn!(recording = %seg.id(), error = %e, "the recordings index was not updated");
        }
    }

    fn select(&self, filter: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<Segment> {
        let sql =
            format!("SELECT {COLUMNS} FROM segments {filter} ORDER BY start_ms, source, kind");
        self.rows(&sql, params, row)
    }

    /// The rows `sql` finds, those `row` makes something of (an index it cannot read is logged, and empty).
    fn rows<T>(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<Option<T>>,
    ) -> Vec<T> {
        let db = self.db.lock();
        let rows = db.prepare_cached(sql).and_then(|mut st| {
            st.query_map(params, row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        });
        match rows {
            Ok(rows) => rows.into_iter().flatten().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "the recordings index could not be read");
                Vec::new()
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Segment> {
        let (source, kind, start) = parse_id(id)?;
        self.select(
            "WHERE source = ?1 AND kind = ?2 AND start_ms = ?3",
            &[&source.as_str(), &kind.name(), &(start as i64)],
        )
        .pop()
    }

    pub fn remove(&self, seg: &Segment) {
        let db = self.db.lock();
        let _ = db.execute(
            "DELETE FROM segments WHERE source = ?1 AND kind = ?2 AND start_ms = ?3",
            rusqlite::params![seg.source.as_str(), seg.kind.name(), seg.start_ms as i64],
        );
    }

    /// Segments of `source` (all when `None`) overlapping `[from, to]`, oldest first.
    pub fn query(&self, source: Option<&str>, from: u64, to: u64) -> Vec<Segment> {
        let (from, to) = (
            from.min(i64::MAX as u64) as i64,
            to.min(i64::MAX as u64) as i64,
        );
        match source {
            Some(id) => self.select(
                "WHERE source = ?1 AND end_ms >= ?2 AND start_ms <= ?3",
                &[&id, &from, &to],
            ),
            None => self.select("WHERE end_ms >= ?1 AND start_ms <= ?2", &[&from, &to]),
        }
    }

    pub fn all(&self) -> Vec<Segment> {
        self.select("", &[])
    }

    /// The motion events from their files (there are few; an event a crash
    /// left going ends where its file last said).
    fn reload_motion(&self) {
        let mut events = Vec::new();
        for (source, path) in files(&self.dir) {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let is_event = stem.starts_with("motion-")
                && path.extension().and_then(|e| e.to_str()) == Some("json");
            if !is_event {
                continue;
            }
            let read = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<MotionFile>(&b).ok());
            match read {
                Some(f) => events.push(MotionRecord {
                    source,
                    start_ms: f.start_ms,
                    end_ms: f.end_ms,
                    peak: f.peak,
                    live: false,
                }),
                None => {
                    tracing::warn!(file = %path.display(), "a motion event is skipped: not readable")
                }
            }
        }
        let _ = self.db.lock().execute("DELETE FROM motion", []);
        for ev in events {
            self.index_motion(&ev);
        }
    }

    fn index_motion(&self, ev: &MotionRecord) {
        let done = self.db.lock().execute(
            "INSERT OR REPLACE INTO motion (source, start_ms, end_ms, peak, live) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                ev.source.as_str(),
                ev.start_ms as i64,
                ev.end_ms as i64,
                ev.peak,
                ev.live as i64
            ],
        );
        if let Err(e) = done {
            tracing::warn!(event = %ev.id(), error = %e, "the recordings index was not updated");
        }
    }

    /// A motion event begun or gone on: its file (atomically) and its row.
    pub fn put_motion(&self, ev: &MotionRecord) -> io::Result<()> {
        crate::store::private_dir(&self.dir.join(ev.source.as_str()))?;
        let body = serde_json::to_vec(&MotionFile {
            start_ms: ev.start_ms,
            end_ms: ev.end_ms,
            peak: ev.peak,
        })
        .map_err(io::Error::other)?;
        crate::store::write_atomic(&ev.file(&self.dir, "json"), &body)?;
        self.index_motion(ev);
        Ok(())
    }

    /// The event's thumbnail, written beside it.
    pub fn put_thumbnail(&self, ev: &MotionRecord, jpeg: &[u8]) -> io::Result<()> {
        crate::store::write_atomic(&ev.thumbnail_path(&self.dir), jpeg)
    }

    pub fn remove_motion(&self, ev: &MotionRecord) {
        let _ = fs::remove_file(ev.file(&self.dir, "json"));
        let _ = fs::remove_file(ev.thumbnail_path(&self.dir));
        let _ = self.db.lock().execute(
            "DELETE FROM motion WHERE source = ?1 AND start_ms = ?2",
            rusqlite::params![ev.source.as_str(), ev.start_ms as i64],
        );
    }

    /// Motion events of `source` (all when `None`) overlapping `[from, to]`, oldest first.
    pub fn motion(&self, source: Option<&str>, from: u64, to: u64) -> Vec<MotionRecord> {
        let (from, to) = (
            from.min(i64::MAX as u64) as i64,
            to.min(i64::MAX as u64) as i64,
        );
        let sql = "SELECT source, start_ms, end_ms, peak, live FROM motion \
                   WHERE (?1 IS NULL OR source = ?1) AND end_ms >= ?2 AND start_ms <= ?3 \
                   ORDER BY start_ms, source";
        self.rows(sql, rusqlite::params![source, from, to], |r| {
            let source: String = r.get(0)?;
            let (start, end, peak, live): (i64, i64, f64, i64) =
                (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            Ok(StreamId::new(&source).ok().map(|source| MotionRecord {
                source,
                start_ms: start as u64,
                end_ms: end as u64,
                peak,
                live: live != 0,
            }))
        })
    }

    /// The event `source.startms`.
    pub fn motion_event(&self, id: &str) -> Option<MotionRecord> {
        let (source, start) = id.rsplit_once('.')?;
        let start: u64 = start.parse().ok()?;
        StreamId::new(source).ok()?;
        self.motion(Some(source), start, start)
            .into_iter()
            .find(|e| e.start_ms == start)
    }

    /// Does a motion event of the segment's source overlap it?
    pub fn has_motion(&self, seg: &Segment) -> bool {
        !self
            .motion(Some(seg.source.as_str()), seg.start_ms, seg.end_ms)
            .is_empty()
    }
}

/// Every segment file under `dir`: `(source, path)`.
fn files(dir: &Path) -> Vec<(StreamId, PathBuf)> {
    let mut out = Vec::new();
    let Ok(sources) = fs::read_dir(dir) else {
        return out;
    };
    for source_dir in sources.flatten() {
        let Some(source) = source_dir
            .file_name()
            .to_str()
            .and_then(|s| StreamId::new(s).ok())
        else {
            continue;
        };
        let Ok(entries) = fs::read_dir(source_dir.path()) else {
            continue;
        };
        for file in entries.flatten() {
            out.push((source.clone(), file.path()));
        }
    }
    out
}

/// A segment from its file: `kind-startms.ext`.
fn read_segment(source: &StreamId, path: &Path) -> io::Result<Option<Segment>> {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return Ok(None);
    };
    let Some((kind, start)) = stem.split_once('-') else {
        return Ok(None);
    };
    let (Some(kind), Ok(start_ms)) = (Kind::parse(kind), start.parse::<u64>()) else {
        return Ok(None);
    };
    if path.extension().and_then(|e| e.to_str()) != Some(kind.extension()) {
        return Ok(None);
    }
    let bytes = fs::metadata(path)?.len();
    let (duration, frames) = match kind {
        Kind::Audio => (super::recover_wav(path)?, 0),
        Kind::Camera => camera_extent(&path.with_extension("idx"))?,
    };
    Ok(Some(Segment {
        source: source.clone(),
        kind,
        start_ms,
        end_ms: start_ms + duration,
        bytes,
        frames,
        live: false,
        path: path.to_owned(),
    }))
}

/// A camera segment's length (its last frame's time) and frame count, from its index.
fn camera_extent(index: &Path) -> io::Result<(u64, u64)> {
    let file = match fs::File::open(index) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let (mut last, mut frames) = (0, 0);
    for line in io::BufReader::new(file).lines() {
        let Some(ms) = line?.split(' ').next().and_then(|m| m.parse::<u64>().ok()) else {
            break; // a line cut short by a crash
        };
        last = ms;
        frames += 1;
    }
    Ok((last, frames))
}

/// The frame of a camera segment at or before `ms` (from its start): `(ms, offset, len)`.
pub fn frame_at(index: &Path, ms: u64) -> io::Result<Option<(u64, u64, usize)>> {
    let mut best = None;
    for line in io::BufReader::new(fs::File::open(index)?).lines() {
        let line = line?;
        let mut f = line.split(' ').map(str::parse::<u64>);
        let (Some(Ok(at)), Some(Ok(offset)), Some(Ok(len))) = (f.next(), f.next(), f.next()) else {
            break;
        };
        if at > ms && best.is_some() {
            break;
        }
        best = Some((at, offset, len as usize));
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_source_kind_and_start() {
        let (s, k, t) = parse_id("front-door.camera.1764800000000").unwrap();
        assert_eq!(
            (s.as_str(), k, t),
            ("front-door", Kind::Camera, 1_764_800_000_000)
        );
        assert!(parse_id("a.b.c").is_none());
        assert!(parse_id("../x.audio.1").is_none());
        assert!(parse_id("x.audio").is_none());
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("relaydeck-catalog-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("cam")).unwrap();
        dir
    }

    /// A WAV of `ms` of 8 kHz mono s16 at `start`, as a recorder leaves it.
    fn wav(dir: &Path, start: u64, ms: u64) -> PathBuf {
        let data = (ms * 16) as u32;
        let path = dir.join("cam").join(format!("audio-{start}.wav"));
        let mut bytes = crate::edges::record::wav::header(8000, 1, 16, false, data).to_vec();
        bytes.resize(bytes.len() + data as usize, 0);
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_index_answers_time_ranges_and_is_rebuilt_from_the_files() {
        let dir = scratch("index");
        for start in [1_000, 700_000, 1_400_000] {
            wav(&dir, start, 600_000);
        }
        let c = Catalog::open(&dir).unwrap();
        assert_eq!(c.all().len(), 3);
        let hits = |from, to| {
            c.query(Some("cam"), from, to)
                .iter()
                .map(|s| s.start_ms)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hits(650_000, 750_000),
            [700_000],
            "the first ended at 601 000"
        );
        assert_eq!(hits(1_250_000, 1_450_000), [700_000, 1_400_000]);
        assert_eq!(hits(0, u64::MAX).len(), 3);
        assert!(hits(2_100_000, 3_000_000).is_empty());
        drop(c);
        // A lost index: rebuilt from the files; a damaged one too.
        fs::write(dir.join("index.sqlite3"), b"not a database").unwrap();
        let _ = fs::remove_file(dir.join("index.sqlite3-wal"));
        let c = Catalog::open(&dir).unwrap();
        assert_eq!(c.all().len(), 3);
        // A file removed behind its back leaves the index at the next open.
        fs::remove_file(dir.join("cam/audio-700000.wav")).unwrap();
        drop(c);
        let c = Catalog::open(&dir).unwrap();
        assert_eq!(
            c.all().iter().map(|s| s.start_ms).collect::<Vec<_>>(),
            [1_000, 1_400_000]
        );
        assert!(c.get("cam.audio.1400000").is_some() && c.get("cam.audio.700000").is_none());
    }

    #[test]
    fn motion_events_are_kept_in_files_and_found_again_when_the_index_is_lost() {
        let dir = scratch("motion");
        wav(&dir, 10_000, 60_000);
        let c = Catalog::open(&dir).unwrap();
        let ev = MotionRecord {
            source: StreamId::new("cam").unwrap(),
            start_ms: 20_000,
            end_ms: 20_000,
            peak: 0.05,
            live: true,
        };
        c.put_motion(&ev).unwrap();
        let going_on = MotionRecord {
            end_ms: 24_000,
            peak: 0.2,
            ..ev.clone()
        };
        c.put_motion(&going_on).unwrap();
        assert_eq!(c.motion(Some("cam"), 23_000, 23_500).len(), 1);
        assert_eq!(c.motion(Some("cam"), 23_000, 23_500)[0], going_on);
        assert!(c.motion(Some("cam"), 25_000, 30_000).is_empty());
        assert!(c.motion(Some("other"), 0, u64::MAX).is_empty());
        let seg = c.all().pop().unwrap();
        assert!(c.has_motion(&seg));
        assert_eq!(c.motion_event("cam.20000"), Some(going_on.clone()));
        assert_eq!(c.motion_event("cam.20001"), None);
        drop(c);
        // The index is lost while the event goes on: found again, ended where its file said.
        fs::write(dir.join("index.sqlite3"), b"gone").unwrap();
        let _ = fs::remove_file(dir.join("index.sqlite3-wal"));
        let c = Catalog::open(&dir).unwrap();
        let found = c.motion(None, 0, u64::MAX);
        assert_eq!(
            found,
            [MotionRecord {
                live: false,
                ..going_on
            }]
        );
        c.remove_motion(&found[0]);
        assert!(c.motion(None, 0, u64::MAX).is_empty());
        assert!(!dir.join("cam/motion-20000.json").exists());
    }
}
