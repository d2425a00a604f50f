//! What an uploaded file is, and its PCM: WAV, FLAC, MP3 and Ogg/Vorbis
//! through symphonia; Ogg/Opus demuxed by symphonia and decoded by libopus.
//!
//! The PCM is what `pcm` mode sends: s16le, interleaved, at the file's own
//! rate, mono or stereo (more channels are folded into two: even channels
//! left, odd right). Gapless trimming is on, so an encoder's padding (MP3's
//! delay and padding, Opus's pre-skip, the end of the last Ogg page) is not
//! part of it and the duration is exact (Ogg/Vorbis keeps its first block's
//! overlap, ~10 ms: symphonia 0.5 does not trim the start of an Ogg stream).

use std::{
    fs::File,
    io::{self, Read, Write},
    path::Path,
};

use symphonia::core::{
    audio::{AudioBufferRef, SampleBuffer},
    codecs::{CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_OPUS},
    errors::Error as SymphoniaError,
    formats::{FormatOptions, FormatReader},
    io::MediaSourceStream,
    meta::MetadataOptions,
    probe::Hint,
};

/// A container the library takes, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Wav,
    Flac,
    Mp3,
    Ogg,
}

impl Container {
    /// From the first 12 bytes of a file.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        match head {
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => Some(Self::Wav),
            [b'f', b'L', b'a', b'C', ..] => Some(Self::Flac),
            [b'O', b'g', b'g', b'S', ..] => Some(Self::Ogg),
            [b'I', b'D', b'3', ..] => Some(Self::Mp3),
            // An MPEG audio frame header: 11 sync bits, layer III.
            [0xFF, b, ..] if b & 0xE0 == 0xE0 && b & 0x06 == 0x02 => Some(Self::Mp3),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Flac => "audio/flac",
            Self::Mp3 => "audio/mpeg",
            Self::Ogg => "audio/ogg",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Flac => "flac",
            Self::Mp3 => "mp3",
            Self::Ogg => "ogg",
        }
    }
}

/// What decoding found.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub container: Container,
    /// `wav`, `flac`, `mp3`, `ogg-opus` or `ogg-vorbis`.
    pub format: &'static str,
    pub sample_rate: u32,
    /// Of the PCM: 1 or 2.
    pub channels: u16,
    /// Sample frames of PCM written.
    pub frames: u64,
    /// Packets that did not decode and were skipped (a damaged stretch).
    pub skipped: u64,
}

impl Decoded {
    pub fn duration_sec(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }

    pub fn pcm_bytes(&self) -> u64 {
        self.frames * u64::from(self.channels) * 2
    }
}

/// Why a file is not one the library can play.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("this is not an audio file the library reads (WAV, FLAC, MP3, Ogg Opus or Vorbis)")]
    Unknown,
    #[error("the {0} file cannot be read: {1}")]
    Malformed(&'static str, String),
    #[error("the {0} file holds no audio")]
    Empty(&'static str),
    #[error("Opus with {0} channels is not supported (mono and stereo are)")]
    OpusChannels(usize),
    #[error("the file decodes to more than {0} bytes of PCM, the most the library keeps")]
    TooLong(u64),
    #[error("could not write the decoded PCM: {0}")]
    Io(#[from] io::Error),
}

/// Decodes `path` into `pcm`, at most `max_pcm` bytes of it.
pub fn decode(path: &Path, pcm: &mut impl Write, max_pcm: u64) -> Result<Decoded, DecodeError> {
    let mut head = [0u8; 12];
    let n = File::open(path)?.read(&mut head)?;
    let container = Container::sniff(&head[..n]).ok_or(DecodeError::Unknown)?;
    let name = container.extension();
    let mut hint = Hint::new();
    hint.with_extension(name);
    let stream = MediaSourceStream::new(Box::new(File::open(path)?), Default::default());
    let options = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &options, &MetadataOptions::default())
        .map_err(|e| DecodeError::Malformed(name, e.to_string()))?;
    let mut reader = probed.format;
    let track = reader
        .default_track()
        .ok_or(DecodeError::Empty(name))?
        .clone();
    let mut out = PcmOut::new(pcm, max_pcm);
    let (format, sample_rate, skipped) = if track.codec_params.codec == CODEC_TYPE_OPUS {
        let (rate, skipped) = decode_opus(&mut *reader, track.id, &track.codec_params, &mut out)?;
        ("ogg-opus", rate, skipped)
    } else {
        let (rate, skipped) =
            decode_symphonia(&mut *reader, track.id, &track.codec_params, &mut out, name)?;
        let format = match container {
            Container::Ogg => "ogg-vorbis",
            other => other.extension(),
        };
        (format, rate, skipped)
    };
    out.flush()?;
    let channels = out.channels.ok_or(DecodeError::Empty(name))?;
    if out.frames == 0 {
        return Err(DecodeError::Empty(name));
    }
    Ok(Decoded {
        container,
        format,
        sample_rate,
        channels,
        frames: out.frames,
        skipped,
    })
}

/// The next packet of `track`, `None` at the end of the file.
fn next_packet(
    reader: &mut dyn FormatReader,
    track: u32,
    name: &'static str,
) -> Result<Option<symphonia::core::formats::Packet>, DecodeError> {
    loop {
        match reader.next_packet() {
            Ok(p) if p.track_id() == track => return Ok(Some(p)),
            Ok(_) => {}
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(None)
            }
            // A chained stream starting anew: the library plays the first.
            Err(SymphoniaError::ResetRequired) => return Ok(None),
            Err(e) => return Err(DecodeError::Malformed(name, e.to_string())),
        }
    }
}

