//! Turns a devkit's datagrams into a clean stream.
//!
//! Datagrams may arrive out of order, twice, late or never. The
//! [`Reorderer`] forwards them in sequence order: a packet that arrives ahead
//! of a gap is held for at most the reorder window; when the window expires
//! the gap is filled with exactly as much silence as is missing (from the
//! RTP-style timestamps, so it is exact even if packet sizes vary) and
//! counted as lost. A packet whose place has already been filled is late; a
//! packet seen before is a duplicate; both are dropped and counted.
//!
//! Sequence numbers and timestamps are `u32` and wrap: every comparison is
//! made on the wrapping difference. A jump backwards further than the late
//! tolerance, or forwards by more than [`MAX_JUMP`] packets, is a restart of
//! the stream (the device rebooted its counters): held audio is flushed and
//! the new sequence is followed from there.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use bytes::Bytes;
use relaydeck_hub::LossStats;

/// A jump forward of more than this many packets is a restart, not loss.
pub const MAX_JUMP: u32 = 1000;
/// Sequence numbers remembered to recognise duplicates.
const RECENT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub seq: u32,
    /// Position of the first sample frame, in sample frames.
    pub ts: u32,
    pub pcm: Bytes,
}

/// What the reorder stage forwards, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Audio {
        seq: u32,
        pcm: Bytes,
    },
    /// Silence standing in for lost packets, ending just before `seq + 1`.
    Silence {
        seq: u32,
        frames: u32,
    },
}

#[derive(Debug)]
pub struct Reorderer {
    window: Duration,
    frame_bytes: usize,
    /// How far behind a packet may be and still count as late (not a restart).
    late_tolerance: u32,
    /// The next sequence number and its expected timestamp.
    expected: Option<(u32, u32)>,
    /// Packets ahead of a gap, sorted by distance from `expected`, with their arrival.
    held: Vec<(Packet, Instant)>,
    recent: VecDeque<u32>,
    stats: LossStats,
}

impl Reorderer {
    /// `late_tolerance` is in packets (about a second's worth is sensible).
    pub fn new(window: Duration, frame_bytes: usize, late_tolerance: u32) -> Self {
        Self {
            window,
            frame_bytes,
            late_tolerance,
            expected: None,
            held: Vec::new(),
            recent: VecDeque::new(),
            stats: LossStats::default(),
        }
    }

    pub fn stats(&self) -> LossStats {
        self.stats
    }

    /// When [`Reorderer::flush_due`] must next run, if packets are held.
    pub fn deadline(&self) -> Option<Instant> {
        self.held.iter().map(|(_, at)| *at + self.window).min()
    }

    fn frames(&self, p: &Packet) -> u32 {
        (p.pcm.len() / self.frame_bytes) as u32
    }

    fn ahead(&self, seq: u32) -> u32 {
        self.expected.map_or(0, |(next, _)| seq.wrapping_sub(next))
    }

    pub fn push(&mut self, p: Packet, now: Instant, out: &mut Vec<Output>) {
        let Some((next, _)) = self.expected else {
            return self.forward(p, out);
        };
        let diff = p.seq.wrapping_sub(next) as i32;
        if diff == 0 {
            self.forward(p, out);
            self.drain_consecutive(out);
        } else if diff < 0 && diff.unsigned_abs() <= self.late_tolerance {
            if self.recent.contains(&p.seq) {
                self.stats.duplicates += 1;
            } else {
                self.stats.late += 1;
            }
        } else if diff < 0 || diff as u32 > MAX_JUMP {
            self.restart(p, out);
        } else if self.held.iter().any(|(h, _)| h.seq == p.seq) {
            self.stats.duplicates += 1;
        } else {
            let pos = self
                .held
                .partition_point(|(h, _)| self.ahead(h.seq) < diff as u32);
            self.held.insert(pos, (p, now));
            if self.window.is_zero() {
                self.flush_due(now, out);
            }
        }
    }

    /// Gives up waiting for missing packets whose window has passed.
    pub fn flush_due(&mut self, now: Instant, out: &mut Vec<Output>) {
        while self.deadline().is_some_and(|d| d <= now) {
            self.skip_gap(out);
            self.drain_consecutive(out);
        }
    }

    /// Forwards everything held (gaps filled) and forgets the sequence.
    fn restart(&mut self, p: Packet, out: &mut Vec<Output>) {
        while !self.held.is_empty() {
            self.skip_gap(out);
            self.drain_consecutive(out);
        }
        self.expected = None;
        self.recent.clear();
        self.forward(p, out);
    }

    /// Fills the gap before the first held packet with silence.
    fn skip_gap(&mut self, out: &mut Vec<Output>) {
        let (Some((next, next_ts)), Some((first, _))) = (self.expected, self.held.first()) else {
            return;
        };
        let missing = first.seq.wrapping_sub(next);
        let by_time = first.ts.wrapping_sub(next_ts);
        // Trust the timestamps unless they disagree wildly with the count.
        let per_packet = self.frames(first).max(1);
        let frames = if by_time <= missing.saturating_mul(per_packet).saturating_mul(4) {
            by_time
        } else {
            missing * per_packet
        };
        self.stats.lost += missing as u64;
        self.stats.filled += frames as u64;
        if frames > 0 {
            out.push(Output::Silence {
                seq: first.seq.wrapping_sub(1),
                frames,
            });
        }
        self.expected = Some((first.seq, first.ts));
    }

