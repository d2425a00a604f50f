//! "Pair with your phone": the desktop window has no Web Bluetooth, the
//! admin's phone has. The relay opens a temporary HTTPS listener on the LAN
//! (its own certificate) that serves only the pairing page and its API
//! (`Need::Pairing` routes, see `auth::guard`) to a pairing pass that may
//! register one device ([`crate::auth::pairing_pass`]). The phone reports
//! its steps; the admin follows them here (`GET /api/pairing/phone?since=`).
//!
//! The listener closes when the board comes online (after a short grace,
//! so the phone sees it too), when the admin cancels, when a new phone
//! pairing replaces it, or after `--pairing-timeout` (10 minutes). Closing
//! ends the pass and every connection made with it, and revokes a device the
//! phone registered that never came online.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use parking_lot::Mutex;
use relaydeck_contract::api::{
    PairingStep, PhonePairing as Status, PhonePairingState, PhoneProgress,
};
use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;

use crate::{auth::guard::PairingListener, secrets::now_ms, state::AppState};

/// How long the listener stays open once the board is online, so the phone
/// sees "online" too.
const GRACE: Duration = Duration::from_secs(5);
/// Connections the phone listener takes at once (one phone, a few sockets).
const MAX_CONNECTIONS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum PhonePairingError {
    #[error("this computer has no network address a phone could reach: connect it to the Wi-Fi the phone is on")]
    NoLanAddress,
    #[error("cannot load the relay's certificate: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("this pairing has ended")]
    Ended,
    #[error("{0}")]
    BadProgress(String),
}

#[derive(Default)]
struct Inner {
    status: Option<Status>,
    pass: Option<String>,
    repaired: bool,
    stop: Option<CancellationToken>,
}

/// The phone pairing: at most one open at a time.
pub struct PhonePairing {
    inner: Mutex<Inner>,
    revision: watch::Sender<u64>,
}

impl Default for PhonePairing {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            revision: watch::channel(0).0,
        }
    }
}

impl PhonePairing {
    /// Where it stands.
    pub fn status(&self) -> Status {
        let inner = self.inner.lock();
        let mut status = inner.status.clone().unwrap_or_else(|| Status {
            state: PhonePairingState::None,
            revision: 0,
            url: None,
            fingerprint: None,
            expires_ms: None,
            steps: vec![],
            message: None,
            device_id: None,
            reason: None,
        });
        status.revision = *self.revision.borrow();
        status
    }

    /// The pass of the open pairing, if one is open.
    pub fn open_pass(&self) -> Option<String> {
        self.inner.lock().pass.clone()
    }

    /// The status once its revision is past `since`, or after `wait` as it is.
    pub async fn status_after(&self, since: u64, wait: Duration) -> Status {
        let mut rx = self.revision.subscribe();
        let _ = tokio::time::timeout(wait, rx.wait_for(|r| *r > since)).await;
        self.status()
    }

    fn update(&self, inner: &mut Inner, change: impl FnOnce(&mut Status)) {
        if let Some(status) = inner.status.as_mut() {
            change(status);
            self.revision.send_modify(|r| *r += 1);
        }
    }

    /// Opens the listener and issues the pass; an open pairing is closed first.
    pub async fn open(&self, state: &AppState) -> Result<Status, PhonePairingError> {
        self.close(state, "a new phone pairing replaced it");
        let config = &state.config;
        let ip = config
            .pairing_address
            .or_else(|| crate::lan::ipv4_addresses().into_iter().next())
            .ok_or(PhonePairingError::NoLanAddress)?;
        let tls = crate::tls::load(
            &config.data_dir(),
            config.tls_cert.as_deref(),
            config.tls_key.as_deref(),
        )?;
        let addr = SocketAddr::new(ip, config.pairing_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| PhonePairingError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| PhonePairingError::Bind { addr, source })?;
        let expires_ms = now_ms() + config.pairing_timeout.as_millis() as u64;
        let (pass, secret) = state.auth.passes.issue(expires_ms);
        let stop = state.shutdown.child_token();
        let host = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        {
            let mut inner = self.inner.lock();
            inner.pass = Some(pass.clone());
            inner.repaired = false;
            inner.stop = Some(stop.clone());
            inner.status = Some(Status {
                state: PhonePairingState::Open,
                revision: 0,
                url: Some(format!(
                    "https://{host}:{}/pair?token={secret}",
                    addr.port()
                )),
                fingerprint: Some(tls.fingerprint.clone()),
                expires_ms: Some(expires_ms),
                steps: vec![],
                message: None,
                device_id: None,
                reason: None,
            });
            self.revision.send_modify(|r| *r += 1);
        }
        tracing::info!(%addr, "phone pairing open (HTTPS, pairing page only)");
        let app = crate::router::build(state.clone()).layer(axum::Extension(PairingListener));
        tokio::spawn(accept_loop(
            state.clone(),
            app,
            listener,
            tls.acceptor,
            stop.clone(),
        ));
        tokio::spawn(watch_pairing(state.clone(), pass, stop));
        Ok(self.status())
    }