fn decode_symphonia(
    reader: &mut dyn FormatReader,
    track: u32,
    params: &CodecParameters,
    out: &mut PcmOut<'_, impl Write>,
    name: &'static str,
) -> Result<(u32, u64), DecodeError> {
    let mut decoder: Box<dyn Decoder> = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(|e| DecodeError::Malformed(name, e.to_string()))?;
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut samples: Option<SampleBuffer<i16>> = None;
    let mut skipped = 0;
    while let Some(packet) = next_packet(reader, track, name)? {
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymphoniaError::DecodeError(_)) => {
                skipped += 1;
                continue;
            }
            Err(e) => return Err(DecodeError::Malformed(name, e.to_string())),
        };
        rate = buf.spec().rate;
        let channels = buf.spec().channels.count();
        let fits = samples
            .as_ref()
            .is_some_and(|s| s.capacity() >= buf.capacity() * channels);
        if !fits {
            samples = Some(SampleBuffer::new(buf.capacity() as u64, *buf.spec()));
        }
        let s = samples.as_mut().expect("made above");
        copy(buf, s);
        out.write(s.samples(), channels)?;
    }
    Ok((rate, skipped))
}

fn copy(buf: AudioBufferRef<'_>, into: &mut SampleBuffer<i16>) {
    into.copy_interleaved_ref(buf);
}

fn decode_opus(
    reader: &mut dyn FormatReader,
    track: u32,
    params: &CodecParameters,
    out: &mut PcmOut<'_, impl Write>,
) -> Result<(u32, u64), DecodeError> {
    let count = params.channels.map_or(0, |c| c.count());
    let channels = match count {
        1 => opus::Channels::Mono,
        2 => opus::Channels::Stereo,
        n => return Err(DecodeError::OpusChannels(n)),
    };
    let mut decoder = opus::Decoder::new(48_000, channels)
        .map_err(|e| DecodeError::Malformed("Opus", e.to_string()))?;
    // The longest Opus packet: 120 ms at 48 kHz.
    let mut pcm = vec![0i16; 5760 * count];
    let mut skipped = 0;
    let mut pre_skip = params.delay.unwrap_or(0) as usize;
    while let Some(packet) = next_packet(reader, track, "Opus")? {
        let frames = match decoder.decode(&packet.data, &mut pcm, false) {
            Ok(n) => n,
            Err(_) => {
                skipped += 1;
                continue;
            }
        };
        // Gapless: the pre-skip and the last page's padding are not audio.
        // symphonia 0.5 trims the end of an Ogg/Opus stream but not its
        // pre-skip, so what it did not trim of that is skipped here.
        let mut start = (packet.trim_start() as usize).min(frames);
        let end = frames.saturating_sub(packet.trim_end() as usize).max(start);
        pre_skip = pre_skip.saturating_sub(start);
        let skip = pre_skip.min(end - start);
        (start, pre_skip) = (start + skip, pre_skip - skip);
        out.write(&pcm[start * count..end * count], count)?;
    }
    Ok((48_000, skipped))
}

