//! Single JPEGs over HTTP, shared by the REST API, the compatibility
//! aliases and the MJPEG edge: a camera's newest frame, one frame of its
//! ring, the no-cache headers, µStreamer's `X-Timestamp`, and `?fps=`.

use std::sync::Arc;

use axum::{
    body::Body,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use relaydeck_hub::{VideoFrame, VideoStream};

use crate::{auth::Access, error::ApiError};

/// Parses `?fps=`: a positive number up to 120.
pub fn parse_fps(raw: Option<&str>) -> Result<Option<f64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.parse::<f64>() {
        Ok(fps) if fps > 0.0 && fps <= 120.0 => Ok(Some(fps)),
        _ => Err(ApiError::BadRequest(format!(
            "fps must be a number above 0 and at most 120, not '{raw}'"
        ))),
    }
}

/// The newest frame of `cam`, to a caller who may watch it (asked again
/// here). Polling counts as watching (on-demand cameras open for it); a
/// camera that cannot deliver and has nothing to show is a `503`.
pub fn snapshot(access: &Access, cam: &Arc<VideoStream>) -> Result<Response, ApiError> {
    let id = cam.id().as_str();
    access.view(id)?;
    cam.note_poll();
    if let relaydeck_hub::Availability::Unavailable(why) = cam.availability() {
        if cam.latest().is_none() {
            return Err(ApiError::CameraUnavailable {
                id: id.to_owned(),
                why,
            });
        }
    }
    let frame = cam
        .latest()
        .ok_or_else(|| ApiError::NoFrame(id.to_owned()))?;
    Ok(jpeg_response(&frame))
}

/// One JPEG as a response, never cached.
pub fn jpeg_response(frame: &VideoFrame) -> Response {
    let mut resp = (StatusCode::OK, Body::from(frame.jpeg())).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(frame.len()));
    no_cache(h);
    h.insert("x-frame-seq", HeaderValue::from(frame.seq));
    h.insert(
        "x-timestamp",
        HeaderValue::from_str(&timestamp(frame.captured_us)).unwrap(),
    );
    resp
}

pub fn no_cache(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
}

/// Seconds since the Unix epoch with µs, as µStreamer's `X-Timestamp`.
pub fn timestamp(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}
