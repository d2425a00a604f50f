//! `GET /metrics`: the relay's counters for Prometheus.
//!
//! * [`meters`]: what the edges count themselves (connections and bytes per
//!   transport, HTTP requests by route and status).
//! * [`process`]: the process's CPU, memory, threads and descriptors.
//! * [`text`]: the text exposition format.
//! * [`history`]: the last 15 minutes of the same counters, sampled for
//!   the Status page (`GET /api/status/history`).
//!
//! Everything else is read at scrape time from what the relay keeps anyway
//! (the hub's stream and source snapshots, the devkit sessions), so a
//! scrape costs a walk over the streams and nothing between scrapes.
//! Label sets are bounded: cameras and sources by `--max-streams` and
//! `--max-sources`, devices by the registry, transports and routes by the
//! code. The route is `/metrics`, outside `/api`, where scrapers look; the
//! admin or a token of scope `metrics` may read it (docs/PROTOCOL.md).

pub mod history;
pub mod meters;
pub mod process;
pub mod text;

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
pub use meters::{ConnMeter, Meters, SentBytes, Transport};
use text::{Exposition, Type};

use crate::state::{AppState, MetricsState};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// `GET /api/status/history?since=MS` (nested under `/api`).
pub fn api_router() -> Router<AppState> {
    Router::new().route("/status/history", get(status_history))
}

async fn status_history(
    State(state): State<MetricsState>,
    access: crate::auth::Access,
) -> Result<axum::Json<relaydeck_contract::api::StatusHistory>, crate::error::ApiError> {
    let since = match access.param("since") {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            crate::error::ApiError::BadRequest(format!("since must be a time in ms, not '{v}'"))
        })?,
    };
    Ok(axum::Json(state.history.since(since)))
}

/// A history sample of the relay as it is now.
pub fn status_sample(s: &MetricsState) -> relaydeck_contract::api::StatusSample {
    let lost = s
        .devices
        .list()
        .iter()
        .filter_map(|d| s.devkits.session_info(&d.device_id))
        .map(|i| i.lost)
        .sum();
    history::sample(&s.hub, &s.meters, lost)
}

async fn scrape(State(state): State<MetricsState>) -> Response {
    let mut e = Exposition::default();
    build_info(&mut e, &state);
    cameras(&mut e, &state);
    audio(&mut e, &state);
    devkits(&mut e, &state);
    transports(&mut e, &state.meters);
    http(&mut e, &state.meters);
    if let Some(p) = process::ProcessStats::read() {
        p.write(&mut e);
    }
    let mut resp = e.finish().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(text::CONTENT_TYPE),
    );
    resp
}

fn build_info(e: &mut Exposition, s: &MetricsState) {
    e.family(
        "relaydeck_build_info",
        Type::Gauge,
        "The relay's version (always 1).",
    )
    .sample(
        "relaydeck_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1u32,
    );
    e.family(
        "relaydeck_uptime_seconds",
        Type::Gauge,
        "Seconds since the relay started.",
    )
    .sample(
        "relaydeck_uptime_seconds",
        &[],
        s.started.elapsed().as_secs_f64(),
    );
}

/// A family with one sample per item (camera, source, device).
struct PerItem<T> {
    name: &'static str,
    kind: Type,
    help: &'static str,
    value: fn(&T) -> f64,
}

/// Each family of `families`, one sample per item, labelled `label`.
fn per_item<T>(e: &mut Exposition, label: &str, items: &[(&str, &T)], families: &[PerItem<T>]) {
    for f in families {
        e.family(f.name, f.kind, f.help);
        for (id, item) in items {
            e.sample(f.name, &[(label, id)], (f.value)(item));
        }
    }
}

type Camera = relaydeck_hub::stream::StreamSnapshot;

