//! REST resources under `/api/`.

pub mod cameras;
pub mod health;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(health::router()).merge(cameras::router())
}
