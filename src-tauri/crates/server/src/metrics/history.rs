//! The last 15 minutes of the relay's counters, kept by the server so a
//! Status page opened late still draws them: a sample every
//! `--status-interval` (5 s), at most 15 minutes' worth, oldest out.
//!
//! Samples hold counters (totals since start), not rates: the page takes
//! differences, so a missed poll loses nothing and a counter that went
//! back (a camera removed and back) shows as a reset, not a negative rate.
//! They are read from the same places as `/metrics`.

use std::{collections::BTreeMap, collections::VecDeque, sync::Arc, time::Duration};

use parking_lot::Mutex;
use relaydeck_contract::api::{CameraSample, SourceSample, StatusHistory, StatusSample};
use relaydeck_hub::Hub;

use super::{process::ProcessStats, Meters};

/// How far back the history reaches.
pub const SPAN: Duration = Duration::from_secs(15 * 60);

/// The samples, one writer (the sampler task).
#[derive(Debug)]
pub struct StatusHistoryRing {
    interval: Duration,
    samples: Mutex<VecDeque<StatusSample>>,
}

impl StatusHistoryRing {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            samples: Mutex::new(VecDeque::new()),
        }
    }

    /// How many samples [`SPAN`] holds at this interval.
    pub fn capacity(&self) -> usize {
        (SPAN.as_millis() / self.interval.as_millis().max(1)) as usize + 1
    }

    pub fn push(&self, sample: StatusSample) {
        let mut s = self.samples.lock();
        s.push_back(sample);
        while s.len() > self.capacity() {
            s.pop_front();
        }
    }

    /// Samples taken after `since_ms` (all of them with 0).
    pub fn since(&self, since_ms: u64) -> StatusHistory {
        StatusHistory {
            interval_ms: self.interval.as_millis() as u64,
            span_ms: SPAN.as_millis() as u64,
            samples: self
                .samples
                .lock()
                .iter()
                .filter(|s| s.at_ms > since_ms)
                .cloned()
                .collect(),
        }
    }
}

/// What the counters say now.
pub fn sample(hub: &Hub, meters: &Meters, lost_by_devkits: u64) -> StatusSample {
    let cameras: BTreeMap<String, CameraSample> = hub
        .streams()
        .iter()
        .map(|s| s.snapshot())
        .map(|c| {
            let sample = CameraSample {
                frames_in: c.frames,
                frames_out: c.delivered,
                skipped: c.skipped,
                viewers: c.viewers as u32,
            };
            (c.id.to_string(), sample)
        })
        .collect();
    let sources: BTreeMap<String, SourceSample> = hub
        .audio_sources()
        .iter()
        .map(|a| a.snapshot())
        .map(|a| {
            let sample = SourceSample {
                chunks: a.chunks,
                bytes: a.bytes,
                listeners: a.listeners as u32,
                lost: a.loss.lost,
            };
            (a.id.to_string(), sample)
        })
        .collect();
    let transports = meters.transports();
    let (viewers, listeners) = transports.iter().fold((0, 0), |(v, l), t| {
        if t.transport.is_video() {
            (v + t.open, l)
        } else {
            (v, l + t.open)
        }
    });
    let process = ProcessStats::read().unwrap_or_default();
    StatusSample {
        at_ms: crate::secrets::now_ms(),
        frames_in: cameras.values().map(|c| c.frames_in).sum(),
        frames_out: cameras.values().map(|c| c.frames_out).sum(),
        skipped: cameras.values().map(|c| c.skipped).sum(),
        sent_bytes: transports.iter().map(|t| t.sent_bytes).sum(),
        viewers: viewers as u32,
        listeners: listeners as u32,
        devkit_lost: lost_by_devkits,
        cpu_seconds: process.cpu_seconds,
        rss_bytes: process.resident_bytes,
        cameras,
        sources,
    }
}

/// Samples every interval until `stop`.
pub async fn run(
    ring: Arc<StatusHistoryRing>,
    take: impl Fn() -> StatusSample + Send + 'static,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(ring.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => ring.push(take()),
            _ = stop.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> StatusSample {
        StatusSample {
            at_ms: ms,
            ..Default::default()
        }
    }

    #[test]
    fn fifteen_minutes_are_kept_and_read_from_where_the_page_left_off() {
        let ring = StatusHistoryRing::new(Duration::from_secs(5));
        assert_eq!(ring.capacity(), 181);
        for i in 1..=200 {
            ring.push(at(i * 5_000));
        }
        let all = ring.since(0);
        assert_eq!(all.samples.len(), 181);
        assert_eq!(all.samples[0].at_ms, 20 * 5_000, "the oldest went first");
        let newer = ring.since(199 * 5_000);
        assert_eq!(
            newer.samples.iter().map(|s| s.at_ms).collect::<Vec<_>>(),
            [1_000_000]
        );
        assert_eq!((all.interval_ms, all.span_ms), (5_000, 900_000));
    }
}
