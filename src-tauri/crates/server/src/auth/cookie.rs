//! Session cookies: `<expiry ms>.<session id>.<HMAC-SHA256>` signed with a
//! key kept in the data directory. The server also remembers live session
//! IDs, so logging out really ends a session.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::Sha256;

use super::{hex, now_ms, random_bytes, SESSION_LIFETIME};
use crate::secrets::unhex;

pub const COOKIE_NAME: &str = "relaydeck_session";

#[derive(Debug)]
pub struct CookieSigner {
    key: Vec<u8>,
    live: Mutex<HashMap<String, u64>>,
}

impl CookieSigner {
    pub fn new(key: Vec<u8>) -> Self {
        Self {
            key,
            live: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, msg: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(msg.as_bytes());
        mac
    }

    /// A new session (a fresh ID every login: sessions rotate).
    pub fn issue(&self) -> String {
        let expires = now_ms() + SESSION_LIFETIME.as_millis() as u64;
        let id = hex(&random_bytes(16));
        self.live.lock().insert(id.clone(), expires);
        let msg = format!("{expires}.{id}");
        format!("{msg}.{}", hex(&self.mac(&msg).finalize().into_bytes()))
    }

    /// The session ID, if the value is authentic, unexpired and not logged out.
    pub fn verify(&self, value: &str) -> Option<String> {
        let (msg, sig) = value.rsplit_once('.')?;
        let sig = unhex(sig)?;
        self.mac(msg).verify_slice(&sig).ok()?;
        let (expires, id) = msg.split_once('.')?;
        let expires: u64 = expires.parse().ok()?;
        let now = now_ms();
        if expires <= now {
            return None;
        }
        let mut live = self.live.lock();
        live.retain(|_, e| *e > now);
        live.contains_key(id).then(|| id.to_owned())
    }

    pub fn revoke(&self, value: &str) {
        if let Some(id) = self.verify(value) {
            self.live.lock().remove(&id);
        }
    }

    /// The `Set-Cookie` value for a session.
    pub fn set_cookie(value: &str, secure: bool) -> String {
        format!(
            "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            SESSION_LIFETIME.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    pub fn clear_cookie(secure: bool) -> String {
        format!(
            "{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if secure { "; Secure" } else { "" }
        )
    }

    /// Signs a session value with any expiry (in-process only: it needs the
    /// key). Tests of expiry use it.
    pub fn forge_with_expiry(&self, id: &str, expires: u64) -> String {
        let msg = format!("{expires}.{id}");
        format!("{msg}.{}", hex(&self.mac(&msg).finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_verify_only_untampered_unexpired_and_live() {
        let s = CookieSigner::new(vec![7; 32]);
        let c = s.issue();
        let id = s.verify(&c).expect("fresh cookie verifies");
        let mut tampered = c.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(s.verify(std::str::from_utf8(&tampered).unwrap()).is_none());
        let longer = c.replacen(
            &c[..13],
            &(c[..13].parse::<u64>().unwrap() + 1000).to_string(),
            1,
        );
        assert!(
            s.verify(&longer).is_none(),
            "changing the expiry breaks the signature"
        );
        assert!(
            s.verify(&s.forge_with_expiry(&id, now_ms() - 1)).is_none(),
            "expired"
        );
        assert!(
            CookieSigner::new(vec![8; 32]).verify(&c).is_none(),
            "another key"
        );
        s.revoke(&c);
        assert!(s.verify(&c).is_none(), "logged out");
    }
}
