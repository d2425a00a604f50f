//! Binding, the accept loop, graceful shutdown and the idle sweep.
//!
//! The relay runs its own accept loop over hyper's HTTP/1.1 connection
//! (with upgrades) rather than `axum::serve`: it sets `TCP_NODELAY` on every
//! socket, gives each connection its peer address, and is where
//! connection limits belong.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::extract::{ConnectInfo, FromRef};
use hyper::{body::Incoming, server::conn::http1, Request};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use relaydeck_hub::{Hub, StreamId};
use tokio::{
    net::{TcpListener, UdpSocket},
    task::JoinHandle,
};
use tower::ServiceExt;

use crate::{
    auth::Auth,
    auth::AuthError,
    config::ServerConfig,
    edges::devkit::{self, Devkits},
    library::FileLibrary,
    limits::{refusal, ConnectionLimits},
    router,
    state::{AppState, Stores},
    store::{
        camera_names::{CameraNames, CameraNamesError},
        devices::{DeviceRegistry, RegistryError},
        settings::{Settings, SettingsHandle},
    },
    tls::{self, Tls, TlsError},
};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the device registry: {0}")]
    Registry(#[from] RegistryError),
    #[error("cannot open the camera names: {0}")]
    CameraNames(#[from] CameraNamesError),
    #[error("cannot open the credentials: {0}")]
    Auth(#[from] AuthError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot open the audio library or the recordings in {path}: {source}")]
    Library {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the data directory {path} private: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cluster: {0}")]
    Cluster(#[from] crate::cluster::LinkError),
}

/// A bound, not yet running, relay server.
pub struct Server {
    state: AppState,
    /// The devkit edge's live sessions (the state holds them as a
    /// [`DevkitService`](crate::devkit_service::DevkitService)).
    devkits: Arc<Devkits>,
    listener: TcpListener,
    devkit_tcp: TcpListener,
    devkit_udp: UdpSocket,
    generated_password: Option<String>,
    tls: Option<Tls>,
}

impl Server {
    /// Opens the device registry and binds the HTTP port and the devkit ports.
    pub async fn bind(config: ServerConfig, hub: Hub) -> Result<Self, ServerError> {
        let settings = SettingsHandle::in_memory(config.as_settings(Settings::default()));
        Self::bind_with_settings(config, hub, settings).await
    }

    /// [`Server::bind`] with the user's settings (persisted by their store,
    /// followed live by the hub and whoever else subscribes).
    pub async fn bind_with_settings(
        config: ServerConfig,
        hub: Hub,
        settings: SettingsHandle,
    ) -> Result<Self, ServerError> {
        let addr = config.bind;
        let dir = config.data_dir();
        crate::store::private_data_dir(&dir).map_err(|source| ServerError::DataDir {
            path: dir.clone(),
            source,
        })?;
        let devices = DeviceRegistry::open(&dir)?;
        let camera_names = CameraNames::open(&dir)?;
        for (id, name) in camera_names.all() {
            match StreamId::new(&id) {
                Ok(id) => hub.set_label(&id, Some(name)),
                Err(e) => tracing::warn!(%id, error = %e, "ignoring a stored camera name"),
            }
        }
        let (auth, generated_password) =
            Auth::open(&config.data_dir(), config.admin_password.as_deref())?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        // From here on the configuration names the port actually bound (port 0 asks for any).
        let mut config = config;
        config.bind = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let tcp_addr = SocketAddr::new(config.devkit_ip(), config.devkit_tcp_port);
        let devkit_tcp = TcpListener::bind(tcp_addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: tcp_addr,
                source,
            })?;
        let udp_addr = SocketAddr::new(config.devkit_ip(), config.devkit_udp_port);
        let devkit_udp = devkit::udp::bind(udp_addr).map_err(|source| ServerError::Bind {
            addr: udp_addr,
            source,
        })?;
        // One certificate for HTTPS and the devkit channel (boards pin its fingerprint).
        let tls = match config.tls_enabled() || config.devkit_tls_enabled() {
            true => Some(tls::load(
                &config.data_dir(),
                config.tls_cert.as_deref(),
                config.tls_key.as_deref(),
            )?),
            false => None,
        };
        let devkit_tls = tls
            .as_ref()
            .filter(|_| config.devkit_tls_enabled())
            .map(|t| (t.devkit.clone(), t.fingerprint.clone()));
        let tls = tls.filter(|_| config.tls_enabled());
        let devkits = Devkits::new();
        let library =
            FileLibrary::open(&dir.join("library")).map_err(|source| ServerError::Library {
                path: dir.join("library"),
                source,
            })?;
        let record_dir = config.record_dir();
        let recorders = crate::edges::record::Recorders::open(&record_dir, config.record_limits())
            .map_err(|source| ServerError::Library {
                path: record_dir.clone(),
                source,
            })?;
        let stores = Stores {
            devices,
            camera_names,
            library,
            recorders,
        };
        let cluster = match config.cluster.enabled() {
            true => {
                let scheme = if config.tls_enabled() {
                    "https"
                } else {
                    "http"
                };
                let url = config
                    .cluster
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("{scheme}://{}", config.bind));
                let view = crate::cluster::ClusterView::member(config.cluster.node(), url);
                view.set_link(crate::cluster::Link::connect(&config.cluster).await?);
                view
            }
            false => crate::cluster::ClusterView::single(),
        };
        let mut state = AppState::new(hub, config, stores, auth, settings, devkits.clone());
        state.cluster = Arc::new(cluster);
        devkits.set_addrs(
            devkit_tcp.local_addr().expect("bound"),
            devkit_udp.local_addr().expect("bound"),
        );
        if let Some((acceptor, fingerprint)) = devkit_tls {
            devkits.set_tls(acceptor, fingerprint);
        }
        Ok(Self {
            state,
            devkits,
            listener,
            devkit_tcp,
            devkit_udp,
            generated_password,
            tls,
        })
    }

    /// Wires this computer's devices (the binary's capture crate) into the relay.
    pub fn with_host(mut self, host: crate::host::Host) -> Self {
        self.state.recorders.set_scaler(host.frames.clone());
        self.state.host = host;
        self
    }

    /// The TLS certificate in use: its path, SHA-256 fingerprint, and whether it was generated.
    pub fn tls_info(&self) -> Option<(&std::path::Path, &str, bool)> {
        self.tls
            .as_ref()
            .map(|t| (t.cert_path.as_path(), t.fingerprint.as_str(), t.self_signed))
    }

    /// The admin password generated on first start (to be shown once), if one was.
    pub fn generated_password(&self) -> Option<&str> {
        self.generated_password.as_deref()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs until `shutdown` resolves, then closes every socket (WebSockets
    /// with 1001) and waits up to 10 s for connections to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Self {
            state,
            devkits,
            listener,
            devkit_tcp,
            devkit_udp,
            tls,
            ..
        } = self;
        let app = router::build(state.clone());
        let sweeper = tokio::spawn(sweep_loop(state.clone()));
        let follower = tokio::spawn(follow_settings(state.clone()));
        let metrics_state = crate::state::MetricsState::from_ref(&state);
        let sampler = tokio::spawn(crate::metrics::history::run(
            state.status_history.clone(),
            move || crate::metrics::status_sample(&metrics_state),
            state.shutdown.clone(),
        ));
        let record_rules = tokio::spawn(crate::edges::record::rules::run(
            state.recorders.clone(),
            state.hub.clone(),
            state.settings.clone(),
            state.shutdown.clone(),
        ));
        let credentials = state.cluster.link().cloned().map(|link| {
            tokio::spawn(crate::cluster::credentials::run(
                link,
                state.auth.clone(),
                state.revocations.clone(),
                state.shutdown.clone(),
            ))
        });
        let bridge = state.cluster.link().cloned().map(|link| {
            tokio::spawn(crate::cluster::bridge::run(
                state.cluster.clone(),
                link,
                state.hub.clone(),
                state.shutdown.clone(),
            ))
        });
        let tls = tls.map(|t| t.acceptor);
        let udp = tokio::spawn(devkit::udp::run(devkit_udp, devkits.clone()));
        let limits = ConnectionLimits::new(
            state.config.max_connections,
            state.config.max_connections_per_ip,
        );
        let devkit_accept = tokio::spawn(devkit_accept_loop(
            state.clone(),
            devkits,
            devkit_tcp,
            limits.clone(),
        ));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = &mut shutdown => break,
                _ = state.shutdown.cancelled() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let permit = match limits.admit(peer.ip()) {
                Ok(p) => p,
                Err(reason) => {
                    tracing::warn!(%peer, "connection refused: {reason}");
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut tcp = tcp;
                        // Read the request head first: a client that is still
                        // sending would otherwise see a reset, not the answer.
                        let mut head = Vec::with_capacity(1024);
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            let mut buf = [0u8; 1024];
                            while !head.windows(4).any(|w| w == b"\r\n\r\n")
                                && head.len() < 16 * 1024
                            {
                                match tcp.read(&mut buf).await {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => head.extend_from_slice(&buf[..n]),
                                }
                            }
                        })
                        .await;
                        let _ = tokio::time::timeout(
                            Duration::from_secs(2),
                            tcp.write_all(&refusal(&reason)),
                        )
                        .await;
                        let _ = tcp.shutdown().await;
                    });
                    continue;
                }
            };
            spawn_connection(
                &state,
                &app,
                tcp,
                peer,
                permit,
                tls.clone(),
                state.shutdown.clone(),
            );
        }
        tracing::info!("shutting down");
        state.shutdown.cancel();
        // Recordings are closed whole (synced, headers true) before the process ends.
        state.recorders.stop_all().await;
        state.tasks.close();
        if tokio::time::timeout(Duration::from_secs(10), state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish within 10 s");
        }
        sweeper.abort();
        follower.abort();
        sampler.abort();
        record_rules.abort();
        udp.abort();
        devkit_accept.abort();
        // The bridge deletes this node's presence on its way out (bounded: NATS may be down).
        if let Some(c) = credentials {
            c.abort();
        }
        if let Some(bridge) = bridge {
            let _ = tokio::time::timeout(Duration::from_secs(3), bridge).await;
        }
    }

    /// Runs the server on the current runtime; for tests and the desktop shell.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr();
        let state = self.state.clone();
        let handle = tokio::spawn(self.run(std::future::pending()));
        RunningServer {
            addr,
            state,
            handle,
        }
    }
}

