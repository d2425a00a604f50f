//! What a simulated devkit plays: PCM from a tone, a WAV file or speech, made
//! as 16-bit samples and sent in the encoding the devkit declares.

use std::path::Path;

use crate::SimError;

/// How a devkit stores a sample on the wire (the hello's `audio.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    S16le,
    S32le,
    F32le,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Self::S16le => "s16le",
            Self::S32le => "s32le",
            Self::F32le => "f32le",
        }
    }

    pub fn sample_bytes(self) -> usize {
        match self {
            Self::S16le => 2,
            Self::S32le | Self::F32le => 4,
        }
    }

    /// One 16-bit sample in this encoding (s32le: the same level, shifted up;
    /// f32le: scaled to [-1, 1)).
    pub fn encode(self, s: i16, out: &mut Vec<u8>) {
        match self {
            Self::S16le => out.extend_from_slice(&s.to_le_bytes()),
            Self::S32le => out.extend_from_slice(&((s as i32) << 16).to_le_bytes()),
            Self::F32le => out.extend_from_slice(&(s as f32 / 32768.0).to_le_bytes()),
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Self::S16le, Self::S32le, Self::F32le]
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("'{s}' is not an encoding (s16le, s32le or f32le)"))
    }
}

/// Interleaved PCM in the devkit's format, played packet by packet.
#[derive(Debug, Clone)]
pub struct PcmSource {
    pcm: Vec<u8>,
    pos: usize,
    channels: u16,
    /// Bytes per sample (2 until [`PcmSource::encoded`] says otherwise).
    sample_bytes: usize,
    /// Start again at the end (tones loop; files and speech play once).
    looping: bool,
}

impl PcmSource {
    /// A sine tone, one second long and looped, so it plays forever.
    pub fn tone(freq_hz: f64, sample_rate: u32, channels: u16, amplitude: f64) -> Self {
        let mut pcm = Vec::with_capacity(sample_rate as usize * channels as usize * 2);
        for i in 0..sample_rate {
            let v = (amplitude
                * i16::MAX as f64
                * (2.0 * std::f64::consts::PI * freq_hz * i as f64 / sample_rate as f64).sin())
                as i16;
            for _ in 0..channels {
                pcm.extend_from_slice(&v.to_le_bytes());
            }
        }
        Self {
            pcm,
            pos: 0,
            channels,
            sample_bytes: 2,
            looping: true,
        }
    }

    /// Raw PCM, played once.
    pub fn raw(pcm: Vec<u8>, channels: u16) -> Self {
        Self {
            pcm,
            pos: 0,
            channels,
            sample_bytes: 2,
            looping: false,
        }
    }

    /// A PCM WAV file, converted to the devkit's rate and channel count.
    pub fn wav_file(path: &Path, sample_rate: u32, channels: u16) -> Result<Self, SimError> {
        let data = std::fs::read(path)
            .map_err(|e| SimError::Audio(format!("cannot read {}: {e}", path.display())))?;
        Self::wav_bytes(&data, sample_rate, channels)
    }

    pub fn wav_bytes(data: &[u8], sample_rate: u32, channels: u16) -> Result<Self, SimError> {
        let wav = parse_wav(data)?;
        let mono = resample(
            &to_mono(&wav.samples, wav.channels),
            wav.sample_rate,
            sample_rate,
        );
        let mut pcm = Vec::with_capacity(mono.len() * 2 * channels as usize);
        for s in mono {
            for _ in 0..channels {
                pcm.extend_from_slice(&s.to_le_bytes());
            }
        }
        Ok(Self::raw(pcm, channels))
    }

