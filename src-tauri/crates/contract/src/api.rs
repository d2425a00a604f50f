//! REST bodies under `/api/`: what each route answers and accepts.
//! Errors are always [`ApiErrorBody`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::{Availability, SourceKind};

/// Every HTTP error: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct ApiErrorDetail {
    pub code: String,
    pub message: String,
}

impl ApiErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            error: ApiErrorDetail {
                code: code.to_owned(),
                message: message.into(),
            },
        }
    }
}

/// `{"ok":true}`: sign-in, sign-out, password change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct Ok {
    pub ok: bool,
}

impl Ok {
    pub const YES: Ok = Ok { ok: true };
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub status: String,
    pub version: String,
    #[ts(type = "number")]
    pub uptime_secs: u64,
    #[ts(type = "number")]
    pub cameras: usize,
    #[ts(type = "number")]
    pub cameras_online: usize,
    #[ts(type = "number")]
    pub viewers: usize,
    /// This node in its cluster (`null` on a node that runs alone).
    pub cluster: Option<ClusterHealth>,
}

/// `GET /api/health`'s `cluster`: this node, its NATS link, the live nodes
/// and what crossed between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterHealth {
    pub cluster: String,
    pub node: String,
    /// Whether the node is connected to a NATS server now.
    pub connected: bool,
    /// The last problem with NATS, if any since the last connect.
    pub last_error: Option<String>,
    /// Every live node with the URL its UI answers on (this one included).
    pub nodes: Vec<ClusterNode>,
    #[ts(type = "number")]
    pub frames_in: u64,
    #[ts(type = "number")]
    pub frames_out: u64,
    #[ts(type = "number")]
    pub chunks_in: u64,
    #[ts(type = "number")]
    pub chunks_out: u64,
    #[ts(type = "number")]
    pub bytes_in: u64,
    #[ts(type = "number")]
    pub bytes_out: u64,
    /// Frames and chunks the origins published that never arrived here.
    #[ts(type = "number")]
    pub missed: u64,
    /// Frames split across messages and dropped whole for a missing part.
    #[ts(type = "number")]
    pub dropped: u64,
    /// Origin → this node's hub, over the last 4096 frames and chunks (µs).
    #[ts(type = "number | null")]
    pub latency_p50_us: Option<u64>,
    #[ts(type = "number | null")]
    pub latency_p99_us: Option<u64>,
}

/// One live node of the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNode {
    pub name: String,
    pub url: Option<String>,
}

/// `GET /api/status/history`: the last 15 minutes of the relay's counters,
/// one sample per `intervalMs` (totals since start: the page takes differences).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusHistory {
    #[ts(type = "number")]
    pub interval_ms: u64,
    #[ts(type = "number")]
    pub span_ms: u64,
    pub samples: Vec<StatusSample>,
}

/// The relay's counters at one moment (the same as `/metrics` reports).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusSample {
    #[ts(type = "number")]
    pub at_ms: u64,
    /// Frames received, every camera.
    #[ts(type = "number")]
    pub frames_in: u64,
    /// Frames handed to viewers, every camera.
    #[ts(type = "number")]
    pub frames_out: u64,
    /// Frames slow viewers skipped.
    #[ts(type = "number")]
    pub skipped: u64,
    /// Bytes written to clients (WebSocket, MJPEG, WAV).
    #[ts(type = "number")]
    pub sent_bytes: u64,
    /// Video connections now (WebSocket, MJPEG).
    pub viewers: u32,
    /// Audio connections now (WebSocket, WAV).
    pub listeners: u32,
    /// Datagrams the devkits' live sessions lost.
    #[ts(type = "number")]
    pub devkit_lost: u64,
    /// The relay's CPU time since start.
    pub cpu_seconds: f64,
    #[ts(type = "number")]
    pub rss_bytes: u64,
    pub cameras: BTreeMap<String, CameraSample>,
    pub sources: BTreeMap<String, SourceSample>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CameraSample {
    #[ts(type = "number")]
    pub frames_in: u64,
    #[ts(type = "number")]
    pub frames_out: u64,
    #[ts(type = "number")]
    pub skipped: u64,
    pub viewers: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceSample {
    #[ts(type = "number")]
    pub chunks: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    pub listeners: u32,
    #[ts(type = "number")]
    pub lost: u64,
}

/// One camera in `/api/clients`, `/api/clients/{id}` and `/api/streams`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Camera {
    pub id: String,
    pub client_id: String,
    pub name: Option<String>,
    pub kind: SourceKind,
    pub online: bool,
    #[ts(type = "number | null")]
    pub connected_since: Option<u64>,
    #[ts(type = "number | null")]
    pub last_frame_time: Option<u64>,
    #[ts(type = "number")]
    pub frames: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    pub fps: f64,
    pub width: Option<u16>,
    pub height: Option<u16>,
    #[ts(type = "number")]
    pub viewers: usize,
    #[ts(type = "number")]
    pub delivered: u64,
    #[ts(type = "number")]
    pub skipped: u64,
    pub availability: Availability,
    /// The cluster node whose publisher this is (`null` on a node that runs alone).
    pub node: Option<String>,
}

