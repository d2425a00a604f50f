//! Recording on motion: is something moving, and what of it to keep.
//!
//! * [`Detector`] compares grey 1/8-scale decodes of the camera's frames
//!   (the host's [`crate::host::FrameScaler`]; at most [`ANALYSE_EVERY`]
//!   apart, so slow movement still differs between two pictures): a pixel
//!   changed when it moved more than the sensitivity's threshold after the
//!   picture's overall brightness shift is taken out (a light switched on,
//!   a camera's exposure settling: every pixel shifts alike, nothing
//!   moved), and the picture moved when enough of the watched pixels
//!   (the zones, or all) changed.
//! * [`MotionGate`] holds the last `preRollSec` of frames while nothing
//!   moves (shared buffers: no copies), hands them all over when motion
//!   starts, and keeps recording until `postRollSec` after the last motion.
//!
//! Both are pure: the recorder gives them pictures and capture times, so
//! tests give them any scene and any clock.

use std::{collections::VecDeque, time::Duration};

use relaydeck_contract::settings::MotionSettings;

use crate::host::GrayPicture;

/// Pictures closer together than this are not compared (the later one is
/// recorded or held like any other frame, but not decoded).
pub const ANALYSE_EVERY: Duration = Duration::from_millis(100);

/// How late a detection may answer and still start its recording at the
/// full pre-roll: frames are held this much longer than the pre-roll.
pub const ANSWER_SLACK: Duration = Duration::from_secs(1);

/// The most the pre-roll may hold, whatever its seconds say.
pub const PRE_ROLL_MAX_BYTES: usize = 64 << 20;

/// Decides, picture by picture, whether something moved.
#[derive(Debug)]
pub struct Detector {
    /// A pixel changed when its grey level moved by more than this.
    pixel_delta: i16,
    /// The picture moved when at least this share of the watched pixels changed.
    area: f64,
    zones: Vec<relaydeck_contract::settings::MotionZone>,
    previous: Option<GrayPicture>,
    /// The watched pixels for the picture size they were made for.
    mask: Option<(usize, usize, Vec<bool>)>,
}

impl Detector {
    pub fn new(settings: &MotionSettings) -> Self {
        let s = f64::from(settings.sensitivity.clamp(1, 100));
        // Sensitivity 1: 40 grey levels on 5 % of the picture; 100: 8 levels on 0.1 %.
        let reach = (100.0 - s) / 99.0;
        Self {
            pixel_delta: (8.0 + 32.0 * reach).round() as i16,
            area: 0.001 + 0.049 * reach,
            zones: settings.zones.clone(),
            previous: None,
            mask: None,
        }
    }

    /// The share of the watched pixels that changed since the previous
    /// picture (0 to 1), and whether that is motion. The first picture, and
    /// the first of a new size, compare with nothing: `None`.
    pub fn compare(&mut self, picture: GrayPicture) -> Option<(f64, bool)> {
        let before = self.previous.replace(picture)?;
        let now = self.previous.as_ref().expect("just put");
        let (width, height) = (now.width, now.height);
        if (width, height) != (before.width, before.height) || now.pixels.is_empty() {
            return None;
        }
        if self
            .mask
            .as_ref()
            .is_none_or(|(w, h, _)| (*w, *h) != (width, height))
        {
            self.mask = Some((width, height, zone_mask(&self.zones, width, height)));
        }
        let mask = &self.mask.as_ref().expect("made above").2;
        let watched = mask.iter().filter(|m| **m).count();
        if watched == 0 {
            return None;
        }
        let pairs = || {
            now.pixels
                .iter()
                .zip(&before.pixels)
                .zip(mask)
                .filter(|(_, m)| **m)
                .map(|((a, b), _)| i16::from(*a) - i16::from(*b))
        };
        let shift = (pairs().map(i64::from).sum::<i64>() / watched as i64) as i16;
        let changed = pairs()
            .filter(|d| (d - shift).abs() > self.pixel_delta)
            .count();
        let share = changed as f64 / watched as f64;
        Some((share, share >= self.area))
    }
}

/// The pixels of a `width`×`height` picture the zones cover (all when there are none).
fn zone_mask(
    zones: &[relaydeck_contract::settings::MotionZone],
    width: usize,
    height: usize,
) -> Vec<bool> {
    let mut mask = vec![zones.is_empty(); width * height];
    for z in zones {
        let span = |at: u8, len: u8, of: usize| {
            let from = usize::from(at) * of / 100;
            let to = (usize::from(at) + usize::from(len)) * of / 100;
            from.min(of.saturating_sub(1))..to.max(from + 1).min(of)
        };
        for y in span(z.y, z.h, height) {
            for x in span(z.x, z.w, width) {
                mask[y * width + x] = true;
            }
        }
    }
    mask
}

