//! A devkit simulator: what a microcontroller board running the devkit
//! protocol does, in Rust (docs/PROTOCOL.md, "Devkits").
//!
//! * [`Devkit`]: the connection. Sends the hello, gets the welcome, answers
//!   pings and commands on the TCP channel, sends audio datagrams.
//! * [`audio`]: what it plays: a tone, a WAV file or speech (espeak-ng).
//! * [`stream_audio`]: plays a source at the real-time rate, with optional
//!   simulated loss, reordering and duplication.
//! * [`ble_board`]: the board's Bluetooth LE pairing services (Improv Wi-Fi
//!   and Relay Deck provisioning), for tests of the native pairing path.
//!
//! `relaydeck devkit-sim` is the command-line front end; the end-to-end
//! tests drive the same code.

pub mod audio;
pub mod ble_board;
pub mod tls;
mod wire;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};
use tokio::{
    net::{TcpStream, UdpSocket},
    sync::{mpsc, Mutex},
    task::JoinHandle,
};

pub use audio::{Encoding, PcmSource};
pub use wire::{encode_frame, read_frame};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("the server refused the device: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("unexpected answer to hello: {0}")]
    Unexpected(String),
    #[error("no answer to hello within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Audio(String),
    #[error("{0}")]
    Tls(String),
}

/// How the device answers commands.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandPolicy {
    /// `set_gain`, `start_audio`, `stop_audio`, `reboot`, `ping_led` are
    /// acknowledged; anything else is refused as unknown.
    Standard,
    /// Every command is refused with this error.
    RefuseAll(String),
    /// Commands are never answered (to exercise timeouts).
    Ignore,
}

#[derive(Debug, Clone)]
pub struct DevkitConfig {
    pub server: SocketAddr,
    pub device_id: String,
    pub token: String,
    pub fw: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub frame_ms: u32,
    /// Sample frames per datagram instead of `frame_ms` (for durations that
    /// are no whole millisecond, such as 441 frames at 44.1 kHz).
    pub frame_samples: Option<u32>,
    /// Connect with TLS and accept only the certificate with this SHA-256
    /// (`AB:CD:…`, as `GET /api/devices` shows it); plain TCP when `None`.
    pub tls_fingerprint: Option<String>,
    /// The sample encoding the hello declares (the PCM must be in it: [`PcmSource::encoded`]).
    pub encoding: Encoding,
    pub commands: CommandPolicy,
    /// Answer the server's pings (turn off to exercise keepalive expiry).
    pub answer_pings: bool,
    /// Send our own pings at this period (None: never).
    pub ping_every: Option<Duration>,
}

impl DevkitConfig {
    pub fn new(server: SocketAddr, device_id: &str, token: &str) -> Self {
        Self {
            server,
            device_id: device_id.into(),
            token: token.into(),
            fw: "sim-1.0.0".into(),
            sample_rate: 16_000,
            channels: 1,
            frame_ms: 20,
            frame_samples: None,
            tls_fingerprint: None,
            encoding: Encoding::S16le,
            commands: CommandPolicy::Standard,
            answer_pings: true,
            ping_every: Some(Duration::from_secs(5)),
        }
    }

    pub fn hello(&self) -> Value {
        let mut audio = json!({ "sampleRate": self.sample_rate, "channels": self.channels, "format": self.encoding.name() });
        match self.frame_samples {
            Some(n) => audio["frameSamples"] = n.into(),
            None => audio["frameMs"] = self.frame_ms.into(),
        }
        json!({ "type": "hello", "deviceId": self.device_id, "token": self.token, "fw": self.fw, "audio": audio })
    }

    /// Sample frames per packet.
    pub fn frames_per_packet(&self) -> usize {
        self.frame_samples
            .map_or((self.sample_rate * self.frame_ms / 1000) as usize, |n| {
                n as usize
            })
    }

    /// How long one packet plays.
    pub fn packet_duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames_per_packet() as f64 / self.sample_rate as f64)
    }
}

