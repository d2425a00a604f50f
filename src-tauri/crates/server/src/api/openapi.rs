//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the REST API, made
//! once from the contract's route table (`relaydeck_contract::rest`).

use std::sync::OnceLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use bytes::Bytes;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

/// The document, rendered at the first request.
pub fn document_bytes() -> Bytes {
    static DOC: OnceLock<Bytes> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = relaydeck_contract::rest::openapi(env!("CARGO_PKG_VERSION"));
        Bytes::from(serde_json::to_vec(&doc).expect("the document serialises"))
    })
    .clone()
}

async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_bytes(),
    )
        .into_response()
}
