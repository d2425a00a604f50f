//! REST resources under `/api/`.

pub mod cameras;
pub mod capture;
pub mod devices;
pub mod files;
pub mod health;
pub mod openapi;
pub mod pairing;
pub mod recordings;
pub mod session;
pub mod settings;
pub mod sources;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(openapi::router())
        .merge(cameras::router())
        .merge(devices::router())
        .merge(pairing::router())
        .merge(sources::router())
        .merge(session::router())
        .merge(settings::router())
        .merge(capture::router())
        .merge(files::router())
        .merge(recordings::router())
}
