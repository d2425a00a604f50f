//! The last N frames of one camera.

use std::collections::VecDeque;

use crate::frame::VideoFrame;

/// A ring of recent frames, oldest first, bounded by a number of frames
/// and by their bytes (so large frames cannot pile up: 1024 frames of 5 MiB
/// would otherwise be 5 GiB per camera). The newest frame is always kept.
///
/// Frames are reference-counted, so the ring costs N buffers per camera no
/// matter how many viewers read it.
#[derive(Debug)]
pub struct FrameRing {
    frames: VecDeque<VideoFrame>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
}

impl FrameRing {
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            frames: VecDeque::with_capacity(capacity.min(64)),
            capacity,
            max_bytes,
            bytes: 0,
        }
    }

    pub fn push(&mut self, frame: VideoFrame) {
        self.bytes += frame.len();
        self.frames.push_back(frame);
        while self.frames.len() > self.capacity
            || (self.bytes > self.max_bytes && self.frames.len() > 1)
        {
            let old = self.frames.pop_front().expect("more than one frame");
            self.bytes -= old.len();
        }
    }

    /// Bytes of JPEG the ring holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn latest(&self) -> Option<&VideoFrame> {
        self.frames.back()
    }

    /// The frame with this sequence number, if it is still in the ring.
    pub fn get(&self, seq: u64) -> Option<&VideoFrame> {
        let first = self.frames.front()?.seq;
        // Sequence numbers are consecutive within the ring, so this is an index.
        let idx = seq.checked_sub(first)? as usize;
        self.frames.get(idx).filter(|f| f.seq == seq)
    }

    pub fn iter(&self) -> impl Iterator<Item = &VideoFrame> {
        self.frames.iter()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Frames per second over the frames in the ring.
    pub fn measured_fps(&self) -> f64 {
        match (self.frames.front(), self.frames.back()) {
            (Some(a), Some(b)) if self.frames.len() > 1 => {
                let span = b.received_at.duration_since(a.received_at).as_secs_f64();
                if span > 0.0 {
                    (self.frames.len() - 1) as f64 / span
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{id::StreamId, jpeg::JpegInfo};

    fn frame(seq: u64) -> VideoFrame {
        VideoFrame::build(
            &StreamId::new("c").unwrap(),
            seq,
            0,
            JpegInfo::default(),
            &[seq as u8],
        )
    }

    #[test]
    fn keeps_only_the_newest_frames() {
        let mut ring = FrameRing::new(3, usize::MAX);
        for seq in 1..=5 {
            ring.push(frame(seq));
        }
        let seqs: Vec<u64> = ring.iter().map(|f| f.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(ring.latest().unwrap().seq, 5);
        assert!(ring.get(2).is_none());
        assert_eq!(ring.get(4).unwrap().jpeg_bytes(), &[4]);
        assert!(ring.get(6).is_none());
    }

    #[test]
    fn a_byte_bound_drops_the_oldest_but_keeps_the_newest() {
        let big = |seq: u64| {
            VideoFrame::build(
                &StreamId::new("c").unwrap(),
                seq,
                0,
                JpegInfo::default(),
                &[seq as u8; 100],
            )
        };
        let mut ring = FrameRing::new(16, 250);
        for seq in 1..=5 {
            ring.push(big(seq));
        }
        assert_eq!(ring.iter().map(|f| f.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(ring.bytes(), 200);
        let mut tiny = FrameRing::new(16, 10);
        tiny.push(big(1));
        assert_eq!(
            tiny.len(),
            1,
            "a frame larger than the bound is still the latest"
        );
        assert!(
            ring.get(4).is_some(),
            "sequence lookups still work after byte drops"
        );
    }
}
