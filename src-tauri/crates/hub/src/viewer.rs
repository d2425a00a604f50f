//! Latest-wins delivery to one viewer.
//!
//! A viewer (one WebSocket, one MJPEG response) owns a [`ViewerQueue`]; for
//! every camera it watches, the camera's stream holds a [`ViewerSlot`] that
//! the publisher writes into. A slot holds at most one *pending* frame: a
//! newer frame replaces it (the old one counts as skipped). When the viewer
//! takes the pending frame to write it, the slot marks it *in flight* until
//! the write completes. So whatever the viewer's speed, the server holds at
//! most two frames per viewer and camera, and the publisher never waits.
//!
//! An edge may give its queue a [`DirectSink`]: then a frame offered to an
//! idle slot is first handed straight to the viewer's transport, on the
//! publisher's thread, with a write that never waits. Only when the
//! transport is busy does the frame go into the slot for the viewer's task.
//! This saves a task wake-up per frame and viewer (the largest cost above
//! the kernel's own in a fan-out) without changing the latest-wins rules.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::{frame::VideoFrame, id::StreamId, prefetch::prefetch};

static NEXT_VIEWER_ID: AtomicU64 = AtomicU64::new(1);

/// What a [`DirectSink`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// The whole frame was written.
    Delivered,
    /// Part of the frame was written; the sink owns the rest. The hub wakes
    /// the viewer's task to finish it, and the sink calls
    /// [`ViewerSlot::finish`] when it is out.
    Started,
    /// Nothing was written (the transport is busy or its buffer is full);
    /// the frame goes to the slot for the viewer's task.
    Busy,
}

/// An edge's non-blocking path from the publisher straight to a viewer's
/// transport. Implementations must never wait: no blocking locks, no
/// blocking I/O.
pub trait DirectSink: Send + Sync {
    /// Writes `frame` now if the transport takes it without waiting.
    /// `ahead` is how many more viewers this fan-out offers the frame to
    /// after this one: an edge may use it to decide whether preparing a
    /// shared form of the frame once pays for itself.
    fn try_send(&self, slot: &Arc<ViewerSlot>, frame: &VideoFrame, ahead: usize) -> Handoff;

    /// A hint that [`DirectSink::try_send`] comes soon: prefetch (see
    /// [`crate::prefetch`]) the memory it touches beyond this object. The
    /// hub has already asked for this object itself.
    fn prefetch(&self) {}
}

/// One viewer's wake-up signal and the slots it reads from.
pub struct ViewerQueue {
    id: u64,
    waker: Arc<Notify>,
    sink: Option<Arc<dyn DirectSink>>,
}

impl std::fmt::Debug for ViewerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerQueue")
            .field("id", &self.id)
            .field("direct", &self.sink.is_some())
            .finish()
    }
}

impl ViewerQueue {
    pub fn new() -> Arc<Self> {
        Self::build(None)
    }

    /// A queue whose frames are first offered to `sink` (see [`DirectSink`]).
    pub fn with_sink(sink: Arc<dyn DirectSink>) -> Arc<Self> {
        Self::build(Some(sink))
    }

    fn build(sink: Option<Arc<dyn DirectSink>>) -> Arc<Self> {
        Arc::new(Self {
            id: NEXT_VIEWER_ID.fetch_add(1, Ordering::Relaxed),
            waker: Arc::new(Notify::new()),
            sink,
        })
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
            sink: self.sink.clone(),
            state: Mutex::new(SlotState::default()),
        })
    }
}

/// Counters of one viewer × camera subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
pub struct ViewerSlot {
    stream: StreamId,
    viewer_id: u64,
    waker: Arc<Notify>,
    sink: Option<Arc<dyn DirectSink>>,
    state: Mutex<SlotState>,
}

impl std::fmt::Debug for ViewerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerSlot")
            .field("stream", &self.stream)
            .field("viewer_id", &self.viewer_id)
            .finish()
    }
}

impl ViewerSlot {
    pub fn stream_id(&self) -> &StreamId {
        &self.stream
    }

    pub fn viewer_id(&self) -> u64 {
        self.viewer_id
    }

    /// Fan-out hints, one pointer hop each (see [`crate::prefetch`]): the
    /// slot itself; then its sink; then what the sink writes through.
    pub(crate) fn prefetch(&self) {
        prefetch(self);
        prefetch(&self.state);
    }

    pub(crate) fn prefetch_sink(&self) {
        if let Some(sink) = &self.sink {
            prefetch(Arc::as_ptr(sink));
        }
    }

    pub(crate) fn prefetch_sink_target(&self) {
        if let Some(sink) = &self.sink {
            sink.prefetch();
        }
    }

    /// Publisher side: hand `frame` to the viewer, replacing an unsent one.
    /// `ahead`: viewers after this one in the same fan-out (see [`DirectSink::try_send`]).
    pub(crate) fn offer(self: &Arc<Self>, frame: &VideoFrame, ahead: usize) {
        let direct = {
            let mut s = self.state.lock();
            if frame.seq <= s.last_offered {
                return;
            }
            s.last_offered = frame.seq;
            let idle = s.pending.is_none() && !s.in_flight;
            if idle && self.sink.is_some() {
                // Reserve the slot for the direct write, done outside the lock.
                s.in_flight = true;
            } else if s.pending.replace(frame.clone()).is_some() {
                s.stats.skipped += 1;
            }
            s.update_held();
            idle && self.sink.is_some()
        };
        if !direct {
            return self.waker.notify_one();
        }
        match self
            .sink
            .as_ref()
            .map(|sink| sink.try_send(self, frame, ahead))
        {
            Some(Handoff::Delivered) => self.finish(Some(frame.seq)),
            Some(Handoff::Started) => self.waker.notify_one(),
            Some(Handoff::Busy) | None => {
                let mut s = self.state.lock();
                s.in_flight = false;
                // A newer frame may have arrived meanwhile; it wins.
                if s.pending.is_none() {
                    s.pending = Some(frame.clone());
                } else {
                    s.stats.skipped += 1;
                }
                s.update_held();
                drop(s);
                self.waker.notify_one();
            }
        }
    }

