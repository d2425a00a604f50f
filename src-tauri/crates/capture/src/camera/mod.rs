//! The host's camera as a hub stream.
//!
//! | module | role |
//! |---|---|
//! | [`source`] | the `CameraBackend` / `FrameSource` traits, frame and mode types |
//! | [`nokhwa_backend`] | real webcams through nokhwa |
//! | [`synthetic`] | a camera without hardware (tests, demos) |
//! | [`mjpeg`] | MJPEG passthrough, completing AVI1 frames with the standard Huffman tables |
//! | [`yuv`] | YUYV and NV12 to JPEG with turbojpeg, from YUV planes |
//! | [`capture`] | the capture thread: on demand, offline and retry handling, into the hub |

pub mod capture;
pub mod mjpeg;
pub mod nokhwa_backend;
pub mod source;
pub mod synthetic;
pub mod yuv;

pub use capture::{CameraCapture, CameraCaptureConfig, FrameConverter, HOST_CAMERA_ID};
pub use source::{
    CameraBackend, CameraError, CameraInfo, CameraMode, CameraRequest, CameraSelector, FrameSource,
    RawFormat, RawFrame,
};
