//! Frames larger than a NATS message: split on the way out, joined on the
//! way in.
//!
//! A NATS server refuses a message above its `max_payload` (1 MiB by
//! default), and a camera may send frames up to `--max-frame-bytes` (5 MiB).
//! So a frame that does not fit is sent as consecutive parts of the same
//! subject, each with `Relaydeck-Part: I/N` and `Relaydeck-Total: BYTES`.
//! NATS keeps one publisher's messages on one subject in order, so the
//! joiner needs no reordering: a part that is not the one it expects means
//! a part was lost, and the unfinished frame is dropped whole (counted),
//! never delivered short or spliced.

use bytes::{Bytes, BytesMut};

/// Room left in every message for the headers.
pub const HEADER_ROOM: usize = 1024;

/// The payload bytes one message may carry when the server takes `max_payload`.
pub fn part_size(max_payload: usize) -> usize {
    max_payload.saturating_sub(HEADER_ROOM).max(4096)
}

/// The parts of `frame`: slices of the same buffer (no copy). One part when
/// it fits.
pub fn split(frame: &Bytes, part_size: usize) -> Vec<Bytes> {
    if frame.len() <= part_size {
        return vec![frame.clone()];
    }
    (0..frame.len())
        .step_by(part_size)
        .map(|start| frame.slice(start..(start + part_size).min(frame.len())))
        .collect()
}

/// `I/N` → (I, N), 1 ≤ I ≤ N.
pub fn parse_part(s: &str) -> Option<(u32, u32)> {
    let (i, n) = s.split_once('/')?;
    let (i, n) = (i.parse().ok()?, n.parse().ok()?);
    (1..=n).contains(&i).then_some((i, n))
}

/// What a part did to the frame being joined.
#[derive(Debug, PartialEq, Eq)]
pub enum Joined {
    /// The frame is whole.
    Frame(Bytes),
    /// More parts are needed.
    Pending,
    /// The part did not fit the frame in progress (or claimed a size above
    /// the limit): what was gathered is dropped.
    Dropped,
}

/// Joins the parts of one stream's frames.
#[derive(Debug)]
pub struct Joiner {
    max_bytes: usize,
    partial: Option<Partial>,
    /// Frames dropped because a part was missing or malformed.
    pub dropped: u64,
}

#[derive(Debug)]
struct Partial {
    seq: u64,
    next: u32,
    count: u32,
    total: usize,
    buf: BytesMut,
}

