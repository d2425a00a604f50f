//! The phone pairing's credential: a short-lived pass that may register one
//! device and follow it, and nothing else.
//!
//! There is at most one pass at a time (the desktop app opens one phone
//! pairing). It is kept in memory only: it lives minutes, and a restart
//! ends the pairing it belonged to. Its secret is shown once, inside the
//! URL the QR code carries; only its SHA-256 is kept.

use parking_lot::Mutex;

use super::{hex, now_ms, random_bytes, same, Principal};

#[derive(Debug, Clone)]
struct Pass {
    id: String,
    sha256: String,
    expires_ms: u64,
    /// The device this pass registered (it may register one).
    device: Option<String>,
    /// A registration with this pass is under way (so a second request
    /// sent at the same moment cannot register a second board).
    registering: bool,
}

/// The live pass, if a phone pairing is open.
#[derive(Debug, Default)]
pub struct PairingPasses {
    current: Mutex<Option<Pass>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PassError {
    #[error(
        "this pairing link has already registered a board ({0}); remove it from the pairing first"
    )]
    Used(String),
    #[error("this pairing link is registering a board right now; wait for it to finish")]
    Busy,
    #[error("this pairing has ended")]
    Ended,
}

/// Pass secrets start with this, so a leaked one is recognisable.
pub const PASS_PREFIX: &str = "rdp_";

impl PairingPasses {
    /// Issues a new pass valid until `expires_ms` (an earlier one ends);
    /// returns its ID and its secret.
    pub fn issue(&self, expires_ms: u64) -> (String, String) {
        let secret = format!("{PASS_PREFIX}{}", hex(&random_bytes(24)));
        let id = format!("pass-{}", hex(&random_bytes(4)));
        *self.current.lock() = Some(Pass {
            id: id.clone(),
            sha256: crate::secrets::sha256_hex(&secret),
            expires_ms,
            device: None,
            registering: false,
        });
        (id, secret)
    }

    /// The principal `secret` stands for, and when it expires.
    pub fn principal(&self, secret: &str) -> Option<(Principal, u64)> {
        if !secret.starts_with(PASS_PREFIX) {
            return None;
        }
        let hash = crate::secrets::sha256_hex(secret);
        let current = self.current.lock();
        let pass = current.as_ref()?;
        if !same(pass.sha256.as_bytes(), hash.as_bytes()) || now_ms() >= pass.expires_ms {
            return None;
        }
        Some((
            Principal::Pairing {
                pass: pass.id.clone(),
                device: pass.device.clone(),
            },
            pass.expires_ms,
        ))
    }

    /// Starts the one registration pass `id` may make: refused while one is
    /// under way or after one succeeded. The registration ends with
    /// [`Registration::claim`], or is given back when it is dropped unclaimed.
    pub fn begin(&self, id: &str) -> Result<Registration<'_>, PassError> {
        let mut current = self.current.lock();
        let pass = current
            .as_mut()
            .filter(|p| p.id == id)
            .ok_or(PassError::Ended)?;
        if let Some(d) = &pass.device {
            return Err(PassError::Used(d.clone()));
        }
        if pass.registering {
            return Err(PassError::Busy);
        }
        pass.registering = true;
        Ok(Registration {
            passes: self,
            id: id.to_owned(),
            claimed: false,
        })
    }

    fn finish(&self, id: &str, device: Option<&str>) -> Result<(), PassError> {
        let mut current = self.current.lock();
        let pass = current
            .as_mut()
            .filter(|p| p.id == id)
            .ok_or(PassError::Ended)?;
        pass.registering = false;
        if let Some(d) = device {
            pass.device = Some(d.to_owned());
        }
        Ok(())
    }

    /// Pass `id` may register a board again (its device was removed).
    pub fn release(&self, id: &str, device: &str) {
        if let Some(p) = self.current.lock().as_mut().filter(|p| p.id == id) {
            if p.device.as_deref() == Some(device) {
                p.device = None;
            }
        }
    }

    /// The device pass `id` registered.
    pub fn device(&self, id: &str) -> Option<String> {
        let current = self.current.lock();
        current.as_ref().filter(|p| p.id == id)?.device.clone()
    }

    /// Ends pass `id` (no-op when another pass is current).
    pub fn end(&self, id: &str) {
        let mut current = self.current.lock();
        if current.as_ref().is_some_and(|p| p.id == id) {
            *current = None;
        }
    }
}