const CAMERA_FAMILIES: [PerItem<Camera>; 7] = [
    PerItem {
        name: "relaydeck_frames_received_total",
        kind: Type::Counter,
        help: "JPEG frames the camera's publishers sent.",
        value: |c| c.frames as f64,
    },
    PerItem {
        name: "relaydeck_received_bytes_total",
        kind: Type::Counter,
        help: "Bytes of the camera's frames received.",
        value: |c| c.bytes as f64,
    },
    PerItem {
        name: "relaydeck_frames_delivered_total",
        kind: Type::Counter,
        help: "Frames handed to the camera's viewers (each viewer counts).",
        value: |c| c.delivered as f64,
    },
    PerItem {
        name: "relaydeck_frames_skipped_total",
        kind: Type::Counter,
        help: "Frames a slow viewer skipped because a newer one replaced them.",
        value: |c| c.skipped as f64,
    },
    PerItem {
        name: "relaydeck_camera_viewers",
        kind: Type::Gauge,
        help: "Viewers of the camera now, over every transport (recorders count).",
        value: |c| c.viewers as f64,
    },
    PerItem {
        name: "relaydeck_camera_online",
        kind: Type::Gauge,
        help: "1 while the camera has a publisher.",
        value: |c| f64::from(u8::from(c.online)),
    },
    PerItem {
        name: "relaydeck_camera_fps",
        kind: Type::Gauge,
        help: "The camera's measured frame rate.",
        value: |c| c.fps,
    },
];

type Source = relaydeck_hub::AudioSnapshot;

const SOURCE_FAMILIES: [PerItem<Source>; 6] = [
    PerItem {
        name: "relaydeck_audio_chunks_received_total",
        kind: Type::Counter,
        help: "PCM chunks the source carried (silence filled in for lost packets included).",
        value: |a| a.chunks as f64,
    },
    PerItem {
        name: "relaydeck_audio_received_bytes_total",
        kind: Type::Counter,
        help: "Bytes of PCM the source carried (silence filled in included).",
        value: |a| a.bytes as f64,
    },
    PerItem {
        name: "relaydeck_audio_listeners",
        kind: Type::Gauge,
        help: "Listeners of the source now, over every transport (recorders count).",
        value: |a| a.listeners as f64,
    },
    PerItem {
        name: "relaydeck_audio_packets_lost_total",
        kind: Type::Counter,
        help: "Packets that never arrived (filled with silence).",
        value: |a| a.loss.lost as f64,
    },
    PerItem {
        name: "relaydeck_audio_packets_late_total",
        kind: Type::Counter,
        help: "Packets that arrived after their place was filled.",
        value: |a| a.loss.late as f64,
    },
    PerItem {
        name: "relaydeck_audio_packets_duplicate_total",
        kind: Type::Counter,
        help: "Packets received twice.",
        value: |a| a.loss.duplicates as f64,
    },
];

type Session = crate::devkit_service::SessionInfo;

const DEVKIT_FAMILIES: [PerItem<Session>; 5] = [
    PerItem {
        name: "relaydeck_devkit_connected",
        kind: Type::Gauge,
        help: "1 for each devkit with a live session.",
        value: |_| 1.0,
    },
    PerItem {
        name: "relaydeck_devkit_packets_received_total",
        kind: Type::Counter,
        help: "Audio datagrams of the device's session.",
        value: |i| i.packets as f64,
    },
    PerItem {
        name: "relaydeck_devkit_packets_lost_total",
        kind: Type::Counter,
        help: "Datagrams of the device's session that never arrived.",
        value: |i| i.lost as f64,
    },
    PerItem {
        name: "relaydeck_devkit_packets_late_total",
        kind: Type::Counter,
        help: "Datagrams of the device's session that came too late.",
        value: |i| i.late as f64,
    },
    PerItem {
        name: "relaydeck_devkit_jitter_seconds",
        kind: Type::Gauge,
        help: "The session's interarrival jitter (RFC 3550).",
        value: |i| i.jitter_ms / 1000.0,
    },
];

/// Per camera: frames in, frames out, frames a slow viewer skipped, viewers.
fn cameras(e: &mut Exposition, s: &MetricsState) {
    let snaps: Vec<Camera> = s.hub.streams().iter().map(|c| c.snapshot()).collect();
    let items: Vec<_> = snaps.iter().map(|c| (c.id.as_str(), c)).collect();
    per_item(e, "camera", &items, &CAMERA_FAMILIES);
}