/// `PATCH /api/clients/{id}` (admin): the camera's name as people see it;
/// `null` or `""` goes back to the name its publisher gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraRename {
    pub name: Option<String>,
}

/// `GET /api/clients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct CameraList {
    pub clients: Vec<Camera>,
}

/// One camera in `GET /api/streams`: the camera and its ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct StreamInfo {
    #[serde(flatten)]
    pub camera: Camera,
    pub ring: RingSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RingSummary {
    #[ts(type = "number")]
    pub capacity: usize,
    #[ts(type = "number")]
    pub length: usize,
    #[ts(type = "number | null")]
    pub first_seq: Option<u64>,
    #[ts(type = "number | null")]
    pub latest_seq: Option<u64>,
}

/// `GET /api/streams`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct StreamList {
    pub streams: Vec<StreamInfo>,
}

/// One frame of a camera's ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RingFrame {
    #[ts(type = "number")]
    pub seq: u64,
    #[ts(type = "number")]
    pub capture_time_us: u64,
    #[ts(type = "number")]
    pub size: usize,
    pub width: u16,
    pub height: u16,
    pub url: String,
}

/// `GET /api/clients/{id}/stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ring {
    pub client_id: String,
    pub online: bool,
    pub frames: Vec<RingFrame>,
}

/// A PCM format: sample rate and channels (the encoding is named beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioFormat {
    pub sample_rate: u32,
    pub channels: u16,
}

/// One audio source in `GET /api/sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioSourceInfo {
    pub id: String,
    pub kind: SourceKind,
    pub name: Option<String>,
    pub online: bool,
    pub format: Option<AudioFormat>,
    /// `s16le`, `s32le` or `f32le` (`s16le` before the source first streams).
    pub encoding: String,
    #[ts(type = "number")]
    pub chunks: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number | null")]
    pub last_chunk_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub last_seq: Option<u64>,
    #[ts(type = "number")]
    pub listeners: usize,
    #[ts(type = "number")]
    pub ring_ms: u64,
    #[ts(type = "number")]
    pub lost: u64,
    #[ts(type = "number")]
    pub late: u64,
    #[ts(type = "number")]
    pub duplicates: u64,
    #[ts(type = "number")]
    pub filled: u64,
    pub availability: Availability,
    /// The cluster node whose publisher this is (`null` on a node that runs alone).
    pub node: Option<String>,
    pub ws_url: String,
    pub wav_url: String,
    /// Whether the source belongs to a registered devkit.
    pub device: bool,
}

/// `GET /api/sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct SourceList {
    pub sources: Vec<AudioSourceInfo>,
}

/// A devkit's announced audio, as the Devices page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAudio {
    pub sample_rate: u32,
    pub channels: u16,
    pub format: String,
    /// Audio per datagram, rounded to whole milliseconds.
    pub frame_ms: u32,
    /// Audio per datagram in sample frames (exact).
    pub frame_samples: u32,
}

/// One registered devkit, online or not (the session fields are `null` offline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub device_id: String,
    pub name: String,
    #[ts(type = "number")]
    pub created_ms: u64,
    #[ts(type = "number | null")]
    pub last_seen_ms: Option<u64>,
    pub online: bool,
    pub session_id: Option<u32>,
    pub ip: Option<String>,
    pub fw: Option<String>,
    /// The board's stable ID, when it was paired over Bluetooth.
    pub board_id: Option<String>,
    pub format: Option<DeviceAudio>,
    /// How the live session's command channel is carried: `tls` or `tcp` (null offline).
    pub transport: Option<String>,
    #[ts(type = "number | null")]
    pub connected_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub last_packet_ms: Option<u64>,
    #[ts(type = "number")]
    pub listeners: usize,
    pub status: Map<String, Value>,
    /// Counters of the live session (absent offline).
    #[serde(flatten)]
    pub session: DeviceSessionStats,
}

