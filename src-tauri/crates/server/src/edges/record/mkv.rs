//! A Matroska writer for camera recordings: the JPEG frames as they came
//! (`V_MJPEG`, no re-encoding), each with its own timestamp (1 ms scale), so
//! a variable frame rate stays exact.
//!
//! Written "live": the Segment and every Cluster have the unknown size, so a
//! file cut short at any point (a crash, `kill -9`) is still a valid file up
//! to its last whole block — ffmpeg, ffprobe and VLC read it as it is. A
//! Cluster holds at most one second, which is what a crash can lose once the
//! writer has synced.

use std::io::{self, Write};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;

/// The unknown size (8-byte VINT, all ones).
const UNKNOWN: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// The longest a Cluster spans, in ms.
pub const CLUSTER_MS: u64 = 1000;

/// An EBML element ID as written (its own length is in its leading bits).
fn id_bytes(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let skip = b.iter().position(|&x| x != 0).unwrap_or(3);
    b[skip..].to_vec()
}

/// A data size as an EBML VINT (the shortest that holds it, 1–8 bytes).
fn size_bytes(n: u64) -> Vec<u8> {
    let len = (1..=8).find(|&l| n < (1u64 << (7 * l)) - 1).unwrap_or(8);
    let marked = n | (1u64 << (7 * len));
    marked.to_be_bytes()[8 - len as usize..].to_vec()
}

fn element(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = id_bytes(id);
    out.extend(size_bytes(body.len() as u64));
    out.extend_from_slice(body);
    out
}

fn uint(id: u32, v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().position(|&x| x != 0).unwrap_or(7);
    element(id, &b[skip..])
}

fn float(id: u32, v: f64) -> Vec<u8> {
    element(id, &v.to_be_bytes())
}

fn string(id: u32, v: &str) -> Vec<u8> {
    element(id, v.as_bytes())
}

/// What a recording's file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Track {
    Video {
        width: u32,
        height: u32,
    },
    /// Little-endian integer PCM (`A_PCM/INT/LIT`) or float (`A_PCM/FLOAT/IEEE`).
    Audio {
        rate: u32,
        channels: u16,
        bits: u16,
        float: bool,
    },
}

impl Track {
    fn entry(&self, number: u64) -> Vec<u8> {
        let mut body = uint(0xD7, number); // TrackNumber
        body.extend(uint(0x73C5, number)); // TrackUID
        body.extend(uint(0x9C, 0)); // FlagLacing: one frame per block
        match *self {
            Track::Video { width, height } => {
                body.extend(uint(0x83, 1)); // TrackType: video
                body.extend(string(0x86, "V_MJPEG"));
                let mut video = uint(0xB0, u64::from(width));
                video.extend(uint(0xBA, u64::from(height)));
                body.extend(element(0xE0, &video));
            }
            Track::Audio {
                rate,
                channels,
                bits,
                float: is_float,
            } => {
                body.extend(uint(0x83, 2)); // TrackType: audio
                let codec = if is_float {
                    "A_PCM/FLOAT/IEEE"
                } else {
                    "A_PCM/INT/LIT"
                };
                body.extend(string(0x86, codec));
                let mut audio = float(0xB5, f64::from(rate));
                audio.extend(uint(0x9F, u64::from(channels)));
                audio.extend(uint(0x6264, u64::from(bits)));
                body.extend(element(0xE1, &audio));
            }
        }
        element(TRACK_ENTRY, &body)
    }
}

/// Writes blocks into `out`, opening a Cluster at least every [`CLUSTER_MS`].
pub struct MkvWriter<W: Write> {
    out: W,
    cluster_ms: Option<u64>,
    written: u64,
    /// Where the Info's Duration (an 8-byte float, in ms) is, to keep it true.
    duration_at: u64,
}

