//! `GET /api/capture/devices` (admin): the cameras and microphones of the
//! computer running the relay, for the Settings page. Enumeration talks to
//! device drivers, so it runs off the async workers.

use axum::{routing::get, Json, Router};
use relaydeck_capture::{
    camera::{nokhwa_backend::NokhwaBackend, CameraBackend},
    mic::list_inputs,
};
use serde_json::{json, Value};

use crate::{error::ApiError, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/capture/devices", get(devices))
}

async fn devices() -> Result<Json<Value>, ApiError> {
    let found = tokio::task::spawn_blocking(|| (NokhwaBackend.list(), list_inputs()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let cameras = match found.0 {
        Ok(c) if c.is_empty() => {
            json!({ "devices": [], "message": "No camera found on this computer. The test pattern can stand in (Settings)." })
        }
        Ok(c) => json!({ "devices": c }),
        Err(e) => json!({ "devices": [], "message": e.to_string() }),
    };
    let microphones = match found.1 {
        Ok(m) if m.is_empty() => {
            json!({ "devices": [], "message": "No microphone found on this computer." })
        }
        Ok(m) => json!({ "devices": m }),
        Err(e) => json!({ "devices": [], "message": e.to_string() }),
    };
    Ok(Json(
        json!({ "cameras": cameras, "microphones": microphones }),
    ))
}