/// Counters of a live devkit session; every field is absent offline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSessionStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub packets: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub lost: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub late: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub duplicates: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub filled: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub jitter_ms: Option<f64>,
}

/// Datagrams the UDP port dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UdpDropCounts {
    #[ts(type = "number")]
    pub unknown_session: u64,
    #[ts(type = "number")]
    pub wrong_peer: u64,
    #[ts(type = "number")]
    pub malformed: u64,
}

/// `GET /api/devices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceList {
    pub devices: Vec<Device>,
    pub udp_drops: UdpDropCounts,
    /// The devkit TCP (commands) and UDP (audio) ports devkits use, or null
    /// when that listener is off.
    pub tcp_port: Option<u16>,
    pub udp_port: Option<u16>,
    /// The addresses those ports are reached at.
    pub hosts: DevkitHosts,
    /// SHA-256 of the certificate the devkit TCP port presents to boards that
    /// connect with TLS (`AB:CD:…`), for them to pin; null when TLS is off.
    pub tls_fingerprint: Option<String>,
}

/// Where devkits reach the devkit ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevkitHosts {
    /// The address for a devkit (or the simulator) on this computer.
    pub local: String,
    /// Whether the ports listen beyond this computer (`devkitLan`, `--devkit-bind`).
    pub lan_enabled: bool,
    /// The addresses a board on the network can use (this computer's LAN
    /// addresses), best first; empty when the ports are on loopback only or
    /// this computer has no network address. Never a loopback address.
    pub lan: Vec<String>,
}

/// `POST /api/devices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewDevice {
    #[serde(default)]
    #[ts(optional)]
    pub device_id: Option<String>,
    pub name: String,
    /// The board's stable ID (pairing reads it over Bluetooth): a board
    /// already registered under it is re-paired (same device, new token).
    #[serde(default)]
    #[ts(optional)]
    pub board_id: Option<String>,
}

/// The answer to `POST /api/devices`: the only time the token is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedDevice {
    pub device_id: String,
    pub name: String,
    pub token: String,
    #[ts(type = "number")]
    pub created_ms: u64,
    pub tcp_port: Option<u16>,
    pub udp_port: Option<u16>,
    pub hosts: DevkitHosts,
    pub tls_fingerprint: Option<String>,
    /// True when `boardId` named a board already registered: the same device
    /// with a new token (the old one no longer works).
    pub repaired: bool,
    pub note: String,
}

/// A step of a pairing, as the pairing page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairingStep {
    /// The step's name (`Find the board`, `Wi-Fi`, …, `Online`; at most 40 characters).
    pub step: String,
    pub state: PairingStepState,
    /// What happened (a board's name, an error; at most 300 characters).
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PairingStepState {
    Todo,
    Active,
    Done,
    Failed,
    Skipped,
}

/// `PUT /api/pairing/phone/progress`: the phone's pairing page reports where
/// it is (its whole list each time), so the desktop app can follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneProgress {
    /// At most 16 steps.
    pub steps: Vec<PairingStep>,
    /// What the phone tells its user now (at most 300 characters).
    #[serde(default)]
    #[ts(optional)]
    pub message: Option<String>,
}

/// Where a phone pairing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PhonePairingState {
    /// No phone pairing was opened since the relay started.
    None,
    /// The listener is open; the phone may pair.
    Open,
    /// The board came online: the pairing is done and the listener closed.
    Paired,
    /// Closed without a board online: cancelled, timed out, or the relay stopped.
    Closed,
}

/// `POST`/`GET /api/pairing/phone`: the temporary HTTPS listener a phone pairs through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhonePairing {
    pub state: PhonePairingState,
    /// Changes with every change of this status (`GET ?since=` waits for a newer one).
    #[ts(type = "number")]
    pub revision: u64,
    /// What the phone opens (the QR code's content): the listener's address and
    /// the pairing-only credential. Present while open; shown only to the admin.
    pub url: Option<String>,
    /// SHA-256 of the listener's certificate (`AB:CD:…`): what the phone's
    /// browser shows when it asks whether to trust it.
    pub fingerprint: Option<String>,
    #[ts(type = "number | null")]
    pub expires_ms: Option<u64>,
    /// The phone's steps, as it last reported them.
    pub steps: Vec<PairingStep>,
    pub message: Option<String>,
    /// The device the phone registered, once it has.
    pub device_id: Option<String>,
    /// Why it closed (`Closed`), in words.
    pub reason: Option<String>,
}

