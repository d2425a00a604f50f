//! The audio library over HTTP.
//!
//! * `PUT /api/files/{name}`: the request body is the file, streamed to disk
//!   (any `Content-Type`: the library reads the bytes), at most
//!   `--max-upload-bytes`, no pause longer than `--body-timeout`. It is
//!   decoded before it is kept: `201` (`Location: /api/files/{id}`) with its
//!   entry, `200` when it replaced the file with that ID; `415 not_audio`
//!   with the decoder's reason, `413` when too large. Admin only.
//! * `GET /api/files`: what the caller may see ([`library::visible`]): uploads,
//!   and finished audio recordings ([`library::recorded`]).
//! * `GET /api/files/{id}`, `DELETE /api/files/{id}` (admin).
//!
//! Playing a file is WebRTC's (`POST /api/offer` with `"file"`).

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use futures_util::StreamExt;
use relaydeck_contract::api::{AudioFile, FileList, FileOrigin};
use tokio::io::AsyncWriteExt;

use crate::{
    auth::Access,
    error::ApiError,
    library::{self, decode::DecodeError, name, Staged},
    state::{AppState, FilesState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files", get(list))
        .route("/files/{id}", get(one).put(upload).delete(remove))
}

async fn list(State(s): State<FilesState>, access: Access) -> Json<FileList> {
    let mut files: Vec<AudioFile> = s.library.list();
    files.extend(
        library::recorded::all(&s.recordings)
            .into_iter()
            .map(|(f, _)| f),
    );
    files.sort_by(|a, b| b.added_ms.cmp(&a.added_ms).then(a.id.cmp(&b.id)));
    let files = files
        .into_iter()
        .filter(|f| library::visible(&access.principal, f))
        .collect();
    Json(FileList {
        files,
        max_upload_bytes: s.config.max_upload_bytes as u64,
    })
}

/// A file and where its bytes are: the original, and its PCM (from `pcm_offset` on).
pub struct Located {
    pub file: AudioFile,
    pub original: std::path::PathBuf,
    pub pcm: std::path::PathBuf,
    pub pcm_offset: u64,
    /// The PCM's encoding (uploads are decoded to s16le; recordings keep their own).
    pub encoding: &'static str,
}

/// The file `id` names — an upload or an audio recording — if the caller
/// may see it (one it may not is not there, for it: the same `404`).
pub fn find(s: &FilesState, access: &Access, id: &str) -> Result<Located, ApiError> {
    let found = match s.library.get(id) {
        Some(file) => {
            let paths = s.library.paths(&file);
            Some(Located {
                file,
                original: paths.original,
                pcm: paths.pcm,
                pcm_offset: 0,
                encoding: "s16le",
            })
        }
        None => library::recorded::find(&s.recordings, id).map(|(file, seg)| Located {
            file,
            encoding: library::recorded::encoding(&seg.path),
            original: seg.path.clone(),
            pcm: seg.path,
            pcm_offset: crate::edges::record::wav::HEADER as u64,
        }),
    };
    found
        .filter(|l| library::visible(&access.principal, &l.file))
        .ok_or_else(|| ApiError::UnknownFile(id.into()))
}

async fn one(State(s): State<FilesState>, access: Access) -> Result<Json<AudioFile>, ApiError> {
    find(&s, &access, access.id()?.as_str()).map(|l| Json(l.file))
}

async fn remove(State(s): State<FilesState>, access: Access) -> Result<Json<AudioFile>, ApiError> {
    let id = access.id()?.as_str();
    s.library
        .remove(id)
        .map_err(|e| ApiError::Internal(format!("could not remove file '{id}': {e}")))?
        .map(Json)
        .ok_or_else(|| ApiError::UnknownFile(id.into()))
}

async fn upload(
    State(s): State<FilesState>,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let raw = access.target.rest.as_deref().unwrap_or_default();
    let (name, id) = name::sanitise(raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let max = s.config.max_upload_bytes;
    if content_length(&headers).is_some_and(|n| n > max as u64) {
        return Err(ApiError::BodyTooLarge(max));
    }
    let staged = s.library.stage();
    let kept = receive(&s, &staged, body, name, id).await;
    let (file, replaced) = match kept {
        Ok(done) => done,
        Err(e) => {
            staged.discard();
            return Err(e);
        }
    };
    tracing::info!(file = %file.id, format = %file.format, bytes = file.size, replaced, "audio file uploaded");
    let status = match replaced {
        true => StatusCode::OK,
        false => StatusCode::CREATED,
    };
    let location = format!("/api/files/{}", file.id);
    Ok((status, [(header::LOCATION, location)], Json(file)).into_response())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The body to disk, decoded, moved into the library.
async fn receive(
    s: &FilesState,
    staged: &Staged,
    body: Body,
    name: String,
    id: String,
) -> Result<(AudioFile, bool), ApiError> {
    let max = s.config.max_upload_bytes;
    let size = write_body(&staged.original, body, max).await?;
    if size == 0 {
        return Err(ApiError::BadRequest(
            "the upload is empty: send the file as the request body".into(),
        ));
    }
    let (original, pcm) = (staged.original.clone(), staged.pcm.clone());
    // At most 16 bytes of PCM per byte uploaded: an hour-long MP3 at 32 kb/s
    // decodes to ~11 times its size; a tiny file claiming days does not fit.
    let max_pcm = (max as u64).saturating_mul(16);
    let decoded = tokio::task::spawn_blocking(move || {
        let mut out = crate::store::private_file(&pcm)?;
        let decoded = library::decode::decode(&original, &mut out, max_pcm)?;
        out.sync_all()?;
        Ok::<_, DecodeError>(decoded)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the decoder stopped: {e}")))?
    .map_err(decode_refusal)?;
    let file = AudioFile {
        id,
        name,
        origin: FileOrigin::Upload,
        source: None,
        format: decoded.format.into(),
        mime: decoded.container.mime().into(),
        size,
        sample_rate: decoded.sample_rate,
        channels: decoded.channels,
        duration_sec: decoded.duration_sec(),
        pcm_size: decoded.pcm_bytes(),
        added_ms: crate::secrets::now_ms(),
    };
    let (library, staged, kept) = (s.library.clone(), staged.clone(), file.clone());
    let replaced = tokio::task::spawn_blocking(move || library.commit(&staged, kept))
        .await
        .map_err(|e| ApiError::Internal(format!("the library stopped: {e}")))?
        .map_err(storage_error)?;
    Ok((file, replaced))
}

/// Streams the body into a new private file; its size.
async fn write_body(path: &std::path::Path, body: Body, max: usize) -> Result<u64, ApiError> {
    let mut file =
        tokio::fs::File::from_std(crate::store::private_file(path).map_err(storage_error)?);
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| crate::body::classify(e, max))?;
        size += piece.len() as u64;
        if size > max as u64 {
            return Err(ApiError::BodyTooLarge(max));
        }
        file.write_all(&piece).await.map_err(storage_error)?;
    }
    file.sync_all().await.map_err(storage_error)?;
    Ok(size)
}

fn storage_error(e: std::io::Error) -> ApiError {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            ApiError::DiskFull(e.to_string())
        }
        _ => ApiError::Internal(format!("could not store the upload: {e}")),
    }
}

fn decode_refusal(e: DecodeError) -> ApiError {
    match e {
        DecodeError::TooLong(_) => ApiError::TooMuchAudio(e.to_string()),
        DecodeError::Io(io) => storage_error(io),
        other => ApiError::NotAudio(other.to_string()),
    }
}