    /// Viewer side: take the pending frame and mark it in flight. Call
    /// [`ViewerSlot::finish`] once it has been written.
    /// Returns nothing while a frame is still in flight (a direct write), so
    /// one slot never has two writes going at once.
    pub fn take(&self) -> Option<VideoFrame> {
        let mut s = self.state.lock();
        if s.in_flight {
            return None;
        }
        let frame = s.pending.take()?;
        s.in_flight = true;
        s.update_held();
        Some(frame)
    }

    /// The frame in flight has been written (or abandoned). If a newer frame
    /// waits, the viewer's task is woken for it.
    pub fn finish(&self, delivered: Option<u64>) {
        let mut s = self.state.lock();
        s.in_flight = false;
        if let Some(seq) = delivered {
            s.stats.delivered += 1;
            s.stats.last_seq = seq;
        }
        s.update_held();
        let waiting = s.pending.is_some();
        drop(s);
        if waiting {
            self.waker.notify_one();
        }
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
        VideoFrame::build(
            &StreamId::new("c").unwrap(),
            seq,
            0,
            JpegInfo::default(),
            b"x",
        )
    }

    #[test]
    fn a_slow_viewer_skips_to_the_newest_frame() {
        let q = ViewerQueue::new();
        let slot = q.new_slot(StreamId::new("c").unwrap());
        for seq in 1..=10 {
            slot.offer(&frame(seq), 0);
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
        slot.offer(&frame(1), 0);
        let _in_flight = slot.take().unwrap();
        for seq in 2..=100 {
            slot.offer(&frame(seq), 0);
        }
        assert_eq!(slot.stats().held, 2);
        slot.finish(Some(1));
        assert_eq!(
            slot.stats(),
            SlotStats {
                delivered: 1,
                skipped: 98,
                held: 1,
                max_held: 2,
                last_seq: 1
            }
        );
    }

    #[test]
    fn the_same_frame_is_never_offered_twice() {
        let q = ViewerQueue::new();
        let slot = q.new_slot(StreamId::new("c").unwrap());
        let f = frame(7);
        slot.offer(&f, 0);
        slot.offer(&f, 0);
        assert_eq!(slot.take().unwrap().seq, 7);
        assert!(slot.take().is_none());
        assert_eq!(slot.stats().skipped, 0);
    }

    /// A transport that answers with a scripted outcome and records what it was given.
    struct ScriptedSink {
        outcome: Mutex<Handoff>,
        sent: Mutex<Vec<u64>>,
    }

    impl DirectSink for ScriptedSink {
        fn try_send(&self, _slot: &Arc<ViewerSlot>, frame: &VideoFrame, _ahead: usize) -> Handoff {
            let outcome = *self.outcome.lock();
            if outcome != Handoff::Busy {
                self.sent.lock().push(frame.seq);
            }
            outcome
        }
    }

    fn direct(outcome: Handoff) -> (Arc<ScriptedSink>, Arc<ViewerQueue>, Arc<ViewerSlot>) {
        let sink = Arc::new(ScriptedSink {
            outcome: Mutex::new(outcome),
            sent: Mutex::new(Vec::new()),
        });
        let q = ViewerQueue::with_sink(sink.clone());
        let slot = q.new_slot(StreamId::new("c").unwrap());
        (sink, q, slot)
    }

    #[test]
    fn an_idle_transport_takes_frames_directly_and_they_count_as_delivered() {
        let (sink, _q, slot) = direct(Handoff::Delivered);
        for seq in 1..=3 {
            slot.offer(&frame(seq), 0);
        }
        assert_eq!(*sink.sent.lock(), vec![1, 2, 3]);
        assert!(
            slot.take().is_none(),
            "nothing is left for the viewer's task"
        );
        assert_eq!(
            slot.stats(),
            SlotStats {
                delivered: 3,
                skipped: 0,
                held: 0,
                max_held: 1,
                last_seq: 3
            }
        );
    }

    #[test]
    fn a_busy_transport_leaves_the_frame_for_the_task() {
        let (sink, _q, slot) = direct(Handoff::Busy);
        slot.offer(&frame(1), 0);
        slot.offer(&frame(2), 0);
        assert!(sink.sent.lock().is_empty());
        assert_eq!(
            slot.take().unwrap().seq,
            2,
            "latest wins in the slot as before"
        );
        assert_eq!(slot.stats().skipped, 1);
    }

    #[test]
    fn a_started_frame_blocks_the_slot_until_it_is_finished() {
        let (sink, _q, slot) = direct(Handoff::Started);
        slot.offer(&frame(1), 0);
        // While frame 1 is half-written, newer frames wait in the slot and
        // are never handed to the transport a second time.
        for seq in 2..=5 {
            slot.offer(&frame(seq), 0);
        }
        assert_eq!(*sink.sent.lock(), vec![1]);
        assert!(slot.take().is_none(), "one write at a time per slot");
        assert_eq!(slot.stats().held, 2);
        slot.finish(Some(1));
        assert_eq!(slot.take().unwrap().seq, 5);
        assert_eq!(
            slot.stats(),
            SlotStats {
                delivered: 1,
                skipped: 3,
                held: 1,
                max_held: 2,
                last_seq: 1
            }
        );
    }
}