impl<W: Write> MkvWriter<W> {
    /// The EBML header, the Segment, its Info and Tracks (track numbers from 1, in order).
    pub fn new(mut out: W, tracks: &[Track]) -> io::Result<Self> {
        let mut head = element(
            EBML,
            &[
                uint(0x4286, 1), // EBMLVersion
                uint(0x42F7, 1), // EBMLReadVersion
                uint(0x42F2, 4), // EBMLMaxIDLength
                uint(0x42F3, 8), // EBMLMaxSizeLength
                string(0x4282, "matroska"),
                uint(0x4287, 4), // DocTypeVersion
                uint(0x4285, 2), // DocTypeReadVersion
            ]
            .concat(),
        );
        head.extend(id_bytes(SEGMENT));
        head.extend(UNKNOWN);
        let info = [
            uint(0x2A_D7B1, 1_000_000), // TimestampScale: 1 ms
            string(0x4D80, "Relay Deck"),
            string(0x5741, "Relay Deck"),
            float(0x4489, 0.0), // Duration, rewritten at each sync
        ]
        .concat();
        let info = element(INFO, &info);
        let duration_at = (head.len() + info.len() - 8) as u64;
        head.extend(info);
        let entries: Vec<u8> = tracks
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.entry(i as u64 + 1))
            .collect();
        head.extend(element(TRACKS, &entries));
        out.write_all(&head)?;
        Ok(Self {
            out,
            cluster_ms: None,
            written: head.len() as u64,
            duration_at,
        })
    }

    /// One frame (a JPEG, or a run of PCM) of track `track` at `ms` from the
    /// file's start; times must not go backwards within a track.
    pub fn block(&mut self, track: u8, ms: u64, data: &[u8]) -> io::Result<()> {
        let cluster = match self.cluster_ms {
            Some(c) if ms >= c && ms - c < CLUSTER_MS => c,
            _ => {
                let mut open = id_bytes(CLUSTER);
                open.extend(UNKNOWN);
                open.extend(uint(TIMESTAMP, ms));
                self.out.write_all(&open)?;
                self.written += open.len() as u64;
                self.cluster_ms = Some(ms);
                ms
            }
        };
        let relative = (ms - cluster) as i16;
        let mut head = id_bytes(SIMPLE_BLOCK);
        head.extend(size_bytes(data.len() as u64 + 4));
        head.push(0x80 | track); // track number as a 1-byte VINT
        head.extend(relative.to_be_bytes());
        head.push(0x80); // keyframe
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.written += (head.len() + data.len()) as u64;
        Ok(())
    }

    /// Sets the Info's Duration to `ms` (what has been written), so a
    /// player knows the length even of a file a crash cut short.
    pub fn set_duration(&mut self, ms: u64) -> io::Result<()>
    where
        W: io::Seek,
    {
        self.out.seek(io::SeekFrom::Start(self.duration_at))?;
        self.out.write_all(&(ms as f64).to_be_bytes())?;
        self.out.seek(io::SeekFrom::End(0))?;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads back what [`MkvWriter`] wrote (and only that: one Segment of
/// unknown size, Info, Tracks, then Clusters of SimpleBlocks), for clips
/// cut across segments. A file a crash cut short ends at its last whole block.
pub struct MkvReader<R> {
    input: R,
    pub tracks: Vec<Track>,
}

fn read_vint<R: io::Read>(r: &mut R, keep_marker: bool) -> io::Result<(u64, usize)> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    let len = first[0].leading_zeros() as usize + 1;
    if len > 8 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an EBML number",
        ));
    }
    let mut value = u64::from(if keep_marker {
        first[0]
    } else {
        first[0] & (0xFFu16 >> len) as u8
    });
    let mut rest = [0u8; 7];
    r.read_exact(&mut rest[..len - 1])?;
    for b in &rest[..len - 1] {
        value = value << 8 | u64::from(*b);
    }
    Ok((value, len))
}

/// An element's ID and its size (`None`: unknown).
fn read_header<R: io::Read>(r: &mut R) -> io::Result<(u32, Option<u64>)> {
    let (id, _) = read_vint(r, true)?;
    let (size, len) = read_vint(r, false)?;
    let unknown = size == (1u64 << (7 * len)) - 1;
    Ok((id as u32, (!unknown).then_some(size)))
}

fn read_body<R: io::Read>(r: &mut R, size: u64) -> io::Result<Vec<u8>> {
    if size > 1 << 20 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a header element is too large",
        ));
    }
    let mut body = vec![0u8; size as usize];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// The children of a master element's body: `(id, body)`.
