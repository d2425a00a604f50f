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
}
