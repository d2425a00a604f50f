//! State shared by every handler.

use std::{sync::Arc, time::Instant};

use relaydeck_hub::Hub;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::config::ServerConfig;

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
}

impl AppState {
    pub fn new(hub: Hub, config: ServerConfig) -> Self {
        Self {
            hub,
            config: Arc::new(config),
            started: Instant::now(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }
}
