//! State shared by every handler, and the sub-states a handler may name
//! instead (`State<Hub>`, `State<DeviceState>`, …, through `FromRef`), so a
//! handler asks for what it uses. This module imports no edge: what the
//! REST API may ask of the devkit edge is [`DevkitService`].

use std::{sync::Arc, time::Instant};

use axum::extract::FromRef;
use relaydeck_hub::Hub;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{limiter::LoginLimiter, policy::Rule, Auth, Revocations},
    config::ServerConfig,
    devkit_service::DevkitService,
    host::Host,
    library::FileLibrary,
    limits::PublishQuota,
    listeners::ListenerIds,
    metrics::Meters,
    store::{camera_names::CameraNames, devices::DeviceRegistry, settings::SettingsHandle},
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
    /// The admin's camera names (the only writer of `camera-names.json`).
    pub camera_names: Arc<CameraNames>,
    /// The audio library (the only writer of `library/`).
    pub library: Arc<FileLibrary>,
    /// Recorders and the recordings (the only writer of the record directory).
    pub recorders: Arc<crate::edges::record::Recorders>,
    /// Live devkit sessions, as the REST API may use them.
    pub devkits: Arc<dyn DevkitService>,
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
    pub host: Host,
    /// "Pair with your phone": its temporary listener and the phone's progress.
    pub phone_pairing: Arc<crate::phone_pairing::PhonePairing>,
    /// WebRTC peers (limits, `clientId`s), the shared Opus encoders, WHEP sessions.
    pub webrtc: Arc<crate::edges::webrtc::WebRtcShared>,
    /// What the edges count for `/metrics` (connections, bytes, requests).
    pub meters: Arc<Meters>,
    /// The last 15 minutes of the counters (the Status page).
    pub status_history: Arc<crate::metrics::history::StatusHistoryRing>,
    /// The cluster as this node sees it (a lone node's says so).
    pub cluster: Arc<crate::cluster::ClusterView>,
}

/// The stores on disk the state owns, opened by [`crate::Server`].
pub struct Stores {
    pub devices: DeviceRegistry,
    pub camera_names: CameraNames,
    pub library: FileLibrary,
    pub recorders: crate::edges::record::Recorders,
}

impl AppState {
    pub fn new(
        hub: Hub,
        config: ServerConfig,
        stores: Stores,
        auth: Auth,
        settings: SettingsHandle,
        devkits: Arc<dyn DevkitService>,
    ) -> Self {
        let shutdown = CancellationToken::new();
        let status_history = Arc::new(crate::metrics::history::StatusHistoryRing::new(
            config.status_interval,
        ));
        Self {
            revocations: Arc::new(Revocations::new(shutdown.clone())),
            devkit_limiter: Arc::default(),
            quota: Arc::new(PublishQuota::new(&config)),
            settings,
            auth: Arc::new(auth),
            policy: Arc::new(crate::auth::policy::table()),
            devices: Arc::new(stores.devices),
            camera_names: Arc::new(stores.camera_names),
            library: Arc::new(stores.library),
            recorders: Arc::new(stores.recorders),
            devkits,
            listener_ids: Arc::default(),
            hub,
            config: Arc::new(config),
            started: Instant::now(),
            host: Host::default(),
            phone_pairing: Arc::default(),
            webrtc: Arc::default(),
            meters: Arc::default(),
            status_history,
            cluster: Arc::new(crate::cluster::ClusterView::single()),
            shutdown,
            tasks: TaskTracker::new(),
        }
    }

    /// What the device routes (and native pairing) use.
    pub fn device_state(&self) -> DeviceState {
        DeviceState::from_ref(self)
    }

    /// Pings and the liveness timeout of every socket.
    pub fn keepalive(&self) -> crate::ws::Keepalive {
        MediaState::from_ref(self).keepalive()
    }

    /// Revokes API token `id`: refused from now on, and every stream and
    /// socket it opened ends.
    pub fn revoke_token(
        &self,
        id: &str,
    ) -> Result<crate::auth::TokenRecord, crate::auth::StoreError> {
        AccountState::from_ref(self).revoke_token(id)
    }
}

/// What sign-in, tokens, the session and the settings routes use.
#[derive(Clone)]
pub struct AccountState {
    pub auth: Arc<Auth>,
    pub config: Arc<ServerConfig>,
    pub settings: SettingsHandle,
    pub revocations: Arc<Revocations>,
    pub cluster: Arc<crate::cluster::ClusterView>,
}

impl AccountState {
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

impl FromRef<AppState> for AccountState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            auth: s.auth.clone(),
            config: s.config.clone(),
            settings: s.settings.clone(),
            revocations: s.revocations.clone(),
            cluster: s.cluster.clone(),
        }
    }
}

impl FromRef<AppState> for Arc<ServerConfig> {
    fn from_ref(s: &AppState) -> Self {
        s.config.clone()
    }
}

impl FromRef<AppState> for Hub {
    fn from_ref(s: &AppState) -> Self {
        s.hub.clone()
    }
}

impl FromRef<AppState> for Host {
    fn from_ref(s: &AppState) -> Self {
        s.host.clone()
    }
}

impl FromRef<AppState> for SettingsHandle {
    fn from_ref(s: &AppState) -> Self {
        s.settings.clone()
    }
}

