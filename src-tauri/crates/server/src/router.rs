//! The canonical URL tree, composed from the edges' routers.
//!
//! Every route (the policy table in `auth::policy` decides who may call each):
//!
//! ```text
//! WebSockets
//! GET  /ws                                   cameras publishing JPEG frames          edges::ingest
//! GET  /stream/ws                            viewers (one camera or multiplexed)     edges::viewer
//! GET  /audio/ws                             audio listeners                         edges::audio_listen
//! GET  /audio/publish                        audio publishers                        edges::audio_publish
//! Cameras
//! GET  /api/clients, /api/streams            camera lists (with rings)               api::cameras
//! GET  /api/clients/{id}                     one camera                              api::cameras
//! PATCH, DELETE /api/clients/{id}            rename; remove an offline camera        api::cameras
//! GET  /api/clients/{id}/latest              newest JPEG                             api::cameras → jpeg_http
//! GET  /api/clients/{id}/stream              the ring's frames                       api::cameras
//! GET  /api/clients/{id}/frames/{seq}        one frame of the ring                   api::cameras → jpeg_http
//! GET  /api/clients/{id}/mjpeg               MJPEG                                   api::cameras → edges::mjpeg
//! Audio
//! GET  /api/sources                          audio sources                           api::sources
//! GET  /api/audio/{id}/live.wav              streaming WAV                           edges::wav
//! POST /api/offer                            WebRTC: SDP offer → answer (DataChannel) edges::webrtc
//! GET  /api/webrtc                           the ICE servers for a page's peer       edges::webrtc
//! Devkits
//! GET  /api/devices, POST /api/devices       list, add (token shown once)            api::devices
//! GET  /api/devices/{id}, DELETE …           one device, revoke                      api::devices
//! POST /api/devices/{id}/commands            a command, answered by the device's ack api::devices → devkit_service
//! TCP  :5000, UDP :5001                      devkits (not HTTP)                      edges::devkit
//! Credentials and settings
//! POST /api/login, /api/logout, /api/bootstrap   sign in (JSON or form), out, window code  api::session
//! GET  /api/tokens, POST /api/tokens, DELETE /api/tokens/{id}                          api::session
//! GET  /api/session                          who am I, what may I do                 api::settings
//! GET,PUT /api/settings, POST /api/password  settings (merge patch), admin password  api::settings
//! GET  /api/capture/devices                  this computer's cameras, microphones    api::capture → host
//! GET  /api/health                                                                   api::health
//! GET  /metrics                              Prometheus text format                  metrics
//! GET  /api/status/history                   the last 15 min of the counters (Status) metrics::history
//! Compatibility (one router, onto the routes above)
//! GET  /stream, /snapshot, /?action=stream|snapshot, /api/stream.mjpeg, /api/frame.jpeg   aliases
//! Pages
//! GET  /login                                sign-in page                            api::session
//! GET  /, /capture, /pair, /assets/{*path}, /{file} the web UI (pair: Bluetooth pairing) ui
//! ```

use std::sync::Arc;

use axum::{
    extract::{FromRef, MatchedPath, Request, State},
    http::{Method, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};

use crate::{
    aliases, api, auth, body,
    edges::{audio_listen, audio_publish, ingest, viewer, wav, webrtc},
    error::ApiError,
    metrics::{self, Meters},
    state::{AppState, GuardState},
    ui,
};

pub fn build(state: AppState) -> Router {
    Router::new()
        .nest(
            "/api",
            api::router()
                .merge(wav::router())
                .merge(webrtc::router())
                .merge(metrics::api_router()),
        )
        .merge(ingest::router())
        .merge(audio_listen::router())
        .merge(audio_publish::router())
        .merge(viewer::router())
        .merge(aliases::router())
        .merge(metrics::router())
        .merge(api::session::page_router())
        .merge(ui::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            GuardState::from_ref(&state),
            auth::guard::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            body::deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            auth::cors::cors,
        ))
        // Outermost: every answer is counted and logged, refusals included.
        .layer(axum::middleware::from_fn_with_state(
            state.meters.clone(),
            count_request,
        ))
        .layer(axum::middleware::from_fn(crate::http_log::log_request))
        .with_state(state)
}

/// Counts the request under its route's pattern (never its raw path, so
/// the label set stays the route table's).
async fn count_request(State(meters): State<Arc<Meters>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let resp = next.run(req).await;
    meters.request(route.as_ref().map(|r| r.as_str()), resp.status().as_u16());
    resp
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    ApiError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed(method: Method) -> impl IntoResponse {
    ApiError::MethodNotAllowed(method.to_string())
}
