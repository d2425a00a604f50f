//! Caps on what clients can hold.
//!
//! * [`ConnectionLimits`]: connections per client IP and in total. A
//!   connection over a cap is answered with a short `503` naming the cap,
//!   then closed.
//! * [`PublishQuota`]: streams and audio sources per publish token and in
//!   total, so one leaked publish link cannot fill the hub.

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

/// What a publisher holds in the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Held {
    Stream,
    Source,
}

impl Held {
    fn noun(self) -> &'static str {
        match self {
            Held::Stream => "camera streams",
            Held::Source => "audio sources",
        }
    }
}

/// Streams and sources held (by a live publisher) per token.
#[derive(Debug)]
pub struct PublishQuota {
    per_token: [usize; 2],
    total: [usize; 2],
    held: Mutex<HashMap<(Held, String), HashMap<String, usize>>>,
}

/// One publisher's place under the quota; given back when dropped.
#[derive(Debug)]
pub struct QuotaClaim {
    quota: Arc<PublishQuota>,
    key: Option<(Held, String)>,
    id: String,
}

impl PublishQuota {
    pub fn new(config: &crate::ServerConfig) -> Self {
        Self {
            per_token: [config.max_streams_per_token, config.max_sources_per_token],
            total: [config.max_streams, config.max_sources],
            held: Mutex::default(),
        }
    }

    fn index(what: Held) -> usize {
        what as usize
    }

    /// A place for a publisher of `id`, for the caller `principal`.
    /// `existing` is how many of `what` the hub has now, `exists` whether
    /// `id` is among them (taking over an existing ID creates nothing).
    pub fn claim(
        self: &Arc<Self>,
        what: Held,
        principal: &crate::auth::Principal,
        id: &str,
        existing: usize,
        exists: bool,
    ) -> Result<QuotaClaim, crate::ApiError> {
        let i = Self::index(what);
        if !exists && existing >= self.total[i] {
            let message = format!(
                "the relay holds its limit of {} {} (--max-{})",
                self.total[i],
                what.noun(),
                flag(what, false)
            );
            return Err(crate::ApiError::Quota {
                code: "too_many_streams",
                message,
            });
        }
        let crate::auth::Principal::Token { id: token, .. } = principal else {
            return Ok(QuotaClaim {
                quota: self.clone(),
                key: None,
                id: id.to_owned(),
            });
        };
        let key = (what, token.clone());
        let mut held = self.held.lock();
        let ids = held.entry(key.clone()).or_default();
        if !ids.contains_key(id) && ids.len() >= self.per_token[i] {
            let message = format!(
                "this token already publishes {} {}, its limit (--max-{})",
                ids.len(),
                what.noun(),
                flag(what, true)
            );
            return Err(crate::ApiError::Quota {
                code: "token_quota",
                message,
            });
        }
        *ids.entry(id.to_owned()).or_insert(0) += 1;
        Ok(QuotaClaim {
            quota: self.clone(),
            key: Some(key),
            id: id.to_owned(),
        })
    }
}

fn flag(what: Held, per_token: bool) -> &'static str {
    match (what, per_token) {
        (Held::Stream, false) => "streams",
        (Held::Stream, true) => "streams-per-token",
        (Held::Source, false) => "sources",
        (Held::Source, true) => "sources-per-token",
    }
}

impl Drop for QuotaClaim {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut held = self.quota.held.lock();
        if let Some(ids) = held.get_mut(&key) {
            if let Some(n) = ids.get_mut(&self.id) {
                *n -= 1;
                if *n == 0 {
                    ids.remove(&self.id);
                }
            }
            if ids.is_empty() {
                held.remove(&key);
            }
        }
    }
}

/// The whole answer sent to a refused connection.
pub fn refusal(reason: &str) -> Vec<u8> {
    let body = relaydeck_contract::api::ApiErrorBody::new("too_many_connections", reason);
    let body = serde_json::to_string(&body).expect("serialisable");
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

    #[test]
    fn a_token_holds_at_most_its_quota_and_takeovers_create_nothing() {
        let config = crate::ServerConfig {
            max_streams_per_token: 2,
            max_streams: 3,
            ..crate::ServerConfig::default()
        };
        let q = Arc::new(PublishQuota::new(&config));
        let tok = crate::auth::Principal::Token {
            id: "t".into(),
            scope: crate::auth::Scope::Publish,
            ids: None,
        };
        let a = q.claim(Held::Stream, &tok, "a", 0, false).unwrap();
        let _b = q.claim(Held::Stream, &tok, "b", 1, false).unwrap();
        let again = q
            .claim(Held::Stream, &tok, "a", 2, true)
            .expect("the same ID again is no new stream");
        assert!(matches!(
            q.claim(Held::Stream, &tok, "c", 2, false),
            Err(crate::ApiError::Quota {
                code: "token_quota",
                ..
            })
        ));
        assert!(
            q.claim(Held::Source, &tok, "c", 0, false).is_ok(),
            "sources count apart from streams"
        );
        assert!(matches!(
            q.claim(Held::Stream, &crate::auth::Principal::Admin, "d", 3, false),
            Err(crate::ApiError::Quota {
                code: "too_many_streams",
                ..
            })
        ));
        drop((a, again));
        assert!(
            q.claim(Held::Stream, &tok, "c", 2, false).is_ok(),
            "a place is given back when its publishers leave"
        );
    }
}
