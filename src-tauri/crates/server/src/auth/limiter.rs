//! Login attempts per IP: 5 failures a minute, then exponential backoff.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

const WINDOW: Duration = Duration::from_secs(60);
const FREE_FAILURES: u32 = 5;
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
pub struct LoginLimiter {
    ips: Mutex<HashMap<IpAddr, Attempts>>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    window_start: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

impl LoginLimiter {
    /// `Err(retry_after)` while `ip` must wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let ips = self.ips.lock();
        match ips.get(&ip).and_then(|a| a.blocked_until) {
            Some(until) if until > Instant::now() => Err(until - Instant::now()),
            _ => Ok(()),
        }
    }

    pub fn failure(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut ips = self.ips.lock();
        if ips.len() > 10_000 {
            ips.retain(|_, a| {
                a.blocked_until.is_some_and(|u| u > now) || now - a.window_start < WINDOW
            });
        }
        let a = ips.entry(ip).or_insert(Attempts {
            window_start: now,
            failures: 0,
            blocked_until: None,
        });
        if now - a.window_start > WINDOW
            && a.blocked_until.is_none_or(|u| u <= now)
            && a.failures < FREE_FAILURES
        {
            a.window_start = now;
            a.failures = 0;
        }
        a.failures += 1;
        if a.failures >= FREE_FAILURES {
            // 60 s after the 5th failure in a window, doubling with each further one.
            let extra = a.failures - FREE_FAILURES;
            let wait = WINDOW.saturating_mul(1 << extra.min(10)).min(MAX_BACKOFF);
            a.blocked_until = Some(now + wait);
        }
    }

    pub fn success(&self, ip: IpAddr) {
        self.ips.lock().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_block_with_a_retry_time_and_other_ips_are_unaffected() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..4 {
            l.failure(ip);
            assert!(l.check(ip).is_ok());
        }
        l.failure(ip);
        let wait = l.check(ip).unwrap_err();
        assert!(wait > Duration::from_secs(55) && wait <= WINDOW);
        assert!(l.check("192.0.2.2".parse().unwrap()).is_ok());
        l.failure(ip);
        assert!(
            l.check(ip).unwrap_err() > Duration::from_secs(100),
            "backoff doubles"
        );
        l.success(ip);
        assert!(l.check(ip).is_ok());
    }
}
