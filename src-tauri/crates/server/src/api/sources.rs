//! `GET /api/sources`: every audio source with its format and state.

use axum::{extract::State, routing::get, Json, Router};
use relaydeck_contract::{api::SourceList, cluster::MediaKind};

use crate::{
    auth::Caller,
    state::{AppState, StatusState},
    wire,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/sources", get(list))
}

async fn list(State(state): State<StatusState>, Caller(caller): Caller) -> Json<SourceList> {
    let sources = state
        .hub
        .audio_sources()
        .iter()
        .filter(|s| caller.can_view(s.id().as_str()))
        .map(|s| {
            let snap = s.snapshot();
            let node = state.cluster.node_of(MediaKind::Audio, snap.id.as_str());
            wire::audio_source(&snap, state.devices.contains(snap.id.as_str()), node)
        })
        .collect();
    Json(SourceList { sources })
}
