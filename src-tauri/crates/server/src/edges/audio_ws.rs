//! Audio over WebSocket: `GET /audio/ws` (listeners) and `GET /audio/publish`
//! (any client publishing PCM, such as a browser's microphone).
//!
//! A listener first gets a text `format` message, then binary PCM exactly as
//! the hub forwards it, and every `--audio-stats-interval` a `stats` message
//! with the last sequence forwarded, so a player can show gaps and delay.
//! `?backlogMs=N` replays the last N ms first; `?listenerId=X` makes a new
//! socket with the same ID close the older one, so a reconnecting player
//! never has two live streams.

use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Instant};

use axum::{extract::State, response::Response, routing::get, Router};
use bytes::Bytes;
use parking_lot::Mutex;
use relaydeck_hub::{
    AudioFormat, AudioLease, AudioSource, HubError, ListenerItem, SourceKind, StreamId,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::control::{self, error_message};
use crate::{
    auth::Access,
    limits::{Held, QuotaClaim},
    state::AppState,
    ws::{close, conn::silent_for_too_long, ticks, Inbound, WsConn, WsLimits, WsUpgrade},
};

/// A close code and reason (code 0: the peer is gone, send nothing).
type End = (u16, String);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audio/ws", get(listen))
        .route("/audio/publish", get(publish))
}

/// Live listener sockets by `listenerId`, so a newer one replaces an older one.
#[derive(Debug, Default)]
pub struct ListenerIds {
    live: Mutex<HashMap<String, (u64, CancellationToken)>>,
    next: std::sync::atomic::AtomicU64,
}

impl ListenerIds {
    /// Registers `id`, cancelling the socket that held it before.
    fn claim(&self, id: &str) -> (u64, CancellationToken) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = CancellationToken::new();
        if let Some((_, old)) = self.live.lock().insert(id.to_owned(), (n, token.clone())) {
            old.cancel();
        }
        (n, token)
    }

    fn release(&self, id: &str, n: u64) {
        let mut live = self.live.lock();
        if live.get(id).is_some_and(|(m, _)| *m == n) {
            live.remove(id);
        }
    }
}

/// Finds the source to listen to: a present source, or a registered device
/// that has not connected yet (the listener waits for it).
pub fn find_source(state: &AppState, id: &str) -> Result<Arc<AudioSource>, String> {
    let sid = StreamId::new(id).map_err(|e| format!("invalid source: {e}"))?;
    if let Some(s) = state.hub.audio_source(id) {
        return Ok(s);
    }
    if state.devices.contains(id) {
        return Ok(state.hub.audio_source_or_create(&sid, SourceKind::Remote));
    }
    Err(format!("unknown audio source '{id}'"))
}

/// `?backlogMs=`: 0 up to the ring's length.
pub fn parse_backlog(state: &AppState, raw: Option<&str>) -> Result<std::time::Duration, String> {
    let Some(raw) = raw else {
        return Ok(std::time::Duration::ZERO);
    };
    let max = state.config.audio_ring.as_millis() as u64;
    match raw.parse::<u64>() {
        Ok(ms) if ms <= max => Ok(std::time::Duration::from_millis(ms)),
        _ => Err(format!(
            "backlogMs must be a whole number from 0 to {max}, not '{raw}'"
        )),
    }
}

pub fn format_message(source: &str, f: AudioFormat) -> Value {
    json!({ "type": "format", "source": source, "sampleRate": f.sample_rate, "channels": f.channels, "encoding": AudioFormat::ENCODING })
}

/// What a listener asked for, from the guard's parse of its URL.
fn listen_request(
    state: &AppState,
    access: &Access,
) -> Result<(Arc<AudioSource>, std::time::Duration, Option<String>), String> {
    access.valid_target()?;
    let id = access
        .target
        .id
        .as_ref()
        .ok_or("add ?source=ID (a device ID, or an audio source from /api/sources)")?;
    // Asked again here, for the source this edge serves (defence in depth).
    access.view(id.as_str()).map_err(|e| e.to_string())?;
    let source = find_source(state, id.as_str())?;
    let backlog = parse_backlog(state, access.param("backlogMs"))?;
    let listener = access
        .param("listenerId")
        .map(|l| {
            StreamId::new(l)
                .map(|_| l.to_owned())
                .map_err(|e| format!("invalid listenerId: {e}"))
        })
        .transpose()?;
    Ok((source, backlog, listener))
}

