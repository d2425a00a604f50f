//! The node's connection to NATS and its key-value buckets.
//!
//! The client connects in the background and keeps reconnecting (to any
//! server of the list, and to those the cluster announces), so a node starts
//! and serves its local streams while NATS is down. What the connection is
//! doing is kept in [`LinkStatus`] for `/api/health` and the log says it
//! plainly, once per change.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{self, kv};

use parking_lot::Mutex;
use relaydeck_contract::cluster::{Buckets, Subjects};
use tokio::sync::watch;

use crate::config::{redact_url, ClusterConfig};

/// Why the cluster could not start at all (bad credentials files and such;
/// an unreachable server is not one: the node keeps trying).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot read the NATS credentials file {path}: {source}")]
    Credentials {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot use the NATS servers {urls}: {message}")]
    Connect { urls: String, message: String },
}

/// Whether the node is connected to NATS, and the last thing that went wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    pub connected: bool,
    /// The server the client talks to (redacted), when connected.
    pub server: Option<String>,
    pub last_error: Option<String>,
}

/// One node's NATS connection, its subjects and its buckets.
#[derive(Clone)]
pub struct Link {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub subjects: Subjects,
    pub buckets: Buckets,
    pub node: String,
    pub cluster: String,
    replicas: usize,
    status: Arc<watch::Sender<LinkStatus>>,
    stores: Arc<Mutex<Stores>>,
}

#[derive(Default)]
struct Stores {
    presence: Option<kv::Store>,
    leases: Option<kv::Store>,
    auth: Option<kv::Store>,
}

/// Which bucket.
#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    Presence,
    Leases,
    Auth,
}

