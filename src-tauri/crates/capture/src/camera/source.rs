//! What a camera is to the capture edge: a [`CameraBackend`] lists cameras
//! and opens one as a [`FrameSource`], which hands out raw frames in the
//! device's own format. nokhwa implements both for real webcams
//! ([`super::nokhwa_backend`]); [`super::synthetic`] implements them for
//! tests and machines without a camera.

/// How a frame's bytes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RawFormat {
    /// One JPEG per frame (possibly without Huffman tables).
    Mjpeg,
    /// Packed 4:2:2, Y0 U Y1 V.
    Yuyv,
    /// 4:2:0: a Y plane, then interleaved U/V at half resolution.
    Nv12,
}

/// One frame as the device delivered it.
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'a> {
    pub format: RawFormat,
    pub width: usize,
    pub height: usize,
    /// Bytes per row (Y plane for NV12; unused for MJPEG).
    pub stride: usize,
    pub data: &'a [u8],
}

/// A mode a camera offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CameraMode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub format: RawFormat,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CameraInfo {
    pub index: u32,
    pub name: String,
    pub modes: Vec<CameraMode>,
}

/// Which camera, and what is asked of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraRequest {
    /// `None`: the first camera.
    pub camera: Option<CameraSelector>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSelector {
    Index(u32),
    Name(String),
}

impl std::str::FromStr for CameraSelector {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.parse::<u32>()
            .map(CameraSelector::Index)
            .unwrap_or_else(|_| CameraSelector::Name(s.to_owned())))
    }
}

impl std::fmt::Display for CameraSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CameraSelector::Index(i) => write!(f, "camera {i}"),
            CameraSelector::Name(n) => write!(f, "camera \"{n}\""),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CameraError {
    #[error("no camera found on this computer")]
    NoCamera,
    #[error("{0} not found")]
    NotFound(String),
    #[error("the camera cannot be opened: {0}")]
    Open(String),
    #[error("the camera stopped delivering: {0}")]
    Lost(String),
    #[error("the camera sends {0}, which Relay Deck cannot use")]
    Unsupported(String),
}

/// Lists cameras and opens them.
pub trait CameraBackend: Send + Sync {
    fn list(&self) -> Result<Vec<CameraInfo>, CameraError>;
    fn open(&self, request: &CameraRequest) -> Result<Box<dyn FrameSource>, CameraError>;
}

/// An open camera. Dropping it closes the device (its light goes off).
/// Not `Send`: it is opened, read and closed on the capture thread (some
/// platform camera handles must stay on one thread).
pub trait FrameSource {
    /// The mode in use.
    fn mode(&self) -> CameraMode;
    /// Blocks until the next frame and hands it to `sink`.
    fn next_frame(&mut self, sink: &mut dyn FnMut(RawFrame<'_>)) -> Result<(), CameraError>;
}

/// Picks the camera `request` names among `cameras`.
pub fn choose<'a>(
    cameras: &'a [CameraInfo],
    request: &CameraRequest,
) -> Result<&'a CameraInfo, CameraError> {
    if cameras.is_empty() {
        return Err(CameraError::NoCamera);
    }
    match &request.camera {
        None => Ok(&cameras[0]),
        Some(CameraSelector::Index(i)) => cameras
            .iter()
            .find(|c| c.index == *i)
            .ok_or_else(|| CameraError::NotFound(format!("camera {i}"))),
        Some(CameraSelector::Name(n)) => cameras
            .iter()
            .find(|c| c.name == *n)
            .or_else(|| {
                cameras
                    .iter()
                    .find(|c| c.name.to_lowercase().contains(&n.to_lowercase()))
            })
            .ok_or_else(|| CameraError::NotFound(format!("camera \"{n}\""))),
    }
}
