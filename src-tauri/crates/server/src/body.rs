//! Request bodies: a deadline for the whole body, and the JSON extractor.
//!
//! A body must arrive completely within `--body-timeout` of the request's
//! start (as headers must within `--header-timeout`), so a client that
//! trickles a body cannot hold a place under the connection caps; an audio
//! upload may take longer, but may not pause for longer than that. Every
//! JSON endpoint reads its body through [`JsonBody`], whose every refusal
//! is the documented `ApiError` JSON: 415 for a non-JSON media type, 413 over
//! `--max-body-bytes`, 408 past the deadline, 400 for JSON that does not parse.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{FromRef, FromRequest, Request, State},
    http::header,
    middleware::Next,
    response::Response,
};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde::de::DeserializeOwned;
use tokio::time::Sleep;

use crate::{config::ServerConfig, error::ApiError};

/// The media type of a request's `Content-Type` (no parameters, lower case),
/// `None` without the header.
pub fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let media = value.to_str().unwrap_or("").split(';').next().unwrap_or("");
    Some(media.trim().to_ascii_lowercase())
}

/// `application/json`, or any `+json` type (`application/merge-patch+json`).
pub fn is_json_media_type(media: &str) -> bool {
    let media = media.trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The body's deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyDeadline(pub Duration);

/// A body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    limit: Duration,
    /// Uploads: the deadline is for the next piece, not the whole body (a
    /// gigabyte takes minutes on a LAN; a stalled one is still cut off).
    idle: bool,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            if self.idle {
                let next = tokio::time::Instant::now() + self.limit;
                self.sleep.as_mut().reset(next);
            }
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyDeadline(self.limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `PUT /api/files/{name}`: an audio file, streamed to disk.
pub fn is_upload(req: &Request) -> bool {
    req.method() == axum::http::Method::PUT && req.uri().path().starts_with("/api/files/")
}

/// Middleware: every request body gets the deadline (an upload's is for
/// each piece of it: no `--body-timeout` without a byte arriving).
pub async fn deadline(
    State(config): State<Arc<ServerConfig>>,
    req: Request,
    next: Next,
) -> Response {
    let limit = config.body_timeout;
    let idle = is_upload(&req);
    let req = req.map(|inner| {
        if inner.is_end_stream() {
            return inner;
        }
        Body::new(DeadlineBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(limit)),
            limit,
            idle,
        })
    });
    next.run(req).await
}

/// A JSON request body, deserialised into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
    Arc<ServerConfig>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let config = Arc::<ServerConfig>::from_ref(state);
        match media_type(req.headers()).as_deref() {
            Some(m) if is_json_media_type(m) => {}
            Some(m) => return Err(ApiError::UnsupportedMediaType(m.to_owned())),
            None => return Err(ApiError::UnsupportedMediaType("no Content-Type".into())),
        }
        let bytes = read(req.into_body(), config.max_body_bytes).await?;
        parse(&bytes).map(JsonBody)
    }
}

/// Reads a whole body under the size cap (and the deadline the middleware set).
pub async fn read(body: Body, max: usize) -> Result<Bytes, ApiError> {
    match axum::body::to_bytes(body, max).await {
        Ok(b) => Ok(b),
        Err(e) => Err(classify(e, max)),
    }
}

pub(crate) fn classify(e: axum::Error, max: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(d) = err.downcast_ref::<BodyDeadline>() {
            return ApiError::BodyTimeout(d.0);
        }
        if err
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            return ApiError::BodyTooLarge(max);
        }
        source = err.source();
    }
    ApiError::BadRequest(format!("could not read the request body: {e}"))
}

/// Parses JSON with a JSON error for every failure.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request needs a JSON body".into()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_json_and_plus_json() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/merge-patch+json",
            " application/json ",
        ] {
            assert!(is_json_media_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/json+json",
            "application/jsonp",
            "",
        ] {
            assert!(!is_json_media_type(bad), "{bad}");
        }
    }
}
