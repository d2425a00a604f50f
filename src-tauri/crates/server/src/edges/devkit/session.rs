//! One devkit's TCP connection: hello and authentication, keepalive,
//! commands and their acks, events, and the audio it streams over UDP.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use parking_lot::Mutex;
use relaydeck_hub::{AudioFormat, AudioLease, SampleEncoding, SourceKind};
use serde_json::{json, Map, Value};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt},
    sync::{mpsc, oneshot},
};
use tokio_util::sync::CancellationToken;

use super::{
    framing::{self, FrameError, FrameReader},
    messages::{self, code, FromDevice, Hello, ToDevice},
    reorder::{Output, Packet, Reorderer},
    udp::MAX_DATAGRAM,
    Devkits,
};
use crate::{
    devkit_service::{Ack, CommandError, SessionInfo},
    state::AppState,
};

/// The UDP header: session, sequence, timestamp.
pub const UDP_HEADER: usize = 12;

use crate::secrets::now_ms;

/// Audio statistics of a session.
#[derive(Debug, Default)]
struct AudioIngest {
    packets: u64,
    bytes: u64,
    last_packet_ms: Option<u64>,
    /// RFC 3550 interarrival jitter, in timestamp units (sample frames).
    jitter: f64,
    last_transit: Option<f64>,
}

/// A live devkit session, shared by its TCP task, the UDP loop and the API.
#[derive(Debug)]
pub struct DevkitSession {
    pub id: u32,
    pub device_id: String,
    pub peer: SocketAddr,
    pub fw: Option<String>,
    pub format: AudioFormat,
    pub transport: Transport,
    /// Sample frames per datagram, as the hello announced.
    pub frame_samples: u32,
    pub connected_ms: u64,
    lease: AudioLease,
    reorder: Mutex<Reorderer>,
    audio: Mutex<AudioIngest>,
    epoch: Instant,
    pending: Mutex<HashMap<u64, oneshot::Sender<Ack>>>,
    next_command: AtomicU64,
    outbox: mpsc::Sender<String>,
    status: Mutex<Map<String, Value>>,
    closing: CancellationToken,
    close_reason: Mutex<Option<(&'static str, String)>>,
}

impl DevkitSession {
    pub fn info(&self) -> SessionInfo {
        let a = self.audio.lock();
        let loss = self.reorder.lock().stats();
        SessionInfo {
            session_id: self.id,
            ip: self.peer.ip().to_string(),
            fw: self.fw.clone(),
            format: relaydeck_contract::api::DeviceAudio {
                sample_rate: self.format.sample_rate,
                channels: self.format.channels,
                format: self.format.encoding.name().to_owned(),
                frame_ms: ((self.frame_samples as u64 * 1000 + self.format.sample_rate as u64 / 2)
                    / self.format.sample_rate as u64) as u32,
                frame_samples: self.frame_samples,
            },
            transport: self.transport.name(),
            connected_ms: self.connected_ms,
            packets: a.packets,
            bytes: a.bytes,
            lost: loss.lost,
            late: loss.late,
            duplicates: loss.duplicates,
            filled: loss.filled,
            jitter_ms: (a.jitter / self.format.sample_rate as f64 * 1000.0 * 1000.0).round()
                / 1000.0,
            last_packet_ms: a.last_packet_ms,
            listeners: self.lease.source().listener_count(),
            status: self.status.lock().clone(),
        }
    }

    /// Asks the session's task to close the connection with an error message.
    pub fn close(&self, code: &'static str, reason: &str) {
        self.close_reason
            .lock()
            .get_or_insert((code, reason.to_owned()));
        self.closing.cancel();
    }

    pub async fn command(
        &self,
        name: &str,
        args: Value,
        timeout: Duration,
    ) -> Result<Ack, CommandError> {
        let id = self.next_command.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let msg = messages::to_text(&ToDevice::Command { id, name, args });
        if self.outbox.try_send(msg).is_err() {
            self.pending.lock().remove(&id);
            return Err(if self.closing.is_cancelled() {
                CommandError::Offline
            } else {
                CommandError::Busy
            });
        }
        let result = tokio::time::timeout(timeout, rx).await;
        self.pending.lock().remove(&id);
        match result {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(_)) => Err(CommandError::Offline),
            Err(_) => Err(CommandError::Timeout(timeout)),
        }
    }

