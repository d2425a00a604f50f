//! Edges: adapters that publish into the hub or subscribe from it.
//! Each edge is its own module with its own router; edges never call each other.

pub mod control;
pub mod ingest;
pub mod mjpeg;
pub mod viewer;
