//! Compatibility paths, all in one place, mapped onto the canonical routes.
//!
//! | alias | canonical |
//! |-------|-----------|
//! | µStreamer `/stream`, `/snapshot` (`?clientId=` or the first camera) | `/api/clients/{id}/mjpeg`, `/api/clients/{id}/latest` |
//! | mjpg-streamer `/?action=stream`, `/?action=snapshot` | the same |
//! | go2rtc `/api/stream.mjpeg?src=ID`, `/api/frame.jpeg?src=ID` | the same |

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use relaydeck_hub::VideoStream;

use crate::{
    api::cameras::camera,
    auth::{Caller, Principal},
    edges::mjpeg::{jpeg_response, mjpeg_response, parse_fps},
    error::ApiError,
    state::AppState,
    ui,
};

type Params = Query<HashMap<String, String>>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stream", get(ustreamer_stream))
        .route("/snapshot", get(ustreamer_snapshot))
        .route("/", get(root))
        .route("/api/stream.mjpeg", get(go2rtc_stream))
        .route("/api/frame.jpeg", get(go2rtc_frame))
}

/// The camera named by `key`, or the first camera registered that the caller may watch.
fn pick(
    state: &AppState,
    caller: &Principal,
    q: &HashMap<String, String>,
    key: &str,
) -> Result<Arc<VideoStream>, ApiError> {
    match q.get(key) {
        Some(id) => camera(state, id),
        None => state
            .hub
            .streams()
            .into_iter()
            .find(|s| caller.can_view(s.id().as_str()))
            .ok_or(ApiError::NoCameras),
    }
}

fn stream(
    state: &AppState,
    cam: Arc<VideoStream>,
    q: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    Ok(mjpeg_response(
        state,
        cam,
        parse_fps(q.get("fps").map(String::as_str))?,
    ))
}

fn snapshot(cam: Arc<VideoStream>) -> Result<Response, ApiError> {
    cam.note_poll();
    let frame = cam
        .latest()
        .ok_or_else(|| ApiError::NoFrame(cam.id().to_string()))?;
    Ok(jpeg_response(&frame))
}

async fn ustreamer_stream(
    State(s): State<AppState>,
    Caller(c): Caller,
    Query(q): Params,
) -> Result<Response, ApiError> {
    stream(&s, pick(&s, &c, &q, "clientId")?, &q)
}

async fn ustreamer_snapshot(
    State(s): State<AppState>,
    Caller(c): Caller,
    Query(q): Params,
) -> Result<Response, ApiError> {
    snapshot(pick(&s, &c, &q, "clientId")?)
}

/// `/` is the UI, unless it carries mjpg-streamer's `?action=`.
async fn root(
    State(s): State<AppState>,
    Caller(c): Caller,
    Query(q): Params,
) -> Result<Response, ApiError> {
    match q.get("action").map(String::as_str) {
        None => Ok(ui::index().into_response()),
        Some("stream") => stream(&s, pick(&s, &c, &q, "clientId")?, &q),
        Some("snapshot") => snapshot(pick(&s, &c, &q, "clientId")?),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unknown action '{other}': use action=stream or action=snapshot"
        ))),
    }
}

fn go2rtc_src(q: &HashMap<String, String>) -> Result<&str, ApiError> {
    q.get("src")
        .map(String::as_str)
        .ok_or_else(|| ApiError::BadRequest("missing ?src=CAMERA_ID".into()))
}

async fn go2rtc_stream(State(s): State<AppState>, Query(q): Params) -> Result<Response, ApiError> {
    stream(&s, camera(&s, go2rtc_src(&q)?)?, &q)
}

async fn go2rtc_frame(State(s): State<AppState>, Query(q): Params) -> Result<Response, ApiError> {
    snapshot(camera(&s, go2rtc_src(&q)?)?)
}
