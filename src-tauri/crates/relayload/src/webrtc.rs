//! WebRTC receiver mode: one simulated devkit (a 440 Hz tone, 16 kHz mono,
//! 20 ms packets) and L WebRTC listeners, each a webrtc-rs peer with one
//! recvonly Opus transceiver, signalled through `POST /api/offer` as the
//! Listen page does. Everything is on loopback (the server runs with
//! `--webrtc-bind 127.0.0.1`). Measured: offer → answer and offer → first
//! RTP packet per listener, RTP packets each listener received in the
//! window, and the server's CPU and peak RSS — with the relay encoding the
//! source once, the CPU per listener is what packetising and SRTP cost.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use relaydeck_devkit_sim::{Devkit, DevkitConfig};
use rtc::{
    peer_connection::{
        configuration::setting_engine::SettingEngineBuilder, sdp::RTCSessionDescription,
    },
    rtp_transceiver::{
        rtp_sender::RtpCodecKind, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
    },
};
use tokio::sync::{watch, Notify};
use webrtc::{
    media_stream::track_remote::{TrackRemote, TrackRemoteEvent},
    peer_connection::{
        PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    },
};

use crate::{cpu_time_us, peak_rss_kib, Args};

pub struct WebRtcReport {
    listeners: usize,
    answer_ms: Vec<f64>,
    first_packet_ms: Vec<f64>,
    /// Packets each listener received in the measured window.
    packets: Vec<u64>,
    seconds: f64,
    cpu_us: u64,
    peak_rss_kib: u64,
}

struct Events {
    gathered: watch::Sender<bool>,
    packets: Arc<AtomicU64>,
    first: Arc<Notify>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let (packets, first) = (self.packets.clone(), self.first.clone());
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(_) = event {
                    if packets.fetch_add(1, Ordering::Relaxed) == 0 {
                        first.notify_one();
                    }
                }
            }
        });
    }
}

/// One listener: its peer (kept open), its packet counter, its timings.
struct Listener {
    _pc: Box<dyn PeerConnection>,
    packets: Arc<AtomicU64>,
    answer_ms: f64,
    first_packet_ms: f64,
}

async fn listener(addr: SocketAddr, n: usize) -> anyhow::Result<Listener> {
    // The relay's own codec table: Opus only, with the default interceptors.
    let (engine, registry) = relaydeck_server::edges::webrtc::opus_track::media_engine()?;
    let (gathered, mut gathered_rx) = watch::channel(false);
    let packets = Arc::new(AtomicU64::new(0));
    let first = Arc::new(Notify::new());
    let pc = PeerConnectionBuilder::new()
        .with_setting_engine(
            SettingEngineBuilder::new()
                .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                .build(),
        )
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Events {
            gathered,
            packets: packets.clone(),
            first: first.clone(),
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await?;
    pc.add_transceiver_from_kind(
        RtpCodecKind::Audio,
        Some(RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        }),
    )
    .await?;
    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer).await?;
    tokio::time::timeout(Duration::from_secs(5), gathered_rx.wait_for(|d| *d)).await??;
    let sdp = pc.local_description().await.context("no offer")?.sdp;
    let body = serde_json::json!({
        "offer": {"type": "offer", "sdp": sdp},
        "clientId": format!("bench-{n}"),
        "source": "dk-0",
    });
    let t0 = Instant::now();
    let resp = crate::http_request(
        addr,
        "POST",
        &crate::with_token("/api/offer"),
        "",
        &body.to_string(),
    )
    .await?;
    let answer_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let v: serde_json::Value = serde_json::from_str(&resp)?;
    let answer = v["answer"]["sdp"].as_str().context("no answer")?.to_owned();
    pc.set_remote_description(RTCSessionDescription::answer(answer)?)
        .await?;
    tokio::time::timeout(Duration::from_secs(10), first.notified())
        .await
        .context("no RTP packet within 10 s")?;
    Ok(Listener {
        _pc: Box::new(pc),
        packets,
        answer_ms,
        first_packet_ms: t0.elapsed().as_secs_f64() * 1000.0,
    })
}

