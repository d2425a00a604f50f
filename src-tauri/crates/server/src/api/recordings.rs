//! Recording over HTTP (the recorders are `edges::record`'s).
//!
//! * `GET /api/recorders`: what records now, and its state. Any view right;
//!   filtered by the caller's sources.
//! * `POST /api/recorders` `{"source","kind":"camera"|"audio"}`: start (admin).
//! * `DELETE /api/recorders/{id}`: stop every recorder of `id` (admin); the
//!   segments are closed whole before the answer.
//! * `GET /api/recordings?source=&from=&to=&offset=&limit=`: segments, oldest
//!   first, only of sources the caller may see (the same rule as live media).
//! * `GET /api/recordings/{segment}`: the segment's file (Matroska or WAV).
//! * `GET /api/recordings/{segment}/frame?t=MS`: a camera segment's JPEG at
//!   `MS` from its start (from the frame index, without reading the file).
//! * `DELETE /api/recordings/{segment}` (admin).

use axum::{
    body::Body,
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use relaydeck_contract::api::{
    NewRecorder, RecorderInfo, RecorderList, RecordingInfo, RecordingList,
};
use relaydeck_hub::StreamId;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{
    auth::Access,
    body::JsonBody,
    edges::record::{
        catalog::{self, Kind, Segment},
        RecorderState,
    },
    error::ApiError,
    state::{AppState, RecordState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/recorders", get(recorders).post(start))
        .route("/recorders/{id}", axum::routing::delete(stop))
        .route("/recordings", get(list))
        .route("/recordings/{*rest}", get(get_segment).delete(remove))
}

fn info(seg: &Segment) -> RecordingInfo {
    RecordingInfo {
        id: seg.id(),
        source: seg.source.to_string(),
        kind: seg.kind.name().into(),
        start_ms: seg.start_ms,
        end_ms: seg.end_ms,
        duration_ms: seg.end_ms - seg.start_ms,
        bytes: seg.bytes,
        frames: (seg.kind == Kind::Camera).then_some(seg.frames),
        live: seg.live,
        mime: match seg.kind {
            Kind::Camera => "video/x-matroska".into(),
            Kind::Audio => "audio/wav".into(),
        },
    }
}

async fn recorders(State(s): State<RecordState>, access: Access) -> Json<RecorderList> {
    let recorders = s
        .recorders
        .active()
        .into_iter()
        .filter(|(id, _, _)| access.principal.can_view(id.as_str()))
        .map(|(id, kind, state)| RecorderInfo {
            source: id.to_string(),
            kind: kind.name().into(),
            state: match &state {
                RecorderState::Waiting => "waiting".into(),
                RecorderState::Recording => "recording".into(),
                RecorderState::DiskFull => "disk_full".into(),
                RecorderState::Failed(_) => "failed".into(),
            },
            message: match state {
                RecorderState::Failed(m) => Some(m),
                RecorderState::DiskFull => Some(
                    "free space is under --record-reserve; recording resumes when space returns"
                        .into(),
                ),
                _ => None,
            },
        })
        .collect();
    Json(RecorderList { recorders })
}

async fn start(
    State(s): State<RecordState>,
    JsonBody(req): JsonBody<NewRecorder>,
) -> Result<Response, ApiError> {
    let id = StreamId::new(&req.source).map_err(|e| ApiError::InvalidId {
        what: "source".into(),
        id: req.source.clone(),
        why: e.to_string(),
    })?;
    let kind = Kind::parse(&req.kind).ok_or_else(|| {
        ApiError::BadRequest(format!("kind '{}' is not camera or audio", req.kind))
    })?;
    let started = s.recorders.start(&s.hub, id, kind);
    let status = if started {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(relaydeck_contract::api::Ok { ok: true })).into_response())
}

async fn stop(
    State(s): State<RecordState>,
    access: Access,
) -> Result<Json<relaydeck_contract::api::Ok>, ApiError> {
    let id = access.id()?;
    if s.recorders.stop(id.as_str()).await.is_empty() {
        return Err(ApiError::NotFound(format!("no recorder of '{id}'")));
    }
    Ok(Json(relaydeck_contract::api::Ok { ok: true }))
}

fn number(access: &Access, key: &str, default: u64) -> Result<u64, ApiError> {
    match access.param(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ApiError::BadRequest(format!("'{key}' must be a whole number, not '{v}'"))
        }),
    }
}

