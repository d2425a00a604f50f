//! The relay's configuration: one typed struct, filled by clap from flags
//! and their `RELAYDECK_*` environment twins.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use relaydeck_hub::HubConfig;

/// The app's identifier (as in tauri.conf.json): names its data directory.
pub const APP_IDENTIFIER: &str = "app.relaydeck.desktop";

#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct ServerConfig {
    /// Address and port for HTTP and WebSocket. Use 0.0.0.0:PORT for LAN access.
    #[arg(long, env = "RELAYDECK_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    /// Frames kept per camera (for /api/clients/{id}/stream and late joiners).
    #[arg(long, env = "RELAYDECK_RING_FRAMES", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub ring_frames: u32,

    /// Largest JPEG a camera may send, in bytes (suffixes K, M: 5M = 5 MiB).
    #[arg(long, env = "RELAYDECK_MAX_FRAME_BYTES", default_value = "5M", value_parser = parse_bytes)]
    pub max_frame_bytes: usize,

    /// How long a camera without a publisher keeps its last frame before it is removed (e.g. 120s, 2m).
    #[arg(long, env = "RELAYDECK_CLIENT_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub client_timeout: Duration,

    /// How often to look for cameras to remove.
    #[arg(long, env = "RELAYDECK_SWEEP_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub sweep_interval: Duration,

    /// How often the server pings every WebSocket.
    #[arg(long, env = "RELAYDECK_WS_PING_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub ws_ping_interval: Duration,

    /// A WebSocket silent this long (no pong, no message), or a write blocked this long, is closed.
    #[arg(long, env = "RELAYDECK_WS_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub ws_timeout: Duration,

    /// How often the Status page's history takes a sample of the counters (15 minutes are kept).
    #[arg(long, env = "RELAYDECK_STATUS_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub status_interval: Duration,

    /// How often each viewer socket gets a `stats` message.
    #[arg(long, env = "RELAYDECK_STATS_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub stats_interval: Duration,

    /// How long a camera socket may take to register after connecting.
    #[arg(long, env = "RELAYDECK_REGISTER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub register_timeout: Duration,

    /// Largest text (JSON control) message accepted on any socket, in bytes.
    #[arg(long, env = "RELAYDECK_MAX_TEXT_BYTES", default_value = "64K", value_parser = parse_bytes)]
    pub max_text_bytes: usize,

    /// Where the app keeps its state (device registry, settings). Default: the
    /// platform's data directory for the app, shared with the desktop app.
    #[arg(long, env = "RELAYDECK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Address for the devkit TCP and UDP ports, independently of --bind (e.g. 0.0.0.0 puts
    /// them on the LAN while the web UI stays on loopback). Default: the --bind address,
    /// or every interface when the `devkitLan` setting is on.
    #[arg(long, env = "RELAYDECK_DEVKIT_BIND")]
    pub devkit_bind: Option<std::net::IpAddr>,

    /// Accept TLS on the devkit TCP port too (detected per connection; boards pin the
    /// relay certificate's SHA-256, which `GET /api/devices` and pairing hand them).
    #[arg(long, env = "RELAYDECK_DEVKIT_TLS", default_value_t = true, action = clap::ArgAction::Set)]
    pub devkit_tls: bool,

    /// Refuse devkits that connect without TLS (their tokens would cross the network in
    /// clear); implies --devkit-tls.
    #[arg(long, env = "RELAYDECK_DEVKIT_REQUIRE_TLS")]
    pub devkit_require_tls: bool,

    /// Address of the temporary HTTPS listener that "Pair with your phone" opens (it serves
    /// only the pairing page and its API). Default: this computer's first LAN IPv4 address.
    #[arg(long, env = "RELAYDECK_PAIRING_ADDRESS")]
    pub pairing_address: Option<std::net::IpAddr>,

    /// TCP port of that listener (0: any free port; set one to open it in a firewall).
    #[arg(long, env = "RELAYDECK_PAIRING_PORT", default_value_t = 0)]
    pub pairing_port: u16,

    /// How long that listener stays open (and its pairing-only credential works) at most.
    #[arg(long, env = "RELAYDECK_PAIRING_TIMEOUT", default_value = "10m", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub pairing_timeout: Duration,

    /// TCP port of the devkit command channel, on the --devkit-bind address (0: any free port).
    #[arg(long, env = "RELAYDECK_DEVKIT_TCP_PORT", default_value_t = 5000)]
    pub devkit_tcp_port: u16,

    /// UDP port for devkit audio, on the --devkit-bind address (0: any free port).
    #[arg(long, env = "RELAYDECK_DEVKIT_UDP_PORT", default_value_t = 5001)]
    pub devkit_udp_port: u16,

    /// How long a devkit may take to send its hello.
    #[arg(long, env = "RELAYDECK_HELLO_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub hello_timeout: Duration,

    /// The keepalive period devkits are told (`keepaliveSec`); three silent periods drop a device.
    #[arg(long, env = "RELAYDECK_DEVKIT_KEEPALIVE", default_value = "15s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub devkit_keepalive: Duration,

    /// How long a devkit datagram that arrives ahead of a gap waits for the missing ones.
    #[arg(long, env = "RELAYDECK_REORDER_WINDOW", default_value = "40ms", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub reorder_window: Duration,

    /// How long a device command waits for the device's ack.
    #[arg(long, env = "RELAYDECK_COMMAND_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub command_timeout: Duration,

    /// Audio kept per audio source (for backlog and late listeners).
    #[arg(long, env = "RELAYDECK_AUDIO_RING", default_value = "5s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub audio_ring: Duration,

    /// How far an audio listener may fall behind before its oldest audio is dropped.
    #[arg(long, env = "RELAYDECK_LISTENER_MAX_LAG", default_value = "1s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub listener_max_lag: Duration,

    /// The admin password (stored only as an Argon2 hash). Without it, the stored one is
    /// kept; on first start one is generated and printed once.
    #[arg(long, env = "RELAYDECK_ADMIN_PASSWORD", hide_env_values = true)]
    #[serde(skip)]
    pub admin_password: Option<String>,

    /// Other origins whose pages may use a signed-in session (e.g. https://deck.example.com); comma-separated.
    #[arg(long, env = "RELAYDECK_CORS_ALLOW", value_delimiter = ',')]
    pub cors_allow: Vec<String>,

    /// Serve HTTPS and WSS. Without --tls-cert/--tls-key a self-signed certificate is
    /// generated (kept in the data directory and reused).
    #[arg(long, env = "RELAYDECK_TLS")]
    pub tls: bool,

    /// PEM certificate chain for --tls.
    #[arg(long, env = "RELAYDECK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls.
    #[arg(long, env = "RELAYDECK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Open connections allowed in total (HTTP, WebSocket).
    #[arg(long, env = "RELAYDECK_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Open connections allowed from one IP address (room for the load benchmark from loopback).
    #[arg(
        long,
        env = "RELAYDECK_MAX_CONNECTIONS_PER_IP",
        default_value_t = 2_500
    )]
    pub max_connections_per_ip: usize,

    /// Largest HTTP request body accepted (JSON API calls), in bytes.
    #[arg(long, env = "RELAYDECK_MAX_BODY_BYTES", default_value = "64K", value_parser = parse_bytes)]
    pub max_body_bytes: usize,

    /// Where recordings are kept (default: `recordings/` in the data directory).
    #[arg(long, env = "RELAYDECK_RECORD_DIR")]
    pub record_dir: Option<PathBuf>,

    /// A recording segment is closed and a new one begun after this long.
    #[arg(long, env = "RELAYDECK_RECORD_SEGMENT", default_value = "10m", value_parser = parse_duration)]
    pub record_segment: Duration,

    /// … or once it is this large.
    #[arg(long, env = "RELAYDECK_RECORD_SEGMENT_BYTES", default_value = "512M", value_parser = parse_bytes)]
    pub record_segment_bytes: usize,

    /// Recording stops while the disk has less free space than this.
    #[arg(long, env = "RELAYDECK_RECORD_RESERVE", default_value = "1G", value_parser = parse_bytes)]
    pub record_reserve: usize,

    /// Largest audio file an upload may be (`PUT /api/files/{name}`), in bytes.
    #[arg(long, env = "RELAYDECK_MAX_UPLOAD_BYTES", default_value = "1G", value_parser = parse_bytes)]
    pub max_upload_bytes: usize,

    /// How long a client may take to send a request's headers.
    #[arg(long, env = "RELAYDECK_HEADER_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub header_timeout: Duration,

    /// How often each audio listener gets a `stats` message.
    #[arg(long, env = "RELAYDECK_AUDIO_STATS_INTERVAL", default_value = "500ms", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub audio_stats_interval: Duration,

    /// How long a client may take to send a request's whole body (a trickled body is cut off).
    #[arg(long, env = "RELAYDECK_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub body_timeout: Duration,

    /// Camera streams one publish token may hold at once.
    #[arg(long, env = "RELAYDECK_MAX_STREAMS_PER_TOKEN", default_value_t = 64)]
    pub max_streams_per_token: usize,

    /// Camera streams the relay holds in total.
    #[arg(long, env = "RELAYDECK_MAX_STREAMS", default_value_t = 1024)]
    pub max_streams: usize,

    /// Audio sources one publish token may hold at once.
    #[arg(long, env = "RELAYDECK_MAX_SOURCES_PER_TOKEN", default_value_t = 64)]
    pub max_sources_per_token: usize,

    /// Audio sources the relay holds in total (devkits included).
    #[arg(long, env = "RELAYDECK_MAX_SOURCES", default_value_t = 1024)]
    pub max_sources: usize,

    /// Status entries a devkit may keep (`status` messages with more keys are refused).
    #[arg(long, env = "RELAYDECK_MAX_DEVICE_STATUS", default_value_t = 64)]
    pub max_device_status: usize,

    /// Bytes of frames a camera's ring may keep, as well as --ring-frames (suffixes K, M).
    #[arg(long, env = "RELAYDECK_RING_MAX_BYTES", default_value = "64M", value_parser = parse_bytes)]
    pub ring_max_bytes: usize,

    /// WebRTC peers the relay holds in total.
    #[arg(long, env = "RELAYDECK_WEBRTC_MAX_PEERS", default_value_t = 256)]
    pub webrtc_max_peers: usize,

    /// WebRTC peers one IP address may hold.
    #[arg(long, env = "RELAYDECK_WEBRTC_MAX_PEERS_PER_IP", default_value_t = 32)]
    pub webrtc_max_peers_per_ip: usize,

    /// How long a WebRTC peer may take to connect before it is closed.
    #[arg(long, env = "RELAYDECK_WEBRTC_CONNECT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    #[serde(with = "secs")]
    pub webrtc_connect_timeout: Duration,

    /// UDP ports WebRTC peers use, as FIRST-LAST (for firewalls and containers); any free port when unset.
    #[arg(long, env = "RELAYDECK_WEBRTC_UDP_PORTS", value_parser = parse_port_range)]
    pub webrtc_udp_ports: Option<(u16, u16)>,

    /// The address WebRTC peers' UDP sockets bind (and offer as their host
    /// candidate): every interface by default; one address on a multi-homed host.
    #[arg(long, env = "RELAYDECK_WEBRTC_BIND", default_value = "0.0.0.0")]
    pub webrtc_bind: std::net::IpAddr,

    /// Clustering over NATS (off unless --nats is given).
    #[command(flatten)]
    #[serde(flatten)]
    pub cluster: ClusterConfig,
}