/// What the recorder does with a frame the gate saw.
#[derive(Debug, PartialEq)]
pub enum Step<F> {
    /// Nothing moves: the frame is held for the pre-roll.
    Hold,
    /// Motion began: these frames (the pre-roll, then this one) start a recording.
    Start(Vec<F>),
    /// Recording: write the frame.
    Write(F),
    /// The post-roll ran out before this frame: close the recording (the frame is held).
    Stop,
}

/// Pre-roll and post-roll around motion, on the frames' capture clock (ms).
#[derive(Debug)]
pub struct MotionGate<F> {
    pre_roll_ms: u64,
    post_roll_ms: u64,
    held: VecDeque<(u64, usize, F)>,
    held_bytes: usize,
    /// While recording: when the post-roll of the last motion runs out.
    until_ms: Option<u64>,
}

impl<F> MotionGate<F> {
    pub fn new(settings: &MotionSettings) -> Self {
        Self {
            pre_roll_ms: u64::from(settings.pre_roll_sec) * 1000,
            post_roll_ms: u64::from(settings.post_roll_sec) * 1000,
            held: VecDeque::new(),
            held_bytes: 0,
            until_ms: None,
        }
    }

    pub fn recording(&self) -> bool {
        self.until_ms.is_some()
    }

    /// A frame captured at `at_ms`, `bytes` long; `moved_at` is the capture
    /// time of a frame found moving since the last call. Detection answers
    /// late (pictures are decoded off the live path), so the pre-roll and
    /// the post-roll are counted from the moving frame, not from this one.
    pub fn frame(&mut self, at_ms: u64, bytes: usize, frame: F, moved_at: Option<u64>) -> Step<F> {
        match (self.until_ms, moved_at) {
            (Some(until), None) if at_ms > until => {
                self.until_ms = None;
                self.hold(at_ms, bytes, frame);
                Step::Stop
            }
            (Some(until), moved_at) => {
                if let Some(m) = moved_at {
                    self.until_ms = Some(until.max(m + self.post_roll_ms));
                }
                Step::Write(frame)
            }
            (None, Some(m)) => {
                self.until_ms = Some(m + self.post_roll_ms);
                self.held_bytes = 0;
                let from = m.saturating_sub(self.pre_roll_ms);
                let mut frames: Vec<F> = self
                    .held
                    .drain(..)
                    .filter(|(t, _, _)| *t >= from)
                    .map(|(_, _, f)| f)
                    .collect();
                frames.push(frame);
                Step::Start(frames)
            }
            (None, None) => {
                self.hold(at_ms, bytes, frame);
                Step::Hold
            }
        }
    }

    /// The clock moved to `now_ms` without a frame (a camera that stopped
    /// sending): true when that ends the recording.
    pub fn tick(&mut self, now_ms: u64) -> bool {
        if self.until_ms.is_some_and(|until| now_ms > until) {
            self.until_ms = None;
            return true;
        }
        false
    }

