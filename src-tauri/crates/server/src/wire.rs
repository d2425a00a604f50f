//! From the hub's values to the contract's wire types: the hub keeps no
//! wire naming, so every edge that reports on a stream converts here.

use relaydeck_contract::{api, Availability, SourceKind};
use relaydeck_hub as hub;

pub fn availability(a: &hub::Availability) -> Availability {
    match a {
        hub::Availability::Live => Availability::Live,
        hub::Availability::Standby => Availability::Standby,
        hub::Availability::Unavailable(why) => Availability::Unavailable(why.clone()),
    }
}

pub fn source_kind(k: hub::SourceKind) -> SourceKind {
    match k {
        hub::SourceKind::Remote => SourceKind::Remote,
        hub::SourceKind::Local => SourceKind::Local,
    }
}

pub fn audio_format(f: hub::AudioFormat) -> api::AudioFormat {
    api::AudioFormat {
        sample_rate: f.sample_rate,
        channels: f.channels,
    }
}

/// One camera as `/api/clients` and `/api/streams` show it.
pub fn camera(s: &hub::StreamSnapshot, node: Option<String>) -> api::Camera {
    api::Camera {
        id: s.id.to_string(),
        client_id: s.id.to_string(),
        name: s.name.clone(),
        kind: source_kind(s.kind),
        online: s.online,
        connected_since: s.connected_since_ms,
        last_frame_time: s.last_frame_ms,
        frames: s.frames,
        bytes: s.bytes,
        fps: s.fps,
        width: s.width,
        height: s.height,
        viewers: s.viewers,
        delivered: s.delivered,
        skipped: s.skipped,
        availability: availability(&s.availability),
        node,
    }
}

/// One audio source as `/api/sources` shows it.
pub fn audio_source(
    s: &hub::AudioSnapshot,
    device: bool,
    node: Option<String>,
) -> api::AudioSourceInfo {
    let id = s.id.as_str();
    api::AudioSourceInfo {
        id: id.to_owned(),
        kind: source_kind(s.kind),
        name: s.name.clone(),
        online: s.online,
        format: s.format.map(audio_format),
        encoding: s.encoding.to_owned(),
        chunks: s.chunks,
        bytes: s.bytes,
        last_chunk_ms: s.last_chunk_ms,
        last_seq: s.last_seq,
        listeners: s.listeners,
        ring_ms: s.ring_ms,
        lost: s.loss.lost,
        late: s.loss.late,
        duplicates: s.loss.duplicates,
        filled: s.loss.filled,
        availability: availability(&s.availability),
        node,
        ws_url: format!("/audio/ws?source={id}"),
        wav_url: format!("/api/audio/{id}/live.wav"),
        device,
    }
}

/// The `format` message a listener gets (on `/audio/ws` and WebRTC) for
/// `source` in format `f`.
pub fn listener_format(
    source: &str,
    f: hub::AudioFormat,
) -> relaydeck_contract::audio_ws::ListenerEvent {
    relaydeck_contract::audio_ws::ListenerEvent::Format {
        source: source.to_owned(),
        sample_rate: f.sample_rate,
        channels: f.channels,
        encoding: f.encoding.name().to_owned(),
    }
}

/// The `stats` message: the last chunk forwarded (sequence, when the relay
/// received it), the source's loss counters and this listener's drops.
pub fn listener_stats(
    source: &hub::AudioSource,
    dropped: u64,
    last: Option<(u64, u64)>,
) -> relaydeck_contract::audio_ws::ListenerEvent {
    let loss = source.loss();
    relaydeck_contract::audio_ws::ListenerEvent::Stats {
        seq: last.map(|l| l.0),
        server_time_ms: last.map(|l| l.1),
        lost: loss.lost,
        late: loss.late,
        filled: loss.filled,
        duplicates: loss.duplicates,
        dropped,
        online: source.is_online(),
    }
}