/// `DELETE /api/devices/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedDevice {
    pub device_id: String,
    pub revoked: bool,
}

/// `POST /api/devices/{id}/commands`. The answer is the device's ack as it
/// sent it (`{"type":"ack","id","ok",…}`) with `deviceId` added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommand {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub args: Option<Value>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    View,
    Publish,
    Admin,
    /// Reads `/metrics` and nothing else (for Prometheus).
    Metrics,
}

/// One API token in `GET /api/tokens` (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub ids: Option<BTreeSet<String>>,
    #[ts(type = "number")]
    pub created_ms: u64,
    #[ts(type = "number | null")]
    pub expires_ms: Option<u64>,
    pub expired: bool,
}

/// `GET /api/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// `POST /api/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewToken {
    pub name: String,
    pub scope: Scope,
    #[serde(default)]
    #[ts(optional)]
    pub ids: Option<BTreeSet<String>>,
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub expires_in_sec: Option<u64>,
}

/// The answer to `POST /api/tokens`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub ids: Option<BTreeSet<String>>,
    #[ts(type = "number")]
    pub created_ms: u64,
    #[ts(type = "number | null")]
    pub expires_ms: Option<u64>,
    pub token: String,
    /// A page URL carrying the token (view and publish tokens).
    pub link: Option<String>,
}

/// `DELETE /api/tokens/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct RevokedToken {
    pub id: String,
    pub revoked: bool,
}

/// `POST /api/login` as JSON (a form with the same fields is accepted too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct Login {
    pub password: String,
    #[serde(default)]
    #[ts(optional)]
    pub next: Option<String>,
}

/// `POST /api/session/bootstrap`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct Bootstrap {
    pub code: String,
}

/// Who the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Token,
    /// The phone pairing's pass.
    Pairing,
}

/// `GET /api/session`: who am I, what may I do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub role: Role,
    pub admin: bool,
    pub scope: Option<Scope>,
    pub ids: Option<BTreeSet<String>>,
    pub token: Option<String>,
    pub can_view: bool,
    pub can_publish: bool,
}

/// A mode a camera offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CameraMode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// `mjpeg`, `yuyv` or `nv12`.
    pub format: String,
}

/// A camera of the computer running the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CameraDevice {
    pub index: u32,
    pub name: String,
    pub modes: Vec<CameraMode>,
}

/// A microphone of the computer running the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MicDevice {
    pub name: String,
    pub is_default: bool,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    pub sample_format: Option<String>,
}

/// A list of devices, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct DeviceChoice<T> {
    pub devices: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message: Option<String>,
}

/// `GET /api/capture/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CaptureDevices {
    pub cameras: DeviceChoice<CameraDevice>,
    pub microphones: DeviceChoice<MicDevice>,
}

/// An SDP offer or answer, as `RTCSessionDescription` serialises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDescription {
    /// `offer` in a request, `answer` in the reply.
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

/// `POST /api/offer`: a browser's offer for live audio over WebRTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebRtcOffer {
    pub offer: SessionDescription,
    /// The listener's own ID (as `/audio/ws`'s `listenerId`): a new offer
    /// with the same one replaces the older peer.
    pub client_id: String,
    /// The live audio source to play.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub source: Option<String>,
    /// An audio file of the library to play on a `fileStream` DataChannel
    /// (instead of `source`).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub file: Option<String>,
    /// With `file`: its decoded PCM (`pcm`, the default) or its bytes.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub mode: Option<crate::file_channel::FileMode>,
}

/// The answer to a [`WebRtcOffer`] (non-trickle: it carries every candidate
/// gathered within 3 s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcAnswer {
    pub answer: SessionDescription,
}

/// `GET /api/webrtc`: what a page needs before it makes its peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcConfig {
    /// The `iceServers` setting, for `new RTCPeerConnection({ iceServers })`.
    pub ice_servers: Vec<crate::settings::IceServer>,
}

