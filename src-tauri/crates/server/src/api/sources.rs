//! `GET /api/sources`: every audio source with its format and state.

use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Value};

use crate::{auth::Caller, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/sources", get(list))
}

async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Json<Value> {
    let sources: Vec<Value> = state
        .hub
        .audio_sources()
        .iter()
        .filter(|s| caller.can_view(s.id().as_str()))
        .map(|s| {
            let snap = s.snapshot();
            let mut v = serde_json::to_value(&snap).expect("serialisable");
            let id = snap.id.as_str();
            v["wsUrl"] = json!(format!("/audio/ws?source={id}"));
            v["wavUrl"] = json!(format!("/api/audio/{id}/live.wav"));
            v["device"] = json!(state.devices.contains(id));
            v
        })
        .collect();
    Json(json!({ "sources": sources }))
}
