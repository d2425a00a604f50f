//! Relay Deck's native sources: cameras and microphones on the host itself.
//!
//! | module | source |
//! |--------|--------|
//! | [`test_pattern`] | the built-in `test-pattern` camera: a moving, timestamped image encoded with turbojpeg |
//! | [`pattern`] | drawing of that image (bars, sweeping bar, text), independent of encoding |
//! | [`camera`] | the host's webcam (nokhwa): MJPEG passthrough or YUV → JPEG, on demand |
//! | [`mic`] | the host's microphone (cpal) as the audio source `mic`, on demand |
//! | [`scale`] | small pictures of frames (turbojpeg's 1/8 grey decode, thumbnails) for motion detection |
//!
//! Every source runs on its own OS thread, never on the async runtime, and
//! publishes into the hub through a [`relaydeck_hub::PublisherLease`], the
//! same path a remote camera's socket uses.

pub mod camera;
pub mod mic;
pub mod pattern;
pub mod scale;
pub mod test_pattern;
pub mod worker;

pub use test_pattern::{TestPattern, TestPatternConfig, TestPatternError};
