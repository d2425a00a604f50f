//! `GET /api/capture/devices` (admin): the cameras and microphones of the
//! computer running the relay, for the Settings page. Enumeration talks to
//! device drivers, so it runs off the async workers.

use axum::{extract::State, routing::get, Json, Router};
use relaydeck_contract::api::CaptureDevices;

use crate::{error::ApiError, host::Host, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/capture/devices", get(devices))
}

async fn devices(State(host): State<Host>) -> Result<Json<CaptureDevices>, ApiError> {
    let lister = host.devices.clone();
    let found = tokio::task::spawn_blocking(move || lister.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(found))
}