    /// Speech from espeak-ng (which must be installed).
    pub async fn speech(text: &str, sample_rate: u32, channels: u16) -> Result<Self, SimError> {
        let out = tokio::process::Command::new("espeak-ng")
            .args(["--stdout", "-s", "150", text])
            .output()
            .await
            .map_err(|e| {
                SimError::Audio(format!("cannot run espeak-ng (apt install espeak-ng): {e}"))
            })?;
        if !out.status.success() {
            return Err(SimError::Audio(format!(
                "espeak-ng failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Self::wav_bytes(&out.stdout, sample_rate, channels)
    }

    /// This source's s16le PCM re-encoded as `encoding` (call once, before playing).
    pub fn encoded(mut self, encoding: Encoding) -> Self {
        if encoding != Encoding::S16le && self.sample_bytes == 2 {
            let mut out = Vec::with_capacity(self.pcm.len() / 2 * encoding.sample_bytes());
            for b in self.pcm.chunks_exact(2) {
                encoding.encode(i16::from_le_bytes([b[0], b[1]]), &mut out);
            }
            self.pcm = out;
            self.sample_bytes = encoding.sample_bytes();
        }
        self
    }

    /// The next packet of `frames` sample frames; a short last packet is
    /// padded with silence. `None` at the end of a non-looping source.
    pub fn next_packet(&mut self, frames: usize) -> Option<Vec<u8>> {
        let len = frames * self.sample_bytes * self.channels as usize;
        if self.pos >= self.pcm.len() {
            if !self.looping || self.pcm.is_empty() {
                return None;
            }
            self.pos = 0;
        }
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let take = (len - out.len()).min(self.pcm.len() - self.pos);
            out.extend_from_slice(&self.pcm[self.pos..self.pos + take]);
            self.pos += take;
            if self.pos >= self.pcm.len() {
                if !self.looping {
                    out.resize(len, 0);
                    break;
                }
                self.pos = 0;
            }
        }
        Some(out)
    }
}

struct Wav {
    sample_rate: u32,
    channels: u16,
    samples: Vec<i16>,
}

fn parse_wav(data: &[u8]) -> Result<Wav, SimError> {
    let bad = |m: &str| SimError::Audio(format!("not a usable WAV file: {m}"));
    if data.len() < 12 || &data[0..4] != b"RIFF" || &data[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let (mut pos, mut fmt) = (12usize, None);
    while pos + 8 <= data.len() {
        let id = &data[pos..pos + 4];
        let declared = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = &data[pos + 8..];
        // Streamed WAVs (espeak-ng --stdout) declare 0 or 0xFFFFFFFF: read to the end.
        let size = declared.min(body.len());
        match id {
            b"fmt " if size >= 16 => {
                let format = u16::from_le_bytes([body[0], body[1]]);
                let channels = u16::from_le_bytes([body[2], body[3]]);
                let rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
                let bits = u16::from_le_bytes([body[14], body[15]]);
                if format != 1 || bits != 16 || channels == 0 {
                    return Err(bad("only 16-bit PCM is supported"));
                }
                fmt = Some((rate, channels));
            }
            b"data" => {
                let (rate, channels) = fmt.ok_or_else(|| bad("data before fmt"))?;
                let size = if declared == 0 || declared == u32::MAX as usize {
                    body.len()
                } else {
                    size
                };
                let samples = body[..size - size % 2]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return Ok(Wav {
                    sample_rate: rate,
                    channels,
                    samples,
                });
            }
            _ => {}
        }
        pos += 8 + size + (size & 1);
    }
    Err(bad("no data chunk"))
}

fn to_mono(samples: &[i16], channels: u16) -> Vec<i16> {
    samples
        .chunks_exact(channels as usize)
        .map(|f| (f.iter().map(|&s| s as i32).sum::<i32>() / channels as i32) as i16)
        .collect()
}

/// Linear-interpolation resampling: plenty for a simulator.
fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let n = (samples.len() as u64 * to as u64 / from as u64) as usize;
    (0..n)
        .map(|i| {
            let x = i as f64 * from as f64 / to as f64;
            let j = x as usize;
            let f = x - j as f64;
            let a = samples[j.min(samples.len() - 1)] as f64;
            let b = samples[(j + 1).min(samples.len() - 1)] as f64;
            (a + (b - a) * f) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_loops_and_files_end_padded() {
        let mut t = PcmSource::tone(440.0, 16_000, 1, 0.5);
        for _ in 0..60 {
            assert_eq!(t.next_packet(320).unwrap().len(), 640);
        }
        let mut r = PcmSource::raw(vec![1; 1000], 1);
        assert_eq!(r.next_packet(320).unwrap().len(), 640);
        let last = r.next_packet(320).unwrap();
        assert_eq!(
            &last[358..362],
            &[1, 1, 0, 0],
            "360 real bytes, then silence"
        );
        assert!(r.next_packet(320).is_none());
    }

    #[test]
    fn wav_files_are_converted_to_the_devkit_format() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend(16u32.to_le_bytes());
        wav.extend(1u16.to_le_bytes());
        wav.extend(2u16.to_le_bytes());
        wav.extend(32_000u32.to_le_bytes());
        wav.extend((32_000u32 * 4).to_le_bytes());
        wav.extend(4u16.to_le_bytes());
        wav.extend(16u16.to_le_bytes());
        wav.extend(b"data");
        wav.extend(u32::MAX.to_le_bytes());
        for _ in 0..3200 {
            wav.extend(100i16.to_le_bytes());
            wav.extend(300i16.to_le_bytes());
        }
        let mut s = PcmSource::wav_bytes(&wav, 16_000, 1).unwrap();
        let p = s.next_packet(1600).unwrap();
        assert_eq!(
            i16::from_le_bytes([p[0], p[1]]),
            200,
            "stereo averaged to mono"
        );
        assert!(
            s.next_packet(1600).is_none(),
            "0.1 s at 32 kHz is 1600 frames at 16 kHz"
        );
    }

    #[test]
    fn every_encoding_carries_the_same_level_in_its_own_width() {
        let mut out = Vec::new();
        for e in [Encoding::S16le, Encoding::S32le, Encoding::F32le] {
            out.clear();
            e.encode(-16384, &mut out);
            assert_eq!(out.len(), e.sample_bytes());
            match e {
                Encoding::S16le => assert_eq!(i16::from_le_bytes([out[0], out[1]]), -16384),
                Encoding::S32le => assert_eq!(
                    i32::from_le_bytes(out[..4].try_into().unwrap()),
                    -16384 << 16
                ),
                Encoding::F32le => {
                    assert_eq!(f32::from_le_bytes(out[..4].try_into().unwrap()), -0.5)
                }
            }
        }
        let mut t = PcmSource::tone(440.0, 16_000, 2, 0.5).encoded(Encoding::F32le);
        assert_eq!(t.next_packet(320).unwrap().len(), 320 * 2 * 4);
        assert_eq!("s32le".parse::<Encoding>(), Ok(Encoding::S32le));
        assert!("u8"
            .parse::<Encoding>()
            .unwrap_err()
            .contains("s16le, s32le or f32le"));
    }
}