/// Where a file of the audio library came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileOrigin {
    /// `PUT /api/files/{name}`: the admin and tokens granted its ID see it.
    Upload,
    /// A recording of a live source: whoever may listen to the source sees it.
    Recording,
}

/// One file of the audio library (`GET /api/files`, `GET /api/files/{id}`,
/// the answer to an upload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioFile {
    /// Its ID in URLs, offers and token grants (`[A-Za-z0-9_-]`, from its name).
    pub id: String,
    /// Its name as uploaded, made safe (no paths, no control characters).
    pub name: String,
    pub origin: FileOrigin,
    /// The source a recording is of.
    #[ts(optional = nullable)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `wav`, `flac`, `mp3` or `ogg-opus`.
    pub format: String,
    /// The container's media type (`audio/wav`, `audio/flac`, `audio/mpeg`, `audio/ogg`).
    pub mime: String,
    /// Bytes of the file as stored.
    #[ts(type = "number")]
    pub size: u64,
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_sec: f64,
    /// Bytes of its decoded PCM (s16le), what `pcm` mode sends.
    #[ts(type = "number")]
    pub pcm_size: u64,
    #[ts(type = "number")]
    pub added_ms: u64,
}

/// `GET /api/files`: the files the caller may see, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileList {
    pub files: Vec<AudioFile>,
    /// The largest upload taken (`--max-upload-bytes`).
    #[ts(type = "number")]
    pub max_upload_bytes: u64,
}

/// `POST /api/recorders`: start recording a camera or an audio source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRecorder {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub source: String,
    /// `camera` or `audio`.
    #[schema(pattern = "^(camera|audio)$")]
    pub kind: String,
    /// A camera: record only while something moves, detected so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub motion: Option<crate::settings::MotionSettings>,
}

/// One recorder at work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecorderInfo {
    pub source: String,
    pub kind: String,
    /// `waiting` (no such stream yet), `recording`, `disk_full`, `failed`;
    /// on motion also `watching` (nothing moves: nothing is written).
    pub state: String,
    /// `continuous` or `motion`.
    pub mode: String,
    #[ts(optional = nullable)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /api/recorders`: what records, and the disk the recordings are on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecorderList {
    pub recorders: Vec<RecorderInfo>,
    /// Bytes of recordings per source the caller may see.
    pub by_source: Vec<SourceUse>,
    /// Free bytes on the recordings' disk (`null` when unknown).
    #[ts(type = "number | null")]
    pub free_bytes: Option<u64>,
    /// Recording stops below this much free space (`--record-reserve`).
    #[ts(type = "number")]
    pub reserve_bytes: u64,
    /// Where the recordings are (the admin only).
    #[ts(optional = nullable)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

/// Disk use of one source's recordings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceUse {
    pub source: String,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub segments: u64,
}

/// One recorded segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingInfo {
    /// `source.kind.startms`.
    pub id: String,
    pub source: String,
    /// `camera` (Matroska, `V_MJPEG`) or `audio` (WAV).
    pub kind: String,
    /// Unix ms of its first frame or sample, and of its last.
    #[ts(type = "number")]
    pub start_ms: u64,
    #[ts(type = "number")]
    pub end_ms: u64,
    #[ts(type = "number")]
    pub duration_ms: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number | null")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Still being written.
    pub live: bool,
    pub mime: String,
    /// Motion events of its source overlap it.
    pub motion: bool,
}

/// Something moved in front of a camera recorded on motion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MotionEvent {
    /// `source.startms`.
    pub id: String,
    pub source: String,
    /// Unix ms of the first and the last picture that moved.
    #[ts(type = "number")]
    pub start_ms: u64,
    #[ts(type = "number")]
    pub end_ms: u64,
    /// The largest share of the watched picture that changed, 0 to 1.
    pub peak: f64,
    /// Still going on.
    pub live: bool,
    /// Its thumbnail (a JPEG of the first picture that moved).
    pub thumbnail: String,
}

/// `GET /api/motion`: motion events, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MotionEventList {
    pub events: Vec<MotionEvent>,
    /// Events matching, over all pages.
    #[ts(type = "number")]
    pub total: u64,
}

/// `GET /api/recordings`: a page of segments, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingList {
    pub recordings: Vec<RecordingInfo>,
    /// Segments matching, over all pages.
    #[ts(type = "number")]
    pub total: u64,
}
