//! Errors the hub reports to its edges.

use crate::{id::IdError, jpeg::JpegError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HubError {
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("the ID '{0}' is reserved for the app's own sources")]
    ReservedId(String),
    #[error("frame rejected: {0}")]
    InvalidFrame(#[from] JpegError),
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    #[error("another publisher has taken over this stream")]
    Superseded,
    #[error("unsupported audio: {0}")]
    BadFormat(String),
    #[error("no camera '{0}'")]
    UnknownStream(String),
    #[error("the camera '{0}' is connected; it would be back with its next frame (revoke its token to keep it out)")]
    StillPublishing(String),
}