/// A connected, welcomed devkit.
pub struct Devkit {
    pub config: DevkitConfig,
    pub session_id: u32,
    pub udp_port: u16,
    pub keepalive: Duration,
    writer: Arc<Mutex<wire::ChannelWrite>>,
    udp: UdpSocket,
    /// Every message the server sent after the welcome, in order.
    inbox: mpsc::UnboundedReceiver<Value>,
    reader: JoinHandle<Option<String>>,
    pinger: Option<JoinHandle<()>>,
    commands_seen: Arc<AtomicU64>,
}

impl Devkit {
    /// Connects, says hello and waits for the welcome.
    pub async fn connect(config: DevkitConfig) -> Result<Self, SimError> {
        let tcp = TcpStream::connect(config.server)
            .await
            .map_err(|e| SimError::Connect(config.server, e))?;
        tcp.set_nodelay(true)?;
        let (mut read, write): (wire::ChannelRead, wire::ChannelWrite) =
            match &config.tls_fingerprint {
                Some(pin) => {
                    let pin = tls::parse_fingerprint(pin).map_err(SimError::Tls)?;
                    let tls = tls::connect(tcp, pin).await.map_err(|e| {
                        SimError::Tls(format!("TLS with {} failed: {e}", config.server))
                    })?;
                    let (r, w) = tokio::io::split(tls);
                    (Box::new(r), Box::new(w))
                }
                None => {
                    let (r, w) = tcp.into_split();
                    (Box::new(r), Box::new(w))
                }
            };
        let writer = Arc::new(Mutex::new(write));
        wire::write_json(&writer, &config.hello()).await?;
        let wait = Duration::from_secs(15);
        let welcome = match tokio::time::timeout(wait, read_frame(&mut read)).await {
            Err(_) => return Err(SimError::Timeout(wait)),
            Ok(Err(e)) => return Err(SimError::Unexpected(format!("connection ended: {e}"))),
            Ok(Ok(text)) => serde_json::from_str::<Value>(&text)
                .map_err(|e| SimError::Unexpected(e.to_string()))?,
        };
        match welcome["type"].as_str() {
            Some("welcome") => {}
            Some("error") => {
                return Err(SimError::Refused {
                    code: welcome["code"].as_str().unwrap_or("").into(),
                    message: welcome["message"].as_str().unwrap_or("").into(),
                })
            }
            _ => return Err(SimError::Unexpected(welcome.to_string())),
        }
        let session_id = welcome["sessionId"]
            .as_u64()
            .ok_or_else(|| SimError::Unexpected(welcome.to_string()))?
            as u32;
        let udp_port = welcome["udpPort"]
            .as_u64()
            .ok_or_else(|| SimError::Unexpected(welcome.to_string()))?
            as u16;
        let keepalive = Duration::from_secs(welcome["keepaliveSec"].as_u64().unwrap_or(15));
        let udp = UdpSocket::bind(SocketAddr::new(local_ip_for(config.server), 0)).await?;
        udp.connect(SocketAddr::new(config.server.ip(), udp_port))
            .await?;
        let (tx, inbox) = mpsc::unbounded_channel();
        let commands_seen = Arc::new(AtomicU64::new(0));
        let reader = tokio::spawn(wire::reader_loop(
            read,
            writer.clone(),
            tx,
            config.clone(),
            commands_seen.clone(),
        ));
        let pinger = config
            .ping_every
            .map(|every| tokio::spawn(wire::ping_loop(writer.clone(), every)));
        Ok(Self {
            config,
            session_id,
            udp_port,
            keepalive,
            writer,
            udp,
            inbox,
            reader,
            pinger,
            commands_seen,
        })
    }

    /// Sends one message on the command channel.
    pub async fn send(&self, msg: &Value) -> std::io::Result<()> {
        wire::write_json(&self.writer, msg).await
    }

    /// Sends a device event (`{"type":"event","name":…, …}`).
    pub async fn event(&self, name: &str, fields: Value) -> std::io::Result<()> {
        let mut msg = json!({ "type": "event", "name": name });
        if let (Value::Object(m), Value::Object(f)) = (&mut msg, fields) {
            m.extend(f);
        }
        self.send(&msg).await
    }