fn children(mut body: &[u8]) -> io::Result<Vec<(u32, Vec<u8>)>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (id, size) = read_header(&mut body)?;
        let size = size.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "unknown size inside a header")
        })?;
        out.push((id, read_body(&mut body, size)?));
    }
    Ok(out)
}

fn uint_of(body: &[u8]) -> u64 {
    body.iter().fold(0, |v, b| v << 8 | u64::from(*b))
}

fn track_of(entry: &[u8]) -> io::Result<Track> {
    let fields = children(entry)?;
    let find = |id: u32| {
        fields
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| b.as_slice())
    };
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "a track Relay Deck does not write",
        )
    };
    match find(0x83).map(uint_of) {
        Some(1) => {
            let video = children(find(0xE0).ok_or_else(bad)?)?;
            let get = |id| {
                video
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, b)| uint_of(b) as u32)
            };
            Ok(Track::Video {
                width: get(0xB0).ok_or_else(bad)?,
                height: get(0xBA).ok_or_else(bad)?,
            })
        }
        Some(2) => {
            let audio = children(find(0xE1).ok_or_else(bad)?)?;
            let get = |id| audio.iter().find(|(i, _)| *i == id).map(|(_, b)| b.clone());
            let rate = get(0xB5)
                .and_then(|b| b.try_into().ok())
                .map(f64::from_be_bytes)
                .ok_or_else(bad)?;
            Ok(Track::Audio {
                rate: rate as u32,
                channels: get(0x9F).map(|b| uint_of(&b) as u16).ok_or_else(bad)?,
                bits: get(0x6264).map(|b| uint_of(&b) as u16).ok_or_else(bad)?,
                float: find(0x86) == Some(b"A_PCM/FLOAT/IEEE".as_slice()),
            })
        }
        _ => Err(bad()),
    }
}

