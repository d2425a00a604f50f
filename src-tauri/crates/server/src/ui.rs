//! The embedded web UI (built from `ui/` by Vite), or a page that says how
//! to build it.

use axum::{
    http::{header, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::{error::ApiError, state::AppState};

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

const NOT_BUILT: &str = include_str!("ui_not_built.html");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/{*path}", get(asset))
        .route("/capture", get(capture))
        .route("/pair", get(pair))
        .route("/{file}", get(top_level_file))
}

fn lookup(path: &str) -> Option<&'static [u8]> {
    UI_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, body)| *body)
}

/// True when the binary carries a built UI.
pub fn is_built() -> bool {
    lookup("/index.html").is_some()
}

/// The UI's start page.
pub fn index() -> Response {
    page("/index.html")
}

/// The UI's sign-in page, if the UI is built.
pub fn login_page() -> Option<Response> {
    lookup("/login.html").map(|_| {
        let mut r = page("/login.html");
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    })
}

/// The capture page a publish link opens.
async fn capture() -> Response {
    page("/capture.html")
}

/// The Bluetooth pairing page (an admin's).
async fn pair() -> Response {
    page("/pair.html")
}

fn page(path: &str) -> Response {
    let body = lookup(path).unwrap_or(NOT_BUILT.as_bytes());
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    crate::api::session::page_headers(r.headers_mut());
    r
}

// The raw path is looked up as it is (the UI's file names need no decoding),
// so no extractor can reject a request with a non-JSON error.
async fn asset(uri: Uri) -> Response {
    serve(uri.path(), true)
}

async fn top_level_file(uri: Uri) -> Response {
    serve(uri.path(), false)
}

fn serve(path: &str, immutable: bool) -> Response {
    let Some(body) = lookup(path) else {
        return ApiError::NotFound(path.to_owned()).into_response();
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    // Vite puts a content hash in every file name under assets/.
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if path.ends_with(".html") || path == "/" {
        crate::api::session::page_headers(h);
    }
    r
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}
