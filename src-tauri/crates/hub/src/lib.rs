//! The hub: Relay Deck's I/O-free centre.
//!
//! Every edge of the relay (WebSocket ingest, viewers, MJPEG, the test-pattern
//! camera, later audio and devkits) either publishes into the hub or
//! subscribes from it; edges never talk to each other. The hub owns no
//! sockets, files, timers or wire formats (the relay's wire types live in
//! `relaydeck-contract`; this crate does not depend on serde), so it can be
//! tested in isolation and reasoned about as plain data structures.
//!
//! The clock, said honestly: the hub reads it rather than being handed one.
//! `Instant::now()` measures ages, rates and the idle sweep's deadlines (the
//! sweep takes `now` as an argument, so tests pass their own), and
//! `SystemTime::now()` stamps each frame's capture time and each chunk's
//! receive time in Unix time, as the wire reports them.
//!
//! | module      | concept |
//! |-------------|---------|
//! | [`id`]      | [`StreamId`]: the validated name of a stream (`[A-Za-z0-9_-]{1,64}`) |
//! | [`jpeg`]    | structural JPEG validation and the frame size read from its SOF marker |
//! | [`frame`]   | [`VideoFrame`]: one shared JPEG with its sequence number and the multi-camera wire header built once |
//! | [`ring`]    | [`FrameRing`]: the last N frames of a camera |
//! | [`prefetch`] | cache hints that let the fan-out loop fetch the next viewers' memory early |
//! | [`viewer`]  | [`ViewerQueue`] and [`ViewerSlot`]: latest-wins delivery, at most two frames held per viewer and camera |
//! | [`stream`]  | [`VideoStream`]: one camera: ring, subscribers, statistics, its current publisher |
//! | [`publisher`] | [`PublisherLease`]: the right to publish under an ID, taken over by a newer publisher |
//! | [`audio`]   | [`AudioSource`]: PCM chunks with a format, a ring of recent audio, listeners with bounded queues |
//! | [`hub`]     | [`Hub`]: the registry of streams, reserved IDs, join/leave events, the idle sweep |
//!
//! Frames are `bytes::Bytes`: publishing copies the JPEG once (to prepend the
//! multi-camera header), and every viewer after that shares the same memory.

pub mod audio;
pub mod error;
pub mod frame;
pub mod hub;
pub mod id;
pub mod jpeg;
pub mod prefetch;
pub mod publisher;
pub mod ring;
pub mod stream;
pub mod viewer;

pub use audio::{
    AudioChunk, AudioFormat, AudioLease, AudioSnapshot, AudioSource, AudioSubscription,
    ListenerItem, ListenerQueue, LossStats, SampleEncoding,
};
pub use error::HubError;
pub use frame::{MuxHeader, VideoFrame};
pub use hub::{Hub, HubConfig, HubEvent, SourceKind};
pub use id::{StreamId, MAX_ID_LEN};
pub use jpeg::{JpegError, JpegInfo};
pub use publisher::PublisherLease;
pub use ring::FrameRing;
pub use stream::{Availability, StreamSnapshot, VideoStream};
pub use viewer::{DirectSink, Handoff, SlotStats, ViewerQueue, ViewerSlot};