/// A 440 Hz tone, 20 ms of 16 kHz mono s16le starting at packet `seq`.
fn tone(seq: u32) -> Vec<u8> {
    (0..320u32)
        .flat_map(|i| {
            let t = (seq * 320 + i) as f32 / 16_000.0;
            (((2.0 * std::f32::consts::PI * 440.0 * t).sin() * 12_000.0) as i16).to_le_bytes()
        })
        .collect()
}

pub async fn run(args: &Args, addr: SocketAddr, pid: u32) -> anyhow::Result<WebRtcReport> {
    let (token, tcp_port) = crate::audio::create_device(addr, "dk-0").await?;
    let mut cfg = DevkitConfig::new(SocketAddr::new(addr.ip(), tcp_port), "dk-0", &token);
    cfg.ping_every = Some(Duration::from_secs(5));
    let devkit = Arc::new(Devkit::connect(cfg).await?);
    let sender = {
        let dk = devkit.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for seq in 0u32.. {
                tick.tick().await;
                if dk.send_audio(seq, seq * 320, &tone(seq)).await.is_err() {
                    break;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut listeners = Vec::with_capacity(args.webrtc_listeners);
    for n in 0..args.webrtc_listeners {
        listeners.push(
            listener(addr, n)
                .await
                .with_context(|| format!("listener {n}"))?,
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // warm-up
    let before: Vec<u64> = listeners
        .iter()
        .map(|l| l.packets.load(Ordering::Relaxed))
        .collect();
    let cpu0 = cpu_time_us(pid)?;
    crate::reset_peak_rss(pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu_us = cpu_time_us(pid)? - cpu0;
    let packets = listeners
        .iter()
        .zip(&before)
        .map(|(l, b)| l.packets.load(Ordering::Relaxed) - b)
        .collect();
    let report = WebRtcReport {
        listeners: listeners.len(),
        answer_ms: listeners.iter().map(|l| l.answer_ms).collect(),
        first_packet_ms: listeners.iter().map(|l| l.first_packet_ms).collect(),
        packets,
        seconds,
        cpu_us,
        peak_rss_kib: peak_rss_kib(pid)?,
    };
    sender.abort();
    drop(listeners);
    Ok(report)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

impl WebRtcReport {
    pub fn print(&self, args: &Args) {
        let expected = self.seconds * 50.0;
        let least = self.packets.iter().copied().min().unwrap_or(0);
        let mean = self.packets.iter().sum::<u64>() as f64 / self.listeners.max(1) as f64;
        let cpu_share = self.cpu_us as f64 / 1e6 / self.seconds * 100.0;
        let per_listener = cpu_share / self.listeners.max(1) as f64;
        println!(
            "relayload webrtc: 1 devkit × {} WebRTC listener(s) (Opus track), {:.1} s measured",
            self.listeners, self.seconds
        );
        println!(
            "  offer → answer ms        median {:.1}  max {:.1}",
            median(&self.answer_ms),
            max(&self.answer_ms)
        );
        println!(
            "  offer → first packet ms  median {:.1}  max {:.1}",
            median(&self.first_packet_ms),
            max(&self.first_packet_ms)
        );
        println!(
            "  RTP packets per listener mean {mean:.0}, least {least} (of {expected:.0} sent)"
        );
        println!("  server CPU               {cpu_share:.1} % of one core, {per_listener:.2} % per listener");
        println!(
            "  server peak RSS          {:.1} MiB",
            self.peak_rss_kib as f64 / 1024.0
        );
        if args.markdown {
            println!(
                "| {} | {:.1} / {:.1} | {:.1} / {:.1} | {mean:.0} / {least} of {expected:.0} | {cpu_share:.1} % | {per_listener:.2} % | {:.1} |",
                self.listeners,
                median(&self.answer_ms),
                max(&self.answer_ms),
                median(&self.first_packet_ms),
                max(&self.first_packet_ms),
                self.peak_rss_kib as f64 / 1024.0
            );
        }
    }
}