/// A server running in the background.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    handle: JoinHandle<()>,
}

impl RunningServer {
    pub fn hub(&self) -> &Hub {
        &self.state.hub
    }

    /// Stops accepting, closes every socket and waits for the server to finish.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        let _ = self.handle.await;
    }
}

/// Serves an accepted connection as a tracked task: TLS first when `tls` is
/// given, then HTTP/1.1 with upgrades, until it ends or `stop` is cancelled.
/// The main listener and the phone pairing's listener both use it.
pub(crate) fn spawn_connection(
    state: &AppState,
    app: &axum::Router,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    permit: crate::limits::ConnectionPermit,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: tokio_util::sync::CancellationToken,
) {
    let _ = tcp.set_nodelay(true);
    // Every request carries the connection's permit, so an upgraded
    // WebSocket keeps its place under the caps after HTTP is done.
    let permit = Arc::new(permit);
    let request_permit = permit.clone();
    let svc = app.clone().map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(request_permit.clone());
        req
    });
    let header_timeout = state.config.header_timeout;
    state.tasks.spawn(async move {
        let _permit = permit;
        let svc = TowerToHyperService::new(svc);
        let Some(acceptor) = tls else {
            return serve_connection(TokioIo::new(tcp), svc, peer, header_timeout, stop).await;
        };
        match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                serve_connection(TokioIo::new(stream), svc, peer, header_timeout, stop).await
            }
            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    });
}

