//! `GET /api/health`.

use axum::{extract::State, routing::get, Json, Router};
use relaydeck_contract::api::{ClusterHealth, ClusterNode, Health};

use crate::state::{AppState, StatusState};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<StatusState>) -> Json<Health> {
    let streams = state.hub.streams();
    let snaps: Vec<_> = streams.iter().map(|s| s.snapshot()).collect();
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_secs: state.started.elapsed().as_secs(),
        cameras: snaps.len(),
        cameras_online: snaps.iter().filter(|s| s.online).count(),
        viewers: snaps.iter().map(|s| s.viewers).sum::<usize>(),
        cluster: cluster_health(&state.cluster),
    })
}

fn cluster_health(view: &crate::cluster::ClusterView) -> Option<ClusterHealth> {
    let link = view.link()?;
    let status = link.status();
    let c = &view.counters;
    let latency = c.latency_percentiles();
    Some(ClusterHealth {
        cluster: link.cluster.clone(),
        node: link.node.clone(),
        connected: status.connected,
        last_error: status.last_error,
        nodes: view
            .nodes()
            .into_iter()
            .map(|(name, url)| ClusterNode { name, url })
            .collect(),
        frames_in: c.get(&c.frames_in),
        frames_out: c.get(&c.frames_out),
        chunks_in: c.get(&c.chunks_in),
        chunks_out: c.get(&c.chunks_out),
        bytes_in: c.get(&c.bytes_in),
        bytes_out: c.get(&c.bytes_out),
        missed: c.get(&c.frames_missed),
        dropped: c.get(&c.frames_dropped),
        latency_p50_us: latency.map(|l| l.0),
        latency_p99_us: latency.map(|l| l.1),
    })
}