impl Link {
    /// Starts connecting (returns at once; the client connects in the background).
    pub async fn connect(config: &ClusterConfig) -> Result<Self, LinkError> {
        let node = config.node();
        let addrs = config
            .nats_urls
            .iter()
            .map(|u| {
                u.parse::<async_nats::ServerAddr>()
                    .map_err(|e| LinkError::Connect {
                        urls: redact_url(u),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let shown = config
            .nats_urls
            .iter()
            .map(|u| redact_url(u))
            .collect::<Vec<_>>()
            .join(",");
        let status = Arc::new(watch::channel(LinkStatus::default()).0);
        let mut options = match &config.nats_creds {
            Some(path) => async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|source| LinkError::Credentials {
                    path: path.display().to_string(),
                    source,
                })?,
            None => async_nats::ConnectOptions::new(),
        };
        if let (Some(user), Some(pass)) = (&config.nats_user, &config.nats_password) {
            options = options.user_and_password(user.clone(), pass.clone());
        }
        if let Some(ca) = &config.nats_ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&config.nats_cert, &config.nats_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        let events = status.clone();
        let client = options
            .name(format!("relaydeck {node}"))
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(3))
            .ping_interval(Duration::from_secs(5))
            // JetStream requests answer in milliseconds; one that hangs (a
            // stream electing its leader) is retried sooner than after 10 s.
            .request_timeout(Some(Duration::from_secs(2)))
            // Reconnect quickly: a node without NATS serves only its own streams.
            .reconnect_delay_callback(|attempt| {
                Duration::from_millis((250 * attempt as u64).min(2_000))
            })
            .event_callback(move |event| {
                let events = events.clone();
                async move { note_event(&events, event) }
            })
            .connect(addrs.as_slice())
            .await
            .map_err(|e| LinkError::Connect {
                urls: shown.clone(),
                message: e.to_string(),
            })?;
        tracing::info!(nats = %shown, cluster = %config.cluster_name, node = %node, "joining the cluster over NATS");
        Ok(Self {
            js: jetstream::new(client.clone()),
            client,
            subjects: Subjects::new(&config.cluster_name),
            buckets: Buckets::new(&config.cluster_name),
            node,
            cluster: config.cluster_name.clone(),
            replicas: config.nats_replicas as usize,
            status,
            stores: Arc::default(),
        })
    }

    pub fn status(&self) -> LinkStatus {
        let mut s = self.status.borrow().clone();
        s.connected = self.client.connection_state() == async_nats::connection::State::Connected;
        s
    }

    /// The largest message the server takes.
    pub fn max_payload(&self) -> usize {
        match self.client.server_info().max_payload {
            0 => 1024 * 1024,
            n => n,
        }
    }

    /// The bucket, created on first use (a bucket that exists is opened as
    /// it is). Fails while JetStream is unreachable; callers retry.
    pub async fn store(&self, which: Bucket) -> Result<kv::Store, String> {
        if let Some(s) = self.cached(which) {
            return Ok(s);
        }
        let (name, memory, history, max_age, description) = match which {
            Bucket::Presence => (
                &self.buckets.presence,
                true,
                1,
                Duration::from_secs(60),
                "Relay Deck: what is live on which node (heartbeats)",
            ),
            Bucket::Leases => (
                &self.buckets.leases,
                false,
                1,
                Duration::ZERO,
                "Relay Deck: which node's publisher of an ID is current",
            ),
            Bucket::Auth => (
                &self.buckets.auth,
                false,
                5,
                Duration::ZERO,
                "Relay Deck: the admin password, the cookie key, API tokens",
            ),
        };
        // The bucket's stream is made here rather than by `create_key_value`:
        // that one first reads the account's info, whose shape from a 2.9
        // server async-nats 0.52 cannot parse. The stream is what a KV bucket
        // is by the NATS KV specification (ADR-8): `KV_<bucket>` on `$KV.<bucket>.>`.
        self.js
            .get_or_create_stream(jetstream::stream::Config {
                name: format!("KV_{name}"),
                description: Some(description.into()),
                subjects: vec![format!("$KV.{name}.>")],
                max_messages_per_subject: history,
                max_age,
                discard: jetstream::stream::DiscardPolicy::New,
                deny_delete: true,
                allow_rollup: true,
                // Reads go through the stream's leader: on nats-server 2.9 a
                // direct get to a new 3-replica stream went unanswered for 10 s.
                allow_direct: false,
                storage: if memory {
                    jetstream::stream::StorageType::Memory
                } else {
                    jetstream::stream::StorageType::File
                },
                num_replicas: self.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot create the key-value bucket {name}: {e}"))?;
        let store = self
            .js
            .get_key_value(name.as_str())
            .await
            .map_err(|e| format!("cannot open the key-value bucket {name}: {e}"))?;
        let mut stores = self.stores.lock();
        let slot = match which {
            Bucket::Presence => &mut stores.presence,
            Bucket::Leases => &mut stores.leases,
            Bucket::Auth => &mut stores.auth,
        };
        Ok(slot.get_or_insert(store).clone())
    }

    fn cached(&self, which: Bucket) -> Option<kv::Store> {
        let stores = self.stores.lock();
        match which {
            Bucket::Presence => stores.presence.clone(),
            Bucket::Leases => stores.leases.clone(),
            Bucket::Auth => stores.auth.clone(),
        }
    }
}

fn note_event(status: &watch::Sender<LinkStatus>, event: async_nats::Event) {
    use async_nats::Event;
    match event {
        Event::Connected => {
            tracing::info!("NATS: connected");
            status.send_modify(|s| s.last_error = None);
        }
        Event::Disconnected => {
            tracing::warn!("NATS: disconnected; serving this node's own streams, reconnecting");
            status.send_modify(|s| s.last_error = Some("disconnected".into()));
        }
        Event::ClientError(e) => {
            let msg = e.to_string();
            // Once per distinct error: a server that stays down is not a log flood.
            if status.borrow().last_error.as_deref() != Some(msg.as_str()) {
                tracing::warn!("NATS: {msg}; retrying");
            }
            status.send_modify(|s| s.last_error = Some(msg));
        }
        Event::ServerError(e) => {
            tracing::warn!("NATS server: {e}");
            status.send_modify(|s| s.last_error = Some(e.to_string()));
        }
        other => tracing::debug!("NATS: {other}"),
    }
}
