//! A time range of one source as one file, cut across its segments:
//! Matroska for a camera (its JPEG frames and a linked audio track, blocks
//! copied as they are), WAV for an audio source (its PCM, cut on sample
//! frames). Segments are joined end to end in time order; a gap between
//! them (the source was away, or recording paused) is not filled. A clip
//! keeps to the first segment's tracks or format: it ends where those
//! change (a new picture size, another sample rate), and says so.

use std::{
    fs,
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
};

use super::{
    catalog::{Kind, Segment},
    mkv::{MkvReader, MkvWriter},
    wav,
};

/// What a clip holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    /// Unix ms of its first and its last frame or sample.
    pub start_ms: u64,
    pub end_ms: u64,
    /// It ends early: a later segment had other tracks or another format.
    pub cut_short: bool,
}

/// Writes `[from_ms, to_ms]` (Unix ms) of `segments` (one source's, of
/// `kind`) into `out`; `None` when nothing was recorded then.
pub fn write(
    kind: Kind,
    segments: &[Segment],
    from_ms: u64,
    to_ms: u64,
    out: &mut fs::File,
) -> io::Result<Option<Clip>> {
    let mut segs: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.kind == kind && s.end_ms >= from_ms && s.start_ms <= to_ms)
        .collect();
    segs.sort_by_key(|s| s.start_ms);
    match kind {
        Kind::Camera => camera(&segs, from_ms, to_ms, out),
        Kind::Audio => audio(&segs, from_ms, to_ms, out),
    }
}

fn camera(
    segs: &[&Segment],
    from_ms: u64,
    to_ms: u64,
    out: &mut fs::File,
) -> io::Result<Option<Clip>> {
    let mut writer: Option<(MkvWriter<BufWriter<&mut fs::File>>, Vec<super::mkv::Track>)> = None;
    let (mut base, mut last, mut cut_short) = (None::<u64>, 0u64, false);
    let mut out = Some(out);
    for seg in segs {
        let mut reader = MkvReader::open(BufReader::new(fs::File::open(&seg.path)?))?;
        if let Some((_, tracks)) = &writer {
            if *tracks != reader.tracks {
                cut_short = true;
                break;
            }
        }
        let from = from_ms.saturating_sub(seg.start_ms);
        let to = to_ms.saturating_sub(seg.start_ms);
        let tracks = reader.tracks.clone();
        reader.blocks(from, to, |track, ms, data| {
            let at = seg.start_ms + ms;
            if writer.is_none() {
                let file = out.take().expect("one writer");
                writer = Some((
                    MkvWriter::new(BufWriter::new(file), &tracks)?,
                    tracks.clone(),
                ));
            }
            let b = *base.get_or_insert(at);
            // Blocks never go back in time, across segments too.
            let rel = (at - b.min(at)).max(last.saturating_sub(b));
            last = b + rel;
            writer
                .as_mut()
                .expect("made above")
                .0
                .block(track, rel, data)
        })?;
    }
    let Some((mut w, _)) = writer else {
        return Ok(None);
    };
    let start = base.unwrap_or(from_ms);
    w.set_duration(last - start)?;
    w.get_mut().flush()?;
    Ok(Some(Clip {
        start_ms: start,
        end_ms: last,
        cut_short,
    }))
}