/// How this node joins a cluster of relays over NATS (`docs/ARCHITECTURE.md`,
/// "The cluster"). Without `--nats` the node runs alone, on its files.
#[derive(Debug, Clone, Default, clap::Args, serde::Serialize)]
pub struct ClusterConfig {
    /// NATS servers of the cluster, comma-separated (nats://host:4222, tls://host:4222).
    /// Credentials in a URL are accepted and never printed.
    #[arg(long = "nats", env = "RELAYDECK_NATS", value_delimiter = ',', value_parser = parse_nats_url)]
    #[serde(rename = "nats", serialize_with = "redacted_urls")]
    pub nats_urls: Vec<String>,

    /// The cluster's name: nodes with the same name and NATS servers form one relay.
    #[arg(long = "cluster", env = "RELAYDECK_CLUSTER", default_value = "relaydeck", value_parser = parse_cluster_name)]
    pub cluster_name: String,

    /// This node's name in the cluster (default: the host name).
    #[arg(long = "node", env = "RELAYDECK_NODE", value_parser = parse_cluster_name)]
    pub node_name: Option<String>,

    /// The URL browsers reach this node's UI on, shared with the cluster so the UI can
    /// fail over to it (default: http(s)://BIND-ADDRESS:PORT).
    #[arg(long, env = "RELAYDECK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// A NATS credentials file (JWT + NKey seed) to connect with.
    #[arg(long, env = "RELAYDECK_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,

