//! The built-in `test-pattern` camera.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use relaydeck_hub::{Availability, Hub, HubError, SourceKind, VideoStream};
use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

use crate::{
    pattern::{self, Canvas},
    worker::Worker,
};

/// The reserved ID the test pattern publishes under.
pub const TEST_PATTERN_ID: &str = "test-pattern";

/// A `/latest` (or snapshot) fetched this recently counts as watching, as for
/// the host camera.
const POLL_DEMAND: Duration = Duration::from_secs(10);

/// On demand, like the host camera: the pattern is drawn and encoded only
/// while somebody watches (a viewer socket, an MJPEG stream, a recent
/// `/latest`), so a relay nobody looks at spends nothing on it. The first
/// frame is drawn at once, so the camera has a picture from the start.
fn wanted(stream: &VideoStream, drawn: u64) -> bool {
    drawn == 0 || *stream.viewer_count().borrow() > 0 || stream.polled_within(POLL_DEMAND)
}

#[derive(Debug, Clone)]
pub struct TestPatternConfig {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    /// JPEG quality, 1–100.
    pub quality: i32,
}

impl Default for TestPatternConfig {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 15,
            quality: 80,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TestPatternError {
    #[error("test pattern size {0}x{1} is out of range (16..=3840 x 16..=2160)")]
    BadSize(usize, usize),
    #[error("test pattern rate {0} fps is out of range (1..=120)")]
    BadFps(u32),
    #[error("JPEG encoder: {0}")]
    Encoder(#[from] turbojpeg::Error),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error("could not start the test-pattern thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// A running test-pattern camera; stops (and joins its thread) when dropped.
pub struct TestPattern {
    _worker: Worker,
}

impl TestPattern {
    pub fn start(hub: &Hub, config: TestPatternConfig) -> Result<Self, TestPatternError> {
        if !(16..=3840).contains(&config.width) || !(16..=2160).contains(&config.height) {
            return Err(TestPatternError::BadSize(config.width, config.height));
        }
        if !(1..=120).contains(&config.fps) {
            return Err(TestPatternError::BadFps(config.fps));
        }
        let mut encoder = Encoder::new(&config)?;
        let lease = hub.publish_as(
            TEST_PATTERN_ID,
            Some("Test pattern".into()),
            SourceKind::Local,
        )?;
        let worker = Worker::try_spawn("test-pattern", {
            move |stop| {
                let mut canvas = Canvas::new(config.width, config.height);
                let period = Duration::from_secs_f64(1.0 / config.fps as f64);
                let start = Instant::now();
                let mut n: u64 = 0;
                let mut drawn: u64 = 0;
                let stream = lease.stream().clone();
                while !stop.load(Ordering::Relaxed) && !lease.is_superseded() {
                    if !wanted(&stream, drawn) {
                        stream.set_availability(Availability::Standby);
                        std::thread::sleep(period.min(Duration::from_millis(100)));
                        continue;
                    }
                    stream.set_availability(Availability::Live);
                    drawn += 1;
                    let now_ms = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis() as u64)
                        .unwrap_or(0);
                    pattern::draw(
                        &mut canvas,
                        n,
                        config.fps,
                        now_ms,
                        "RELAY DECK TEST PATTERN",
                    );
                    match encoder.encode(&canvas) {
                        Ok(jpeg) => {
                            if let Err(e) = lease.publish(jpeg) {
                                tracing::warn!("test pattern frame refused: {e}");
                            }
                        }
                        Err(e) => tracing::error!("test pattern encoder failed: {e}"),
                    }
                    n += 1;
                    // Pace against the start time, so the rate does not drift;
                    // after a stall (a busy machine) skip the missed frames
                    // instead of sending a burst to catch up.
                    let now = Instant::now();
                    match (start + period * n as u32).checked_duration_since(now) {
                        Some(wait) => std::thread::sleep(wait),
                        None => {
                            n = n
                                .max((now - start).as_secs_f64().div_euclid(period.as_secs_f64())
                                    as u64)
                        }
                    }
                }
            }
        })?;
        Ok(Self { _worker: worker })
    }
}

/// turbojpeg with a reusable output buffer.
struct Encoder {
    compressor: Compressor,
    out: Vec<u8>,
}

impl Encoder {
    fn new(config: &TestPatternConfig) -> Result<Self, TestPatternError> {
        let mut compressor = Compressor::new()?;
        compressor.set_quality(config.quality.clamp(1, 100))?;
        compressor.set_subsamp(Subsamp::Sub2x2)?;
        let out = vec![0; compressor.buf_len(config.width, config.height)?];
        Ok(Self { compressor, out })
    }

    fn encode(&mut self, canvas: &Canvas) -> Result<&[u8], turbojpeg::Error> {
        let image = Image {
            pixels: &canvas.rgb[..],
            width: canvas.width,
            pitch: canvas.width * 3,
            height: canvas.height,
            format: PixelFormat::RGB,
        };
        let n = self.compressor.compress_to_slice(image, &mut self.out)?;
        Ok(&self.out[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relaydeck_hub::HubConfig;

    #[test]
    fn publishes_moving_jpeg_frames_of_the_configured_size() {
        let hub = Hub::new(HubConfig::default());
        let tp = TestPattern::start(
            &hub,
            TestPatternConfig {
                width: 320,
                height: 240,
                fps: 50,
                quality: 70,
            },
        )
        .unwrap();
        let stream = hub.stream(TEST_PATTERN_ID).unwrap();
        // Somebody watches (the pattern is on demand).
        let queue = relaydeck_hub::ViewerQueue::new();
        let _viewer = stream.subscribe(&queue);
        let deadline = Instant::now() + Duration::from_secs(10);
        while stream.latest().map_or(0, |f| f.seq) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let frames = stream.ring_frames();
        assert!(frames.len() >= 3);
        let (a, b) = (&frames[0], &frames[1]);
        assert_ne!(a.jpeg_bytes(), b.jpeg_bytes(), "the pattern moves");
        let header = turbojpeg::read_header(a.jpeg_bytes()).unwrap();
        assert_eq!((header.width, header.height), (320, 240));
        drop(tp);
        assert!(
            !stream.is_online(),
            "stopping the pattern marks the camera offline"
        );
    }

    #[test]
    fn draws_one_frame_then_only_while_somebody_watches() {
        let hub = Hub::new(HubConfig::default());
        let config = TestPatternConfig {
            width: 160,
            height: 120,
            fps: 50,
            quality: 70,
        };
        let _tp = TestPattern::start(&hub, config).unwrap();
        let stream = hub.stream(TEST_PATTERN_ID).unwrap();
        let wait_for = |what: &str, f: &dyn Fn() -> bool| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !f() {
                assert!(Instant::now() < deadline, "timed out: {what}");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for("the first frame and standby", &|| {
            stream.latest().is_some() && stream.availability() == Availability::Standby
        });
        let first = stream.latest().unwrap().seq;
        std::thread::sleep(Duration::from_millis(300)); // 15 periods
        assert_eq!(
            stream.latest().unwrap().seq,
            first,
            "nobody watches: nothing drawn"
        );
        let queue = relaydeck_hub::ViewerQueue::new();
        let viewer = stream.subscribe(&queue);
        wait_for("frames for the viewer", &|| {
            stream.latest().unwrap().seq >= first + 3 && stream.availability() == Availability::Live
        });
        drop(viewer);
        wait_for("standby again", &|| {
            stream.availability() == Availability::Standby
        });
    }

    #[test]
    fn refuses_silly_settings() {
        let hub = Hub::new(HubConfig::default());
        assert!(matches!(
            TestPattern::start(
                &hub,
                TestPatternConfig {
                    fps: 0,
                    ..Default::default()
                }
            ),
            Err(TestPatternError::BadFps(0))
        ));
        assert!(matches!(
            TestPattern::start(
                &hub,
                TestPatternConfig {
                    width: 1,
                    ..Default::default()
                }
            ),
            Err(TestPatternError::BadSize(1, 480))
        ));
    }
}
