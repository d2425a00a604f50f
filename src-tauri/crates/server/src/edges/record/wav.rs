//! A WAV file that stays valid while it grows: the header's sizes are
//! rewritten each time the writer syncs (every second), so a file cut short
//! by a crash plays up to its last sync.

use std::io::{self, Seek, SeekFrom, Write};

/// The 44-byte header of a canonical WAV file.
pub const HEADER: usize = 44;

/// The header for `data` bytes of PCM (`float`: format tag 3, IEEE float).
pub fn header(rate: u32, channels: u16, bits: u16, float: bool, data: u32) -> [u8; HEADER] {
    let block = channels * bits / 8;
    let mut h = [0u8; HEADER];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data.saturating_add(36).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&(if float { 3u16 } else { 1 }).to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block)).to_le_bytes());
    h[32..34].copy_from_slice(&block.to_le_bytes());
    h[34..36].copy_from_slice(&bits.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

/// What a canonical header says: rate, channels, bits per sample, float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub rate: u32,
    pub channels: u16,
    pub bits: u16,
    pub float: bool,
}

impl Format {
    /// From the first 44 bytes of a WAV file.
    pub fn read(head: &[u8; HEADER]) -> Self {
        let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
        Format {
            rate: u32::from_le_bytes([head[24], head[25], head[26], head[27]]),
            channels: u16_at(22),
            bits: u16_at(34),
            float: u16_at(20) == 3,
        }
    }

    /// Bytes per sample frame.
    pub fn block(&self) -> u64 {
        u64::from(self.channels) * u64::from(self.bits) / 8
    }

    /// The header for `data` bytes in this format.
    pub fn header(&self, data: u32) -> [u8; HEADER] {
        header(self.rate, self.channels, self.bits, self.float, data)
    }
}

/// Appends PCM to a WAV file and keeps its header true at each sync.
pub struct WavWriter<W: Write + Seek> {
    out: W,
    format: (u32, u16, u16, bool),
    data: u64,
}

impl<W: Write + Seek> WavWriter<W> {
    pub fn new(mut out: W, rate: u32, channels: u16, bits: u16, float: bool) -> io::Result<Self> {
        out.write_all(&header(rate, channels, bits, float, 0))?;
        Ok(Self {
            out,
            format: (rate, channels, bits, float),
            data: 0,
        })
    }

    pub fn write(&mut self, pcm: &[u8]) -> io::Result<()> {
        self.out.write_all(pcm)?;
        self.data += pcm.len() as u64;
        Ok(())
    }

    /// Bytes of PCM written.
    pub fn data_len(&self) -> u64 {
        self.data
    }

    /// Rewrites the header's sizes for what has been written, and returns
    /// to the end (the caller flushes and syncs the file after).
    pub fn update_header(&mut self) -> io::Result<()> {
        let (rate, channels, bits, float) = self.format;
        let data = u32::try_from(self.data).unwrap_or(u32::MAX);
        self.out.seek(SeekFrom::Start(0))?;
        self.out
            .write_all(&header(rate, channels, bits, float, data))?;
        self.out.seek(SeekFrom::End(0))?;
        Ok(())
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

/// The stretch `[from_ms, to_ms)` of a recording's WAV file, as a WAV file
/// of its own (the same format; cut on sample frames).
pub fn cut(path: &std::path::Path, from_ms: u64, to_ms: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; HEADER];
    f.read_exact(&mut head)?;
    let format = Format::read(&head);
    let block = format.block().max(1);
    let rate = format.rate;
    let data = f.metadata()?.len().saturating_sub(HEADER as u64) / block * block;
    let at = |ms: u64| (ms.saturating_mul(u64::from(rate)) / 1000 * block).min(data);
    let (a, b) = (at(from_ms), at(to_ms));
    f.seek(SeekFrom::Start(HEADER as u64 + a))?;
    let mut out = format.header((b - a) as u32).to_vec();
    f.take(b - a).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_tells_the_truth_after_each_update() {
        let mut w = WavWriter::new(io::Cursor::new(Vec::new()), 16_000, 1, 16, false).unwrap();
        w.write(&[1, 0, 2, 0]).unwrap();
        w.update_header().unwrap();
        w.write(&[3, 0]).unwrap();
        let bytes = w.get_mut().get_ref().clone();
        assert_eq!(&bytes[40..44], &4u32.to_le_bytes(), "as of the last update");
        assert_eq!(&bytes[4..8], &40u32.to_le_bytes());
        assert_eq!(bytes.len(), HEADER + 6);
        w.update_header().unwrap();
        assert_eq!(&w.get_mut().get_ref()[40..44], &6u32.to_le_bytes());
        assert_eq!(&header(48_000, 2, 32, true, 0)[20..22], &3u16.to_le_bytes());
    }
}
