//! The host's microphone as the audio source `mic`.
//!
//! cpal captures in the device's own format (whatever sample type, rate and
//! channel count it offers by default); the callback converts to the
//! configured output (s16le, 16 kHz mono for voice or 48 kHz stereo for
//! music), resampling only when the rates differ, and hands 20 ms chunks to
//! the capture thread, which publishes them. The device is open only while
//! somebody listens (unless always on); a device that is missing or fails
//! is reported, retried with backoff, and picked up again when it returns.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use relaydeck_hub::{AudioFormat, AudioSource, Availability, Hub, HubError, SourceKind};

use crate::worker::{pause, Linger, Worker};

/// The microphone's reserved audio source ID.
pub const MIC_ID: &str = "mic";

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MicInfo {
    pub name: String,
    pub is_default: bool,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    pub sample_format: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MicError {
    #[error("no microphone found on this computer")]
    NoDevice,
    #[error("microphone \"{0}\" not found")]
    NotFound(String),
    #[error("the microphone cannot be opened: {0}")]
    Open(String),
    #[error("the microphone stopped delivering: {0}")]
    Lost(String),
}

/// Input devices of the default host.
pub fn list_inputs() -> Result<Vec<MicInfo>, MicError> {
    let host = cpal::default_host();
    let default = host.default_input_device().and_then(|d| d.name().ok());
    let devices = host
        .input_devices()
        .map_err(|e| MicError::Open(e.to_string()))?;
    Ok(devices
        .filter_map(|d| {
            let name = d.name().ok()?;
            let cfg = d.default_input_config().ok();
            Some(MicInfo {
                is_default: default.as_deref() == Some(name.as_str()),
                sample_rate: cfg.as_ref().map(|c| c.sample_rate().0),
                channels: cfg.as_ref().map(|c| c.channels()),
                sample_format: cfg.as_ref().map(|c| c.sample_format().to_string()),
                name,
            })
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct MicCaptureConfig {
    /// A device name, or `default`.
    pub device: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub always_on: bool,
    /// How long the device stays open after the last listener left.
    pub linger: Duration,
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl MicCaptureConfig {
    pub fn new(device: &str, sample_rate: u32, channels: u16) -> Self {
        Self {
            device: device.into(),
            sample_rate,
            channels,
            always_on: false,
            linger: Duration::from_secs(2),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A running microphone edge; dropping it closes the device and stops.
pub struct MicCapture {
    // Declared first: dropped (stopped and joined) first.
    _worker: Worker,
    open: Arc<AtomicBool>,
    source: Arc<AudioSource>,
}

impl MicCapture {
    pub fn start(hub: &Hub, config: MicCaptureConfig) -> Result<Self, HubError> {
        let format = AudioFormat::new(config.sample_rate, config.channels)?;
        let lease = hub.publish_audio_as(
            MIC_ID,
            Some("This computer's microphone".into()),
            SourceKind::Local,
            format,
        )?;
        let source = lease.source().clone();
        source.set_availability(Availability::Standby);
        let open = Arc::new(AtomicBool::new(false));
        let worker = Worker::spawn("mic-capture", {
            let open = open.clone();
            move |stop| {
                MicRunner {
                    config,
                    lease,
                    stop,
                    open,
                }
                .run()
            }
        });
        Ok(Self {
            _worker: worker,
            open,
            source,
        })
    }

    /// Whether the device is open now (the privacy indicator).
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    pub fn source(&self) -> &Arc<AudioSource> {
        &self.source
    }
}

struct MicRunner {
    config: MicCaptureConfig,
    lease: relaydeck_hub::AudioLease,
    stop: Arc<AtomicBool>,
    open: Arc<AtomicBool>,
}

enum FromDevice {
    Chunk(Vec<u8>),
    Failed(String),
}

impl MicRunner {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.lease.is_superseded()
    }

    fn demand(&self) -> bool {
        self.config.always_on || self.lease.source().listener_count() > 0
    }

    fn pause(&self, d: Duration) {
        pause(d, || self.stopped());
    }

    fn run(self) {
        let source = self.lease.source().clone();
        let mut backoff = self.config.backoff;
        let mut seq = 0u64;
        while !self.stopped() {
            if !self.demand() {
                self.pause(Duration::from_millis(100));
                continue;
            }
            let (tx, rx) = mpsc::sync_channel::<FromDevice>(256);
            let stream = match open_stream(&self.config, tx) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("microphone: {e}; retrying in {backoff:?}");
                    source.set_availability(Availability::Unavailable(e.to_string()));
                    self.pause(backoff);
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    continue;
                }
            };
            self.open.store(true, Ordering::SeqCst);
            source.set_availability(Availability::Live);
            backoff = self.config.backoff;
            tracing::info!(device = %self.config.device, "microphone open");
            let mut linger = Linger::new(self.config.linger);
            let failure = loop {
                if self.stopped() || linger.expired(self.demand()) {
                    break None;
                }
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(FromDevice::Chunk(pcm)) => {
                        seq += 1;
                        if let Err(e) = self.lease.publish(seq, Bytes::from(pcm)) {
                            tracing::warn!("microphone chunk dropped: {e}");
                        }
                    }
                    Ok(FromDevice::Failed(e)) => break Some(MicError::Lost(e)),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        break Some(MicError::Lost("the audio stream ended".into()))
                    }
                }
            };
            drop(stream); // closes the device
            self.open.store(false, Ordering::SeqCst);
            match failure {
                Some(e) => {
                    tracing::warn!("microphone: {e}; retrying in {backoff:?}");
                    source.set_availability(Availability::Unavailable(e.to_string()));
                    self.pause(backoff);
                }
                None => {
                    tracing::info!("microphone closed (nobody listening)");
                    source.set_availability(Availability::Standby);
                }
            }
        }
    }
}

fn find_device(name: &str) -> Result<cpal::Device, MicError> {
    let host = cpal::default_host();
    if name.is_empty() || name == "default" {
        return host.default_input_device().ok_or(MicError::NoDevice);
    }
    let mut devices = host
        .input_devices()
        .map_err(|e| MicError::Open(e.to_string()))?;
    devices
        .find(|d| d.name().is_ok_and(|n| n == name))
        .ok_or_else(|| MicError::NotFound(name.into()))
}

/// Opens the device in its own default format; the callback converts and
/// sends 20 ms chunks of the output format.
fn open_stream(
    config: &MicCaptureConfig,
    tx: mpsc::SyncSender<FromDevice>,
) -> Result<cpal::Stream, MicError> {
    let device = find_device(&config.device)?;
    let supported = device
        .default_input_config()
        .map_err(|e| MicError::Open(e.to_string()))?;
    let (in_rate, in_channels) = (supported.sample_rate().0, supported.channels());
    let stream_config: cpal::StreamConfig = supported.config();
    let mut conv = Converter::new(in_rate, in_channels, config.sample_rate, config.channels);
    let err_tx = tx.clone();
    let on_error = move |e: cpal::StreamError| {
        let _ = err_tx.try_send(FromDevice::Failed(e.to_string()));
    };
    macro_rules! build {
        ($t:ty) => {
            device.build_input_stream(
                &stream_config,
                move |data: &[$t], _: &cpal::InputCallbackInfo| {
                    conv.push(data.iter().map(|&s| cpal::Sample::to_sample::<f32>(s)), &mut |chunk| {
                        // A full queue means the thread is behind: drop, never block the audio thread.
                        let _ = tx.try_send(FromDevice::Chunk(chunk));
                    })
                },
                on_error,
                None,
            )
        };
    }
    let stream = match supported.sample_format() {
        cpal::SampleFormat::I16 => build!(i16),
        cpal::SampleFormat::U16 => build!(u16),
        cpal::SampleFormat::I32 => build!(i32),
        cpal::SampleFormat::F32 => build!(f32),
        cpal::SampleFormat::U8 => build!(u8),
        other => return Err(MicError::Open(format!("unsupported sample format {other}"))),
    }
    .map_err(|e| MicError::Open(e.to_string()))?;
    stream.play().map_err(|e| MicError::Open(e.to_string()))?;
    Ok(stream)
}

/// Interleaved samples of any rate and channel count → s16le chunks of
/// 20 ms in the output format. Channels are mixed down (mean) or copied up;
/// rates are converted by linear interpolation that carries its phase
/// across callbacks.
pub struct Converter {
    in_channels: usize,
    out_channels: usize,
    step: f64,
    pos: f64,
    prev: f32,
    frame: Vec<f32>,
    filled: usize,
    chunk: Vec<u8>,
    chunk_bytes: usize,
}

impl Converter {
    pub fn new(in_rate: u32, in_channels: u16, out_rate: u32, out_channels: u16) -> Self {
        let chunk_bytes = (out_rate as usize / 50) * out_channels as usize * 2;
        Self {
            in_channels: in_channels.max(1) as usize,
            out_channels: out_channels.max(1) as usize,
            step: in_rate as f64 / out_rate as f64,
            pos: 0.0,
            prev: 0.0,
            frame: Vec::new(),
            filled: 0,
            chunk: Vec::with_capacity(chunk_bytes),
            chunk_bytes,
        }
    }

    /// Feeds interleaved samples; calls `emit` with each complete chunk.
    pub fn push(&mut self, samples: impl Iterator<Item = f32>, emit: &mut dyn FnMut(Vec<u8>)) {
        self.frame.resize(self.in_channels, 0.0);
        for s in samples {
            self.frame[self.filled] = s;
            self.filled += 1;
            if self.filled < self.in_channels {
                continue;
            }
            self.filled = 0;
            let mono = self.frame.iter().sum::<f32>() / self.in_channels as f32;
            if self.step == 1.0 {
                // Same rate: no resampling, each input frame is one output frame.
                self.emit_frame(mono, emit);
                continue;
            }
            // Output samples that fall between the previous input frame and this one.
            while self.pos <= 1.0 {
                let v = self.prev + (mono - self.prev) * self.pos as f32;
                self.emit_frame(v, emit);
                self.pos += self.step;
            }
            self.pos -= 1.0;
            self.prev = mono;
        }
    }

    fn emit_frame(&mut self, v: f32, emit: &mut dyn FnMut(Vec<u8>)) {
        let s16 = (v.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        for _ in 0..self.out_channels {
            self.chunk.extend_from_slice(&s16.to_le_bytes());
        }
        if self.chunk.len() >= self.chunk_bytes {
            emit(std::mem::replace(
                &mut self.chunk,
                Vec::with_capacity(self.chunk_bytes),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(conv: &mut Converter, input: &[f32]) -> Vec<i16> {
        let mut out = Vec::new();
        conv.push(input.iter().copied(), &mut |c| {
            out.extend(c.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])))
        });
        out
    }

    #[test]
    fn chunks_are_20_ms_of_the_output_format() {
        let mut conv = Converter::new(48_000, 2, 16_000, 1);
        let mut sizes = Vec::new();
        conv.push(std::iter::repeat_n(0.25f32, 48_000 * 2), &mut |c| {
            sizes.push(c.len())
        });
        assert!(
            sizes.len() >= 49 && sizes.iter().all(|&n| n == 640),
            "{sizes:?}"
        );
    }

    #[test]
    fn stereo_is_mixed_down_and_mono_copied_up() {
        let mut down = Converter::new(16_000, 2, 16_000, 1);
        let out = run(&mut down, &[0.5, -0.5].repeat(400));
        assert!(out[10..].iter().all(|&s| s == 0), "L+R cancel");
        let mut up = Converter::new(48_000, 1, 48_000, 2);
        let out = run(&mut up, &vec![0.5; 2000]);
        assert!(out
            .chunks_exact(2)
            .skip(5)
            .all(|p| p[0] == p[1] && p[0] == 16384));
    }

    #[test]
    fn equal_rates_are_not_resampled() {
        let mut conv = Converter::new(16_000, 1, 16_000, 1);
        let input: Vec<f32> = (0..640).map(|i| ((i % 64) as f32 - 32.0) / 64.0).collect();
        let out = run(&mut conv, &input);
        let want: Vec<i16> = input.iter().map(|v| (v * 32767.0).round() as i16).collect();
        assert_eq!(out, want, "sample for sample, no delay");
    }

    #[test]
    fn resampling_keeps_a_tone_at_its_frequency() {
        let mut conv = Converter::new(44_100, 1, 16_000, 1);
        let input: Vec<f32> = (0..44_100)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 44_100.0).sin() * 0.5)
            .collect();
        let out = run(&mut conv, &input);
        assert!((out.len() as i64 - 16_000).abs() <= 320, "{}", out.len());
        let crossings = out.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        assert!((crossings as i64 - 440).abs() <= 2, "{crossings}");
    }
}
