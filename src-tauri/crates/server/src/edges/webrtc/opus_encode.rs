//! PCM in any format the hub carries → 20 ms Opus packets.
//!
//! Opus takes 8, 12, 16, 24 and 48 kHz; a source at another rate the relay
//! accepts (11025, 22050, 32000, 44100 Hz) is resampled to 48 kHz here, once
//! per source, before the one encoder all its listeners share. Samples are
//! converted to f32 whatever their encoding, so the encoder sees the full
//! precision of an s32le or f32le source.

use bytes::Bytes;
use relaydeck_hub::{AudioFormat, SampleEncoding};
use rubato::{audioadapter_buffers::direct::InterleavedSlice, FixedSync, Resampler as _};

/// One packet per 20 ms: what WebRTC endpoints expect, and what makes
/// in-band FEC cover one lost packet with the next.
pub const FRAME_MS: u32 = 20;

/// Rates libopus encodes without resampling.
const OPUS_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

/// The largest packet libopus makes (RFC 6716 §3.4, R1).
const MAX_PACKET: usize = 1275;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("the Opus encoder refused the format: {0}")]
    Opus(#[from] opus::Error),
    #[error("the resampler refused the format: {0}")]
    Resampler(String),
}

/// A source's audio on its way to Opus: samples are buffered until a whole
/// 20 ms frame (after resampling) is there, then encoded.
pub struct OpusEncoder {
    format: AudioFormat,
    encoder: opus::Encoder,
    resampler: Option<rubato::Fft<f32>>,
    /// Interleaved samples at the source's rate, not yet resampled or encoded.
    pending: Vec<f32>,
    /// Interleaved samples at the encoder's rate, not yet encoded.
    ready: Vec<f32>,
    /// Samples per channel in one encoded frame.
    frame: usize,
    packet: Vec<u8>,
}

