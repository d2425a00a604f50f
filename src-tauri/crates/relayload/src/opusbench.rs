//! `opusbench`: what the relay's shared Opus encoder costs per source — the
//! same `OpusEncoder` the WebRTC edge runs (resampling included), fed 60 s
//! of a tone with noise in 20 ms chunks, per source format. The cost is per
//! source: however many WebRTC listeners a source has, it is encoded once.
//!
//!     cargo build --release -p relayload --bin opusbench
//!     ./target/release/opusbench [--seconds 60] [--markdown]

use std::time::Instant;

use relaydeck_hub::{AudioFormat, SampleEncoding};
use relaydeck_server::edges::webrtc::opus_encode::OpusEncoder;

fn pcm(format: AudioFormat, seconds: u32) -> Vec<u8> {
    let frames = (format.sample_rate * seconds) as usize;
    let mut state = 0x9E37_79B9u32;
    let mut out = Vec::with_capacity(frames * format.channels as usize * 2);
    for i in 0..frames {
        let t = i as f32 / format.sample_rate as f32;
        for c in 0..format.channels {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 2000) as f32 / 2000.0 - 0.5;
            let s = (2.0 * std::f32::consts::PI * (440.0 + 110.0 * c as f32) * t).sin() * 0.4
                + noise * 0.05;
            out.extend_from_slice(&((s * 32_767.0) as i16).to_le_bytes());
        }
    }
    out
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u32 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(60);
    let markdown = args.iter().any(|a| a == "--markdown");
    println!("opusbench: {seconds} s of audio per format, 20 ms chunks, one encoder");
    for (rate, channels) in [(16_000, 1), (48_000, 1), (44_100, 2), (48_000, 2)] {
        let format = AudioFormat::with_encoding(rate, channels, SampleEncoding::S16le)?;
        let audio = pcm(format, seconds);
        let chunk = format.frame_bytes() * rate as usize / 50;
        let mut encoder = OpusEncoder::new(format)?;
        let (mut packets, mut bytes) = (0usize, 0usize);
        let t0 = Instant::now();
        for c in audio.chunks(chunk) {
            for p in encoder.push(c)? {
                packets += 1;
                bytes += p.len();
            }
        }
        let cpu = t0.elapsed().as_secs_f64();
        let share = cpu / seconds as f64 * 100.0;
        let per_packet_us = cpu * 1e6 / packets.max(1) as f64;
        let kbps = bytes as f64 * 8.0 / seconds as f64 / 1000.0;
        let resampled = if [8_000, 12_000, 16_000, 24_000, 48_000].contains(&rate) {
            ""
        } else {
            " (resampled to 48 kHz)"
        };
        println!(
            "  {rate} Hz ×{channels}{resampled}: {per_packet_us:.1} µs per 20 ms packet, {share:.2} % of one core, {kbps:.0} kb/s"
        );
        if markdown {
            println!("| {rate} Hz × {channels}{resampled} | {per_packet_us:.1} | {share:.2} % | {kbps:.0} |");
        }
    }
    Ok(())
}
