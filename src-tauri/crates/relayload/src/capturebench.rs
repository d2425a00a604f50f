//! Cost of the host-camera pipeline per frame: a synthetic camera delivers
//! 1280×720 at 30 fps in a raw format, the capture thread converts each frame
//! (MJPEG passthrough, AVI1 completion, or YUYV/NV12 → JPEG with turbojpeg)
//! and publishes it into a hub with one subscribed viewer. Reports ms per
//! frame for the conversion and the process's CPU share of one core.
//!
//!     cargo run --release -p relayload --bin capturebench -- --seconds 10

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use relaydeck_capture::camera::{
    synthetic::{nv12_frame, strip_huffman_tables, yuyv_frame},
    FrameConverter, RawFormat, RawFrame,
};
use relaydeck_hub::{Hub, HubConfig, SourceKind, ViewerQueue};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 1280)]
    width: usize,
    #[arg(long, default_value_t = 720)]
    height: usize,
    #[arg(long, default_value_t = 30)]
    fps: u32,
}

fn cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer for getrusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// Real camera-like JPEGs (a moving picture, 4:2:2 like most webcams).
fn mjpeg_frames(w: usize, h: usize, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|k| {
            let mut rgb = vec![0u8; w * h * 3];
            for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
                let (x, y) = (i % w, i / w);
                px.copy_from_slice(&[
                    ((x + k * 8) % 256) as u8,
                    ((y * 2 + k) % 256) as u8,
                    ((x ^ y) % 256) as u8,
                ]);
            }
            let img = turbojpeg::Image {
                pixels: &rgb[..],
                width: w,
                pitch: w * 3,
                height: h,
                format: turbojpeg::PixelFormat::RGB,
            };
            turbojpeg::compress(img, 80, turbojpeg::Subsamp::Sub2x1)
                .unwrap()
                .to_vec()
        })
        .collect()
}

fn run(name: &str, format: RawFormat, frames: &[Vec<u8>], args: &Args) {
    let (w, h) = (args.width, args.height);
    let hub = Hub::new(HubConfig::default());
    let lease = hub
        .publish_as("host-camera", None, SourceKind::Local)
        .unwrap();
    let queue = ViewerQueue::new();
    let _viewer = lease.stream().subscribe(&queue);
    let mut conv = FrameConverter::new(80).unwrap();
    let stride = if format == RawFormat::Yuyv { w * 2 } else { w };
    let period = Duration::from_secs_f64(1.0 / args.fps as f64);
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let mut times = Vec::new();
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(args.seconds) {
        let data = &frames[n % frames.len()];
        let t0 = Instant::now();
        let jpeg = conv
            .to_jpeg(&RawFrame {
                format,
                width: w,
                height: h,
                stride,
                data,
            })
            .unwrap();
        lease.publish(&jpeg).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        // The viewer takes what it can (latest wins), like a real socket.
        let _ = lease.stream().latest();
        n += 1;
        if let Some(wait) = (start + period * n as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    println!(
        "| {name} | {w}×{h} @ {} fps | {} | {:.3} | {:.3} | {:.1} % |",
        args.fps,
        n,
        pct(0.5),
        pct(0.99),
        cpu / wall * 100.0
    );
}

fn main() {
    let args = Args::parse();
    let (w, h) = (args.width, args.height);
    println!("| pipeline | frames | count | ms/frame p50 | ms/frame p99 | CPU of one core |");
    println!("|---|---|---|---|---|---|");
    let mjpeg = mjpeg_frames(w, h, 30);
    run("MJPEG passthrough", RawFormat::Mjpeg, &mjpeg, &args);
    let avi1: Vec<Vec<u8>> = mjpeg.iter().map(|f| strip_huffman_tables(f)).collect();
    run(
        "MJPEG (AVI1, tables inserted)",
        RawFormat::Mjpeg,
        &avi1,
        &args,
    );
    let yuyv: Vec<Vec<u8>> = (0..30).map(|k| yuyv_frame(w, h, k)).collect();
    run("YUYV → JPEG (turbojpeg)", RawFormat::Yuyv, &yuyv, &args);
    let nv12: Vec<Vec<u8>> = (0..30).map(|k| nv12_frame(w, h, k)).collect();
    run("NV12 → JPEG (turbojpeg)", RawFormat::Nv12, &nv12, &args);
    let _ = Arc::new(());
}
