//! `relayload`: a load benchmark for the relay.
//!
//! It starts `relaydeck serve` as a child process (so the server's CPU time
//! and peak RSS can be read from /proc without counting the load
//! generator), connects V viewers per camera, then runs C cameras at F fps
//! for the given duration. Every frame is a real JPEG with a COM segment
//! carrying camera, sequence number, send time and a CRC of the image, so
//! each viewer measures latency and detects drops and corruption.
//!
//! Viewers speak the WebSocket protocol directly over a buffered socket
//! (server frames are unmasked and simple), so the generator spends as
//! little CPU as possible and the server gets its share of the two cores.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context};
use clap::Parser;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
};

#[derive(Debug, Parser, Clone)]
#[command(about = "Load benchmark for the Relay Deck relay")]
pub(crate) struct Args {
    /// Cameras publishing at once.
    #[arg(long, default_value_t = 1)]
    cameras: usize,
    /// Frames per second per camera.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Viewers per camera.
    #[arg(long, default_value_t = 50)]
    viewers: usize,
    /// Viewers per camera that connect and never read.
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    #[arg(long, default_value_t = 640)]
    width: usize,
    #[arg(long, default_value_t = 480)]
    height: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// The relaydeck binary (default: next to this one).
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
    /// Print a Markdown table row as well.
    #[arg(long)]
    markdown: bool,
    /// Audio mode: this many simulated devkits (16 kHz mono, 20 ms packets) instead of cameras.
    #[arg(long, default_value_t = 0)]
    devkits: usize,
    /// An admin token for the server (default: the benchmark signs in to the server it starts and creates one).
    #[arg(long, env = "RELAYLOAD_TOKEN")]
    token: Option<String>,
    /// Audio mode: WebSocket listeners per devkit.
    #[arg(long, default_value_t = 1)]
    listeners: usize,
    /// WebRTC receiver mode: this many WebRTC listeners (webrtc-rs peers on the Opus track) of one devkit.
    #[arg(long, default_value_t = 0)]
    webrtc_listeners: usize,
    /// Record every camera (or devkit) while measuring (`POST /api/recorders`).
    #[arg(long)]
    record: bool,
    /// With --record: record the cameras on motion (default motion settings).
    #[arg(long, requires = "record")]
    record_motion: bool,
    /// Scrape `GET /metrics` every second while measuring, as Prometheus would.
    #[arg(long)]
    scrape_metrics: bool,
}

const TAG: &[u8; 4] = b"RLD1";

mod audio;
mod webrtc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.webrtc_listeners > 0 {
        let (mut child, addr) = start_server(&args).await?;
        let result = webrtc::run(&args, addr, child.id()).await;
        stop_server(&mut child);
        result?.print(&args);
        return Ok(());
    }
    if args.devkits > 0 {
        let (mut child, addr) = start_server(&args).await?;
        let result = audio::run(&args, addr, child.id()).await;
        stop_server(&mut child);
        let result = result?;
        result.print(&args);
        print_recorded(&args, result.seconds);
        return Ok(());
    }
    let base = base_jpeg(args.width, args.height)?;
    let (mut child, addr) = start_server(&args).await?;
    let result = run(&args, addr, &base, child.id()).await;
    stop_server(&mut child);
    let result = result?;
    result.print(&args, base.len());
    print_recorded(&args, result.seconds);
    Ok(())
}

/// The server's data directory (its recordings are under it).
fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("relayload-{}", std::process::id()))
}