    /// Takes one datagram's audio (already checked for session and peer).
    pub(crate) fn on_audio(
        &self,
        seq: u32,
        ts: u32,
        pcm: Bytes,
        arrived: Instant,
    ) -> Option<Instant> {
        {
            let mut a = self.audio.lock();
            a.packets += 1;
            a.bytes += pcm.len() as u64;
            a.last_packet_ms = Some(now_ms());
            // RFC 3550 §6.4.1, with arrival measured in sample frames.
            let arrival =
                arrived.duration_since(self.epoch).as_secs_f64() * self.format.sample_rate as f64;
            let transit = arrival - ts as f64;
            if let Some(last) = a.last_transit {
                let mut d = (transit - last).abs();
                // A timestamp wrap looks like a 2^32 jump; ignore it.
                if d > (u32::MAX / 2) as f64 {
                    d = 0.0;
                }
                a.jitter += (d - a.jitter) / 16.0;
            }
            a.last_transit = Some(transit);
        }
        let mut out = Vec::new();
        let mut r = self.reorder.lock();
        r.push(Packet { seq, ts, pcm }, arrived, &mut out);
        let deadline = r.deadline();
        self.forward(&r, out);
        deadline
    }

    /// Gives up on missing packets whose window has passed.
    pub(crate) fn flush_due(&self, now: Instant) -> Option<Instant> {
        let mut out = Vec::new();
        let mut r = self.reorder.lock();
        r.flush_due(now, &mut out);
        let deadline = r.deadline();
        self.forward(&r, out);
        deadline
    }

    /// Publishes in order; called with the reorder lock held so output order is kept.
    fn forward(&self, r: &Reorderer, out: Vec<Output>) {
        for o in out {
            let res = match o {
                Output::Audio { seq, pcm } => self.lease.publish(seq as u64, pcm),
                Output::Silence { seq, frames } => {
                    self.lease.publish_silence(seq as u64, frames as usize)
                }
            };
            if let Err(e) = res {
                tracing::debug!(device = %self.device_id, "audio not published: {e}");
            }
        }
        self.lease.report_loss(r.stats());
    }
}

/// Why a connection ends, sent to the device as an error message when set.
type End = Option<(&'static str, String)>;

/// How a command channel is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Tls,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

/// Runs one devkit connection (plain TCP or TLS over it) to its end.
pub async fn run<S>(
    state: AppState,
    devkits: Arc<Devkits>,
    stream: S,
    peer: SocketAddr,
    transport: Transport,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read);
    let session = match handshake(&state, &devkits, &mut reader, &mut write, peer, transport).await
    {
        Ok(s) => s,
        Err((code, message)) => {
            tracing::info!(%peer, code, message = ?message, "devkit refused");
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                framing::write_frame(&mut write, &messages::error(code, &message)),
            )
            .await;
            let _ = write.shutdown().await;
            return;
        }
    };
    tracing::info!(device = %session.0.device_id, session = session.0.id, %peer, "devkit connected");
    let (session, outbox) = session;
    let end = serve(&state, &session, reader, &mut write, outbox).await;
    devkits.remove(&session);
    session.closing.cancel();
    session.pending.lock().clear();
    if let Some((code, message)) = end {
        tracing::info!(device = %session.device_id, code, message = ?message, "devkit disconnected");
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            framing::write_frame(&mut write, &messages::error(code, &message)),
        )
        .await;
    } else {
        tracing::info!(device = %session.device_id, "devkit disconnected");
    }
    let _ = write.shutdown().await;
}