    /// Closes an open pairing (no-op otherwise): the listener goes, the pass
    /// ends, and a device it registered that never came online is revoked.
    pub fn close(&self, state: &AppState, reason: &str) {
        let (pass, stop, repaired) = {
            let mut inner = self.inner.lock();
            let (Some(pass), Some(stop)) = (inner.pass.take(), inner.stop.take()) else {
                return;
            };
            let repaired = inner.repaired;
            let reason = reason.to_owned();
            self.update(&mut inner, |s| {
                if s.state == PhonePairingState::Open {
                    s.state = PhonePairingState::Closed;
                    s.reason = Some(reason);
                }
                s.url = None;
            });
            (pass, stop, repaired)
        };
        let device = state.auth.passes.device(&pass);
        state.auth.passes.end(&pass);
        state.revocations.revoke(&pass);
        stop.cancel();
        let online = device
            .as_deref()
            .is_some_and(|d| state.devkits.session_info(d).is_some());
        if let (Some(d), false, false) = (&device, online, repaired) {
            // The pairing did not finish: the token it handed out must not outlive it.
            match crate::api::devices::revoke_device(&state.device_state(), d) {
                Ok(()) => {
                    tracing::info!(device = %d, "phone pairing abandoned: its device was revoked")
                }
                Err(e) => {
                    tracing::warn!(device = %d, "cannot revoke an abandoned pairing's device: {e}")
                }
            }
        }
        tracing::info!("phone pairing closed: {reason}");
    }

    /// The phone registered `device` with pass `pass` (its `registration`).
    pub fn claimed(
        &self,
        registration: crate::auth::pairing_pass::Registration<'_>,
        pass: &str,
        device: &str,
        repaired: bool,
    ) -> Result<(), crate::auth::pairing_pass::PassError> {
        registration.claim(device)?;
        let mut inner = self.inner.lock();
        if inner.pass.as_deref() == Some(pass) {
            inner.repaired = repaired;
            let device = device.to_owned();
            self.update(&mut inner, |s| s.device_id = Some(device));
        }
        Ok(())
    }

    /// The phone removed the device it registered (it gave up on that board).
    pub fn released(&self, state: &AppState, pass: &str, device: &str) {
        state.auth.passes.release(pass, device);
        let mut inner = self.inner.lock();
        if inner.pass.as_deref() == Some(pass) {
            inner.repaired = false;
            self.update(&mut inner, |s| s.device_id = None);
        }
    }

    /// The phone's report of its steps.
    pub fn progress(&self, pass: &str, report: PhoneProgress) -> Result<(), PhonePairingError> {
        check_progress(&report)?;
        let mut inner = self.inner.lock();
        if inner.pass.as_deref() != Some(pass) {
            return Err(PhonePairingError::Ended);
        }
        self.update(&mut inner, |s| {
            s.steps = report.steps;
            s.message = report.message;
        });
        Ok(())
    }

    fn mark_paired(&self, pass: &str) {
        let mut inner = self.inner.lock();
        if inner.pass.as_deref() == Some(pass) {
            self.update(&mut inner, |s| s.state = PhonePairingState::Paired);
        }
    }
}

fn check_progress(report: &PhoneProgress) -> Result<(), PhonePairingError> {
    let bad = |m: &str| Err(PhonePairingError::BadProgress(m.to_owned()));
    if report.steps.len() > 16 {
        return bad("at most 16 steps");
    }
    let long = |s: &PairingStep| s.step.chars().count() > 40 || s.detail.chars().count() > 300;
    if report.steps.iter().any(long) {
        return bad("a step's name is at most 40 characters, its detail at most 300");
    }
    if report
        .message
        .as_ref()
        .is_some_and(|m| m.chars().count() > 300)
    {
        return bad("the message is at most 300 characters");
    }
    Ok(())
}

/// Serves the phone listener until the pairing closes. The router is the
/// relay's own, marked as the phone listener's (the guard then serves only
/// the pairing routes, to the pass only).
async fn accept_loop(
    state: AppState,
    app: axum::Router,
    listener: TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    stop: CancellationToken,
) {
    let limits = crate::limits::ConnectionLimits::new(MAX_CONNECTIONS, MAX_CONNECTIONS);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("phone pairing accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.cancelled() => return, // dropping the listener closes the port
        };
        match limits.admit(peer.ip()) {
            Ok(permit) => crate::server::spawn_connection(
                &state,
                &app,
                tcp,
                peer,
                permit,
                Some(tls.clone()),
                stop.clone(),
            ),
            Err(reason) => tracing::warn!(%peer, "phone pairing connection refused: {reason}"),
        }
    }
}

/// Ends the pairing when it times out, or a little after its board is online.
async fn watch_pairing(state: AppState, pass: String, stop: CancellationToken) {
    let deadline = tokio::time::Instant::now() + state.config.pairing_timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(deadline) => {
                let t = state.config.pairing_timeout.as_secs();
                let after = match t {
                    0..=119 => format!("{t} s"),
                    _ => format!("{} minutes", t / 60),
                };
                state.phone_pairing.close(&state, &format!("it timed out after {after}"));
                return;
            }
            _ = tick.tick() => {}
        }
        let online = state
            .auth
            .passes
            .device(&pass)
            .is_some_and(|d| state.devkits.session_info(&d).is_some());
        if online {
            state.phone_pairing.mark_paired(&pass);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(GRACE) => {}
            }
            state.phone_pairing.close(&state, "the board is online");
            return;
        }
    }
}
