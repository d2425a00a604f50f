//! Real webcams through nokhwa (V4L2 on Linux, AVFoundation, MediaFoundation).
//! MJPEG is preferred (passed through), then YUYV and NV12 (compressed from
//! YUV); formats that would need an RGB step are not asked for.

use nokhwa::{
    utils::{
        ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
        Resolution,
    },
    Camera,
};

use super::source::{
    choose, CameraBackend, CameraError, CameraInfo, CameraMode, CameraRequest, FrameSource,
    RawFormat, RawFrame,
};

const WANTED: [FrameFormat; 3] = [FrameFormat::MJPEG, FrameFormat::YUYV, FrameFormat::NV12];

#[derive(Debug, Default)]
pub struct NokhwaBackend;

fn raw_format(f: FrameFormat) -> Option<RawFormat> {
    match f {
        FrameFormat::MJPEG => Some(RawFormat::Mjpeg),
        FrameFormat::YUYV => Some(RawFormat::Yuyv),
        FrameFormat::NV12 => Some(RawFormat::Nv12),
        _ => None,
    }
}

fn mode(f: &CameraFormat) -> Option<CameraMode> {
    Some(CameraMode {
        width: f.width(),
        height: f.height(),
        fps: f.frame_rate(),
        format: raw_format(f.format())?,
    })
}

impl CameraBackend for NokhwaBackend {
    fn list(&self) -> Result<Vec<CameraInfo>, CameraError> {
        let found =
            nokhwa::query(ApiBackend::Auto).map_err(|e| CameraError::Open(e.to_string()))?;
        Ok(found
            .into_iter()
            .filter_map(|info| {
                let CameraIndex::Index(index) = info.index().clone() else {
                    return None;
                };
                // Modes need the device opened; a busy camera is still listed.
                let modes = Camera::new(
                    CameraIndex::Index(index),
                    RequestedFormat::with_formats(RequestedFormatType::None, &WANTED),
                )
                .and_then(|mut c| c.compatible_camera_formats())
                .map(|fs| fs.iter().filter_map(mode).collect())
                .unwrap_or_default();
                Some(CameraInfo {
                    index,
                    name: info.human_name(),
                    modes,
                })
            })
            .collect())
    }

    fn open(&self, request: &CameraRequest) -> Result<Box<dyn FrameSource>, CameraError> {
        let cameras = self.list()?;
        let info = choose(&cameras, request)?;
        let wanted = CameraFormat::new(
            Resolution::new(request.width, request.height),
            FrameFormat::MJPEG,
            request.fps,
        );
        let mut camera = Camera::new(
            CameraIndex::Index(info.index),
            RequestedFormat::with_formats(RequestedFormatType::Closest(wanted), &WANTED),
        )
        .map_err(|e| CameraError::Open(e.to_string()))?;
        camera
            .open_stream()
            .map_err(|e| CameraError::Open(e.to_string()))?;
        let format = camera.camera_format();
        let mode =
            mode(&format).ok_or_else(|| CameraError::Unsupported(format.format().to_string()))?;
        Ok(Box::new(NokhwaSource { camera, mode }))
    }
}

struct NokhwaSource {
    camera: Camera,
    mode: CameraMode,
}

impl FrameSource for NokhwaSource {
    fn mode(&self) -> CameraMode {
        self.mode
    }

    fn next_frame(&mut self, sink: &mut dyn FnMut(RawFrame<'_>)) -> Result<(), CameraError> {
        let m = self.mode;
        let data = self
            .camera
            .frame_raw()
            .map_err(|e| CameraError::Lost(e.to_string()))?;
        let stride = match m.format {
            RawFormat::Yuyv => m.width as usize * 2,
            _ => m.width as usize,
        };
        sink(RawFrame {
            format: m.format,
            width: m.width as usize,
            height: m.height as usize,
            stride,
            data: &data,
        });
        Ok(())
    }
}

impl Drop for NokhwaSource {
    fn drop(&mut self) {
        let _ = self.camera.stop_stream();
    }
}
