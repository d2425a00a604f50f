//! The recordings on disk, as the API lists them: one entry per segment in
//! an SQLite index, reconciled with the files at start (the files are the
//! truth; the index is rebuilt from them when it is lost).
//!
//! Layout: `<record dir>/<source>/<kind>-<start ms>.mkv|.wav`, a camera
//! segment with its frame index `….idx` beside it (one line per frame:
//! `ms offset length`, appended as frames are written).

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
    db: Mutex<rusqlite::Connection>,
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
        let catalog = Catalog { db: Mutex::new(db) };
        catalog.reconcile(dir);
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
        let db = self.db.lock();
        let sql =
            format!("SELECT {COLUMNS} FROM segments {filter} ORDER BY start_ms, source, kind");
        let rows = db.prepare_cached(&sql).and_then(|mut st| {
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
}