    /// A NATS user (with RELAYDECK_NATS_PASSWORD).
    #[arg(long, env = "RELAYDECK_NATS_USER")]
    pub nats_user: Option<String>,

    /// The NATS user's password (environment only, never printed).
    #[arg(skip = std::env::var("RELAYDECK_NATS_PASSWORD").ok())]
    #[serde(skip)]
    pub nats_password: Option<String>,

    /// PEM CA certificate(s) to verify the NATS servers with (implies TLS).
    #[arg(long, env = "RELAYDECK_NATS_CA")]
    pub nats_ca: Option<PathBuf>,

    /// PEM client certificate and key for NATS servers that verify clients.
    #[arg(long, env = "RELAYDECK_NATS_CERT", requires = "nats_key")]
    pub nats_cert: Option<PathBuf>,

    #[arg(long, env = "RELAYDECK_NATS_KEY", requires = "nats_cert")]
    pub nats_key: Option<PathBuf>,

    /// Replicas of the shared key-value buckets (credentials, leases, presence); at most
    /// the number of NATS servers with JetStream.
    #[arg(long, env = "RELAYDECK_NATS_REPLICAS", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub nats_replicas: u8,
}

impl ClusterConfig {
    pub fn enabled(&self) -> bool {
        !self.nats_urls.is_empty()
    }