/// Serves one HTTP/1.1 connection (with upgrades) until it ends or the server stops.
async fn serve_connection<I, S>(
    io: I,
    svc: S,
    peer: SocketAddr,
    header_timeout: Duration,
    token: tokio_util::sync::CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as http_body::Body>::Data: Send,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(io, svc)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => if let Err(e) = res { tracing::debug!(%peer, "connection ended: {e}") },
        _ = token.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

/// Accepts devkit command connections; each runs as a tracked task.
/// Devkit connections count against the same caps as HTTP ones.
async fn devkit_accept_loop(
    state: AppState,
    devkits: Arc<Devkits>,
    listener: TcpListener,
    limits: std::sync::Arc<ConnectionLimits>,
) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let permit = match limits.admit(peer.ip()) {
                    Ok(p) => p,
                    Err(reason) => {
                        tracing::warn!(%peer, "devkit connection refused: {reason}");
                        continue;
                    }
                };
                let session = devkit::accept::serve(state.clone(), devkits.clone(), tcp, peer);
                state.tasks.spawn(async move {
                    let _permit = permit;
                    session.await
                });
            }
            Err(e) => {
                tracing::warn!("devkit accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Applies the settings the relay itself follows live (the hub's ring size).
async fn follow_settings(state: AppState) {
    let mut settings = state.settings.subscribe();
    loop {
        let ring = settings.borrow_and_update().ring_frames;
        if ring != state.hub.ring_frames() {
            state.hub.set_ring_frames(ring);
            tracing::info!(ring, "ring size for new cameras changed");
        }
        if settings.changed().await.is_err() {
            return;
        }
    }
}

async fn sweep_loop(state: AppState) {
    let mut tick = tokio::time::interval(state.config.sweep_interval);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = second.tick() => {
                // Expired tokens end what they opened within a second.
                let ended = state.revocations.expire(crate::secrets::now_ms());
                if ended > 0 {
                    tracing::info!(tokens = ended, "expired tokens: their streams and sockets were closed");
                }
                continue;
            }
        }
        for id in state.hub.sweep(std::time::Instant::now()) {
            tracing::info!(camera = %id, "removed camera idle for {:?}", state.config.client_timeout);
        }
    }
}
