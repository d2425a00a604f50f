//! Recording over HTTP (the recorders are `edges::record`'s).
//!
//! * `GET /api/recorders`: what records now, and its state. Any view right;
//!   filtered by the caller's sources.
//! * `POST /api/recorders` `{"source","kind":"camera"|"audio","motion"?}`:
//!   start (admin); a camera with `motion` records only around motion.
//! * `DELETE /api/recorders/{id}`: stop every recorder of `id` (admin); the
//!   segments are closed whole before the answer.
//! * `GET /api/recordings?source=&from=&to=&motion=&offset=&limit=`: segments,
//!   oldest first, only of sources the caller may see (the same rule as live
//!   media); `motion=true` keeps those a motion event overlaps.
//! * `GET /api/recordings/{segment}`: the segment's file (Matroska or WAV).
//! * `GET /api/recordings/{segment}/frame?t=MS`: a camera segment's JPEG at
//!   `MS` from its start (from the frame index, without reading the file).
//! * `GET /api/recordings/clip?source=&kind=&from=&to=`: any time range of
//!   one source (Unix ms, at most a day) as one file, cut across segments.
//! * `DELETE /api/recordings/{segment}` (admin).
//! * `GET /api/motion?source=&from=&to=&offset=&limit=`: motion events, oldest first.
//! * `GET /api/motion/{event}` and `GET /api/motion/{event}/thumbnail` (JPEG).

