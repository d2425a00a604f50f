//! Cameras over REST: `/api/clients`, `/api/streams` and one camera's
//! latest frame, ring, frames and MJPEG stream. No base64 anywhere: JSON
//! carries metadata and URLs, images travel as `image/jpeg`.

use std::sync::Arc;

use axum::{extract::State, response::Response, routing::get, Json, Router};
use relaydeck_hub::{StreamSnapshot, VideoFrame, VideoStream};
use serde_json::{json, Value};

use crate::{
    auth::{Access, Caller},
    edges::mjpeg::{jpeg_response, mjpeg_response, parse_fps, snapshot},
    error::ApiError,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients))
        .route("/streams", get(list_streams))
        .route("/clients/{id}", get(one_client))
        .route("/clients/{id}/latest", get(latest))
        .route("/clients/{id}/stream", get(ring))
        .route("/clients/{id}/frames/{seq}", get(frame))
        .route("/clients/{id}/mjpeg", get(mjpeg))
}

/// The camera `id`, for a caller who may watch it (asked again here: defence in depth).
pub(crate) fn camera(
    state: &AppState,
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
fn named(state: &AppState, access: &Access) -> Result<Arc<VideoStream>, ApiError> {
    camera(state, access, access.id()?.as_str())
}

/// The JSON shape of one camera, shared by `/api/clients` and `/api/streams`.
fn client_json(s: &StreamSnapshot) -> Value {
    json!({
        "id": s.id,
        "clientId": s.id,
        "name": s.name,
        "kind": s.kind,
        "online": s.online,
        "connectedSince": s.connected_since_ms,
        "lastFrameTime": s.last_frame_ms,
        "frames": s.frames,
        "bytes": s.bytes,
        "fps": s.fps,
        "width": s.width,
        "height": s.height,
        "viewers": s.viewers,
        "delivered": s.delivered,
        "skipped": s.skipped,
        "availability": s.availability,
    })
}

async fn list_clients(State(state): State<AppState>, Caller(caller): Caller) -> Json<Value> {
    let clients: Vec<Value> = state
        .hub
        .streams()
        .iter()
        .filter(|s| caller.can_view(s.id().as_str()))
        .map(|s| client_json(&s.snapshot()))
        .collect();
    Json(json!({ "clients": clients }))
}

async fn one_client(
    State(state): State<AppState>,
    access: Access,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(client_json(&named(&state, &access)?.snapshot())))
}

async fn list_streams(State(state): State<AppState>, Caller(caller): Caller) -> Json<Value> {
    let streams: Vec<Value> = state
        .hub
        .streams()
        .iter()
        .filter(|s| caller.can_view(s.id().as_str()))
        .map(|s| {
            let snap = s.snapshot();
            let frames = s.ring_frames();
            let mut v = client_json(&snap);
            v["ring"] = json!({
                "capacity": snap.ring_capacity,
                "length": frames.len(),
                "firstSeq": frames.first().map(|f| f.seq),
                "latestSeq": frames.last().map(|f| f.seq),
            });
            v
        })
        .collect();
    Json(json!({ "streams": streams }))
}

fn frame_json(id: &str, f: &VideoFrame) -> Value {
    json!({
        "seq": f.seq,
        "captureTimeUs": f.captured_us,
        "size": f.len(),
        "width": f.info.width,
        "height": f.info.height,
        "url": format!("/api/clients/{id}/frames/{}", f.seq),
    })
}

async fn ring(State(state): State<AppState>, access: Access) -> Result<Json<Value>, ApiError> {
    let cam = named(&state, &access)?;
    let id = cam.id().as_str();
    let frames: Vec<Value> = cam
        .ring_frames()
        .iter()
        .map(|f| frame_json(id, f))
        .collect();
    Ok(Json(
        json!({ "clientId": id, "online": cam.is_online(), "frames": frames }),
    ))
}

async fn latest(State(state): State<AppState>, access: Access) -> Result<Response, ApiError> {
    snapshot(&access, &named(&state, &access)?)
}

async fn frame(State(state): State<AppState>, access: Access) -> Result<Response, ApiError> {
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

async fn mjpeg(State(state): State<AppState>, access: Access) -> Result<Response, ApiError> {
    let fps = parse_fps(access.param("fps"))?;
    mjpeg_response(&state, &access, named(&state, &access)?, fps)
}
