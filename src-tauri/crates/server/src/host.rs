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

/// The host's devices as the binary wired them.
#[derive(Clone)]
pub struct Host {
    pub devices: Arc<dyn DeviceLister>,
    pub notice: Arc<dyn NoticePainter>,
}

impl Default for Host {
    /// A relay without capture support: no devices, no pictures.
    fn default() -> Self {
        Self {
            devices: Arc::new(NoDevices),
            notice: Arc::new(NoDevices),
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