impl<R: io::Read + io::Seek> MkvReader<R> {
    /// The file's tracks; the reader stands at its first Cluster.
    pub fn open(mut input: R) -> io::Result<Self> {
        let (id, size) = read_header(&mut input)?;
        if id != EBML {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a Matroska file",
            ));
        }
        input.seek(io::SeekFrom::Current(size.unwrap_or(0) as i64))?;
        let (id, _) = read_header(&mut input)?;
        if id != SEGMENT {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no Segment"));
        }
        loop {
            let at = input.stream_position()?;
            let (id, size) = read_header(&mut input)?;
            match (id, size) {
                (TRACKS, Some(size)) => {
                    let tracks = children(&read_body(&mut input, size)?)?
                        .into_iter()
                        .filter(|(id, _)| *id == TRACK_ENTRY)
                        .map(|(_, e)| track_of(&e))
                        .collect::<io::Result<Vec<_>>>()?;
                    return Ok(Self { input, tracks });
                }
                (CLUSTER, _) | (_, None) => {
                    input.seek(io::SeekFrom::Start(at))?;
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "no Tracks before the first Cluster",
                    ));
                }
                (_, Some(size)) => {
                    input.seek(io::SeekFrom::Current(size as i64))?;
                }
            }
        }
    }

    /// Calls `f(track, ms, data)` for each block from `from_ms` to `to_ms`
    /// (times from the file's start), in file order; blocks outside are
    /// skipped unread, and reading stops after the first Cluster past `to_ms`.
    pub fn blocks(
        &mut self,
        from_ms: u64,
        to_ms: u64,
        mut f: impl FnMut(u8, u64, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut cluster = 0u64;
        let mut data = Vec::new();
        loop {
            let (id, size) = match read_header(&mut self.input) {
                Ok(h) => h,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            };
            match (id, size) {
                (CLUSTER, _) => {} // its children follow
                (TIMESTAMP, Some(size)) => {
                    cluster = uint_of(&read_body(&mut self.input, size)?);
                    if cluster > to_ms {
                        return Ok(());
                    }
                }
                (SIMPLE_BLOCK, Some(size)) if size >= 4 => {
                    let mut head = [0u8; 4];
                    self.input.read_exact(&mut head)?;
                    let track = head[0] & 0x7F;
                    let ms = cluster
                        .saturating_add_signed(i64::from(i16::from_be_bytes([head[1], head[2]])));
                    let len = size - 4;
                    if (from_ms..=to_ms).contains(&ms) {
                        data.resize(len as usize, 0);
                        match self.input.read_exact(&mut data) {
                            Ok(()) => f(track, ms, &data)?,
                            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                            Err(e) => return Err(e),
                        }
                    } else {
                        self.input.seek(io::SeekFrom::Current(len as i64))?;
                    }
                }
                (_, Some(size)) => {
                    self.input.seek(io::SeekFrom::Current(size as i64))?;
                }
                (_, None) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "an element of unknown size inside a Cluster",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ids_are_ebml_vints() {
        assert_eq!(size_bytes(0), [0x80]);
        assert_eq!(size_bytes(126), [0xFE]);
        // 127 is the reserved all-ones value of one byte: two bytes then.
        assert_eq!(size_bytes(127), [0x40, 0x7F]);
        assert_eq!(size_bytes(16_382), [0x7F, 0xFE]);
        assert_eq!(size_bytes(16_383), [0x20, 0x3F, 0xFF]);
        assert_eq!(id_bytes(SEGMENT), [0x18, 0x53, 0x80, 0x67]);
        assert_eq!(id_bytes(SIMPLE_BLOCK), [0xA3]);
        assert_eq!(uint(0xD7, 1), [0xD7, 0x81, 0x01]);
    }

    #[test]
    fn a_new_cluster_opens_each_second_and_when_time_jumps() {
        let mut w = MkvWriter::new(
            Vec::new(),
            &[Track::Video {
                width: 16,
                height: 16,
            }],
        )
        .unwrap();
        let clusters = |w: &MkvWriter<Vec<u8>>| {
            w.out
                .windows(4)
                .filter(|x| *x == id_bytes(CLUSTER).as_slice())
                .count()
        };
        w.block(1, 0, b"a").unwrap();
        w.block(1, 999, b"b").unwrap();
        assert_eq!(clusters(&w), 1);
        w.block(1, 1000, b"c").unwrap();
        assert_eq!(clusters(&w), 2);
        w.block(1, 40_000, b"d").unwrap();
        assert_eq!(clusters(&w), 3);
        assert_eq!(w.len(), w.out.len() as u64);
    }

    #[test]
    fn what_the_writer_wrote_reads_back_block_for_block_even_cut_short() {
        let tracks = [
            Track::Video {
                width: 640,
                height: 480,
            },
            Track::Audio {
                rate: 48_000,
                channels: 2,
                bits: 16,
                float: false,
            },
        ];
        let mut w = MkvWriter::new(io::Cursor::new(Vec::new()), &tracks).unwrap();
        let mut blocks = Vec::new();
        for i in 0..100u64 {
            let (track, ms) = (1 + (i % 2) as u8, i * 33);
            let data = vec![i as u8; 10 + i as usize * 7];
            w.block(track, ms, &data).unwrap();
            blocks.push((track, ms, data));
        }
        w.set_duration(99 * 33).unwrap();
        let bytes = w.into_inner().into_inner();
        let mut r = MkvReader::open(io::Cursor::new(bytes.clone())).unwrap();
        assert_eq!(r.tracks, tracks);
        let mut got = Vec::new();
        r.blocks(0, u64::MAX, |t, ms, d| {
            got.push((t, ms, d.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, blocks);
        // A range: only its blocks.
        let mut r = MkvReader::open(io::Cursor::new(bytes.clone())).unwrap();
        let mut got = Vec::new();
        r.blocks(1000, 2000, |_, ms, _| {
            got.push(ms);
            Ok(())
        })
        .unwrap();
        assert_eq!(got.first(), Some(&1023));
        assert_eq!(got.last(), Some(&1980));
        // Cut mid-block by a crash: everything before the cut.
        let cut = bytes.len() - 50;
        let mut r = MkvReader::open(io::Cursor::new(bytes[..cut].to_vec())).unwrap();
        let mut n = 0;
        r.blocks(0, u64::MAX, |_, _, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 99);
        assert!(MkvReader::open(io::Cursor::new(b"RIFF....WAVE".to_vec())).is_err());
    }
}