use axum::{
    body::Body,
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use relaydeck_contract::api::{
    MotionEvent, MotionEventList, NewRecorder, RecorderInfo, RecorderList, RecordingInfo,
    RecordingList, SourceUse,
};
use relaydeck_hub::StreamId;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{
    auth::Access,
    body::JsonBody,
    edges::record::{
        catalog::{self, Kind, MotionRecord, Segment},
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
        .route("/recordings/clip", get(clip_range))
        // One route per shape, so a 405's Allow names what each offers.
        .route("/recordings/{id}", get(get_segment).delete(remove))
        .route("/recordings/{id}/{tail}", get(get_segment))
        .route("/motion", get(motion_list))
        .route("/motion/{*rest}", get(motion_get))
}

fn info(seg: &Segment, motion: bool) -> RecordingInfo {
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
        motion,
    }
}

fn event_info(ev: &MotionRecord) -> MotionEvent {
    MotionEvent {
        id: ev.id(),
        source: ev.source.to_string(),
        start_ms: ev.start_ms,
        end_ms: ev.end_ms,
        peak: ev.peak,
        live: ev.live,
        thumbnail: format!("/api/motion/{}/thumbnail", ev.id()),
    }
}

async fn recorders(State(s): State<RecordState>, access: Access) -> Json<RecorderList> {
    let recorders = s
        .recorders
        .active()
        .into_iter()
        .filter(|(id, _, _, _)| access.principal.can_view(id.as_str()))
        .map(|(id, kind, state, on_motion)| RecorderInfo {
            source: id.to_string(),
            kind: kind.name().into(),
            mode: if on_motion { "motion" } else { "continuous" }.into(),
            state: match &state {
                RecorderState::Waiting => "waiting".into(),
                RecorderState::Watching => "watching".into(),
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
    let mut by_source: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for seg in s.recorders.catalog.all() {
        if access.principal.can_view(seg.source.as_str()) {
            let e = by_source.entry(seg.source.to_string()).or_default();
            e.0 += seg.bytes;
            e.1 += 1;
        }
    }
    Json(RecorderList {
        recorders,
        by_source: by_source
            .into_iter()
            .map(|(source, (bytes, segments))| SourceUse {
                source,
                bytes,
                segments,
            })
            .collect(),
        free_bytes: crate::edges::record::free_bytes(&s.recorders.dir),
        reserve_bytes: s.recorders.limits.reserve_bytes,
        dir: access
            .principal
            .is_admin()
            .then(|| s.recorders.dir.display().to_string()),
    })
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
    if let Some(m) = &req.motion {
        if kind != Kind::Camera {
            return Err(ApiError::BadRequest(
                "motion is detected in camera pictures only".into(),
            ));
        }
        m.check().map_err(ApiError::BadRequest)?;
    }
    if let Some(mode) = s.recorders.mode_of(&id, kind) {
        if mode != req.motion {
            return Err(ApiError::Conflict(format!(
                "{} {id} is already recorded {}; stop that recorder first",
                kind.name(),
                if mode.is_some() {
                    "on motion (with other settings)"
                } else {
                    "continuously"
                }
            )));
        }
    }
    let started = s.recorders.start(&s.hub, id, kind, req.motion);
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

/// `?source=&from=&to=&offset=&limit=` of a list (the source asked for checked by the policy).
struct Page<'a> {
    source: Option<&'a str>,
    from: u64,
    to: u64,
    offset: usize,
    limit: usize,
}

impl<'a> Page<'a> {
    fn of(access: &'a Access) -> Result<Self, ApiError> {
        let source = access.param("source");
        if let Some(id) = source {
            access.view(id)?;
        }
        Ok(Self {
            source,
            from: number(access, "from", 0)?,
            to: number(access, "to", u64::MAX)?,
            offset: number(access, "offset", 0)? as usize,
            limit: number(access, "limit", 100)?.clamp(1, 1000) as usize,
        })
    }
}

async fn list(
    State(s): State<RecordState>,
    access: Access,
) -> Result<Json<RecordingList>, ApiError> {
    let Page {
        source,
        from,
        to,
        offset,
        limit,
    } = Page::of(&access)?;
    let want_motion = match access.param("motion") {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(v) => {
            return Err(ApiError::BadRequest(format!(
                "'motion' must be true or false, not '{v}'"
            )))
        }
    };
    let catalog = &s.recorders.catalog;
    let all: Vec<(Segment, bool)> = catalog
        .query(source, from, to)
        .into_iter()
        .filter(|seg| access.principal.can_view(seg.source.as_str()))
        .map(|seg| {
            let moved = catalog.has_motion(&seg);
            (seg, moved)
        })
        .filter(|(_, moved)| want_motion.is_none_or(|w| w == *moved))
        .collect();
    Ok(Json(RecordingList {
        total: all.len() as u64,
        recordings: all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(seg, moved)| info(seg, *moved))
            .collect(),
    }))
}

/// The longest range one clip may span.
const CLIP_MAX_MS: u64 = 24 * 3600 * 1000;

async fn clip_range(State(s): State<RecordState>, access: Access) -> Result<Response, ApiError> {
    let source = access.param("source").ok_or_else(|| {
        ApiError::BadRequest("'source' names the camera or audio source of the clip".into())
    })?;
    access.view(source)?;
    let kind = access
        .param("kind")
        .and_then(Kind::parse)
        .ok_or_else(|| ApiError::BadRequest("'kind' must be camera or audio".into()))?;
    let (Some(_), Some(_)) = (access.param("from"), access.param("to")) else {
        return Err(ApiError::BadRequest(
            "'from' and 'to' (Unix ms) say which stretch to cut".into(),
        ));
    };
    let (from, to) = (number(&access, "from", 0)?, number(&access, "to", 0)?);
    if to <= from || to - from > CLIP_MAX_MS {
        return Err(ApiError::BadRequest(format!(
            "'to' must be after 'from', by at most a day ({CLIP_MAX_MS} ms)"
        )));
    }
    let dir = s.recorders.dir.clone();
    if crate::edges::record::free_bytes(&dir).is_some_and(|f| f < s.recorders.limits.reserve_bytes)
    {
        return Err(ApiError::DiskFull(
            "free space is under --record-reserve: no room to cut a clip".into(),
        ));
    }
    let segments = s.recorders.catalog.query(Some(source), from, to);
    let cut = tokio::task::spawn_blocking(move || cut_clip(&dir, kind, &segments, from, to))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (file, clip) = match cut {
        Ok(Some(done)) => done,
        Ok(None) => {
            return Err(ApiError::NotFound(format!(
                "nothing of {} '{source}' was recorded from {from} to {to}",
                kind.name()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(ApiError::TooMuchAudio(e.to_string()))
        }
        Err(e) => return Err(ApiError::Internal(format!("the clip cannot be cut: {e}"))),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let name = format!(
        "{source}-{}-{}.{}",
        clip.start_ms,
        clip.end_ms,
        kind.extension()
    );
    let mime = match kind {
        Kind::Camera => "video/x-matroska",
        Kind::Audio => "audio/wav",
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, mime.parse().unwrap());
    h.insert(header::CONTENT_LENGTH, len.into());
    h.insert(
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\"").parse().unwrap(),
    );
    h.insert("x-clip-start-ms", clip.start_ms.into());
    h.insert("x-clip-end-ms", clip.end_ms.into());
    if clip.cut_short {
        h.insert("x-clip-cut-short", "true".parse().unwrap());
    }
    Ok(resp)
}

/// The clip in a private file of the record directory, unlinked before it
/// is sent (the open file is all that is left of it: nothing stays behind).
fn cut_clip(
    dir: &std::path::Path,
    kind: Kind,
    segments: &[Segment],
    from: u64,
    to: u64,
) -> std::io::Result<Option<(std::fs::File, crate::edges::record::clip::Clip)>> {
    use std::io::Seek;
    let path = dir.join(format!(".clip-{}.part", crate::secrets::random_hex(8)));
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?
    };
    let made = crate::edges::record::clip::write(kind, segments, from, to, &mut file);
    let _ = std::fs::remove_file(&path);
    let Some(clip) = made? else { return Ok(None) };
    file.rewind()?;
    Ok(Some((file, clip)))
}

async fn motion_list(
    State(s): State<RecordState>,
    access: Access,
) -> Result<Json<MotionEventList>, ApiError> {
    let Page {
        source,
        from,
        to,
        offset,
        limit,
    } = Page::of(&access)?;
    let all: Vec<MotionRecord> = s
        .recorders
        .catalog
        .motion(source, from, to)
        .into_iter()
        .filter(|ev| access.principal.can_view(ev.source.as_str()))
        .collect();
    Ok(Json(MotionEventList {
        total: all.len() as u64,
        events: all
            .iter()
            .skip(offset)
            .take(limit)
            .map(event_info)
            .collect(),
    }))
}

/// `GET /api/motion/{source.startms}` and `…/thumbnail`.
async fn motion_get(State(s): State<RecordState>, access: Access) -> Result<Response, ApiError> {
    let (id, tail) = id_and_tail(&access);
    let source = id
        .rsplit_once('.')
        .and_then(|(source, start)| start.parse::<u64>().ok().map(|_| source))
        .and_then(|source| StreamId::new(source).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "'{id}' is not a motion event's ID (source.startms)"
            ))
        })?;
    access.view(source.as_str())?;
    let ev = s
        .recorders
        .catalog
        .motion_event(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no motion event '{id}'")))?;
    match tail.as_deref() {
        None => Ok(Json(event_info(&ev)).into_response()),
        Some("thumbnail") => {
            let path = ev.thumbnail_path(&s.recorders.dir);
            let jpeg = tokio::fs::read(&path)
                .await
                .map_err(|_| ApiError::NotFound(format!("motion event '{id}' has no thumbnail")))?;
            Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response())
        }
        Some(other) => Err(ApiError::NotFound(format!(
            "no '{other}' of motion event '{id}'"
        ))),
    }
}

/// The path's tail: an ID, and what follows it.
fn id_and_tail(access: &Access) -> (String, Option<String>) {
    let rest = access.target.rest.clone().unwrap_or_default();
    match rest.split_once('/') {
        Some((id, tail)) => (id.to_owned(), Some(tail.to_owned())),
        None => (rest, None),
    }
}

/// The segment the path's tail names, if the caller may see its source; and what follows its ID.
fn segment(s: &RecordState, access: &Access) -> Result<(Segment, Option<String>), ApiError> {
    let (id, tail) = id_and_tail(access);
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

async fn get_segment(
    State(s): State<RecordState>,
    access: Access,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let (seg, tail) = segment(&s, &access)?;
    match tail.as_deref() {
        None if access.param("from").is_some() || access.param("to").is_some() => {
            let from = number(&access, "from", 0)?;
            let to = number(&access, "to", u64::MAX)?;
            clip(&seg, from, to).await
        }
        None => download(&seg, range(&headers)).await,
        Some("frame") if seg.kind == Kind::Camera => frame(&seg, number(&access, "t", 0)?).await,
        Some(other) => Err(ApiError::NotFound(format!(
            "no '{other}' of recording '{}'",
            seg.id()
        ))),
    }
}

/// `Range: bytes=A-B` / `bytes=A-` (one range; media elements seek with it).
fn range(headers: &axum::http::HeaderMap) -> Option<(u64, Option<u64>)> {
    let raw = headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?;
    let (a, b) = raw.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()))
}

async fn download(seg: &Segment, range: Option<(u64, Option<u64>)>) -> Result<Response, ApiError> {
    let mut file = tokio::fs::File::open(&seg.path)
        .await
        .map_err(|e| ApiError::Internal(format!("the recording cannot be read: {e}")))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let part = match range {
        Some((a, b)) if a < len && !seg.live => Some((a, b.unwrap_or(len - 1).min(len - 1))),
        Some(_) if !seg.live => {
            let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            resp.headers_mut().insert(
                header::CONTENT_RANGE,
                format!("bytes */{len}").parse().unwrap(),
            );
            return Ok(resp);
        }
        _ => None,
    };
    let body = match part {
        Some((a, b)) if b >= a => {
            file.seek(std::io::SeekFrom::Start(a))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Body::from_stream(tokio_util::io::ReaderStream::new(file.take(b - a + 1)))
        }
        _ => Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    };
    let name = format!("{}-{}.{}", seg.source, seg.start_ms, seg.kind.extension());
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, info(seg, false).mime.parse().unwrap());
    if !seg.live {
        h.insert(header::ACCEPT_RANGES, "bytes".parse().unwrap());
    }
    match part {
        Some((a, b)) => {
            h.insert(header::CONTENT_LENGTH, (b - a + 1).into());
            h.insert(
                header::CONTENT_RANGE,
                format!("bytes {a}-{b}/{len}").parse().unwrap(),
            );
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        None if !seg.live => {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, len.into());
        }
        None => {}
    }
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\"").parse().unwrap(),
    );
    Ok(resp)
}

/// `?from=MS&to=MS` (from the segment's start) of an audio segment: a WAV of just that stretch.
async fn clip(seg: &Segment, from: u64, to: u64) -> Result<Response, ApiError> {
    if seg.kind != Kind::Audio {
        return Err(ApiError::BadRequest(
            "a clip by time is cut from audio recordings; download a camera segment whole".into(),
        ));
    }
    if to <= from {
        return Err(ApiError::BadRequest(format!(
            "'to' ({to}) must be after 'from' ({from})"
        )));
    }
    let path = seg.path.clone();
    let wav = tokio::task::spawn_blocking(move || crate::edges::record::wav::cut(&path, from, to))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("the recording cannot be read: {e}")))?;
    let name = format!("{}-{}-{from}-{to}.wav", seg.source, seg.start_ms);
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        wav,
    )
        .into_response())
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
    Ok(Json(info(&seg, false)))
}