    /// Sends one audio datagram with this session's header.
    pub async fn send_audio(&self, seq: u32, ts: u32, pcm: &[u8]) -> std::io::Result<()> {
        self.udp
            .send(&datagram(self.session_id, seq, ts, pcm))
            .await
            .map(drop)
    }

    /// The next message from the server (pings and commands are answered
    /// automatically but still reported here).
    pub async fn next_message(&mut self) -> Option<Value> {
        self.inbox.recv().await
    }

    pub fn commands_seen(&self) -> u64 {
        self.commands_seen.load(Ordering::Relaxed)
    }

    /// Waits until the server closes the connection; returns its last error message, if any.
    pub async fn closed(mut self) -> Option<String> {
        if let Some(p) = self.pinger.take() {
            p.abort();
        }
        (&mut self.reader).await.ok().flatten()
    }
}

impl Drop for Devkit {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(p) = &self.pinger {
            p.abort();
        }
    }
}

/// Encodes a datagram: u32 BE session, sequence, timestamp, then PCM.
pub fn datagram(session: u32, seq: u32, ts: u32, pcm: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(12 + pcm.len());
    d.extend_from_slice(&session.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&ts.to_be_bytes());
    d.extend_from_slice(pcm);
    d
}

fn local_ip_for(server: SocketAddr) -> std::net::IpAddr {
    match server {
        SocketAddr::V4(a) if a.ip().is_loopback() => std::net::Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    }
}

/// Simulated network trouble.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairments {
    /// Probability that a packet is never sent.
    pub loss: f64,
    /// Probability that a packet is held back and sent after the next one.
    pub reorder: f64,
    /// Probability that a packet is sent twice.
    pub duplicate: f64,
    pub seed: u64,
}

/// A small deterministic PRNG (xorshift64*), so impairments are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// A number in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What [`stream_audio`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamReport {
    pub packets: u64,
    pub sent: u64,
    pub dropped: u64,
    pub reordered: u64,
    pub duplicated: u64,
}

/// Plays `source` over the devkit at the real-time rate, starting at
/// sequence `first_seq`, until the source ends or `duration` has played.
pub async fn stream_audio(
    devkit: &Devkit,
    source: &mut PcmSource,
    impairments: Impairments,
    first_seq: u32,
    duration: Option<Duration>,
) -> std::io::Result<StreamReport> {
    let frames = devkit.config.frames_per_packet();
    let period = devkit.config.packet_duration();
    let max_packets = duration.map(|d| (d.as_secs_f64() / period.as_secs_f64()).round() as u64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut rng = Rng::new(impairments.seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut report = StreamReport::default();
    let mut held: Option<(u32, u32, Vec<u8>)> = None;
    let (mut seq, mut ts) = (first_seq, first_seq.wrapping_mul(frames as u32));
    while max_packets.is_none_or(|m| report.packets < m) {
        let Some(pcm) = source.next_packet(frames) else {
            break;
        };
        tick.tick().await;
        report.packets += 1;
        let this = (seq, ts, pcm);
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(frames as u32);
        if rng.next_f64() < impairments.loss {
            report.dropped += 1;
            continue;
        }
        if held.is_none() && rng.next_f64() < impairments.reorder {
            report.reordered += 1;
            held = Some(this);
            continue;
        }
        devkit.send_audio(this.0, this.1, &this.2).await?;
        report.sent += 1;
        if rng.next_f64() < impairments.duplicate {
            devkit.send_audio(this.0, this.1, &this.2).await?;
            report.duplicated += 1;
        }
        if let Some((s, t, p)) = held.take() {
            devkit.send_audio(s, t, &p).await?;
            report.sent += 1;
        }
    }
    if let Some((s, t, p)) = held.take() {
        devkit.send_audio(s, t, &p).await?;
        report.sent += 1;
    }
    Ok(report)
}