type Refusal = (&'static str, String);

fn bad(message: impl Into<String>) -> Refusal {
    (code::BAD_REQUEST, message.into())
}

/// Checks a hello's audio: a known encoding, a supported rate and channel
/// count, and a packet that fits one datagram. The format and the sample
/// frames per datagram.
pub fn check_audio(audio: &messages::HelloAudio) -> Result<(AudioFormat, u32), Refusal> {
    let encoding = SampleEncoding::parse(&audio.format).map_err(|e| bad(e.to_string()))?;
    let format = AudioFormat::with_encoding(audio.sample_rate, audio.channels, encoding)
        .map_err(|e| bad(e.to_string()))?;
    let rate = audio.sample_rate as u64;
    let frames = match (audio.frame_samples, audio.frame_ms) {
        (Some(n), _) => n as u64,
        (None, Some(ms)) if ms > 0 && (rate * ms as u64).is_multiple_of(1000) => {
            rate * ms as u64 / 1000
        }
        (None, Some(ms)) => {
            return Err(bad(format!(
            "frameMs {ms} is not a whole number of samples at {rate} Hz: give frameSamples instead"
        )))
        }
        (None, None) => return Err(bad("the hello's audio needs frameMs or frameSamples")),
    };
    let max_frames = ((MAX_DATAGRAM - UDP_HEADER) / format.frame_bytes()) as u64;
    if frames == 0 || frames > max_frames {
        let packet = UDP_HEADER as u64 + frames * format.frame_bytes() as u64;
        return Err(bad(format!(
            "{frames} sample frames of {rate} Hz {}-channel {} audio make a {packet}-byte datagram; the limit is {MAX_DATAGRAM} bytes: use frameSamples <= {max_frames} (frameMs <= {})",
            audio.channels,
            audio.format,
            max_frames * 1000 / rate
        )));
    }
    Ok((format, frames as u32))
}

async fn handshake<R, W>(
    state: &AppState,
    devkits: &Arc<Devkits>,
    reader: &mut FrameReader<R>,
    write: &mut W,
    peer: SocketAddr,
    transport: Transport,
) -> Result<(Arc<DevkitSession>, mpsc::Receiver<String>), Refusal>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let cfg = &state.config;
    let text = match tokio::time::timeout(cfg.hello_timeout, reader.next()).await {
        Err(_) => {
            return Err((
                code::TIMEOUT,
                format!("no hello within {:?}", cfg.hello_timeout),
            ))
        }
        Ok(Err(FrameError::Closed)) => return Err(bad("closed before hello")),
        Ok(Err(e)) => return Err(bad(e.to_string())),
        Ok(Ok(text)) => text,
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("the hello is not valid JSON: {e}")))?;
    if value.get("type").and_then(Value::as_str) != Some("hello") {
        return Err(bad("the first message must be {\"type\":\"hello\",...}"));
    }
    let hello: Hello =
        serde_json::from_value(value).map_err(|e| bad(format!("invalid hello: {e}")))?;
    if hello
        .fw
        .as_deref()
        .is_some_and(|fw| fw.chars().count() > messages::MAX_FW_CHARS)
    {
        return Err(bad(format!(
            "fw may be at most {} characters",
            messages::MAX_FW_CHARS
        )));
    }
    // Wrong tokens are rate-limited per IP, like admin sign-ins.
    let limiter = &state.devkit_limiter;
    if let Err(wait) = limiter.check(peer.ip()) {
        let message = format!(
            "too many failed hellos from this address; try again in {} s",
            wait.as_secs().max(1)
        );
        return Err((code::TOO_MANY_ATTEMPTS, message));
    }
    let Some(record) = state.devices.authenticate(&hello.device_id, &hello.token) else {
        limiter.failure(peer.ip());
        return Err((
            code::UNAUTHORIZED,
            format!("unknown device {:?} or wrong token", hello.device_id),
        ));
    };
    limiter.success(peer.ip());
    let (format, frame_samples) = check_audio(&hello.audio)?;
    let lease = state
        .hub
        .publish_audio_as(
            &record.device_id,
            Some(record.name.clone()),
            SourceKind::Remote,
            format,
        )
        .map_err(|e| bad(e.to_string()))?;
    let (outbox, outbox_rx) = mpsc::channel(64);
    let session = Arc::new(DevkitSession {
        id: devkits.new_session_id(),
        device_id: record.device_id.clone(),
        peer,
        fw: hello.fw,
        format,
        transport,
        frame_samples,
        connected_ms: now_ms(),
        lease,
        reorder: Mutex::new(Reorderer::new(
            cfg.reorder_window,
            format.frame_bytes(),
            // About a second of packets.
            (format.sample_rate / frame_samples).max(8),
        )),
        audio: Mutex::new(AudioIngest::default()),
        epoch: Instant::now(),
        pending: Mutex::new(HashMap::new()),
        next_command: AtomicU64::new(1),
        outbox,
        status: Mutex::new(Map::new()),
        closing: CancellationToken::new(),
        close_reason: Mutex::new(None),
    });
    if let Some(old) = devkits.insert(session.clone()) {
        old.close(
            code::REPLACED,
            "the device connected again; this connection is replaced",
        );
    }
    let udp_port = devkits.udp_addr().map_or(0, |a| a.port());
    let welcome = messages::to_text(&ToDevice::Welcome {
        session_id: session.id,
        udp_port,
        keepalive_sec: cfg.devkit_keepalive.as_secs().max(1),
    });
    if framing::write_frame(write, &welcome).await.is_err() {
        devkits.remove(&session);
        return Err(bad("the connection failed during the handshake"));
    }
    if let Err(e) = state.devices.touch(&session.device_id) {
        tracing::warn!("could not record last-seen time: {e}");
    }
    Ok((session, outbox_rx))
}

