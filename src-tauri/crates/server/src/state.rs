//! State shared by every handler.

use std::{sync::Arc, time::Instant};

use relaydeck_hub::Hub;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{limiter::LoginLimiter, policy::Rule, Auth, Revocations},
    config::ServerConfig,
    edges::{audio_ws::ListenerIds, devkit::Devkits},
    limits::PublishQuota,
    store::{devices::DeviceRegistry, settings::SettingsHandle},
};

#[derive(Clone)]
pub struct AppState {
    pub hub: Hub,
    pub config: Arc<ServerConfig>,
    pub started: Instant,
    /// Cancelled when the server shuts down; long-lived sockets and streams
    /// watch it to close with 1001 / end their bodies.
    pub shutdown: CancellationToken,
    /// Every connection and upgraded socket, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// The device registry (the only writer of `devices.json`).
    pub devices: Arc<DeviceRegistry>,
    /// Live devkit sessions.
    pub devkits: Arc<Devkits>,
    /// Audio listeners by `listenerId`.
    pub listener_ids: Arc<ListenerIds>,
    /// Credentials, sessions, the login limiter.
    pub auth: Arc<Auth>,
    /// Failed devkit hellos per IP (limited like admin sign-ins).
    pub devkit_limiter: Arc<LoginLimiter>,
    /// What revoking or the expiry of a token ends (`auth::access`).
    pub revocations: Arc<Revocations>,
    /// Streams and sources held per publish token (`limits::PublishQuota`).
    pub quota: Arc<PublishQuota>,
    /// The policy table (`auth::policy`).
    pub policy: Arc<Vec<Rule>>,
    /// The user's settings, live.
    pub settings: SettingsHandle,
    /// This computer's cameras and microphones, as the binary wired them.
    pub host: crate::host::Host,
}

impl AppState {
    pub fn new(
        hub: Hub,
        config: ServerConfig,
        devices: DeviceRegistry,
        auth: Auth,
        settings: SettingsHandle,
    ) -> Self {
        let shutdown = CancellationToken::new();
        Self {
            revocations: Arc::new(Revocations::new(shutdown.clone())),
            devkit_limiter: Arc::default(),
            quota: Arc::new(PublishQuota::new(&config)),
            settings,
            auth: Arc::new(auth),
            policy: Arc::new(crate::auth::policy::table()),
            devices: Arc::new(devices),
            devkits: Devkits::new(),
            listener_ids: Arc::default(),
            hub,
            config: Arc::new(config),
            started: Instant::now(),
            host: crate::host::Host::default(),
            shutdown,
            tasks: TaskTracker::new(),
        }
    }
}

impl AppState {
    /// Pings and the liveness timeout of every socket.
    pub fn keepalive(&self) -> crate::ws::Keepalive {
        crate::ws::Keepalive {
            interval: self.config.ws_ping_interval,
            timeout: self.config.ws_timeout,
        }
    }

    /// Revokes API token `id`: refused from now on, and every stream and
    /// socket it opened ends.
    pub fn revoke_token(
        &self,
        id: &str,
    ) -> Result<crate::auth::TokenRecord, crate::auth::StoreError> {
        let record = self.auth.store.revoke_token(id)?;
        self.revocations.revoke(id);
        Ok(record)
    }
}
