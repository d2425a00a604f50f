//! Cameras over REST: `/api/clients`, `/api/streams` and one camera's
//! latest frame, ring, frames and MJPEG stream. No base64 anywhere: JSON
//! carries metadata and URLs, images travel as `image/jpeg`.

use std::sync::Arc;

use axum::{extract::State, response::Response, routing::get, Json, Router};
use relaydeck_contract::api::{
    CameraList, CameraRename, Ok as OkBody, Ring, RingFrame, RingSummary, StreamInfo, StreamList,
};
use relaydeck_hub::{HubError, SourceKind, VideoFrame, VideoStream};

use crate::{
    auth::{Access, Caller},
    body::JsonBody,
    edges::mjpeg::mjpeg_response,
    error::ApiError,
    jpeg_http::{jpeg_response, parse_fps, snapshot},
    state::{AppState, CameraState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients))
        .route("/streams", get(list_streams))
        .route(
            "/clients/{id}",
            get(one_client).patch(rename).delete(remove),
        )
        .route("/clients/{id}/latest", get(latest))
        .route("/clients/{id}/stream", get(ring))
        .route("/clients/{id}/frames/{seq}", get(frame))
        .route("/clients/{id}/mjpeg", get(mjpeg))
}

/// The camera `id`, for a caller who may watch it (asked again here: defence in depth).
pub(crate) fn camera(
    state: &CameraState,
    access: &Access,
    id: &str,
) -> Result<Arc<VideoStream>, ApiError> {
    access.view(id)?;
    state
        .hub
        .stream(id)
        .ok_or_else(|| ApiError::UnknownCamera(id.to_owned()))
}

/// The camera the route names (its `{id}`, as the guard resolved it).
fn named(state: &CameraState, access: &Access) -> Result<Arc<VideoStream>, ApiError> {
    camera(state, access, access.id()?.as_str())
}

async fn list_clients(
    State(state): State<CameraState>,
    Caller(caller): Caller,
) -> Json<CameraList> {
    let clients = state
        .hub
        .streams()
        .iter()
        .filter(|s| caller.can_view(s.id().as_str()))
        .map(|s| state.camera(s))
        .collect();
    Json(CameraList { clients })
}

async fn one_client(
    State(state): State<CameraState>,
    access: Access,
) -> Result<Json<relaydeck_contract::api::Camera>, ApiError> {
    Ok(Json(state.camera(&*named(&state, &access)?)))
}

async fn list_streams(
    State(state): State<CameraState>,
    Caller(caller): Caller,
) -> Json<StreamList> {
    let streams = state
        .hub
        .streams()
        .iter()
        .filter(|s| caller.can_view(s.id().as_str()))
        .map(|s| {
            let snap = s.snapshot();
            let frames = s.ring_frames();
            StreamInfo {
                camera: state.camera(s),
                ring: RingSummary {
                    capacity: snap.ring_capacity,
                    length: frames.len(),
                    first_seq: frames.first().map(|f| f.seq),
                    latest_seq: frames.last().map(|f| f.seq),
                },
            }
        })
        .collect();
    Json(StreamList { streams })
}

fn ring_frame(id: &str, f: &VideoFrame) -> RingFrame {
    RingFrame {
        seq: f.seq,
        capture_time_us: f.captured_us,
        size: f.len(),
        width: f.info.width,
        height: f.info.height,
        url: format!("/api/clients/{id}/frames/{}", f.seq),
    }
}

async fn ring(State(state): State<CameraState>, access: Access) -> Result<Json<Ring>, ApiError> {
    let cam = named(&state, &access)?;
    let id = cam.id().as_str();
    let frames = cam
        .ring_frames()
        .iter()
        .map(|f| ring_frame(id, f))
        .collect();
    Ok(Json(Ring {
        client_id: id.to_owned(),
        online: cam.is_online(),
        frames,
    }))
}

async fn latest(State(state): State<CameraState>, access: Access) -> Result<Response, ApiError> {
    snapshot(&access, &named(&state, &access)?)
}

async fn frame(State(state): State<CameraState>, access: Access) -> Result<Response, ApiError> {
    let raw = access.target.rest.as_deref().unwrap_or("");
    let seq: u64 = raw.parse().map_err(|_| {
        ApiError::BadRequest(format!("frame number must be a whole number, not '{raw}'"))
    })?;
    let cam = named(&state, &access)?;
    let frame = cam.frame(seq).ok_or_else(|| ApiError::FrameGone {
        id: cam.id().to_string(),
        seq,
    })?;
    Ok(jpeg_response(&frame))
}

async fn mjpeg(State(state): State<CameraState>, access: Access) -> Result<Response, ApiError> {
    let fps = parse_fps(access.param("fps"))?;
    mjpeg_response(&state, &access, named(&state, &access)?, fps)
}

/// The longest name a camera may be given.
const MAX_NAME: usize = 64;

async fn rename(
    State(state): State<CameraState>,
    access: Access,
    JsonBody(body): JsonBody<CameraRename>,
) -> Result<Json<relaydeck_contract::api::Camera>, ApiError> {
    let cam = named(&state, &access)?;
    let name = body
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if let Some(n) = &name {
        if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(format!(
                "a camera name has 1 to {MAX_NAME} characters and no control characters"
            )));
        }
    }
    // Saved first: a name the user sees is a name that survives a restart.
    state
        .names
        .set(cam.id().as_str(), name.as_deref())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.hub.set_label(cam.id(), name);
    Ok(Json(state.camera(&cam)))
}

async fn remove(
    State(state): State<CameraState>,
    access: Access,
) -> Result<Json<OkBody>, ApiError> {
    let cam = named(&state, &access)?;
    if cam.kind() == SourceKind::Local {
        return Err(ApiError::Conflict(format!(
            "'{}' is this computer's own source: turn it off in Settings instead",
            cam.id()
        )));
    }
    match state.hub.remove_stream(cam.id().as_str()) {
        Ok(()) => {
            // The hub forgot the name with the camera; so does the file.
            if let Err(e) = state.names.set(cam.id().as_str(), None) {
                tracing::warn!(camera = %cam.id(), error = %e, "the removed camera's name stays on disk");
            }
            Ok(Json(OkBody::YES))
        }
        Err(HubError::UnknownStream(id)) => Err(ApiError::UnknownCamera(id)),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}