async fn serve<R, W>(
    state: &AppState,
    session: &Arc<DevkitSession>,
    mut reader: FrameReader<R>,
    write: &mut W,
    mut outbox: mpsc::Receiver<String>,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let keepalive = state.config.devkit_keepalive;
    let silence_limit = keepalive * 3;
    let mut last_heard = tokio::time::Instant::now();
    let mut ping = tokio::time::interval_at(last_heard + keepalive, keepalive);
    let write_timeout = state.config.ws_timeout;
    loop {
        let outgoing = tokio::select! {
            biased;
            _ = state.shutdown.cancelled() => return Some((code::SHUTTING_DOWN, "the server is shutting down".into())),
            _ = session.closing.cancelled() => return session.close_reason.lock().clone(),
            _ = session.lease.superseded() => return Some((code::REPLACED, "another connection took this device over".into())),
            _ = tokio::time::sleep_until(last_heard + silence_limit) => {
                return Some((code::TIMEOUT, format!("nothing heard on TCP for {silence_limit:?} (3 keepalive periods)")));
            }
            frame = reader.next() => {
                last_heard = tokio::time::Instant::now();
                match frame {
                    Ok(text) => on_message(state, session, &text),
                    Err(FrameError::NotUtf8) => Some(messages::error(code::BAD_REQUEST, "frame is not valid UTF-8; ignored")),
                    Err(FrameError::Closed) => return None,
                    Err(e @ FrameError::BadLength(_)) => return Some((code::BAD_REQUEST, e.to_string())),
                    Err(e) => { tracing::debug!(device = %session.device_id, "read failed: {e}"); return None }
                }
            }
            Some(msg) = outbox.recv() => Some(msg),
            _ = ping.tick() => Some(messages::to_text(&ToDevice::Ping { t: now_ms() })),
        };
        if let Some(msg) = outgoing {
            match tokio::time::timeout(write_timeout, framing::write_frame(write, &msg)).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }
}

/// Handles one message from the device; returns the reply, if any.
fn on_message(state: &AppState, session: &DevkitSession, text: &str) -> Option<String> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Some(messages::error(
                code::BAD_REQUEST,
                &format!("not valid JSON: {e}"),
            ))
        }
    };
    let Some(kind) = value.get("type").and_then(Value::as_str).map(str::to_owned) else {
        return Some(messages::error(
            code::BAD_REQUEST,
            "a message needs a string \"type\"",
        ));
    };
    let raw = value.clone();
    match serde_json::from_value::<FromDevice>(value) {
        Ok(FromDevice::Ping { t }) => Some(messages::to_text(&ToDevice::Pong { t })),
        Ok(FromDevice::Pong { .. }) => None,
        Ok(FromDevice::Ack { id, ok, error }) => {
            if let Some(tx) = session.pending.lock().remove(&id) {
                let _ = tx.send(Ack { id, ok, error, raw });
            } else {
                tracing::debug!(device = %session.device_id, id, "ack for no pending command");
            }
            None
        }
        Ok(FromDevice::Event { name, mut fields }) => {
            fields.remove("type");
            fields.insert("receivedMs".into(), json!(now_ms()));
            let mut status = session.status.lock();
            let max = state.config.max_device_status;
            if !status.contains_key(&name) && status.len() >= max {
                let message = format!("a device keeps at most {max} status entries (--max-device-status); event {name:?} dropped");
                return Some(messages::error(code::TOO_MANY_STATUS, &message));
            }
            status.insert(name, Value::Object(fields));
            None
        }
        // Which types exist is `FromDevice`'s business: serde's own error lists them.
        Err(e) => Some(match messages::unknown_type(&e, &kind) {
            Some(expected) => messages::error(
                code::UNKNOWN_TYPE,
                &format!("unknown message type '{kind}'; expected one of {expected}"),
            ),
            None => messages::error(code::BAD_REQUEST, &format!("invalid {kind} message: {e}")),
        }),
    }
}