impl Joiner {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            partial: None,
            dropped: 0,
        }
    }

    /// Takes one message: `part` is `None` for a frame sent whole.
    pub fn push(
        &mut self,
        seq: u64,
        part: Option<(u32, u32)>,
        total: usize,
        data: Bytes,
    ) -> Joined {
        let Some((index, count)) = part else {
            self.abandon();
            return Joined::Frame(data);
        };
        if index == 1 {
            self.abandon();
            if total > self.max_bytes || total == 0 {
                self.dropped += 1;
                return Joined::Dropped;
            }
            let mut buf = BytesMut::with_capacity(total);
            buf.extend_from_slice(&data);
            self.partial = Some(Partial {
                seq,
                next: 2,
                count,
                total,
                buf,
            });
            return self.check_done();
        }
        match &mut self.partial {
            Some(p) if p.seq == seq && p.next == index && p.count == count && p.total == total => {
                p.buf.extend_from_slice(&data);
                p.next += 1;
                self.check_done()
            }
            _ => {
                // A part of a frame whose beginning we never saw, or after a gap.
                let had = self.partial.take().is_some();
                if had || index != 1 {
                    self.dropped += 1;
                }
                Joined::Dropped
            }
        }
    }

    fn check_done(&mut self) -> Joined {
        let Some(p) = &self.partial else {
            return Joined::Pending;
        };
        if p.buf.len() > p.total {
            self.partial = None;
            self.dropped += 1;
            return Joined::Dropped;
        }
        if p.next <= p.count {
            return Joined::Pending;
        }
        let p = self.partial.take().expect("checked");
        if p.buf.len() == p.total {
            Joined::Frame(p.buf.freeze())
        } else {
            self.dropped += 1;
            Joined::Dropped
        }
    }

    fn abandon(&mut self) {
        if self.partial.take().is_some() {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Bytes {
        (0..len)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>()
            .into()
    }

    fn send(j: &mut Joiner, seq: u64, f: &Bytes, size: usize) -> Vec<Joined> {
        let parts = split(f, size);
        let n = parts.len() as u32;
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let part = (n > 1).then_some((i as u32 + 1, n));
                j.push(seq, part, f.len(), p)
            })
            .collect()
    }

    #[test]
    fn a_five_mebibyte_frame_crosses_a_one_mebibyte_server_whole() {
        let size = part_size(1024 * 1024);
        let f = frame(5 * 1024 * 1024);
        let parts = split(&f, size);
        assert_eq!(parts.len(), 6);
        assert!(parts.iter().all(|p| p.len() <= size));
        let mut j = Joiner::new(5 * 1024 * 1024);
        let out = send(&mut j, 1, &f, size);
        assert_eq!(out.last(), Some(&Joined::Frame(f.clone())));
        assert!(out[..5].iter().all(|o| *o == Joined::Pending));
        assert_eq!(j.dropped, 0);
    }

    #[test]
    fn a_small_frame_is_one_message_and_no_copy() {
        let f = frame(1000);
        let parts = split(&f, 4096);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].as_ptr(), f.as_ptr());
    }

    #[test]
    fn a_lost_part_drops_that_frame_only() {
        let size = 4096;
        let f1 = frame(10_000);
        let f2 = frame(9_000);
        let mut j = Joiner::new(1 << 20);
        let parts = split(&f1, size);
        // Part 2 of 3 never arrives.
        assert_eq!(
            j.push(1, Some((1, 3)), f1.len(), parts[0].clone()),
            Joined::Pending
        );
        assert_eq!(
            j.push(1, Some((3, 3)), f1.len(), parts[2].clone()),
            Joined::Dropped
        );
        assert_eq!(j.dropped, 1);
        // The next frame is whole again.
        assert_eq!(send(&mut j, 2, &f2, size).pop(), Some(Joined::Frame(f2)));
        assert_eq!(j.dropped, 1);
    }

    #[test]
    fn a_frame_cut_short_by_the_next_one_is_dropped() {
        let f1 = frame(10_000);
        let f2 = frame(100);
        let mut j = Joiner::new(1 << 20);
        let parts = split(&f1, 4096);
        j.push(1, Some((1, 3)), f1.len(), parts[0].clone());
        assert_eq!(j.push(2, None, f2.len(), f2.clone()), Joined::Frame(f2));
        assert_eq!(j.dropped, 1);
    }

    #[test]
    fn lies_about_sizes_are_refused() {
        let mut j = Joiner::new(10_000);
        assert_eq!(
            j.push(1, Some((1, 2)), 20_000, frame(4096)),
            Joined::Dropped
        );
        // A total smaller than what arrives.
        assert_eq!(j.push(2, Some((1, 2)), 5000, frame(4096)), Joined::Pending);
        assert_eq!(j.push(2, Some((2, 2)), 5000, frame(4096)), Joined::Dropped);
        // A total larger than what arrives.
        assert_eq!(j.push(3, Some((1, 2)), 9000, frame(4096)), Joined::Pending);
        assert_eq!(j.push(3, Some((2, 2)), 9000, frame(10)), Joined::Dropped);
        assert_eq!(j.dropped, 3);
        assert_eq!(parse_part("0/2"), None);
        assert_eq!(parse_part("3/2"), None);
        assert_eq!(parse_part("2/2"), Some((2, 2)));
    }
}
