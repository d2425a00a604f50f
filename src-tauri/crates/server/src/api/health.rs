//! `GET /api/health`.

use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    let streams = state.hub.streams();
    let snaps: Vec<_> = streams.iter().map(|s| s.snapshot()).collect();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSecs": state.started.elapsed().as_secs(),
        "cameras": snaps.len(),
        "camerasOnline": snaps.iter().filter(|s| s.online).count(),
        "viewers": snaps.iter().map(|s| s.viewers).sum::<usize>(),
    }))
}
