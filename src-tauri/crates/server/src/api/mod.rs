//! REST resources under `/api/`.

pub mod cameras;
pub mod devices;
pub mod guard;
pub mod health;
pub mod sources;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(cameras::router())
        .merge(devices::router().route_layer(axum::middleware::from_fn(guard::access)))
        .merge(sources::router().route_layer(axum::middleware::from_fn(guard::access)))
}
