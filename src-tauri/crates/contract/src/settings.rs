//! `GET/PUT /api/settings`: everything a user may change from the Settings
//! page, as stored in `settings.json` (a flat object) and sent on the wire.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// `voice` (16 kHz mono) or `music` (48 kHz stereo), s16le.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MicFormat {
    #[default]
    Voice,
    Music,
}

impl MicFormat {
    /// Sample rate and channels.
    pub fn rate_channels(self) -> (u32, u16) {
        match self {
            MicFormat::Voice => (16_000, 1),
            MicFormat::Music => (48_000, 2),
        }
    }
}

/// Everything a user may change from the Settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// HTTP/WebSocket port (0: any free port). Applies at the next start.
    pub port: u16,
    /// Listen on every interface (the LAN), not only 127.0.0.1. Next start.
    pub lan_access: bool,
    /// HTTPS/WSS with the generated certificate. Next start.
    pub tls: bool,
    /// The devkit TCP and UDP ports on every interface (the LAN), whatever
    /// `lanAccess` says for the web UI. Devkits still need their device
    /// token. On by default in the desktop app. Next start.
    pub devkit_lan: bool,
    /// Frames kept per camera. Live, for cameras that connect afterwards.
    #[ts(type = "number")]
    pub ring_frames: usize,
    /// Publish the built-in `test-pattern` camera. Live.
    pub test_pattern: bool,
    /// The audio player's jitter buffer in milliseconds. Live (the UI's default).
    pub audio_buffer_ms: u32,
    /// The UI's theme. Live.
    pub theme: Theme,
    /// Publish this computer's camera as `host-camera`. Live.
    pub camera_enabled: bool,
    /// Which camera: its index or (part of) its name; empty for the first one.
    pub camera: String,
    pub camera_width: u32,
    pub camera_height: u32,
    pub camera_fps: u32,
    /// JPEG quality for cameras that deliver uncompressed frames.
    pub camera_quality: u8,
    /// Keep the camera open without viewers (otherwise it opens on demand).
    pub camera_always_on: bool,
    /// Publish this computer's microphone as the audio source `mic`. Live.
    pub mic_enabled: bool,
    /// Which input device: its name, or `default`.
    pub mic: String,
    /// `voice` (16 kHz mono) or `music` (48 kHz stereo), s16le.
    pub mic_format: MicFormat,
    /// Keep the microphone open without listeners (e.g. for recording).
    pub mic_always_on: bool,
    /// STUN/TURN servers for WebRTC, used by the relay's peers and handed to
    /// pages (`GET /api/webrtc`). Live, for peers made afterwards.
    pub ice_servers: Vec<IceServer>,
}

/// One STUN or TURN server, as `RTCIceServer` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs (1 to 4).
    pub urls: Vec<String>,
    /// Required for TURN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    /// Required for TURN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 3000,
            lan_access: false,
            tls: false,
            devkit_lan: false,
            ring_frames: 16,
            test_pattern: false,
            audio_buffer_ms: 150,
            theme: Theme::System,
            camera_enabled: false,
            camera: String::new(),
            camera_width: 1280,
            camera_height: 720,
            camera_fps: 30,
            camera_quality: 80,
            camera_always_on: false,
            mic_enabled: false,
            mic: "default".into(),
            mic_format: MicFormat::Voice,
            mic_always_on: false,
            ice_servers: Vec::new(),
        }
    }
}

/// The settings that only take effect when the relay starts again.
pub const RESTART_FIELDS: &[&str] = &["port", "lanAccess", "tls", "devkitLan"];

/// `GET /api/settings`, and the answer to every `PUT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub settings: Settings,
    /// What the running relay started with.
    pub running: Settings,
    /// Keys whose new value waits for the next start.
    pub restart_required: Vec<String>,
    /// Where browsers reach this relay.
    pub urls: Vec<String>,
    /// The port the relay actually listens on (differs from `running.port`
    /// when that was 0, or taken and the desktop app moved on to the next).
    pub listening_port: u16,
}

/// `POST /api/password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}
