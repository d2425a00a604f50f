//! Compatibility paths, all in one place, mapped onto the canonical routes.
//!
//! | alias | canonical |
//! |-------|-----------|
//! | µStreamer `/stream`, `/snapshot` (`?clientId=` or the first camera) | `/api/clients/{id}/mjpeg`, `/api/clients/{id}/latest` |
//! | mjpg-streamer `/?action=stream`, `/?action=snapshot` | the same |
//! | go2rtc `/api/stream.mjpeg?src=ID`, `/api/frame.jpeg?src=ID` | the same |
//!
//! The camera an alias serves is the one the guard resolved from the same
//! parse of the query ([`Access`]); each alias asks the policy again for it
//! before serving (the shared `camera`, `snapshot` and `mjpeg_response`).

use std::sync::Arc;

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use relaydeck_hub::VideoStream;

use crate::{
    api::cameras::camera,
    auth::Access,
    edges::mjpeg::mjpeg_response,
    error::ApiError,
    jpeg_http::{parse_fps, snapshot},
    state::{AppState, CameraState},
    ui,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stream", get(ustreamer_stream))
        .route("/snapshot", get(ustreamer_snapshot))
        .route("/", get(root))
        .route("/api/stream.mjpeg", get(go2rtc_stream))
        .route("/api/frame.jpeg", get(go2rtc_frame))
}

/// The camera the guard resolved (`?clientId=` / `?src=`), or, where the
/// dialect allows none, the first camera registered that the caller may watch.
fn pick(state: &CameraState, access: &Access) -> Result<Arc<VideoStream>, ApiError> {
    match &access.target.id {
        Some(id) => camera(state, access, id.as_str()),
        None => state
            .hub
            .streams()
            .into_iter()
            .find(|s| access.view(s.id().as_str()).is_ok())
            .ok_or(ApiError::NoCameras),
    }
}

/// go2rtc always names its camera.
fn named(state: &CameraState, access: &Access) -> Result<Arc<VideoStream>, ApiError> {
    let id = access
        .target
        .id
        .as_ref()
        .ok_or_else(|| ApiError::BadRequest("missing ?src=CAMERA_ID".into()))?;
    camera(state, access, id.as_str())
}

fn stream(
    state: &CameraState,
    access: &Access,
    cam: Arc<VideoStream>,
) -> Result<Response, ApiError> {
    mjpeg_response(state, access, cam, parse_fps(access.param("fps"))?)
}

async fn ustreamer_stream(
    State(s): State<CameraState>,
    access: Access,
) -> Result<Response, ApiError> {
    stream(&s, &access, pick(&s, &access)?)
}

async fn ustreamer_snapshot(
    State(s): State<CameraState>,
    access: Access,
) -> Result<Response, ApiError> {
    snapshot(&access, &pick(&s, &access)?)
}

/// `/` is the UI, unless it carries mjpg-streamer's `?action=`.
async fn root(State(s): State<CameraState>, access: Access) -> Result<Response, ApiError> {
    match access.param("action") {
        None => Ok(ui::index().into_response()),
        Some("stream") => stream(&s, &access, pick(&s, &access)?),
        Some("snapshot") => snapshot(&access, &pick(&s, &access)?),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unknown action '{other}': use action=stream or action=snapshot"
        ))),
    }
}

async fn go2rtc_stream(State(s): State<CameraState>, access: Access) -> Result<Response, ApiError> {
    stream(&s, &access, named(&s, &access)?)
}

async fn go2rtc_frame(State(s): State<CameraState>, access: Access) -> Result<Response, ApiError> {
    snapshot(&access, &named(&s, &access)?)
}