    /// Held: the pre-roll, and [`ANSWER_SLACK`] more for a late answer.
    fn hold(&mut self, at_ms: u64, bytes: usize, frame: F) {
        self.held.push_back((at_ms, bytes, frame));
        self.held_bytes += bytes;
        let keep_ms = self.pre_roll_ms + ANSWER_SLACK.as_millis() as u64;
        while let Some((first, b, _)) = self.held.front() {
            let too_old = *first + keep_ms < at_ms;
            if !(too_old || self.held_bytes > PRE_ROLL_MAX_BYTES) || self.held.len() == 1 {
                break;
            }
            self.held_bytes -= *b;
            self.held.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use relaydeck_contract::settings::MotionZone;

    use super::*;

    /// An 80×60 grey scene with a 10×10 square at `(x, y)`, in `light` overall.
    fn scene(square: Option<(usize, usize)>, light: u8) -> GrayPicture {
        let (width, height) = (80, 60);
        let mut pixels = vec![light; width * height];
        if let Some((sx, sy)) = square {
            for y in sy..sy + 10 {
                for x in sx..sx + 10 {
                    pixels[y * width + x] = light.saturating_add(120);
                }
            }
        }
        GrayPicture {
            width,
            height,
            pixels,
        }
    }

    fn settings(sensitivity: u8, zones: Vec<MotionZone>) -> MotionSettings {
        MotionSettings {
            sensitivity,
            zones,
            ..Default::default()
        }
    }

    #[test]
    fn a_moving_square_is_motion_and_a_still_or_brighter_scene_is_not() {
        let mut d = Detector::new(&settings(50, vec![]));
        assert_eq!(
            d.compare(scene(Some((10, 10)), 60)),
            None,
            "nothing to compare with"
        );
        let (still, moved) = d.compare(scene(Some((10, 10)), 60)).unwrap();
        assert_eq!((still, moved), (0.0, false));
        // The square moves by 10 px: 200 of 4800 pixels change (4.2 %).
        let (share, moved) = d.compare(scene(Some((20, 10)), 60)).unwrap();
        assert!((share - 200.0 / 4800.0).abs() < 1e-9 && moved, "{share}");
        // The lights go up by 30 levels everywhere: a shift, not motion.
        let (share, moved) = d.compare(scene(Some((20, 10)), 90)).unwrap();
        assert!(!moved, "a uniform brightness change moved {share}");
        // Another picture size compares with nothing.
        assert_eq!(
            d.compare(GrayPicture {
                width: 40,
                height: 30,
                pixels: vec![0; 1200],
            }),
            None
        );
    }

    #[test]
    fn sensitivity_sets_how_much_must_change() {
        // A 4×4 change on 4800 pixels: 0.33 %.
        let small = |sensitivity| {
            let mut d = Detector::new(&settings(sensitivity, vec![]));
            let mut a = scene(None, 60);
            d.compare(a.clone());
            for y in 0..4 {
                for x in 0..4 {
                    a.pixels[y * 80 + x] = 200;
                }
            }
            d.compare(a).unwrap().1
        };
        assert!(small(100), "the most sensitive sees it");
        assert!(!small(50), "the default does not");
        assert!(!small(1));
    }

    #[test]
    fn zones_limit_where_motion_counts() {
        // Only the right half is watched; the square moves in the left half.
        let right = vec![MotionZone {
            x: 50,
            y: 0,
            w: 50,
            h: 100,
        }];
        let mut d = Detector::new(&settings(50, right));
        d.compare(scene(Some((5, 10)), 60));
        assert_eq!(d.compare(scene(Some((15, 10)), 60)), Some((0.0, false)));
        let (share, moved) = d.compare(scene(Some((50, 10)), 60)).unwrap();
        assert!(moved && (share - 100.0 / 2400.0).abs() < 1e-9, "{share}");
    }

    fn gate(pre: u32, post: u32) -> MotionGate<u64> {
        MotionGate::new(&MotionSettings {
            pre_roll_sec: pre,
            post_roll_sec: post,
            ..Default::default()
        })
    }

    #[test]
    fn the_gate_keeps_the_pre_roll_and_the_post_roll_around_motion() {
        let mut g = gate(2, 3);
        // 10 fps for 5 s of stillness: only the last 2 s are held.
        for t in (0..5_000).step_by(100) {
            assert_eq!(g.frame(t, 10, t, None), Step::Hold);
        }
        let Step::Start(frames) = g.frame(5_000, 10, 5_000, Some(5_000)) else {
            panic!("motion starts a recording")
        };
        assert_eq!(frames.first(), Some(&3_000), "2 s of pre-roll");
        assert_eq!(frames.last(), Some(&5_000));
        assert_eq!(frames.len(), 21);
        // Motion again at 6 s extends the post-roll to 9 s.
        assert_eq!(g.frame(6_000, 10, 6_000, Some(6_000)), Step::Write(6_000));
        assert_eq!(g.frame(9_000, 10, 9_000, None), Step::Write(9_000));
        assert_eq!(g.frame(9_100, 10, 9_100, None), Step::Stop);
        assert!(!g.recording());
        assert_eq!(g.frame(9_200, 10, 9_200, None), Step::Hold);
        // The held frame after the stop is part of the next pre-roll.
        let Step::Start(frames) = g.frame(9_300, 10, 9_300, Some(9_300)) else {
            panic!()
        };
        assert_eq!(frames, [9_100, 9_200, 9_300]);
    }

    #[test]
    fn a_late_answer_counts_both_rolls_from_the_frame_that_moved() {
        let mut g = gate(2, 3);
        for t in (0..5_300).step_by(100) {
            assert_eq!(g.frame(t, 10, t, None), Step::Hold);
        }
        // The picture of 5 000 was found moving while 5 300 arrived.
        let Step::Start(frames) = g.frame(5_300, 10, 5_300, Some(5_000)) else {
            panic!("motion starts a recording")
        };
        assert_eq!(frames.first(), Some(&3_000), "2 s before the moving frame");
        assert_eq!(frames.len(), 24);
        assert_eq!(g.frame(8_000, 10, 8_000, None), Step::Write(8_000));
        assert_eq!(
            g.frame(8_100, 10, 8_100, None),
            Step::Stop,
            "3 s after 5 000"
        );
    }

    #[test]
    fn a_camera_that_stops_sending_ends_the_recording_at_the_post_roll() {
        let mut g = gate(0, 3);
        let Step::Start(frames) = g.frame(1_000, 10, 1, Some(1_000)) else {
            panic!()
        };
        assert_eq!(frames, [1], "no pre-roll");
        assert!(
            !g.tick(4_000),
            "3 s after the motion: still in the post-roll"
        );
        assert!(g.tick(4_001));
        assert!(!g.tick(9_000), "ended once");
        assert_eq!(g.frame(9_100, 10, 2, None), Step::Hold);
        assert_eq!(g.frame(9_200, 10, 3, None), Step::Hold);
        let Step::Start(frames) = g.frame(9_300, 10, 4, Some(9_300)) else {
            panic!()
        };
        assert_eq!(frames, [4], "no pre-roll holds nothing");
    }
}
