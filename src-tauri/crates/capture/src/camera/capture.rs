//! The capture thread: opens the camera while somebody watches (or always,
//! when configured), converts each frame to a complete JPEG and publishes it
//! under the reserved ID through the same lease every camera uses. A camera
//! that cannot be opened or stops delivering is marked unavailable (viewers
//! and MJPEG clients are told), retried with backoff, and resumes on its own.

use std::{
    borrow::Cow,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use relaydeck_hub::{Availability, Hub, HubError, SourceKind, VideoStream};

use crate::worker::{pause, Linger, Worker};

use super::{
    mjpeg::{complete_jpeg, MjpegError},
    source::{CameraBackend, CameraRequest, RawFormat, RawFrame},
    yuv::{YuvEncoder, YuvError},
};

/// The host camera's reserved stream ID.
pub const HOST_CAMERA_ID: &str = "host-camera";

/// Polling the newest frame keeps an on-demand camera open this long.
pub const POLL_DEMAND: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct CameraCaptureConfig {
    pub id: String,
    pub name: String,
    pub request: CameraRequest,
    /// JPEG quality for cameras that deliver YUV.
    pub quality: i32,
    /// Keep the camera open without viewers.
    pub always_on: bool,
    /// How long the camera stays open after the last viewer left.
    pub linger: Duration,
    /// Polling the newest frame keeps the camera open this long.
    pub poll_demand: Duration,
    /// First retry delay after a failure (doubles up to `max_backoff`).
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl CameraCaptureConfig {
    pub fn new(request: CameraRequest) -> Self {
        Self {
            id: HOST_CAMERA_ID.into(),
            name: "This computer's camera".into(),
            request,
            quality: 80,
            always_on: false,
            linger: Duration::from_secs(2),
            poll_demand: POLL_DEMAND,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("MJPEG frame: {0}")]
    Mjpeg(#[from] MjpegError),
    #[error(transparent)]
    Yuv(#[from] YuvError),
}

/// Raw frames to complete JPEGs: MJPEG passes through, YUV is compressed.
pub struct FrameConverter {
    yuv: YuvEncoder,
}

impl FrameConverter {
    pub fn new(quality: i32) -> Result<Self, YuvError> {
        Ok(Self {
            yuv: YuvEncoder::new(quality)?,
        })
    }

    pub fn to_jpeg<'a>(&'a mut self, frame: &RawFrame<'a>) -> Result<Cow<'a, [u8]>, ConvertError> {
        Ok(match frame.format {
            RawFormat::Mjpeg => complete_jpeg(frame.data)?,
            RawFormat::Yuyv => {
                Cow::Borrowed(
                    self.yuv
                        .yuyv(frame.data, frame.width, frame.height, frame.stride)?,
                )
            }
            RawFormat::Nv12 => {
                Cow::Borrowed(
                    self.yuv
                        .nv12(frame.data, frame.width, frame.height, frame.stride)?,
                )
            }
        })
    }
}

/// A running capture thread; dropping it closes the camera and stops.
pub struct CameraCapture {
    // Declared first: dropped (stopped and joined) first.
    _worker: Worker,
    stream: Arc<VideoStream>,
}

impl CameraCapture {
    pub fn start(
        hub: &Hub,
        backend: Arc<dyn CameraBackend>,
        config: CameraCaptureConfig,
    ) -> Result<Self, HubError> {
        let lease = hub.publish_as(&config.id, Some(config.name.clone()), SourceKind::Local)?;
        let stream = lease.stream().clone();
        stream.set_availability(Availability::Standby);
        let worker = Worker::spawn("camera-capture", move |stop| {
            Runner {
                backend,
                config,
                lease,
                stop,
            }
            .run()
        });
        Ok(Self {
            _worker: worker,
            stream,
        })
    }

    pub fn stream(&self) -> &Arc<VideoStream> {
        &self.stream
    }
}

struct Runner {
    backend: Arc<dyn CameraBackend>,
    config: CameraCaptureConfig,
    lease: relaydeck_hub::PublisherLease,
    stop: Arc<AtomicBool>,
}

impl Runner {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.lease.is_superseded()
    }

    fn demand(&self) -> bool {
        let stream = self.lease.stream();
        self.config.always_on
            || *stream.viewer_count().borrow() > 0
            || stream.polled_within(self.config.poll_demand)
    }

    fn pause(&self, d: Duration) {
        pause(d, || self.stopped());
    }

    fn run(self) {
        let stream = self.lease.stream().clone();
        let mut backoff = self.config.backoff;
        let mut converter = match FrameConverter::new(self.config.quality) {
            Ok(c) => c,
            Err(e) => {
                return stream
                    .set_availability(Availability::Unavailable(format!("JPEG encoder: {e}")))
            }
        };
        while !self.stopped() {
            if !self.demand() {
                self.pause(Duration::from_millis(100));
                continue;
            }
            let mut source = match self.backend.open(&self.config.request) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("camera: {e}; retrying in {backoff:?}");
                    stream.set_availability(Availability::Unavailable(e.to_string()));
                    self.pause(backoff);
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    continue;
                }
            };
            let mode = source.mode();
            tracing::info!(?mode, "camera open");
            backoff = self.config.backoff;
            stream.set_availability(Availability::Live);
            let mut linger = Linger::new(self.config.linger);
            let lost = loop {
                if self.stopped() || linger.expired(self.demand()) {
                    break None;
                }
                let mut published = Ok(());
                let read = source.next_frame(&mut |raw| {
                    published = match converter.to_jpeg(&raw) {
                        Ok(jpeg) => self
                            .lease
                            .publish(&jpeg)
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                });
                if let Err(e) = read {
                    break Some(e);
                }
                if let Err(e) = published {
                    tracing::warn!("camera frame dropped: {e}");
                }
            };
            drop(source); // closes the device: the light goes off
            match lost {
                Some(e) => {
                    tracing::warn!("camera: {e}; retrying in {backoff:?}");
                    stream.set_availability(Availability::Unavailable(e.to_string()));
                    self.pause(backoff);
                }
                None => {
                    tracing::info!("camera closed (nobody watching)");
                    stream.set_availability(Availability::Standby);
                }
            }
        }
    }
}