impl OpusEncoder {
    pub fn new(format: AudioFormat) -> Result<Self, EncodeError> {
        let channels = format.channels as usize;
        let (rate, resampler) = if OPUS_RATES.contains(&format.sample_rate) {
            (format.sample_rate, None)
        } else {
            let frame = (48_000 / 1000 * FRAME_MS) as usize;
            let r = rubato::Fft::<f32>::new(
                format.sample_rate as usize,
                48_000,
                frame,
                channels,
                FixedSync::Output,
            )
            .map_err(|e| EncodeError::Resampler(e.to_string()))?;
            (48_000, Some(r))
        };
        let layout = match channels {
            1 => opus::Channels::Mono,
            _ => opus::Channels::Stereo,
        };
        let mut encoder = opus::Encoder::new(rate, layout, opus::Application::Audio)?;
        // One lost packet is rebuilt from the next (the browser asks for it
        // with `useinbandfec=1`, which the answer carries).
        encoder.set_inband_fec(true)?;
        encoder.set_packet_loss_perc(10)?;
        encoder.set_bitrate(opus::Bitrate::Bits(if channels == 1 {
            64_000
        } else {
            128_000
        }))?;
        Ok(Self {
            format,
            encoder,
            resampler,
            pending: Vec::new(),
            ready: Vec::new(),
            frame: (rate / 1000 * FRAME_MS) as usize,
            packet: vec![0; MAX_PACKET],
        })
    }

    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Takes one PCM chunk; returns the packets it completed (none, one or
    /// several, each 20 ms).
    pub fn push(&mut self, pcm: &[u8]) -> Result<Vec<Bytes>, EncodeError> {
        let target = if self.resampler.is_some() {
            &mut self.pending
        } else {
            &mut self.ready
        };
        to_f32(self.format.encoding, pcm, target);
        self.resample()?;
        let channels = self.format.channels as usize;
        let step = self.frame * channels;
        let mut packets = Vec::new();
        let mut used = 0;
        while self.ready.len() - used >= step {
            let frame = &self.ready[used..used + step];
            let n = self.encoder.encode_float(frame, &mut self.packet)?;
            packets.push(Bytes::copy_from_slice(&self.packet[..n]));
            used += step;
        }
        self.ready.drain(..used);
        Ok(packets)
    }

    /// Moves what the resampler can take from `pending` to `ready`.
    fn resample(&mut self) -> Result<(), EncodeError> {
        let Some(r) = self.resampler.as_mut() else {
            return Ok(());
        };
        let channels = self.format.channels as usize;
        let mut used = 0;
        loop {
            let need = r.input_frames_next();
            let have = (self.pending.len() - used) / channels;
            if have < need {
                break;
            }
            let input = InterleavedSlice::new(&self.pending[used..], channels, need)
                .map_err(|e| EncodeError::Resampler(e.to_string()))?;
            let start = self.ready.len();
            let out_frames = r.output_frames_next();
            self.ready.resize(start + out_frames * channels, 0.0);
            let mut output =
                InterleavedSlice::new_mut(&mut self.ready[start..], channels, out_frames)
                    .map_err(|e| EncodeError::Resampler(e.to_string()))?;
            let (consumed, produced) = r
                .process_into_buffer(&input, &mut output, None)
                .map_err(|e| EncodeError::Resampler(e.to_string()))?;
            self.ready.truncate(start + produced * channels);
            used += consumed * channels;
        }
        self.pending.drain(..used);
        Ok(())
    }
}

/// Appends `pcm`'s samples to `out` as f32 in [-1, 1]. A trailing partial
/// sample (a publisher's bug) is ignored.
fn to_f32(encoding: SampleEncoding, pcm: &[u8], out: &mut Vec<f32>) {
    match encoding {
        SampleEncoding::S16le => out.extend(
            pcm.chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0),
        ),
        SampleEncoding::S32le => out.extend(
            pcm.chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0),
        ),
        SampleEncoding::F32le => out.extend(
            pcm.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).clamp(-1.0, 1.0)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` of a `hz` tone as s16le at `rate`, `channels` interleaved.
    fn tone(rate: u32, channels: u16, hz: f32, seconds: f32) -> Vec<u8> {
        let frames = (rate as f32 * seconds) as usize;
        let mut out = Vec::with_capacity(frames * channels as usize * 2);
        for i in 0..frames {
            let s = (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5;
            for _ in 0..channels {
                out.extend_from_slice(&((s * 32_767.0) as i16).to_le_bytes());
            }
        }
        out
    }

    /// Decodes `packets` at 48 kHz mono and finds the strongest frequency by
    /// counting zero crossings (enough for one pure tone).
    fn decoded_frequency(packets: &[Bytes]) -> f32 {
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut pcm = Vec::new();
        let mut buf = vec![0f32; 5760];
        for p in packets {
            let n = dec.decode_float(p, &mut buf, false).unwrap();
            assert_eq!(n, 960, "every packet is 20 ms");
            pcm.extend_from_slice(&buf[..n]);
        }
        let settled = &pcm[pcm.len() / 4..]; // past the codec's and resampler's start-up
        let crossings = settled
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        crossings as f32 * 48_000.0 / settled.len() as f32
    }

    fn encode_all(format: AudioFormat, pcm: &[u8], chunk: usize) -> Vec<Bytes> {
        let mut enc = OpusEncoder::new(format).unwrap();
        let mut packets = Vec::new();
        for c in pcm.chunks(chunk) {
            packets.extend(enc.push(c).unwrap());
        }
        packets
    }

    #[test]
    fn every_rate_the_relay_takes_comes_out_as_20_ms_packets_at_the_same_pitch() {
        for rate in AudioFormat::RATES {
            for channels in [1u16, 2] {
                let format = AudioFormat::new(rate, channels).unwrap();
                // Odd-sized chunks, as a devkit's datagrams are.
                let packets = encode_all(format, &tone(rate, channels, 440.0, 1.0), 734);
                // One second is 50 packets, less what is still buffered.
                assert!(
                    (45..=50).contains(&packets.len()),
                    "{rate} Hz ×{channels}: {} packets",
                    packets.len()
                );
                let hz = decoded_frequency(&packets);
                assert!(
                    (hz - 440.0).abs() < 10.0,
                    "{rate} Hz ×{channels}: heard {hz} Hz"
                );
            }
        }
    }

    #[test]
    fn s32_and_f32_sources_are_encoded_too() {
        let s16 = tone(16_000, 1, 1000.0, 0.5);
        let samples: Vec<i16> = s16
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let s32: Vec<u8> = samples
            .iter()
            .flat_map(|s| ((*s as i32) << 16).to_le_bytes())
            .collect();
        let f32le: Vec<u8> = samples
            .iter()
            .flat_map(|s| (*s as f32 / 32_768.0).to_le_bytes())
            .collect();
        for (encoding, pcm) in [(SampleEncoding::S32le, s32), (SampleEncoding::F32le, f32le)] {
            let format = AudioFormat::with_encoding(16_000, 1, encoding).unwrap();
            let hz = decoded_frequency(&encode_all(format, &pcm, 640));
            assert!((hz - 1000.0).abs() < 15.0, "{encoding:?}: heard {hz} Hz");
        }
    }

    #[test]
    fn fec_is_in_the_packets_so_a_lost_one_is_rebuilt_from_the_next() {
        for rate in [16_000, 44_100, 48_000] {
            let packets = encode_all(
                AudioFormat::new(rate, 1).unwrap(),
                &tone(rate, 1, 440.0, 1.0),
                rate as usize / 50,
            );
            let decoder = |upto: usize| {
                let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
                let mut buf = vec![0f32; 960];
                for p in &packets[..upto] {
                    dec.decode_float(p, &mut buf, false).unwrap();
                }
                (dec, buf)
            };
            let lost = 30;
            // What packet 30 decodes to when it arrives…
            let (_, heard) = decoder(lost + 1);
            // …when it is lost and rebuilt from packet 31's FEC…
            let (mut dec, mut fec) = decoder(lost);
            assert_eq!(
                dec.decode_float(&packets[lost + 1], &mut fec, true)
                    .unwrap(),
                960
            );
            // …and when it is lost and only concealed.
            let (mut dec, mut concealed) = decoder(lost);
            dec.decode_float(&[], &mut concealed, false).unwrap();
            let error = |x: &[f32]| {
                x.iter()
                    .zip(&heard)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f32>()
            };
            assert!(
                error(&fec) < error(&concealed) / 2.0,
                "{rate} Hz: FEC {} against concealment {}",
                error(&fec),
                error(&concealed)
            );
        }
    }
}