async fn list(
    State(s): State<RecordState>,
    access: Access,
) -> Result<Json<RecordingList>, ApiError> {
    let source = access.param("source");
    if let Some(id) = source {
        access.view(id)?;
    }
    let from = number(&access, "from", 0)?;
    let to = number(&access, "to", u64::MAX)?;
    let offset = number(&access, "offset", 0)? as usize;
    let limit = number(&access, "limit", 100)?.clamp(1, 1000) as usize;
    let all: Vec<Segment> = s
        .recorders
        .catalog
        .query(source, from, to)
        .into_iter()
        .filter(|seg| access.principal.can_view(seg.source.as_str()))
        .collect();
    Ok(Json(RecordingList {
        total: all.len() as u64,
        recordings: all.iter().skip(offset).take(limit).map(info).collect(),
    }))
}

/// The segment the path's tail names, if the caller may see its source; and what follows its ID.
fn segment(s: &RecordState, access: &Access) -> Result<(Segment, Option<String>), ApiError> {
    let rest = access.target.rest.clone().unwrap_or_default();
    let (id, tail) = match rest.split_once('/') {
        Some((id, tail)) => (id.to_owned(), Some(tail.to_owned())),
        None => (rest, None),
    };
    let (source, _, _) = catalog::parse_id(&id).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "'{id}' is not a recording's ID (source.kind.startms)"
        ))
    })?;
    access.view(source.as_str())?;
    let seg = s
        .recorders
        .catalog
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no recording '{id}'")))?;
    Ok((seg, tail))
}

async fn get_segment(State(s): State<RecordState>, access: Access) -> Result<Response, ApiError> {
    let (seg, tail) = segment(&s, &access)?;
    match tail.as_deref() {
        None => download(&seg).await,
        Some("frame") if seg.kind == Kind::Camera => frame(&seg, number(&access, "t", 0)?).await,
        Some(other) => Err(ApiError::NotFound(format!(
            "no '{other}' of recording '{}'",
            seg.id()
        ))),
    }
}

async fn download(seg: &Segment) -> Result<Response, ApiError> {
    let file = tokio::fs::File::open(&seg.path)
        .await
        .map_err(|e| ApiError::Internal(format!("the recording cannot be read: {e}")))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let name = format!("{}-{}.{}", seg.source, seg.start_ms, seg.kind.extension());
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, info(seg).mime.parse().unwrap());
    if !seg.live {
        h.insert(header::CONTENT_LENGTH, len.into());
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\"").parse().unwrap(),
    );
    Ok(resp)
}

async fn frame(seg: &Segment, t: u64) -> Result<Response, ApiError> {
    let index = seg.index_path();
    let found = tokio::task::spawn_blocking(move || catalog::frame_at(&index, t))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("the frame index cannot be read: {e}")))?;
    let (at, offset, len) =
        found.ok_or_else(|| ApiError::NotFound(format!("no frame in '{}'", seg.id())))?;
    let mut file = tokio::fs::File::open(&seg.path)
        .await
        .map_err(|e| ApiError::Internal(format!("the recording cannot be read: {e}")))?;
    let mut jpeg = vec![0u8; len];
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    file.read_exact(&mut jpeg)
        .await
        .map_err(|e| ApiError::Internal(format!("frame at {at} ms cannot be read: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_string()),
            (
                header::HeaderName::from_static("x-frame-ms"),
                at.to_string(),
            ),
        ],
        jpeg,
    )
        .into_response())
}

async fn remove(
    State(s): State<RecordState>,
    access: Access,
) -> Result<Json<RecordingInfo>, ApiError> {
    if !access.principal.is_admin() {
        return Err(ApiError::Forbidden(
            "only the admin deletes recordings".into(),
        ));
    }
    let (seg, tail) = segment(&s, &access)?;
    if let Some(tail) = tail {
        return Err(ApiError::NotFound(format!(
            "no '{tail}' of recording '{}' to delete",
            seg.id()
        )));
    }
    if seg.live {
        return Err(ApiError::Conflict(format!(
            "recording '{}' is still being written; stop its recorder first",
            seg.id()
        )));
    }
    std::fs::remove_file(&seg.path)
        .map_err(|e| ApiError::Internal(format!("cannot delete: {e}")))?;
    let _ = std::fs::remove_file(seg.index_path());
    s.recorders.catalog.remove(&seg);
    Ok(Json(info(&seg)))
}
