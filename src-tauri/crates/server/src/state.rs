//! State shared by every handler.

use std::{sync::Arc, time::Instant};

use relaydeck_hub::Hub;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{policy::Rule, Auth},
    config::ServerConfig,
    edges::{audio_ws::ListenerIds, devkit::Devkits},
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
    /// The policy table (`auth::policy`).
    pub policy: Arc<Vec<Rule>>,
    /// The user's settings, live.
    pub settings: SettingsHandle,
}

impl AppState {
    pub fn new(
        hub: Hub,
        config: ServerConfig,
        devices: DeviceRegistry,
        auth: Auth,
        settings: SettingsHandle,
    ) -> Self {
        Self {
            settings,
            auth: Arc::new(auth),
            policy: Arc::new(crate::auth::policy::table()),
            devices: Arc::new(devices),
            devkits: Devkits::new(),
            listener_ids: Arc::default(),
            hub,
            config: Arc::new(config),
            started: Instant::now(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }
}
