//! This computer's cameras and microphones, wired into the relay through
//! the server's `host` traits (the server crate itself knows no capture library).

use std::sync::Arc;

use relaydeck_capture::{
    camera::{nokhwa_backend::NokhwaBackend, CameraBackend, CameraInfo},
    mic::{list_inputs, MicInfo},
    pattern, scale,
};
use relaydeck_contract::api::{CameraDevice, CameraMode, CaptureDevices, DeviceChoice, MicDevice};
use relaydeck_server::host::{DeviceLister, FrameScaler, GrayPicture, Host, NoticePainter};

/// The capture crate's devices and pictures, for `Server::with_host`.
pub fn capture_host() -> Host {
    Host {
        devices: Arc::new(CaptureDevicesLister),
        notice: Arc::new(PatternNotice),
        frames: Arc::new(TurboScaler),
    }
}

struct CaptureDevicesLister;

impl DeviceLister for CaptureDevicesLister {
    fn list(&self) -> CaptureDevices {
        let cameras = match NokhwaBackend.list() {
            Ok(c) if c.is_empty() => choice(
                vec![],
                "No camera found on this computer. The test-pattern camera above can stand in for one.",
            ),
            Ok(c) => DeviceChoice {
                devices: c.into_iter().map(camera).collect(),
                message: None,
            },
            Err(e) => choice(vec![], &e.to_string()),
        };
        let microphones = match list_inputs() {
            Ok(m) if m.is_empty() => choice(vec![], "No microphone found on this computer."),
            Ok(m) => DeviceChoice {
                devices: m.into_iter().map(mic).collect(),
                message: None,
            },
            Err(e) => choice(vec![], &e.to_string()),
        };
        CaptureDevices {
            cameras,
            microphones,
        }
    }
}

fn choice<T>(devices: Vec<T>, message: &str) -> DeviceChoice<T> {
    DeviceChoice {
        devices,
        message: Some(message.to_owned()),
    }
}

fn camera(c: CameraInfo) -> CameraDevice {
    CameraDevice {
        index: c.index,
        name: c.name,
        modes: c
            .modes
            .into_iter()
            .map(|m| CameraMode {
                width: m.width,
                height: m.height,
                fps: m.fps,
                format: format!("{:?}", m.format).to_lowercase(),
            })
            .collect(),
    }
}

fn mic(m: MicInfo) -> MicDevice {
    MicDevice {
        name: m.name,
        is_default: m.is_default,
        sample_rate: m.sample_rate,
        channels: m.channels,
        sample_format: m.sample_format,
    }
}

struct PatternNotice;

impl NoticePainter for PatternNotice {
    fn paint(&self, width: usize, height: usize, lines: &[&str]) -> Result<Vec<u8>, String> {
        pattern::notice_jpeg(width, height, lines).map_err(|e| e.to_string())
    }
}

/// turbojpeg's scaled decodes, for motion detection.
pub struct TurboScaler;

impl FrameScaler for TurboScaler {
    fn gray_eighth(&self, jpeg: &[u8]) -> Result<GrayPicture, String> {
        let (width, height, pixels) = scale::gray_eighth(jpeg).map_err(|e| e.to_string())?;
        Ok(GrayPicture {
            width,
            height,
            pixels,
        })
    }

    fn thumbnail(&self, jpeg: &[u8], max_width: usize) -> Result<Vec<u8>, String> {
        scale::thumbnail(jpeg, max_width).map_err(|e| e.to_string())
    }
}