/// `--record`: starts a recorder of `kind` for each of `ids`.
pub(crate) async fn record_all(
    args: &Args,
    addr: SocketAddr,
    ids: &[String],
    kind: &str,
) -> anyhow::Result<()> {
    if !args.record {
        return Ok(());
    }
    let motion = if args.record_motion && kind == "camera" {
        r#","motion":{}"#
    } else {
        ""
    };
    for id in ids {
        let body = format!(r#"{{"source":"{id}","kind":"{kind}"{motion}}}"#);
        http_request(addr, "POST", &with_token("/api/recorders"), "", &body).await?;
    }
    Ok(())
}

/// Bytes under `dir`, recursively.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// `--record`: what the recorders wrote (warm-up included), and its rate over the measured time.
fn print_recorded(args: &Args, seconds: f64) {
    if !args.record {
        return;
    }
    let bytes = dir_bytes(&data_dir().join("recordings"));
    println!(
        "  recorded           {:.1} MiB ({:.2} MB/s over the measured {seconds:.1} s, warm-up included)",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / 1e6 / seconds.max(0.001)
    );
    let _ = std::fs::remove_dir_all(data_dir());
}

/// SIGTERM, as a user stops it, then waits for it to exit.
fn stop_server(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

/// A realistic 4:2:0 JPEG: the test pattern plus sensor-like noise.
fn base_jpeg(width: usize, height: usize) -> anyhow::Result<Vec<u8>> {
    let mut canvas = relaydeck_capture::pattern::Canvas::new(width, height);
    relaydeck_capture::pattern::draw(&mut canvas, 7, 30, 0, "RELAYLOAD");
    let mut state = 0x2545_F491u32;
    for px in canvas.rgb.iter_mut() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *px = px.saturating_add((state % 24) as u8).saturating_sub(12);
    }
    let image = turbojpeg::Image {
        pixels: &canvas.rgb[..],
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    Ok(turbojpeg::compress(image, 75, turbojpeg::Subsamp::Sub2x2)?.to_vec())
}

async fn start_server(args: &Args) -> anyhow::Result<(Child, SocketAddr)> {
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("relaydeck"),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let data_dir = data_dir();
    let child = Command::new(&bin)
        .args([
            "serve",
            "--bind",
            &addr.to_string(),
            "--devkit-tcp-port",
            "0",
            "--devkit-udp-port",
            "0",
            // WebRTC mode: candidates on loopback only, and room for every listener.
            "--webrtc-bind",
            "127.0.0.1",
            "--webrtc-max-peers-per-ip",
            "1000",
            "--webrtc-max-peers",
            "1000",
        ])
        .args(["--admin-password", ADMIN_PASSWORD])
        .arg("--data-dir")
        .arg(&data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it with cargo build --release)",
                bin.display()
            )
        })?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not start listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = match &args.token {
        Some(t) => t.clone(),
        None => create_admin_token(addr).await?,
    };
    let _ = TOKEN.set(token);
    Ok((child, addr))
}

const ADMIN_PASSWORD: &str = "relayload-admin-password";
pub(crate) static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `path` with the benchmark's token.
pub(crate) fn with_token(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!(
        "{path}{sep}token={}",
        TOKEN.get().map(String::as_str).unwrap_or("")
    )
}

/// Signs in with the admin password (HTTP Basic) and creates an admin token.
async fn create_admin_token(addr: SocketAddr) -> anyhow::Result<String> {
    let body = r#"{"name":"relayload","scope":"admin","expiresInSec":86400}"#;
    let basic = base64_encode(format!("admin:{ADMIN_PASSWORD}").as_bytes());
    let resp = http_request(
        addr,
        "POST",
        "/api/tokens",
        &format!("Authorization: Basic {basic}\r\n"),
        body,
    )
    .await?;
    let v: serde_json::Value =
        serde_json::from_str(&resp).with_context(|| format!("creating a token: {resp}"))?;
    Ok(v["token"]
        .as_str()
        .context("no token in the answer")?
        .to_owned())
}