    /// This node's name: `--node`, else the host name made into a valid name.
    pub fn node(&self) -> String {
        if let Some(n) = &self.node_name {
            return n.clone();
        }
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "node".into());
        let clean: String = host
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(32)
            .collect();
        if clean.is_empty() {
            "node".into()
        } else {
            clean
        }
    }
}

fn parse_cluster_name(s: &str) -> Result<String, String> {
    if relaydeck_contract::cluster::valid_name(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "'{s}' is not a valid name: use 1 to 32 letters, digits, '-' or '_'"
        ))
    }
}

fn parse_nats_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let (scheme, rest) = s.split_once("://").unwrap_or(("nats", s));
    if !matches!(scheme, "nats" | "tls" | "ws" | "wss") {
        return Err(format!(
            "'{scheme}' is not a NATS URL scheme: use nats://host:port or tls://host:port"
        ));
    }
    let host = rest.rsplit('@').next().unwrap_or(rest);
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("'{}' names no NATS server", redact_url(s)));
    }
    Ok(format!("{scheme}://{rest}"))
}

/// A NATS URL without its user and password (for logs and the printed config).
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn redacted_urls<S: serde::Serializer>(urls: &[String], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(urls.len()))?;
    for u in urls {
        seq.serialize_element(&redact_url(u))?;
    }
    seq.end()
}

/// `FIRST-LAST`, both ports, FIRST ≤ LAST.
pub fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("'{s}' is not FIRST-LAST (for example 50000-50100)"))?;
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("'{p}' is not a port (1-65535)"))
    };
    let (first, last) = (port(a)?, port(b)?);
    if first > last {
        return Err(format!("the range {first}-{last} is empty"));
    }
    Ok((first, last))
}

impl Default for ServerConfig {
    fn default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            c: ServerConfig,
        }
        // Defaults live in one place: the clap attributes above.
        Wrapper::parse_from(["relaydeck"]).c
    }
}

impl ServerConfig {
    pub fn hub_config(&self) -> HubConfig {
        HubConfig {
            ring_frames: self.ring_frames as usize,
            ring_max_bytes: self.ring_max_bytes,
            max_frame_bytes: self.max_frame_bytes,
            idle_timeout: self.client_timeout,
            audio_ring: self.audio_ring,
            listener_max_lag: self.listener_max_lag,
            ..HubConfig::default()
        }
    }

    /// Takes the port, LAN access, TLS, ring size and recording directory from the user's
    /// settings, except those `explicit` says were given as flags or
    /// environment variables (those win, for this run only).
    pub fn apply_settings(
        &mut self,
        s: &crate::store::settings::Settings,
        explicit: impl Fn(&str) -> bool,
    ) {
        if !explicit("bind") {
            let ip: std::net::IpAddr = if s.lan_access {
                [0, 0, 0, 0].into()
            } else {
                [127, 0, 0, 1].into()
            };
            self.bind = SocketAddr::new(ip, s.port);
        }
        if !explicit("tls") {
            self.tls = s.tls;
        }
        if !explicit("devkit_bind") && s.devkit_lan {
            self.devkit_bind = Some([0, 0, 0, 0].into());
        }
        if !explicit("ring_frames") {
            self.ring_frames = s.ring_frames as u32;
        }
        if !explicit("record_dir") && !s.record_dir.is_empty() {
            self.record_dir = Some(PathBuf::from(&s.record_dir));
        }
    }