    fn drain_consecutive(&mut self, out: &mut Vec<Output>) {
        while let Some((next, _)) = self.expected {
            if self.held.first().is_none_or(|(h, _)| h.seq != next) {
                break;
            }
            let (p, _) = self.held.remove(0);
            self.forward(p, out);
        }
    }

    fn forward(&mut self, p: Packet, out: &mut Vec<Output>) {
        self.expected = Some((p.seq.wrapping_add(1), p.ts.wrapping_add(self.frames(&p))));
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(p.seq);
        out.push(Output::Audio {
            seq: p.seq,
            pcm: p.pcm,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(40);

    /// 20 ms of 16 kHz mono: 320 sample frames, 640 bytes.
    fn pkt(seq: u32) -> Packet {
        Packet {
            seq,
            ts: seq.wrapping_mul(320),
            pcm: Bytes::from(vec![seq as u8; 640]),
        }
    }

    fn r() -> Reorderer {
        Reorderer::new(WINDOW, 2, 50)
    }

    fn seqs(out: &[Output]) -> Vec<String> {
        out.iter()
            .map(|o| match o {
                Output::Audio { seq, .. } => seq.to_string(),
                Output::Silence { frames, .. } => format!("silence({frames})"),
            })
            .collect()
    }

    fn feed(r: &mut Reorderer, order: &[u32], now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        for &s in order {
            r.push(pkt(s), now, &mut out);
        }
        out
    }

    #[test]
    fn in_order_packets_pass_straight_through() {
        let mut r = r();
        let out = feed(&mut r, &[7, 8, 9], Instant::now());
        assert_eq!(seqs(&out), ["7", "8", "9"]);
        assert_eq!(r.deadline(), None, "nothing is held, nothing waits");
        assert_eq!(r.stats(), LossStats::default());
    }

    #[test]
    fn reordering_inside_the_window_is_repaired() {
        let mut r = r();
        let t = Instant::now();
        let out = feed(&mut r, &[1, 3, 4, 2, 5], t);
        assert_eq!(seqs(&out), ["1", "2", "3", "4", "5"]);
        assert_eq!(r.stats(), LossStats::default());
    }

    #[test]
    fn a_gap_is_filled_with_exactly_the_missing_samples_after_the_window() {
        let mut r = r();
        let t = Instant::now();
        let mut out = feed(&mut r, &[1, 4, 5], t);
        assert_eq!(seqs(&out), ["1"], "2 and 3 may still come");
        r.flush_due(t + WINDOW - Duration::from_millis(1), &mut out);
        assert_eq!(seqs(&out), ["1"]);
        r.flush_due(t + WINDOW, &mut out);
        assert_eq!(seqs(&out), ["1", "silence(640)", "4", "5"]);
        assert_eq!(
            r.stats(),
            LossStats {
                lost: 2,
                late: 0,
                duplicates: 0,
                filled: 640
            }
        );
        // 3 turns up after its place was filled: late, dropped.
        r.push(pkt(3), t + WINDOW, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(r.stats().late, 1);
    }

    #[test]
    fn duplicates_are_dropped_whether_forwarded_or_held() {
        let mut r = r();
        let out = feed(&mut r, &[1, 2, 2, 4, 4, 3, 1], Instant::now());
        assert_eq!(seqs(&out), ["1", "2", "3", "4"]);
        assert_eq!(r.stats().duplicates, 3);
        assert_eq!(r.stats().late, 0);
    }

    #[test]
    fn sequence_and_timestamp_wrap_around() {
        let mut r = r();
        let out = feed(&mut r, &[u32::MAX - 1, u32::MAX, 1, 0, 2], Instant::now());
        assert_eq!(
            seqs(&out),
            [
                (u32::MAX - 1).to_string(),
                u32::MAX.to_string(),
                "0".into(),
                "1".into(),
                "2".into()
            ]
        );
        assert_eq!(r.stats(), LossStats::default());
    }

    #[test]
    fn a_gap_across_the_wrap_is_measured_by_wrapping_timestamps() {
        let mut r = r();
        let t = Instant::now();
        let mut out = feed(&mut r, &[u32::MAX, 2], t);
        r.flush_due(t + WINDOW, &mut out);
        assert_eq!(
            seqs(&out),
            [u32::MAX.to_string(), "silence(640)".into(), "2".into()]
        );
        assert_eq!(r.stats().lost, 2);
    }

    #[test]
    fn a_big_jump_or_a_jump_backwards_is_a_restart_not_loss() {
        let mut r = r();
        let t = Instant::now();
        let out = feed(&mut r, &[100, 101, 5000, 5001, 10, 11], t);
        assert_eq!(seqs(&out), ["100", "101", "5000", "5001", "10", "11"]);
        assert_eq!(r.stats(), LossStats::default());
    }

    #[test]
    fn a_zero_window_fills_gaps_at_once() {
        let mut r = Reorderer::new(Duration::ZERO, 2, 50);
        let out = feed(&mut r, &[1, 3], Instant::now());
        assert_eq!(seqs(&out), ["1", "silence(320)", "3"]);
    }
}
