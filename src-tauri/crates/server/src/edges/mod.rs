//! Edges: adapters that publish into the hub or subscribe from it.
//! Each edge is its own module with its own router; edges never call each other.

pub mod audio_listen;
pub mod audio_publish;
pub mod control;
pub mod devkit;
pub mod ingest;
pub mod mjpeg;
pub mod pairing;
pub mod record;
pub mod viewer;
pub mod wav;
pub mod webrtc;
