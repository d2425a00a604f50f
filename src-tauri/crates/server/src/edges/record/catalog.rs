//! The recordings on disk, as the API lists them: one entry per segment,
//! kept in memory and rebuilt from the files at start (the files are the
//! truth; nothing else needs to survive a crash).
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

use parking_lot::RwLock;
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

#[derive(Debug, Default)]
pub struct Catalog {
    segments: RwLock<BTreeMap<(StreamId, Kind, u64), Segment>>,
}

impl Catalog {
    /// Every segment under `dir`, as its files say.
    pub fn scan(dir: &Path) -> Self {
        let catalog = Catalog::default();
        let Ok(sources) = fs::read_dir(dir) else {
            return catalog;
        };
        for source_dir in sources.flatten() {
            let Some(source) = source_dir
                .file_name()
                .to_str()
                .and_then(|s| StreamId::new(s).ok())
            else {
                continue;
            };
            let Ok(files) = fs::read_dir(source_dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                match read_segment(&source, &file.path()) {
                    Ok(Some(seg)) => catalog.put(seg),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(file = %file.path().display(), error = %e, "a recording is skipped")
                    }
                }
            }
        }
        catalog
    }

    pub fn put(&self, seg: Segment) {
        self.segments
            .write()
            .insert((seg.source.clone(), seg.kind, seg.start_ms), seg);
    }

    pub fn get(&self, id: &str) -> Option<Segment> {
        let key = parse_id(id)?;
        self.segments.read().get(&key).cloned()
    }

    pub fn remove(&self, seg: &Segment) {
        self.segments
            .write()
            .remove(&(seg.source.clone(), seg.kind, seg.start_ms));
    }

    /// Segments of `source` (all when `None`) overlapping `[from, to]`, oldest first.
    pub fn query(&self, source: Option<&str>, from: u64, to: u64) -> Vec<Segment> {
        self.segments
            .read()
            .values()
            .filter(|s| source.is_none_or(|id| s.source.as_str() == id))
            .filter(|s| s.end_ms >= from && s.start_ms <= to)
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Segment> {
        self.segments.read().values().cloned().collect()
    }
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
