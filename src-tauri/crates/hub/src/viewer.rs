//! Latest-wins delivery to one viewer.
//!
//! A viewer (one WebSocket, one MJPEG response) owns a [`ViewerQueue`]; for
//! every camera it watches, the camera's stream holds a [`ViewerSlot`] that
//! the publisher writes into. A slot holds at most one *pending* frame: a
//! newer frame replaces it (the old one counts as skipped). When the viewer
//! takes the pending frame to write it, the slot marks it *in flight* until
//! the write completes. So whatever the viewer's speed, the server holds at
//! most two frames per viewer and camera, and the publisher never waits.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::{frame::VideoFrame, id::StreamId};

static NEXT_VIEWER_ID: AtomicU64 = AtomicU64::new(1);

/// One viewer's wake-up signal and the slots it reads from.
#[derive(Debug)]
pub struct ViewerQueue {
    id: u64,
    waker: Arc<Notify>,
}

impl ViewerQueue {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { id: NEXT_VIEWER_ID.fetch_add(1, Ordering::Relaxed), waker: Arc::new(Notify::new()) })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Resolves when any of the viewer's slots has received a frame since the
    /// last call (a notification sent while nobody waits is kept, so none is lost).
    pub async fn ready(&self) {
        self.waker.notified().await
    }

    pub(crate) fn new_slot(&self, stream: StreamId) -> Arc<ViewerSlot> {
        Arc::new(ViewerSlot {
            stream,
            viewer_id: self.id,
            waker: self.waker.clone(),
            state: Mutex::new(SlotState::default()),
        })
    }
}

/// Counters of one viewer × camera subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SlotStats {
    /// Frames written to the viewer.
    pub delivered: u64,
    /// Frames replaced before the viewer was ready for them.
    pub skipped: u64,
    /// Frames the server holds for this viewer now (pending + in flight).
    pub held: u8,
    /// The most frames ever held at once for this viewer (never above 2).
    pub max_held: u8,
    /// Sequence number of the last frame delivered.
    pub last_seq: u64,
}

#[derive(Debug, Default)]
struct SlotState {
    pending: Option<VideoFrame>,
    in_flight: bool,
    /// Highest sequence number offered, so a frame is never offered twice.
    last_offered: u64,
    stats: SlotStats,
}

impl SlotState {
    fn update_held(&mut self) {
        self.stats.held = self.pending.is_some() as u8 + self.in_flight as u8;
        self.stats.max_held = self.stats.max_held.max(self.stats.held);
    }
}

/// Where the publisher of one camera leaves frames for one viewer.
#[derive(Debug)]
pub struct ViewerSlot {
    stream: StreamId,
    viewer_id: u64,
    waker: Arc<Notify>,
    state: Mutex<SlotState>,
}

impl ViewerSlot {
    pub fn stream_id(&self) -> &StreamId {
        &self.stream
    }

    pub fn viewer_id(&self) -> u64 {
        self.viewer_id
    }

    /// Publisher side: leave `frame` for the viewer, replacing an unsent one.
    pub(crate) fn offer(&self, frame: &VideoFrame) {
        {
            let mut s = self.state.lock();
            if frame.seq <= s.last_offered {
                return;
            }
            s.last_offered = frame.seq;
            if s.pending.replace(frame.clone()).is_some() {
                s.stats.skipped += 1;
            }
            s.update_held();
        }
        self.waker.notify_one();
    }

    /// Viewer side: take the pending frame and mark it in flight. Call
    /// [`ViewerSlot::finish`] once it has been written.
    pub fn take(&self) -> Option<VideoFrame> {
        let mut s = self.state.lock();
        let frame = s.pending.take()?;
        s.in_flight = true;
        s.update_held();
        Some(frame)
    }

    /// Viewer side: the frame taken last has been written (or abandoned).
    pub fn finish(&self, delivered: Option<u64>) {
        let mut s = self.state.lock();
        s.in_flight = false;
        if let Some(seq) = delivered {
            s.stats.delivered += 1;
            s.stats.last_seq = seq;
        }
        s.update_held();
    }

    /// Skips the pending frame without sending it (a viewer's fps cap).
    pub fn discard(&self) {
        let mut s = self.state.lock();
        if s.pending.take().is_some() {
            s.stats.skipped += 1;
        }
        s.update_held();
    }

    pub fn stats(&self) -> SlotStats {
        self.state.lock().stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::JpegInfo;

    fn frame(seq: u64) -> VideoFrame {
        VideoFrame::build(&StreamId::new("c").unwrap(), seq, 0, JpegInfo::default(), b"x")
    }

    #[test]
    fn a_slow_viewer_skips_to_the_newest_frame() {
        let q = ViewerQueue::new();
        let slot = q.new_slot(StreamId::new("c").unwrap());
        for seq in 1..=10 {
            slot.offer(&frame(seq));
        }
        let f = slot.take().unwrap();
        assert_eq!(f.seq, 10);
        assert_eq!(slot.stats().skipped, 9);
        assert!(slot.take().is_none());
    }

    #[test]
    fn never_more_than_two_frames_are_held() {
        let q = ViewerQueue::new();
        let slot = q.new_slot(StreamId::new("c").unwrap());
        slot.offer(&frame(1));
        let _in_flight = slot.take().unwrap();
        for seq in 2..=100 {
            slot.offer(&frame(seq));
        }
        assert_eq!(slot.stats().held, 2);
        slot.finish(Some(1));
        assert_eq!(slot.stats(), SlotStats { delivered: 1, skipped: 98, held: 1, max_held: 2, last_seq: 1 });
    }

    #[test]
    fn the_same_frame_is_never_offered_twice() {
        let q = ViewerQueue::new();
        let slot = q.new_slot(StreamId::new("c").unwrap());
        let f = frame(7);
        slot.offer(&f);
        slot.offer(&f);
        assert_eq!(slot.take().unwrap().seq, 7);
        assert!(slot.take().is_none());
        assert_eq!(slot.stats().skipped, 0);
    }
}
