//! Connection caps: per client IP and in total. A connection over a cap is
//! answered with a short `503` naming the cap, then closed.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use parking_lot::Mutex;

#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// Held for the life of a connection; releases its place when dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    /// A permit, or the reason the connection is refused.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, String> {
        let mut per_ip = self.per_ip.lock();
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return Err(format!(
                "too many connections from {ip} (the limit is {}, --max-connections-per-ip)",
                self.max_per_ip
            ));
        }
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return Err(format!(
                "the server is at its connection limit ({}, --max-connections)",
                self.max_total
            ));
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Ok(ConnectionPermit {
            limits: self.clone(),
            ip,
        })
    }

    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut per_ip = self.limits.per_ip.lock();
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.limits.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The whole answer sent to a refused connection.
pub fn refusal(reason: &str) -> Vec<u8> {
    let body =
        serde_json::json!({ "error": { "code": "too_many_connections", "message": reason } })
            .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_ip_and_in_total_with_places_given_back() {
        let l = ConnectionLimits::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = l.admit(a).unwrap();
        let _p2 = l.admit(a).unwrap();
        assert!(l.admit(a).unwrap_err().contains("192.0.2.1"));
        let _p3 = l.admit(b).unwrap();
        assert!(l.admit(b).unwrap_err().contains("connection limit (3"));
        drop(p1);
        assert!(l.admit(b).is_ok());
    }
}