/// One HTTP/1.1 request with `Connection: close`; returns the body of a 2xx answer.
pub(crate) async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> anyhow::Result<String> {
    let mut tcp = TcpStream::connect(addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await?;
    if !resp.starts_with("HTTP/1.1 2") {
        bail!("{method} {path} failed: {resp}");
    }
    Ok(resp[resp.find("\r\n\r\n").context("no body")? + 4..].to_owned())
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// base JPEG with a COM segment: TAG, camera u32, seq u64, send time µs u64, CRC32 of `base`.
fn stamp(base: &[u8], crc: u32, camera: u32, seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + 32);
    out.extend_from_slice(&base[..2]);
    out.extend_from_slice(&[0xFF, 0xFE, 0, 30]);
    out.extend_from_slice(TAG);
    out.extend_from_slice(&camera.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&now_us().to_be_bytes());
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&base[2..]);
    out
}

#[derive(Default)]
struct ViewerStats {
    received: u64,
    corrupt: u64,
    latencies_us: Vec<u32>,
    last_seq: u64,
}

impl ViewerStats {
    fn record(&mut self, frame: &[u8], measuring: bool) {
        let ok = frame.len() > 32 && &frame[6..10] == TAG && {
            let crc = u32::from_be_bytes(frame[30..34].try_into().unwrap());
            let mut h = crc32fast::Hasher::new();
            h.update(&frame[..2]);
            h.update(&frame[34..]);
            h.finalize() == crc
        };
        if !ok {
            self.corrupt += 1;
            return;
        }
        let seq = u64::from_be_bytes(frame[14..22].try_into().unwrap());
        let sent = u64::from_be_bytes(frame[22..30].try_into().unwrap());
        if seq <= self.last_seq {
            self.corrupt += 1; // out of order would be a relay bug
        }
        self.last_seq = seq;
        if measuring {
            self.received += 1;
            self.latencies_us
                .push(now_us().saturating_sub(sent).min(u32::MAX as u64) as u32);
        }
    }
}

pub(crate) async fn ws_connect(
    addr: SocketAddr,
    path: &str,
    rcvbuf: Option<u32>,
) -> anyhow::Result<BufReader<TcpStream>> {
    let sock = TcpSocket::new_v4()?;
    if let Some(b) = rcvbuf {
        sock.set_recv_buffer_size(b)?;
    }
    let mut tcp = sock.connect(addr).await?;
    tcp.set_nodelay(true)?;
    let path = with_token(path);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: cmVsYXlsb2FkLWtleS0xMjM=\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut reader = BufReader::with_capacity(256 * 1024, tcp);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    if !line.starts_with("HTTP/1.1 101") {
        bail!("handshake refused: {line}");
    }
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        if line == "\r\n" {
            return Ok(reader);
        }
    }
}

