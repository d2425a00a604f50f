//! The canonical URL tree, composed from the edges' routers.
//!
//! ```text
//! GET /ws                          camera ingest (WebSocket)        edges::ingest
//! GET /stream/ws                   viewers (WebSocket)              edges::viewer
//! GET /audio/ws, /audio/publish    audio listeners / publishers     edges::audio_ws
//! GET /api/audio/{id}/live.wav     streaming WAV                    edges::wav
//! GET,POST /api/devices, DELETE /api/devices/{id}, POST /api/devices/{id}/commands
//!                                                                   api::devices
//! GET /api/sources                                                  api::sources
//! TCP :5000, UDP :5001             devkits (not HTTP)               edges::devkit
//! GET /api/health                                                   api::health
//! GET /api/clients, /api/streams, /api/clients/{id}[/latest|/stream|/frames/{seq}|/mjpeg]
//!                                                                   api::cameras
//! GET /stream, /snapshot, /?action=…, /api/stream.mjpeg, /api/frame.jpeg
//!                                                                   aliases
//! GET /, /assets/*, /{file}        the web UI                       ui
//! ```

use axum::{
    http::{Method, Uri},
    response::IntoResponse,
    Router,
};

use crate::{
    aliases, api, auth, body,
    edges::{audio_ws, ingest, viewer, wav},
    error::ApiError,
    state::AppState,
    ui,
};

pub fn build(state: AppState) -> Router {
    Router::new()
        .nest("/api", api::router().merge(wav::router()))
        .merge(ingest::router())
        .merge(audio_ws::router())
        .merge(viewer::router())
        .merge(aliases::router())
        .merge(api::session::page_router())
        .merge(ui::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::cors::cors,
        ))
        .with_state(state)
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    ApiError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed(method: Method) -> impl IntoResponse {
    ApiError::MethodNotAllowed(method.to_string())
}
