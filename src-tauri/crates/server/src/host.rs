//! What the relay needs from the computer it runs on, behind traits the
//! binary wires: the server core builds and tests without camera, audio or
//! JPEG libraries (`cargo tree -p relaydeck-server` shows none of them).

use std::sync::Arc;

use relaydeck_contract::api::{CaptureDevices, DeviceChoice};

/// Lists this computer's cameras and microphones (blocking: it talks to drivers).
pub trait DeviceLister: Send + Sync {
    fn list(&self) -> CaptureDevices;
}

/// Draws a JPEG of `width`×`height` with lines of text, for MJPEG players
/// that have no other way to learn that a camera is unavailable.
pub trait NoticePainter: Send + Sync {
    fn paint(&self, width: usize, height: usize, lines: &[&str]) -> Result<Vec<u8>, String>;
}

/// A picture in shades of grey, one byte per pixel, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayPicture {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Small pictures of JPEG frames, for motion detection and its thumbnails.
pub trait FrameScaler: Send + Sync {
    /// The frame in grey at 1/8 of its size (a JPEG decoder can do this
    /// from each 8×8 block's DC term alone, a fraction of a full decode).
    fn gray_eighth(&self, jpeg: &[u8]) -> Result<GrayPicture, String>;
    /// The frame as a JPEG at most `max_width` pixels wide.
    fn thumbnail(&self, jpeg: &[u8], max_width: usize) -> Result<Vec<u8>, String>;
}

/// The host's devices as the binary wired them.
#[derive(Clone)]
pub struct Host {
    pub devices: Arc<dyn DeviceLister>,
    pub notice: Arc<dyn NoticePainter>,
    pub frames: Arc<dyn FrameScaler>,
}

impl Default for Host {
    /// A relay without capture support: no devices, no pictures.
    fn default() -> Self {
        Self {
            devices: Arc::new(NoDevices),
            notice: Arc::new(NoDevices),
            frames: Arc::new(NoDevices),
        }
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host")
    }
}

struct NoDevices;

const NOT_BUILT: &str = "this relay was built without camera and microphone support";
const NO_DECODER: &str = "this relay was built without a JPEG decoder (motion detection needs one)";

impl DeviceLister for NoDevices {
    fn list(&self) -> CaptureDevices {
        CaptureDevices {
            cameras: DeviceChoice {
                devices: vec![],
                message: Some(NOT_BUILT.into()),
            },
            microphones: DeviceChoice {
                devices: vec![],
                message: Some(NOT_BUILT.into()),
            },
        }
    }
}

impl NoticePainter for NoDevices {
    fn paint(&self, _: usize, _: usize, _: &[&str]) -> Result<Vec<u8>, String> {
        Err(NOT_BUILT.into())
    }
}

impl FrameScaler for NoDevices {
    fn gray_eighth(&self, _: &[u8]) -> Result<GrayPicture, String> {
        Err(NO_DECODER.into())
    }

    fn thumbnail(&self, _: &[u8], _: usize) -> Result<Vec<u8>, String> {
        Err(NO_DECODER.into())
    }
}