/// Reads server frames until `stop`; answers pings with masked pongs.
async fn run_viewer(
    mut ws: BufReader<TcpStream>,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> ViewerStats {
    let mut stats = ViewerStats::default();
    let mut payload = Vec::with_capacity(128 * 1024);
    while !stop.load(Ordering::Relaxed) {
        let read = tokio::time::timeout(
            Duration::from_millis(200),
            read_frame(&mut ws, &mut payload),
        )
        .await;
        let opcode = match read {
            Err(_) => continue,
            Ok(Err(_)) => break,
            Ok(Ok(op)) => op,
        };
        match opcode {
            0x2 => stats.record(&payload, measuring.load(Ordering::Relaxed)),
            0x9 => answer_ping(&mut ws, &payload).await,
            0x8 => break,
            _ => {}
        }
    }
    stats
}

/// Answers a server ping with a masked pong carrying the same payload.
pub(crate) async fn answer_ping(ws: &mut BufReader<TcpStream>, payload: &[u8]) {
    let mut pong = vec![0x8A, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    pong.extend_from_slice(payload);
    let _ = ws.get_mut().write_all(&pong).await;
}

pub(crate) async fn read_frame(
    ws: &mut BufReader<TcpStream>,
    payload: &mut Vec<u8>,
) -> std::io::Result<u8> {
    let b0 = ws.read_u8().await?;
    let b1 = ws.read_u8().await?;
    let len = match b1 & 0x7F {
        126 => ws.read_u16().await? as usize,
        127 => ws.read_u64().await? as usize,
        n => n as usize,
    };
    payload.resize(len, 0);
    ws.read_exact(payload).await?;
    Ok(b0 & 0x0F)
}

/// Sends `frame` as a masked binary WebSocket message (mask of zeros: payload unchanged).
async fn send_binary(tcp: &mut TcpStream, frame: &[u8]) -> std::io::Result<()> {
    let mut head = vec![0x82u8];
    match frame.len() {
        n if n < 126 => head.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            head.push(0x80 | 126);
            head.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            head.push(0x80 | 127);
            head.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    head.extend_from_slice(&[0, 0, 0, 0]);
    tcp.write_all(&head).await?;
    tcp.write_all(frame).await
}

struct Report {
    sent: u64,
    expected: u64,
    received: u64,
    corrupt: u64,
    latencies: Vec<u32>,
    seconds: f64,
    cpu_us: u64,
    peak_rss_kib: u64,
    stalled_held_ok: bool,
}

async fn run(args: &Args, addr: SocketAddr, base: &[u8], pid: u32) -> anyhow::Result<Report> {
    let crc = {
        let mut h = crc32fast::Hasher::new();
        h.update(base);
        h.finalize()
    };
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut stalled = Vec::new();
    let mut viewers = Vec::new();
    for c in 0..args.cameras {
        for _ in 0..args.stalled {
            stalled
                .push(ws_connect(addr, &format!("/stream/ws?clientId=cam{c}"), Some(4096)).await?);
        }
        for _ in 0..args.viewers {
            let ws = ws_connect(addr, &format!("/stream/ws?clientId=cam{c}"), None).await?;
            viewers.push(tokio::spawn(run_viewer(
                ws,
                measuring.clone(),
                stop.clone(),
            )));
        }
    }
    let mut cameras = Vec::new();
    for c in 0..args.cameras {
        let mut ws = ws_connect(addr, &format!("/ws?clientId=cam{c}"), None).await?;
        // Read the `registered` ack through the buffer: it may have arrived with the 101.
        let mut ack = Vec::new();
        let op = read_frame(&mut ws, &mut ack).await?;
        if op != 0x1 || !ack.windows(10).any(|w| w == b"registered") {
            bail!(
                "camera {c} was not registered: {}",
                String::from_utf8_lossy(&ack)
            );
        }
        cameras.push(ws.into_inner());
    }
    let ids: Vec<String> = (0..args.cameras).map(|c| format!("cam{c}")).collect();
    record_all(args, addr, &ids, "camera").await?;
    let scraper = args
        .scrape_metrics
        .then(|| tokio::spawn(scrape_metrics(addr, stop.clone())));
    // Warm-up: one second of frames not counted.
    let period = Duration::from_secs_f64(1.0 / args.fps as f64);
    let total = args.duration * args.fps as u64;
    let warmup = args.fps as u64;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut cpu0 = 0;
    let mut t0 = Instant::now();
    while seq < warmup + total {
        tick.tick().await;
        seq += 1;
        if seq == warmup + 1 {
            // Let warm-up frames drain, then start measuring.
            tokio::time::sleep(Duration::from_millis(100)).await;
            tick.reset();
            measuring.store(true, Ordering::Relaxed);
            cpu0 = cpu_time_us(pid)?;
            reset_peak_rss(pid);
            t0 = Instant::now();
        }
        for (c, ws) in cameras.iter_mut().enumerate() {
            send_binary(ws, &stamp(base, crc, c as u32, seq)).await?;
        }
    }
    // Give the last frames time to arrive, then stop the clock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu_us = cpu_time_us(pid)? - cpu0;
    measuring.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let peak_rss_kib = peak_rss_kib(pid)?;
    let mut report = Report {
        sent: total * args.cameras as u64,
        expected: total * (args.cameras * args.viewers) as u64,
        received: 0,
        corrupt: 0,
        latencies: Vec::new(),
        seconds,
        cpu_us,
        peak_rss_kib,
        stalled_held_ok: true,
    };
    for v in viewers {
        let s = v.await?;
        report.received += s.received;
        report.corrupt += s.corrupt;
        report.latencies.extend(s.latencies_us);
    }
    drop(stalled);
    if let Some(scraper) = scraper {
        let scrapes = scraper.await??;
        println!("  metrics scrapes   {scrapes} (one a second)");
    }
    report.latencies.sort_unstable();
    Ok(report)
}

/// `GET /metrics` once a second until `stop`; how many scrapes answered.
async fn scrape_metrics(addr: SocketAddr, stop: Arc<AtomicBool>) -> anyhow::Result<u64> {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        let text = http_request(addr, "GET", &with_token("/metrics"), "", "").await?;
        if !text.contains("relaydeck_frames_received_total") {
            bail!("/metrics did not answer with the relay's counters: {text}");
        }
        n += 1;
    }
    Ok(n)
}

/// utime + stime of `pid`, in µs.
pub(crate) fn cpu_time_us(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').context("bad /proc stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    let hz = 100; // USER_HZ is 100 on Linux
    Ok(ticks * 1_000_000 / hz)
}

/// Resets the process's peak RSS to its current RSS (Linux ≥ 4.0), so the
/// peak reported is the one under load, not start-up's (Argon2 hashing the
/// admin password briefly takes 19 MiB).
pub(crate) fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

pub(crate) fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("bad VmHWM")?
        .parse()?)
}

