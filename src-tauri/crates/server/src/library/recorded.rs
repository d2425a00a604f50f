//! Audio recordings as files of the library: every finished audio segment
//! of `edges::record` is listed beside the uploads (origin `recording`,
//! visible to whoever may listen to its source) and plays over the
//! `fileStream` channel like them. Its PCM is the WAV's data, so `pcm` mode
//! reads it in place (after the 44-byte header) in the source's own
//! encoding.

use std::{io::Read, path::Path};

use relaydeck_contract::api::{AudioFile, FileOrigin};
use sha2::Digest;

use crate::edges::record::{
    catalog::{Catalog, Kind, Segment},
    wav,
};

/// A recording's file ID: `rec-<startms>-<8 hex of the source's SHA-256>`
/// (short enough for any source ID, and in the ID alphabet).
pub fn file_id(seg: &Segment) -> String {
    let hash = sha2::Sha256::digest(seg.source.as_str().as_bytes());
    format!("rec-{}-{}", seg.start_ms, crate::secrets::hex(&hash[..4]))
}

/// The WAV format of a recording.
fn format(path: &Path) -> Option<wav::Format> {
    let mut head = [0u8; wav::HEADER];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    Some(wav::Format::read(&head))
}

/// The PCM encoding name of a recording (`s16le`, `s32le`, `f32le`).
pub fn encoding(path: &Path) -> &'static str {
    match format(path) {
        Some(f) if f.bits == 32 && f.float => "f32le",
        Some(f) if f.bits == 32 => "s32le",
        _ => "s16le",
    }
}

/// One finished audio segment as a library entry.
pub fn entry(seg: &Segment) -> Option<AudioFile> {
    if seg.kind != Kind::Audio || seg.live {
        return None;
    }
    let wav::Format { rate, channels, .. } = format(&seg.path)?;
    Some(AudioFile {
        id: file_id(seg),
        name: format!("{} {}", seg.source, seg.start_ms),
        origin: FileOrigin::Recording,
        source: Some(seg.source.to_string()),
        format: "wav".into(),
        mime: "audio/wav".into(),
        size: seg.bytes,
        sample_rate: rate,
        channels,
        duration_sec: (seg.end_ms - seg.start_ms) as f64 / 1000.0,
        pcm_size: seg.bytes.saturating_sub(wav::HEADER as u64),
        added_ms: seg.start_ms,
    })
}

/// Every finished audio recording as library entries, with their segments.
pub fn all(catalog: &Catalog) -> Vec<(AudioFile, Segment)> {
    catalog
        .all()
        .into_iter()
        .filter_map(|seg| entry(&seg).map(|f| (f, seg)))
        .collect()
}

/// The recording with file ID `id`.
pub fn find(catalog: &Catalog, id: &str) -> Option<(AudioFile, Segment)> {
    let start: u64 = id.strip_prefix("rec-")?.split('-').next()?.parse().ok()?;
    catalog
        .query(None, start, start)
        .into_iter()
        .filter(|s| s.start_ms == start)
        .find_map(|seg| entry(&seg).filter(|f| f.id == id).map(|f| (f, seg)))
}
