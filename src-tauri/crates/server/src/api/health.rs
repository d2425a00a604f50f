//! `GET /api/health`.

use axum::{extract::State, routing::get, Json, Router};
use relaydeck_contract::api::Health;

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
    })
}