/// What the device routes use: the registry, the live sessions, the hub
/// (for a device's audio source) and the command timeout.
#[derive(Clone)]
pub struct DeviceState {
    pub hub: Hub,
    pub devices: Arc<DeviceRegistry>,
    pub devkits: Arc<dyn DevkitService>,
    pub config: Arc<ServerConfig>,
}

impl FromRef<AppState> for DeviceState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            hub: s.hub.clone(),
            devices: s.devices.clone(),
            devkits: s.devkits.clone(),
            config: s.config.clone(),
        }
    }
}

/// What `/metrics` reads.
#[derive(Clone)]
pub struct MetricsState {
    pub hub: Hub,
    pub devices: Arc<DeviceRegistry>,
    pub devkits: Arc<dyn DevkitService>,
    pub meters: Arc<Meters>,
    pub started: Instant,
    pub history: Arc<crate::metrics::history::StatusHistoryRing>,
}

impl FromRef<AppState> for MetricsState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            hub: s.hub.clone(),
            devices: s.devices.clone(),
            devkits: s.devkits.clone(),
            meters: s.meters.clone(),
            started: s.started,
            history: s.status_history.clone(),
        }
    }
}

/// What `/api/health` and `/api/sources` report on: the hub, the registry
/// (which sources are devkits') and the start time.
#[derive(Clone)]
pub struct StatusState {
    pub hub: Hub,
    pub devices: Arc<DeviceRegistry>,
    pub started: Instant,
    pub cluster: Arc<crate::cluster::ClusterView>,
}

impl FromRef<AppState> for StatusState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            hub: s.hub.clone(),
            devices: s.devices.clone(),
            started: s.started,
            cluster: s.cluster.clone(),
        }
    }
}

/// What the camera routes, the MJPEG responses and the compatibility
/// aliases use: the hub, and the "camera unavailable" notice of the host.
#[derive(Clone)]
pub struct CameraState {
    pub hub: Hub,
    pub host: Host,
    pub names: Arc<CameraNames>,
    pub meters: Arc<Meters>,
    pub cluster: Arc<crate::cluster::ClusterView>,
}

impl FromRef<AppState> for CameraState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            hub: s.hub.clone(),
            host: s.host.clone(),
            names: s.camera_names.clone(),
            meters: s.meters.clone(),
            cluster: s.cluster.clone(),
        }
    }
}

impl CameraState {
    /// One camera as the API shows it, with the node that publishes it.
    pub fn camera(&self, s: &relaydeck_hub::VideoStream) -> relaydeck_contract::api::Camera {
        let node = self.cluster.node_of(
            relaydeck_contract::cluster::MediaKind::Video,
            s.id().as_str(),
        );
        crate::wire::camera(&s.snapshot(), node)
    }
}

/// What the live media edges use (the publish and listen sockets, live
/// WAV): the hub, the registry (a devkit's source may be listened to before
/// it connects), the limits, listener IDs, and the server's shutdown and
/// task tracker (every socket is a tracked task that ends with 1001).
#[derive(Clone)]
pub struct MediaState {
    pub hub: Hub,
    pub config: Arc<ServerConfig>,
    pub devices: Arc<DeviceRegistry>,
    pub quota: Arc<PublishQuota>,
    pub listener_ids: Arc<ListenerIds>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    pub meters: Arc<Meters>,
}

impl MediaState {
    /// Pings and the liveness timeout of every socket.
    pub fn keepalive(&self) -> crate::ws::Keepalive {
        crate::ws::Keepalive {
            interval: self.config.ws_ping_interval,
            timeout: self.config.ws_timeout,
        }
    }
}

impl FromRef<AppState> for MediaState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            hub: s.hub.clone(),
            config: s.config.clone(),
            devices: s.devices.clone(),
            quota: s.quota.clone(),
            listener_ids: s.listener_ids.clone(),
            shutdown: s.shutdown.clone(),
            tasks: s.tasks.clone(),
            meters: s.meters.clone(),
        }
    }
}

/// What the access guard decides with: credentials and sessions, the
/// policy table, the configuration (origins, trusted proxies) and what a
/// revocation ends.
#[derive(Clone)]
pub struct GuardState {
    pub auth: Arc<Auth>,
    pub config: Arc<ServerConfig>,
    pub policy: Arc<Vec<Rule>>,
    pub revocations: Arc<Revocations>,
}

impl FromRef<AppState> for GuardState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            auth: s.auth.clone(),
            config: s.config.clone(),
            policy: s.policy.clone(),
            revocations: s.revocations.clone(),
        }
    }
}

/// What the audio library's routes use.
#[derive(Clone)]
pub struct FilesState {
    pub library: Arc<FileLibrary>,
    /// Audio recordings are files of the library too.
    pub recordings: Arc<crate::edges::record::catalog::Catalog>,
    pub config: Arc<ServerConfig>,
}

impl FromRef<AppState> for FilesState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            library: s.library.clone(),
            recordings: s.recorders.catalog.clone(),
            config: s.config.clone(),
        }
    }
}

/// What the recording routes use.
#[derive(Clone)]
pub struct RecordState {
    pub hub: Hub,
    pub recorders: Arc<crate::edges::record::Recorders>,
}

impl FromRef<AppState> for RecordState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            hub: s.hub.clone(),
            recorders: s.recorders.clone(),
        }
    }
}