async fn listen(State(state): State<AppState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: 1024,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |mut conn| async move {
        let (source, backlog, listener) = match listen_request(&state, &access) {
            Ok(found) => found,
            Err(reason) => return conn.close(close::POLICY, &reason).await,
        };
        let claim = listener
            .as_deref()
            .map(|l| (l, state.listener_ids.claim(l)));
        let replaced = claim
            .as_ref()
            .map(|(_, (_, t))| t.clone())
            .unwrap_or_default();
        let Err((code, reason)) =
            listen_loop(&state, &access, &mut conn, &source, backlog, &replaced).await;
        if let Some((l, (n, _))) = claim {
            state.listener_ids.release(l, n);
        }
        tracing::debug!(source = %source.id(), code, reason = ?reason, "listener left");
        if code != 0 {
            conn.close(code, &reason).await;
        }
    })
}

async fn listen_loop(
    state: &AppState,
    access: &Access,
    conn: &mut WsConn,
    source: &Arc<AudioSource>,
    backlog: std::time::Duration,
    replaced: &CancellationToken,
) -> Result<Infallible, End> {
    let cfg = &state.config;
    let sub = source.listen(backlog);
    let mut ping = ticks::on_grid(cfg.ws_ping_interval);
    let mut stats = ticks::on_grid(cfg.audio_stats_interval);
    let mut last_seen = Instant::now();
    let mut last: Option<(u64, u64)> = None;
    let failed = |_| (0u16, "write failed".to_string());
    loop {
        tokio::select! {
            biased;
            _ = access.ended.cancelled() => return Err(close::ended(access, &state.shutdown)),
            _ = replaced.cancelled() => return Err((close::NORMAL, "replaced by a newer connection with the same listenerId".into())),
            batch = sub.queue().next_batch() => {
                let Some(batch) = batch else { return Err((close::NORMAL, "the audio source was removed".into())) };
                for item in batch {
                    match item {
                        ListenerItem::Format(f) => conn.send_json(&format_message(source.id().as_str(), f)).await.map_err(failed)?,
                        ListenerItem::Chunk(c) => {
                            last = Some((c.seq, c.received_ms));
                            conn.send_binary(c.pcm).await.map_err(failed)?;
                        }
                    }
                }
            }
            msg = conn.recv() => {
                last_seen = Instant::now();
                let reply = match msg {
                    Some(Inbound::Text(text)) => match control::parse::<PingOnly>(&text, &["ping"]) {
                        Ok(PingOnly::Ping { t }) => json!({ "type": "pong", "t": t }),
                        Err(e) => e.to_message(),
                    },
                    Some(Inbound::Binary(_)) => error_message("unexpected_binary", "listeners send only text messages; binary message ignored"),
                    Some(Inbound::Reply(frame)) => { conn.send_reply(frame).await.map_err(failed)?; continue }
                    Some(Inbound::Pong) => continue,
                    Some(Inbound::Failed(f)) => return Err((f.close_code(), f.to_string())),
                    Some(Inbound::Closed { .. }) | None => return Err((0, "closed by the listener".into())),
                };
                conn.send_json(&reply).await.map_err(failed)?;
            }
            _ = ping.tick() => match silent_for_too_long(last_seen, cfg.ws_timeout) {
                Some(reason) => return Err((close::GOING_AWAY, reason)),
                None => conn.send_ping().await.map_err(failed)?,
            },
            _ = stats.tick() => {
                let loss = source.loss();
                let msg = json!({
                    "type": "stats", "seq": last.map(|l| l.0), "serverTimeMs": last.map(|l| l.1),
                    "lost": loss.lost, "late": loss.late, "filled": loss.filled, "duplicates": loss.duplicates,
                    "dropped": sub.queue().dropped(), "online": source.is_online(),
                });
                conn.send_json(&msg).await.map_err(failed)?;
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum PingOnly {
    Ping { t: Option<Value> },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum PublisherMessage {
    Format {
        #[serde(rename = "sampleRate")]
        sample_rate: u32,
        channels: u16,
        #[serde(default)]
        encoding: Option<String>,
    },
    Ping {
        t: Option<Value>,
    },
}

/// The source a publisher may take: named, its own, not a devkit's, not reserved, under the quota.
fn publish_request(state: &AppState, access: &Access) -> Result<(StreamId, QuotaClaim), String> {
    access.valid_target()?;
    let id = access
        .target
        .id
        .clone()
        .ok_or("add ?source=ID to name the audio source")?;
    // Asked again here, for the source this edge accepts (defence in depth).
    access.publish(id.as_str()).map_err(|e| e.to_string())?;
    if state.devices.contains(id.as_str()) {
        return Err(format!(
            "'{id}' belongs to a registered devkit; choose another source ID"
        ));
    }
    if state.hub.is_reserved(id.as_str()) {
        return Err(HubError::ReservedId(id.to_string()).to_string());
    }
    let sources = state.hub.audio_sources();
    let exists = sources.iter().any(|s| s.id() == &id);
    let claim = state
        .quota
        .claim(
            Held::Source,
            &access.principal,
            id.as_str(),
            sources.len(),
            exists,
        )
        .map_err(|e| e.to_string())?;
    Ok((id, claim))
}

async fn publish(State(state): State<AppState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: state.config.max_frame_bytes,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |mut conn| async move {
        let (id, _claim) = match publish_request(&state, &access) {
            Ok(found) => found,
            Err(reason) => return conn.close(close::POLICY, &reason).await,
        };
        let name = access.param("name").map(str::to_owned);
        let Err((code, reason)) = publish_loop(&state, &access, &mut conn, &id, name).await;
        tracing::info!(source = %id, code, reason = ?reason, "audio publisher left");
        if code != 0 {
            conn.close(code, &reason).await;
        }
    })
}

async fn publish_loop(
    state: &AppState,
    access: &Access,
    conn: &mut WsConn,
    id: &StreamId,
    name: Option<String>,
) -> Result<Infallible, End> {
    let cfg = &state.config;
    let mut ping = ticks::on_grid(cfg.ws_ping_interval);
    let mut last_seen = Instant::now();
    let mut lease: Option<AudioLease> = None;
    let mut seq = 0u64;
    let failed = |_| (0u16, "write failed".to_string());
    let register_deadline = tokio::time::sleep(cfg.register_timeout);
    tokio::pin!(register_deadline);
    loop {
        let msg = tokio::select! {
            biased;
            _ = access.ended.cancelled() => return Err(close::ended(access, &state.shutdown)),
            _ = superseded(lease.as_ref()) => return Err((close::NORMAL, "replaced by a newer connection with the same source".into())),
            _ = &mut register_deadline, if lease.is_none() => {
                return Err((close::POLICY, format!("no format message within {:?}", cfg.register_timeout)));
            }
            _ = ping.tick() => {
                if let Some(reason) = silent_for_too_long(last_seen, cfg.ws_timeout) {
                    return Err((close::GOING_AWAY, reason));
                }
                conn.send_ping().await.map_err(failed)?;
                continue;
            }
            msg = conn.recv() => msg,
        };
        last_seen = Instant::now();
        let reply = match msg {
            Some(Inbound::Binary(pcm)) => match &lease {
                None => error_message("no_format", "send {\"type\":\"format\",\"sampleRate\":…,\"channels\":…,\"encoding\":\"s16le\"} before audio; dropped"),
                Some(l) => {
                    seq += 1;
                    match publish_pcm(l, seq, pcm) {
                        Ok(()) => continue,
                        Err(HubError::Superseded) => return Err((close::NORMAL, "replaced by a newer connection with the same source".into())),
                        Err(e) => error_message("bad_audio", &format!("{e}; dropped")),
                    }
                }
            },
            Some(Inbound::Text(text)) => match control::parse::<PublisherMessage>(&text, &["format", "ping"]) {
                Ok(PublisherMessage::Ping { t }) => json!({ "type": "pong", "t": t }),
                Ok(PublisherMessage::Format { sample_rate, channels, encoding }) => {
                    match format_from(sample_rate, channels, encoding.as_deref()) {
                        Err(message) => error_message("bad_format", &message),
                        Ok(format) => {
                            // A new lease in the new format; the old one (if any) ends first.
                            drop(lease.take());
                            match state.hub.publish_audio_as(id.as_str(), name.clone(), SourceKind::Remote, format) {
                                Ok(l) => {
                                    lease = Some(l);
                                    json!({ "type": "registered", "source": id, "sampleRate": format.sample_rate, "channels": format.channels, "encoding": AudioFormat::ENCODING })
                                }
                                Err(e) => return Err((close::POLICY, e.to_string())),
                            }
                        }
                    }
                }
                Err(e) => e.to_message(),
            },
            Some(Inbound::Reply(frame)) => {
                conn.send_reply(frame).await.map_err(failed)?;
                continue;
            }
            Some(Inbound::Pong) => continue,
            Some(Inbound::Failed(f)) => return Err((f.close_code(), f.to_string())),
            Some(Inbound::Closed { .. }) | None => return Err((0, "closed by the publisher".into())),
        };
        conn.send_json(&reply).await.map_err(failed)?;
    }
}

fn publish_pcm(lease: &AudioLease, seq: u64, pcm: Bytes) -> Result<(), HubError> {
    if pcm.is_empty() {
        return Err(HubError::BadFormat("empty audio message".into()));
    }
    lease.publish(seq, pcm).map(drop)
}

fn format_from(
    sample_rate: u32,
    channels: u16,
    encoding: Option<&str>,
) -> Result<AudioFormat, String> {
    match encoding {
        None | Some("s16le") => AudioFormat::new(sample_rate, channels).map_err(|e| e.to_string()),
        Some(other) => Err(format!("encoding '{other}' is not supported (use s16le)")),
    }
}

async fn superseded(lease: Option<&AudioLease>) {
    match lease {
        Some(l) => l.superseded().await,
        None => std::future::pending().await,
    }
}