/// Where decoded samples go: folded to at most two channels, little-endian,
/// counted against the cap.
struct PcmOut<'w, W: Write> {
    sink: io::BufWriter<&'w mut W>,
    channels: Option<u16>,
    frames: u64,
    max: u64,
}

impl<'w, W: Write> PcmOut<'w, W> {
    fn new(sink: &'w mut W, max: u64) -> Self {
        Self {
            sink: io::BufWriter::with_capacity(256 * 1024, sink),
            channels: None,
            frames: 0,
            max,
        }
    }

    fn write(&mut self, interleaved: &[i16], channels: usize) -> Result<(), DecodeError> {
        if channels == 0 || interleaved.is_empty() {
            return Ok(());
        }
        let out_channels = channels.min(2);
        if *self.channels.get_or_insert(out_channels as u16) != out_channels as u16 {
            return Err(DecodeError::Malformed(
                "audio",
                "the channel count changes mid-file".into(),
            ));
        }
        let frames = interleaved.len() / channels;
        let bytes = (self.frames + frames as u64) * out_channels as u64 * 2;
        if bytes > self.max {
            return Err(DecodeError::TooLong(self.max));
        }
        for frame in interleaved.chunks_exact(channels) {
            let folded;
            let samples = match frame.len() {
                1 | 2 => frame,
                _ => {
                    folded = fold(frame);
                    &folded[..]
                }
            };
            for sample in samples {
                self.sink.write_all(&sample.to_le_bytes())?;
            }
        }
        self.frames += frames as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

/// More than two channels averaged into left (even channels) and right (odd ones).
fn fold(frame: &[i16]) -> [i16; 2] {
    let side = |parity: usize| {
        let (sum, n) = frame
            .iter()
            .skip(parity)
            .step_by(2)
            .fold((0i32, 0i32), |(sum, n), &s| (sum + i32::from(s), n + 1));
        (sum / n.max(1)) as i16
    };
    [side(0), side(1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_by_their_first_bytes() {
        assert_eq!(
            Container::sniff(b"RIFF\0\0\0\0WAVEfmt "),
            Some(Container::Wav)
        );
        assert_eq!(Container::sniff(b"fLaC\0\0\0\x22"), Some(Container::Flac));
        assert_eq!(Container::sniff(b"OggS\0\x02"), Some(Container::Ogg));
        assert_eq!(Container::sniff(b"ID3\x04\0"), Some(Container::Mp3));
        assert_eq!(
            Container::sniff(&[0xFF, 0xFB, 0x90, 0x64]),
            Some(Container::Mp3)
        );
        // Layer II and a PNG are not.
        assert_eq!(Container::sniff(&[0xFF, 0xFD, 0x90, 0x64]), None);
        assert_eq!(Container::sniff(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(Container::sniff(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(Container::sniff(b""), None);
    }

    #[test]
    fn more_than_two_channels_fold_into_left_and_right() {
        // 5.1 as L R C LFE Ls Rs: left = (L + C + Ls) / 3, right = (R + LFE + Rs) / 3.
        assert_eq!(fold(&[300, 600, 0, 0, 300, 300]), [200, 300]);
        let mut sink = Vec::new();
        let mut out = PcmOut::new(&mut sink, 1 << 20);
        out.write(&[3, 3, 3, -3, -3, -3], 3).unwrap();
        out.flush().unwrap();
        drop(out);
        assert_eq!(
            sink,
            [3, 0, 3, 0, 0xFD, 0xFF, 0xFD, 0xFF],
            "three channels: two out"
        );
    }

    #[test]
    fn the_pcm_cap_holds() {
        let mut sink = Vec::new();
        let mut out = PcmOut::new(&mut sink, 8);
        out.write(&[1, 2, 3, 4], 2).unwrap();
        assert!(matches!(
            out.write(&[5, 6], 2),
            Err(DecodeError::TooLong(8))
        ));
        out.flush().unwrap();
        drop(out);
        assert_eq!(sink, [1, 0, 2, 0, 3, 0, 4, 0]);
    }
}
