//! Audio mode: D simulated devkits (16 kHz mono, 20 ms packets) with L
//! WebSocket listeners each. Every packet's PCM starts with the devkit's
//! index, the sequence number and the send time (µs), stamped just before
//! the datagram is sent, so each listener measures the relay-added latency
//! (UDP send → WebSocket receive) and counts what it missed.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use relaydeck_devkit_sim::{Devkit, DevkitConfig};
use tokio::net::TcpStream;

use crate::{cpu_time_us, now_us, peak_rss_kib, read_frame, ws_connect, Args};

const PACKET_BYTES: usize = 640;
const MAGIC: &[u8; 4] = b"RLA1";

pub struct AudioReport {
    expected: u64,
    received: u64,
    corrupt: u64,
    latencies: Vec<u32>,
    pub seconds: f64,
    cpu_us: u64,
    peak_rss_kib: u64,
    packets_sent: u64,
}

/// Creates a device over the REST API; returns (token, devkit TCP port).
pub(crate) async fn create_device(addr: SocketAddr, id: &str) -> anyhow::Result<(String, u16)> {
    let body = format!(r#"{{"deviceId":"{id}","name":"relayload {id}"}}"#);
    let resp =
        crate::http_request(addr, "POST", &crate::with_token("/api/devices"), "", &body).await?;
    let v: serde_json::Value = serde_json::from_str(&resp)?;
    Ok((
        v["token"].as_str().context("no token")?.to_owned(),
        v["tcpPort"].as_u64().context("no tcpPort")? as u16,
    ))
}

fn packet(dev: u32, seq: u32) -> Vec<u8> {
    let mut p = vec![0u8; PACKET_BYTES];
    p[0..4].copy_from_slice(MAGIC);
    p[4..8].copy_from_slice(&dev.to_le_bytes());
    p[8..12].copy_from_slice(&seq.to_le_bytes());
    p[12..20].copy_from_slice(&now_us().to_le_bytes());
    p
}

#[derive(Default)]
struct ListenerStats {
    received: u64,
    corrupt: u64,
    latencies: Vec<u32>,
}

/// Reads one listener's PCM; counts packets whose sequence is in the measured window.
async fn listen(
    mut ws: tokio::io::BufReader<TcpStream>,
    dev: u32,
    window: Arc<(AtomicU32, AtomicU32)>,
    stop: Arc<AtomicBool>,
) -> ListenerStats {
    let mut stats = ListenerStats::default();
    let mut payload = Vec::with_capacity(4096);
    while !stop.load(Ordering::Relaxed) {
        let op = match tokio::time::timeout(
            Duration::from_millis(200),
            read_frame(&mut ws, &mut payload),
        )
        .await
        {
            Err(_) => continue,
            Ok(Err(_)) => break,
            Ok(Ok(op)) => op,
        };
        match op {
            0x2 => {
                // One datagram per message when the listener keeps up; split defensively.
                for p in payload.chunks(PACKET_BYTES) {
                    if p.len() != PACKET_BYTES
                        || &p[0..4] != MAGIC
                        || u32::from_le_bytes(p[4..8].try_into().unwrap()) != dev
                    {
                        stats.corrupt += 1;
                        continue;
                    }
                    let seq = u32::from_le_bytes(p[8..12].try_into().unwrap());
                    let (lo, hi) = (
                        window.0.load(Ordering::Relaxed),
                        window.1.load(Ordering::Relaxed),
                    );
                    if seq >= lo && seq < hi {
                        stats.received += 1;
                        let sent = u64::from_le_bytes(p[12..20].try_into().unwrap());
                        stats
                            .latencies
                            .push(now_us().saturating_sub(sent).min(u32::MAX as u64) as u32);
                    }
                }
            }
            0x9 => crate::answer_ping(&mut ws, &payload).await,
            0x8 => break,
            _ => {}
        }
    }
    stats
}

pub async fn run(args: &Args, addr: SocketAddr, pid: u32) -> anyhow::Result<AudioReport> {
    let mut devkits = Vec::new();
    for d in 0..args.devkits {
        let id = format!("dk-{d}");
        let (token, tcp_port) = create_device(addr, &id).await?;
        let mut cfg = DevkitConfig::new(SocketAddr::new(addr.ip(), tcp_port), &id, &token);
        cfg.ping_every = Some(Duration::from_secs(5));
        devkits.push(Arc::new(Devkit::connect(cfg).await?));
    }
    let ids: Vec<String> = (0..args.devkits).map(|d| format!("dk-{d}")).collect();
    crate::record_all(args, addr, &ids, "audio").await?;
    // The window of measured sequence numbers: [lo, hi), set when measuring starts and ends.
    let window = Arc::new((AtomicU32::new(u32::MAX), AtomicU32::new(u32::MAX)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut listeners = Vec::new();
    for d in 0..args.devkits {
        for _ in 0..args.listeners {
            let ws = ws_connect(addr, &format!("/audio/ws?source=dk-{d}"), None).await?;
            listeners.push(tokio::spawn(listen(
                ws,
                d as u32,
                window.clone(),
                stop.clone(),
            )));
        }
    }
    let warmup = 50u32; // 1 s
    let total = (args.duration * 50) as u32;
    // One sender task per devkit, each on the 20 ms clock, staggered.
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut senders = Vec::new();
    for (d, dk) in devkits.iter().enumerate() {
        let dk = dk.clone();
        let offset = Duration::from_micros((d as u64 * 20_000) / args.devkits as u64);
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(start + offset, Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for seq in 0..warmup + total + 10 {
                tick.tick().await;
                if dk
                    .send_audio(seq, seq * 320, &packet(d as u32, seq))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }));
    }
    tokio::time::sleep_until(start + Duration::from_millis(20 * warmup as u64)).await;
    window.0.store(warmup, Ordering::Relaxed);
    window.1.store(warmup + total, Ordering::Relaxed);
    let cpu0 = cpu_time_us(pid)?;
    crate::reset_peak_rss(pid);
    let t0 = Instant::now();
    for s in senders {
        s.await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu_us = cpu_time_us(pid)? - cpu0;
    let peak_rss_kib = peak_rss_kib(pid)?;
    stop.store(true, Ordering::Relaxed);
    let mut report = AudioReport {
        expected: total as u64 * (args.devkits * args.listeners) as u64,
        received: 0,
        corrupt: 0,
        latencies: Vec::new(),
        seconds,
        cpu_us,
        peak_rss_kib,
        packets_sent: total as u64 * args.devkits as u64,
    };
    for l in listeners {
        let s = l.await?;
        report.received += s.received;
        report.corrupt += s.corrupt;
        report.latencies.extend(s.latencies);
    }
    report.latencies.sort_unstable();
    drop(devkits);
    Ok(report)
}

impl AudioReport {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies[((self.latencies.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    }

    pub fn print(&self, args: &Args) {
        let loss = 100.0 * self.expected.saturating_sub(self.received) as f64
            / self.expected.max(1) as f64;
        let max = self.latencies.last().copied().unwrap_or(0) as f64 / 1000.0;
        let cpu_share = self.cpu_us as f64 / 1e6 / self.seconds * 100.0;
        let per_packet = self.cpu_us as f64 / self.received.max(1) as f64;
        println!(
            "relayload audio: {} devkit(s) × {} listener(s), 16 kHz mono, 20 ms packets, {:.1} s measured",
            args.devkits, args.listeners, self.seconds
        );
        println!("  packets sent       {}", self.packets_sent);
        println!(
            "  delivered          {} of {} (loss {loss:.3} %)",
            self.received, self.expected
        );
        println!("  corrupt            {}", self.corrupt);
        println!(
            "  relay latency ms   p50 {:.3}  p99 {:.3}  max {:.2}",
            self.pct(0.5),
            self.pct(0.99),
            max
        );
        println!("  server CPU         {:.2} s ({cpu_share:.1} % of one core), {per_packet:.2} µs per delivered packet", self.cpu_us as f64 / 1e6);
        println!(
            "  server peak RSS    {:.1} MiB",
            self.peak_rss_kib as f64 / 1024.0
        );
        if args.markdown {
            println!(
                "| {} devkits × {} listeners | {loss:.3} % | {} | {:.3} | {:.3} | {max:.2} | {cpu_share:.1} % | {per_packet:.2} | {:.1} |",
                args.devkits, args.listeners, self.corrupt, self.pct(0.5), self.pct(0.99), self.peak_rss_kib as f64 / 1024.0
            );
        }
    }
}