fn audio(
    segs: &[&Segment],
    from_ms: u64,
    to_ms: u64,
    out: &mut fs::File,
) -> io::Result<Option<Clip>> {
    let mut format: Option<wav::Format> = None;
    let (mut data, mut start, mut end, mut cut_short) = (0u64, None::<u64>, 0u64, false);
    let mut w = BufWriter::new(&mut *out);
    for seg in segs {
        let mut f = fs::File::open(&seg.path)?;
        let mut head = [0u8; wav::HEADER];
        f.read_exact(&mut head)?;
        let this = wav::Format::read(&head);
        match format {
            None => {
                w.write_all(&this.header(0))?;
                format = Some(this);
            }
            Some(first) if first != this => {
                cut_short = true;
                break;
            }
            Some(_) => {}
        }
        let (block, rate) = (this.block().max(1), u64::from(this.rate.max(1)));
        let on_disk = f.metadata()?.len().saturating_sub(wav::HEADER as u64) / block * block;
        let at = |ms: u64| (ms.saturating_mul(rate) / 1000 * block).min(on_disk);
        let (a, b) = (
            at(from_ms.saturating_sub(seg.start_ms)),
            at(to_ms.saturating_sub(seg.start_ms)),
        );
        if b <= a {
            continue;
        }
        if data + (b - a) > u64::from(u32::MAX) - wav::HEADER as u64 {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "a WAV file holds at most 4 GiB: ask for a shorter range",
            ));
        }
        f.seek(SeekFrom::Start(wav::HEADER as u64 + a))?;
        io::copy(&mut (&mut f).take(b - a), &mut w)?;
        let ms_of = |bytes: u64| bytes / block * 1000 / rate;
        start.get_or_insert(seg.start_ms + ms_of(a));
        end = seg.start_ms + ms_of(b);
        data += b - a;
    }
    let (Some(format), Some(start)) = (format, start) else {
        return Ok(None);
    };
    w.flush()?;
    drop(w);
    out.seek(SeekFrom::Start(0))?;
    out.write_all(&format.header(data as u32))?;
    out.seek(SeekFrom::End(0))?;
    Ok(Some(Clip {
        start_ms: start,
        end_ms: end,
        cut_short,
    }))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use relaydeck_hub::StreamId;

    use super::*;
    use crate::edges::record::mkv::Track;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("relaydeck-clip-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn seg(kind: Kind, path: &Path, start_ms: u64, end_ms: u64) -> Segment {
        Segment {
            source: StreamId::new("cam").unwrap(),
            kind,
            start_ms,
            end_ms,
            bytes: 0,
            frames: 0,
            live: false,
            path: path.to_owned(),
        }
    }

    /// A camera segment of frames every 100 ms for `secs` s, each frame's bytes naming its Unix ms.
    fn camera_segment(dir: &Path, start_ms: u64, secs: u64, width: u32) -> Segment {
        let path = dir.join(format!("camera-{start_ms}.mkv"));
        let mut w = MkvWriter::new(
            fs::File::create(&path).unwrap(),
            &[Track::Video { width, height: 8 }],
        )
        .unwrap();
        for i in 0..secs * 10 {
            w.block(1, i * 100, (start_ms + i * 100).to_string().as_bytes())
                .unwrap();
        }
        seg(
            Kind::Camera,
            &path,
            start_ms,
            start_ms + (secs * 10 - 1) * 100,
        )
    }

    fn frames_in(path: &Path) -> (Vec<Track>, Vec<(u64, String)>) {
        let mut r = MkvReader::open(BufReader::new(fs::File::open(path).unwrap())).unwrap();
        let mut out = Vec::new();
        r.blocks(0, u64::MAX, |_, ms, d| {
            out.push((ms, String::from_utf8(d.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        (r.tracks, out)
    }

    #[test]
    fn a_camera_range_across_two_segments_is_one_file_with_each_frame_once() {
        let dir = scratch("camera");
        let segs = [
            camera_segment(&dir, 10_000, 10, 16),
            camera_segment(&dir, 20_000, 10, 16),
            camera_segment(&dir, 30_000, 5, 32),
        ];
        let path = dir.join("clip.mkv");
        let mut out = fs::File::create(&path).unwrap();
        let clip = write(Kind::Camera, &segs, 18_000, 22_050, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(
            clip,
            Clip {
                start_ms: 18_000,
                end_ms: 22_000,
                cut_short: false
            }
        );
        let (tracks, frames) = frames_in(&path);
        assert_eq!(
            tracks,
            [Track::Video {
                width: 16,
                height: 8
            }]
        );
        assert_eq!(frames.len(), 41, "18.0 s to 22.0 s at 10 fps");
        for (ms, name) in &frames {
            assert_eq!(
                name.parse::<u64>().unwrap(),
                18_000 + ms,
                "each frame at its own time"
            );
        }
        // Into the segment of another picture size: the clip stops there, and says so.
        let mut out = fs::File::create(&path).unwrap();
        let clip = write(Kind::Camera, &segs, 29_000, 31_000, &mut out)
            .unwrap()
            .unwrap();
        assert!(clip.cut_short && clip.end_ms == 29_900, "{clip:?}");
        let mut out = fs::File::create(&path).unwrap();
        assert_eq!(
            write(Kind::Camera, &segs, 40_000, 50_000, &mut out).unwrap(),
            None
        );
    }

    #[test]
    fn an_audio_range_across_segments_is_one_wav_of_exactly_that_pcm() {
        let dir = scratch("audio");
        let mut segs = Vec::new();
        let mut all = Vec::new();
        for (n, start) in [0u64, 1_000].into_iter().enumerate() {
            // 1 s of 8 kHz mono s16: sample values count on across segments.
            let pcm: Vec<u8> = (0..8000u32)
                .flat_map(|i| ((n as u32 * 8000 + i) as u16).to_le_bytes())
                .collect();
            let path = dir.join(format!("audio-{start}.wav"));
            let mut bytes = wav::header(8000, 1, 16, false, pcm.len() as u32).to_vec();
            bytes.extend(&pcm);
            fs::write(&path, bytes).unwrap();
            all.extend(pcm);
            segs.push(seg(Kind::Audio, &path, start, start + 1000));
        }
        let path = dir.join("clip.wav");
        let mut out = fs::File::create(&path).unwrap();
        let clip = write(Kind::Audio, &segs, 750, 1_250, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(
            (clip.start_ms, clip.end_ms, clip.cut_short),
            (750, 1_250, false)
        );
        drop(out);
        let bytes = fs::read(&path).unwrap();
        let head: [u8; wav::HEADER] = bytes[..wav::HEADER].try_into().unwrap();
        assert_eq!(
            wav::Format::read(&head),
            wav::Format {
                rate: 8000,
                channels: 1,
                bits: 16,
                float: false
            }
        );
        assert_eq!(&bytes[40..44], &8000u32.to_le_bytes(), "0.5 s of s16 mono");
        assert_eq!(
            &bytes[wav::HEADER..],
            &all[750 * 16..1_250 * 16],
            "the PCM across the join, once"
        );
    }
}