/// A registration in progress with a pass (see [`PairingPasses::begin`]).
#[must_use]
pub struct Registration<'a> {
    passes: &'a PairingPasses,
    id: String,
    claimed: bool,
}

impl Registration<'_> {
    /// The pass registered `device`; `Ended` when the pass ended meanwhile.
    pub fn claim(mut self, device: &str) -> Result<(), PassError> {
        self.claimed = true;
        self.passes.finish(&self.id, Some(device))
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if !self.claimed {
            let _ = self.passes.finish(&self.id, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later() -> u64 {
        now_ms() + 60_000
    }

    #[test]
    fn a_pass_stands_for_a_pairing_principal_until_it_ends() {
        let passes = PairingPasses::default();
        let (id, secret) = passes.issue(later());
        assert!(secret.starts_with(PASS_PREFIX));
        let (p, _) = passes.principal(&secret).expect("the pass works");
        assert_eq!(
            p,
            Principal::Pairing {
                pass: id.clone(),
                device: None
            }
        );
        assert!(!p.is_admin() && !p.can_view_some() && !p.can_publish_some());
        assert!(passes.principal("rdp_wrong").is_none());
        assert!(passes.principal("rdk_token").is_none());
        passes.end(&id);
        assert!(passes.principal(&secret).is_none(), "ended");
    }

    #[test]
    fn a_pass_expires() {
        let passes = PairingPasses::default();
        let (_, secret) = passes.issue(now_ms().saturating_sub(1));
        assert!(passes.principal(&secret).is_none());
    }

    #[test]
    fn a_new_pass_ends_the_old_one() {
        let passes = PairingPasses::default();
        let (old_id, old) = passes.issue(later());
        let registration = passes.begin(&old_id).unwrap();
        let (_, new) = passes.issue(later());
        assert!(passes.principal(&old).is_none() && passes.principal(&new).is_some());
        assert_eq!(registration.claim("dk-1"), Err(PassError::Ended));
        assert_eq!(passes.begin(&old_id).err(), Some(PassError::Ended));
    }

    #[test]
    fn a_pass_registers_one_device() {
        let passes = PairingPasses::default();
        let (id, secret) = passes.issue(later());
        passes.begin(&id).unwrap().claim("dk-1").unwrap();
        assert_eq!(
            passes.begin(&id).err(),
            Some(PassError::Used("dk-1".into()))
        );
        let (p, _) = passes.principal(&secret).unwrap();
        assert_eq!(p.pairing_device(), Some("dk-1"));
        passes.release(&id, "dk-1");
        passes
            .begin(&id)
            .unwrap()
            .claim("dk-2")
            .expect("free again once released");
        assert_eq!(passes.device(&id).as_deref(), Some("dk-2"));
    }

    #[test]
    fn one_registration_at_a_time_and_a_failed_one_gives_the_pass_back() {
        let passes = PairingPasses::default();
        let (id, _) = passes.issue(later());
        let first = passes.begin(&id).unwrap();
        assert_eq!(
            passes.begin(&id).err(),
            Some(PassError::Busy),
            "a second request sent at the same moment"
        );
        drop(first); // that registration failed
        passes
            .begin(&id)
            .expect("the pass may try again")
            .claim("dk-1")
            .unwrap();
        assert_eq!(passes.device(&id).as_deref(), Some("dk-1"));
    }
}
