//! MJPEG over HTTP (`multipart/x-mixed-replace`). Single JPEG responses
//! (snapshots, ring frames) are [`crate::jpeg_http`].
//!
//! Each part carries `Content-Type` and `Content-Length`, so VLC, ffmpeg,
//! Home Assistant, OctoPrint and a plain `<img>` all parse it. The response
//! follows the camera by ID: if the camera is removed and comes back, the
//! stream resumes. Delivery is latest-wins like every other viewer; `?fps=`
//! caps the rate for slow links.

use std::{collections::VecDeque, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{header, HeaderValue},
    response::Response,
};
use bytes::Bytes;
use relaydeck_hub::{
    stream::Subscription, HubEvent, StreamId, VideoFrame, VideoStream, ViewerQueue,
};
use tokio::{sync::broadcast, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::Access,
    error::ApiError,
    jpeg_http::{no_cache, timestamp},
    state::CameraState,
};

/// The multipart boundary (without the leading `--`).
pub const BOUNDARY: &str = "relaydeck-frame";

/// A live MJPEG response for `stream`, to a caller who may watch it (asked
/// again here); it ends when the caller's credential is revoked or expires.
pub fn mjpeg_response(
    state: &CameraState,
    access: &Access,
    stream: Arc<VideoStream>,
    fps: Option<f64>,
) -> Result<Response, ApiError> {
    access.view(stream.id().as_str())?;
    let queue = ViewerQueue::new();
    let events = state.hub.events();
    let sub = stream.subscribe(&queue);
    let unavailable = matches!(
        stream.availability(),
        relaydeck_hub::Availability::Unavailable(_)
    );
    if unavailable {
        // Not the stale last frame: the notice instead.
        sub.slot().discard();
    }
    let mut body = MjpegBody {
        id: stream.id().clone(),
        hub: state.hub.clone(),
        notice: state.host.notice.clone(),
        queue,
        sub: Some(sub),
        events,
        pending: VecDeque::with_capacity(3),
        in_flight: None,
        min_interval: fps.map(|f| Duration::from_secs_f64(1.0 / f)),
        next_at: None,
        ended: access.ended.clone(),
        meter: state.meters.open(crate::metrics::Transport::Mjpeg),
    };
    if unavailable {
        body.show_unavailable();
    }
    let stream = futures_util::stream::unfold(body, MjpegBody::next_chunk);
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("multipart/x-mixed-replace;boundary={BOUNDARY}")).unwrap(),
    );
    no_cache(h);
    // Tell reverse proxies such as nginx not to buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

struct MjpegBody {
    id: StreamId,
    hub: relaydeck_hub::Hub,
    /// Draws the "camera unavailable" picture.
    notice: Arc<dyn crate::host::NoticePainter>,
    queue: Arc<ViewerQueue>,
    sub: Option<Subscription>,
    events: broadcast::Receiver<HubEvent>,
    /// Chunks of the current part not yet handed to hyper.
    pending: VecDeque<Bytes>,
    in_flight: Option<u64>,
    min_interval: Option<Duration>,
    next_at: Option<Instant>,
    /// The caller's credential was revoked or expired, or the server is stopping.
    ended: CancellationToken,
    meter: crate::metrics::ConnMeter,
}

impl MjpegBody {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                self.meter.sent(chunk.len());
                return Some((Ok(chunk), self));
            }
            // hyper has taken every chunk of the previous part.
            if let (Some(seq), Some(sub)) = (self.in_flight.take(), &self.sub) {
                sub.slot().finish(Some(seq));
            }
            if let Some(at) = self.next_at.take() {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = self.ended.cancelled() => return None,
                }
            }
            if let Some(frame) = self.sub.as_ref().and_then(|s| s.slot().take()) {
                self.push_part(&frame);
                continue;
            }
            tokio::select! {
                _ = self.queue.ready() => {}
                ev = self.events.recv() => self.on_event(ev),
                _ = self.ended.cancelled() => return None,
            }
        }
    }

    fn push_part(&mut self, frame: &VideoFrame) {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\nX-Frame-Seq: {}\r\n\r\n",
            frame.len(),
            timestamp(frame.captured_us),
            frame.seq
        );
        self.pending.push_back(Bytes::from(head));
        self.pending.push_back(frame.jpeg());
        self.pending.push_back(Bytes::from_static(b"\r\n"));
        self.in_flight = Some(frame.seq);
        self.next_at = self.min_interval.map(|i| Instant::now() + i);
    }

    /// Follows the camera by ID across removal and return.
    fn on_event(&mut self, ev: Result<HubEvent, broadcast::error::RecvError>) {
        match ev {
            Ok(HubEvent::Left { id }) if id == self.id => self.sub = None,
            Ok(HubEvent::Joined { id }) if id == self.id => self.resubscribe(),
            Ok(HubEvent::Availability { id }) if id == self.id => self.show_unavailable(),
            Err(broadcast::error::RecvError::Lagged(_)) => self.resubscribe(),
            _ => {}
        }
    }

    /// A camera of the app's own that cannot deliver (unplugged, busy) is
    /// shown as a picture saying so: MJPEG players have no other channel.
    fn show_unavailable(&mut self) {
        let Some(stream) = self.hub.stream(self.id.as_str()) else {
            return;
        };
        let relaydeck_hub::Availability::Unavailable(why) = stream.availability() else {
            return;
        };
        let (w, h) = stream.latest().map_or((640, 480), |f| {
            (f.info.width as usize, f.info.height as usize)
        });
        match self.notice.paint(w, h, &["CAMERA UNAVAILABLE", &why]) {
            Ok(jpeg) => {
                let head = format!(
                    "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    jpeg.len()
                );
                self.pending.push_back(Bytes::from(head));
                self.pending.push_back(Bytes::from(jpeg));
                self.pending.push_back(Bytes::from_static(b"\r\n"));
            }
            Err(e) => tracing::warn!("cannot draw the camera-unavailable picture: {e}"),
        }
    }

    fn resubscribe(&mut self) {
        let current = self.hub.stream(self.id.as_str());
        let same = match (&self.sub, &current) {
            (Some(sub), Some(stream)) => Arc::ptr_eq(sub.stream(), stream),
            _ => false,
        };
        if !same {
            self.sub = current.map(|s| s.subscribe(&self.queue));
        }
    }
}