    /// `base` with the fields this configuration decides (what the run uses).
    pub fn as_settings(
        &self,
        base: crate::store::settings::Settings,
    ) -> crate::store::settings::Settings {
        crate::store::settings::Settings {
            port: self.bind.port(),
            lan_access: !self.bind.ip().is_loopback(),
            tls: self.tls_enabled(),
            // Off means "follow --bind": only an address of their own says otherwise.
            devkit_lan: self
                .devkit_bind
                .map_or(base.devkit_lan, |ip| !ip.is_loopback()),
            ring_frames: self.ring_frames as usize,
            record_dir: self
                .record_dir
                .as_ref()
                .map_or(String::new(), |d| d.display().to_string()),
            ..base
        }
    }

    /// Where the devkit TCP and UDP ports listen: --devkit-bind, else the --bind address.
    pub fn devkit_ip(&self) -> std::net::IpAddr {
        self.devkit_bind.unwrap_or(self.bind.ip())
    }

    /// Whether the devkit TCP port accepts TLS.
    pub fn devkit_tls_enabled(&self) -> bool {
        self.devkit_tls || self.devkit_require_tls
    }

    /// Whether the server speaks TLS (cookies get `Secure`, links `https`).
    pub fn tls_enabled(&self) -> bool {
        self.tls || self.tls_cert.is_some()
    }

    /// The data directory: `--data-dir`, or the platform's data directory
    /// under the app's identifier (where the desktop app's store lives too).
    /// Where recordings are kept.
    pub fn record_dir(&self) -> PathBuf {
        self.record_dir
            .clone()
            .unwrap_or_else(|| self.data_dir().join("recordings"))
    }

    /// Rotation and the disk reserve, for the recorders.
    pub fn record_limits(&self) -> crate::edges::record::RecordLimits {
        crate::edges::record::RecordLimits {
            segment: self.record_segment,
            segment_bytes: self.record_segment_bytes as u64,
            reserve_bytes: self.record_reserve as u64,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(APP_IDENTIFIER)
    }
}

/// `1500`, `64K`, `5M`, `1G` (binary multiples; a trailing `B`/`iB` is allowed).
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim().trim_end_matches(['B', 'b']).trim_end_matches('i');
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1usize << 10),
        Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (examples: 65536, 64K, 5M)"))?;
    let bytes = n
        .checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))?;
    if bytes == 0 {
        return Err("a size must be greater than zero".into());
    }
    Ok(bytes)
}

/// `250ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (examples: 500ms, 30s, 2m)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown time unit '{other}' in '{s}' (use ms, s, m or h)"
            ))
        }
    };
    if !(secs > 0.0 && secs < 1e9) {
        return Err(format!("'{s}' must be greater than zero"));
    }
    Ok(Duration::from_secs_f64(secs))
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:?}", d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse_as_documented() {
        assert_eq!(parse_bytes("5M"), Ok(5 << 20));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("1500"), Ok(1500));
        assert!(parse_bytes("five").is_err());
        assert!(parse_bytes("0").is_err());
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = ServerConfig::default();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.ring_frames, 16);
        assert_eq!(c.max_frame_bytes, 5 << 20);
        assert_eq!(c.client_timeout, Duration::from_secs(120));
        assert_eq!(c.sweep_interval, Duration::from_secs(30));
        assert_eq!(c.ws_ping_interval, Duration::from_secs(30));
        assert_eq!(c.ws_timeout, Duration::from_secs(60));
        assert_eq!(
            (c.body_timeout, c.max_streams_per_token, c.max_streams),
            (Duration::from_secs(30), 64, 1024)
        );
        assert_eq!(
            (
                c.max_sources_per_token,
                c.max_sources,
                c.max_device_status,
                c.ring_max_bytes
            ),
            (64, 1024, 64, 64 << 20)
        );
        assert_eq!(c.max_upload_bytes, 1 << 30);
    }
}