/// Per audio source: chunks in, listeners, packets lost/late/duplicated;
/// and chunks listeners dropped for falling behind.
fn audio(e: &mut Exposition, s: &MetricsState) {
    let snaps: Vec<Source> = s.hub.audio_sources().iter().map(|a| a.snapshot()).collect();
    let items: Vec<_> = snaps.iter().map(|a| (a.id.as_str(), a)).collect();
    per_item(e, "source", &items, &SOURCE_FAMILIES);
    let dropped: u64 = snaps.iter().map(|a| a.dropped).sum();
    e.family(
        "relaydeck_audio_listener_dropped_chunks_total",
        Type::Counter,
        "Chunks dropped because a listener fell too far behind, all sources.",
    )
    .sample(
        "relaydeck_audio_listener_dropped_chunks_total",
        &[],
        dropped as f64,
    );
}

/// Per connected devkit: its session's packets and their loss; per reason,
/// the datagrams the UDP port dropped.
fn devkits(e: &mut Exposition, s: &MetricsState) {
    let sessions: Vec<(String, Session)> = s
        .devices
        .list()
        .into_iter()
        .filter_map(|d| Some((d.device_id.clone(), s.devkits.session_info(&d.device_id)?)))
        .collect();
    let items: Vec<_> = sessions.iter().map(|(id, i)| (id.as_str(), i)).collect();
    per_item(e, "device", &items, &DEVKIT_FAMILIES);
    let drops = s.devkits.drop_counts();
    e.family(
        "relaydeck_devkit_datagrams_dropped_total",
        Type::Counter,
        "Datagrams the devkit UDP port dropped, by reason.",
    );
    for (reason, n) in [
        ("unknown_session", drops.unknown_session),
        ("wrong_peer", drops.wrong_peer),
        ("malformed", drops.malformed),
    ] {
        e.sample(
            "relaydeck_devkit_datagrams_dropped_total",
            &[("reason", reason)],
            n as f64,
        );
    }
}

fn transports(e: &mut Exposition, m: &Meters) {
    let all = m.transports();
    e.family(
        "relaydeck_viewers",
        Type::Gauge,
        "Viewers connected now, by transport.",
    );
    for t in all.iter().filter(|t| t.transport.is_video()) {
        e.sample(
            "relaydeck_viewers",
            &[("transport", t.transport.label())],
            t.open as f64,
        );
    }
    e.family(
        "relaydeck_listeners",
        Type::Gauge,
        "Audio listeners connected now, by transport.",
    );
    for t in all
        .iter()
        .filter(|t| !t.transport.is_video() && t.transport != Transport::WebRtc)
    {
        e.sample(
            "relaydeck_listeners",
            &[("transport", t.transport.label())],
            t.open as f64,
        );
    }
    e.family(
        "relaydeck_webrtc_peers",
        Type::Gauge,
        "WebRTC peers connected now (video, audio, files).",
    )
    .sample(
        "relaydeck_webrtc_peers",
        &[],
        all.iter()
            .find(|t| t.transport == Transport::WebRtc)
            .map_or(0, |t| t.open) as f64,
    );
    e.family(
        "relaydeck_sent_bytes_total",
        Type::Counter,
        "Media bytes written to clients (framing included), by transport.",
    );
    // WebRTC's bytes are the DTLS/SRTP stack's to count: not exported yet.
    for t in all.iter().filter(|t| t.transport != Transport::WebRtc) {
        e.sample(
            "relaydeck_sent_bytes_total",
            &[("transport", t.transport.label())],
            t.sent_bytes as f64,
        );
    }
}

fn http(e: &mut Exposition, m: &Meters) {
    e.family(
        "relaydeck_http_requests_total",
        Type::Counter,
        "HTTP requests answered, by route pattern and status code.",
    );
    for ((route, code), n) in m.requests() {
        e.sample(
            "relaydeck_http_requests_total",
            &[("route", route), ("code", &code.to_string())],
            n as f64,
        );
    }
}
