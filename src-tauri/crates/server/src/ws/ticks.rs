//! Periodic work of many sockets on one shared clock grid.
//!
//! Every socket sends stats each second and a ping every 30 s. If each
//! socket's timer started when it connected, 200 viewers would wake the
//! runtime 200 times a second, each time for one tiny message, and each
//! wake-up (parking and unparking a worker thread) costs more than the
//! message. On a grid shared by the whole process all those timers fire at
//! the same instant: one wake-up serves them all.

use std::{sync::OnceLock, time::Duration};

use tokio::time::{Instant, Interval, MissedTickBehavior};

/// The grid's origin: the first time any socket asked for a timer.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// An interval of `period` whose ticks fall on the process-wide grid of
/// that period. The first tick is the next grid point after now, so it
/// comes within one period (never at once). A late tick is skipped, not
/// made up for in a burst.
pub fn on_grid(period: Duration) -> Interval {
    let first = next_grid_point(origin(), Instant::now(), period);
    let mut interval = tokio::time::interval_at(first, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// The first point of the grid `origin + k·period` strictly after `now`.
fn next_grid_point(origin: Instant, now: Instant, period: Duration) -> Instant {
    let period_ns = period.as_nanos().max(1);
    let elapsed_ns = now.saturating_duration_since(origin).as_nanos();
    let k = elapsed_ns / period_ns + 1;
    origin + Duration::from_nanos((k * period_ns).min(u64::MAX as u128) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_started_at_different_times_tick_together() {
        let origin = Instant::now();
        let second = Duration::from_secs(1);
        let a = next_grid_point(origin, origin + Duration::from_millis(120), second);
        let b = next_grid_point(origin, origin + Duration::from_millis(870), second);
        assert_eq!(a, b);
        assert_eq!(a, origin + second);
    }

    #[test]
    fn the_first_tick_is_within_one_period_and_never_now() {
        let origin = Instant::now();
        let period = Duration::from_millis(250);
        for offset_ms in [0u64, 1, 249, 250, 251, 10_000] {
            let now = origin + Duration::from_millis(offset_ms);
            let first = next_grid_point(origin, now, period);
            assert!(
                first > now && first - now <= period,
                "offset {offset_ms} ms: first tick {:?} after now",
                first - now
            );
        }
    }
}