impl Report {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[i] as f64 / 1000.0
    }

    fn print(&self, args: &Args, frame_bytes: usize) {
        let delivery = 100.0 * self.received as f64 / self.expected.max(1) as f64;
        let max = self.latencies.last().copied().unwrap_or(0) as f64 / 1000.0;
        let mbps = self.received as f64 * frame_bytes as f64 * 8.0 / self.seconds / 1e6;
        let per_frame = self.cpu_us as f64 / self.received.max(1) as f64;
        let cpu_share = self.cpu_us as f64 / 1e6 / self.seconds * 100.0;
        println!("relayload: {} camera(s) {}x{} @ {} fps, {} viewer(s) each, {} stalled each, {:.1} s measured, frame {} bytes",
            args.cameras, args.width, args.height, args.fps, args.viewers, args.stalled, self.seconds, frame_bytes);
        println!("  frames sent        {}", self.sent);
        println!(
            "  delivered          {} of {} ({delivery:.3} %), dropped {}",
            self.received,
            self.expected,
            self.expected.saturating_sub(self.received)
        );
        println!("  corrupt/reordered  {}", self.corrupt);
        println!(
            "  latency ms         p50 {:.2}  p99 {:.2}  max {:.2}",
            self.pct(0.5),
            self.pct(0.99),
            max
        );
        println!("  throughput         {mbps:.0} Mbit/s to viewers");
        println!("  server CPU         {:.2} s ({cpu_share:.0} % of one core), {per_frame:.2} µs per delivered frame", self.cpu_us as f64 / 1e6);
        println!(
            "  server peak RSS    {:.1} MiB",
            self.peak_rss_kib as f64 / 1024.0
        );
        if args.markdown {
            println!(
                "| {}×{}x{} @ {} fps × {} viewers{} | {delivery:.3} % | {} | {:.2} | {:.2} | {max:.1} | {mbps:.0} | {cpu_share:.0} % | {per_frame:.2} | {:.1} |",
                args.cameras, args.width, args.height, args.fps, args.viewers,
                if args.stalled > 0 { format!(" + {} stalled", args.stalled) } else { String::new() },
                self.corrupt, self.pct(0.5), self.pct(0.99), self.peak_rss_kib as f64 / 1024.0
            );
        }
        let _ = self.stalled_held_ok;
    }
}
