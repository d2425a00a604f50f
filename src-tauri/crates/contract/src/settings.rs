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
    /// The desktop app starts when the user logs in, in the tray (through
    /// Tauri's autostart plugin). Live; `serve` ignores it (a service
    /// manager starts it instead).
    pub start_at_login: bool,
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
    /// Sources recorded without being asked each time: always, or on a
    /// weekly schedule (on-demand recording is `POST /api/recorders`). Live.
    pub record_rules: Vec<RecordRule>,
    /// Recordings older than this many days are deleted (0: only space limits them). Live.
    pub record_keep_days: u32,
    /// Recordings may fill at most this share of their disk, in percent; the oldest go first. Live.
    pub record_max_disk_percent: u8,
    /// Where recordings are kept: an absolute path, or empty for
    /// `recordings` in the data directory. At the next start (`--record-dir` wins).
    pub record_dir: String,
}

/// A camera or an audio source recorded by rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordRule {
    pub source: String,
    /// `camera` or `audio`.
    pub kind: String,
    pub mode: RecordMode,
    /// `schedule` mode: when, in the relay's local time; `motion` mode:
    /// when to watch (none: always).
    #[serde(default)]
    pub schedule: Vec<WeeklySpan>,
    /// `motion` mode: how to detect motion (defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub motion: Option<MotionSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordMode {
    Always,
    Schedule,
    /// Watch the camera and keep only what moves (with pre- and post-roll).
    Motion,
}

/// How a camera recorded on motion decides that something moved
/// (docs/PROTOCOL.md, "Motion").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MotionSettings {
    /// 1 (only large changes) to 100 (the smallest).
    #[schema(minimum = 1, maximum = 100)]
    pub sensitivity: u8,
    /// Where to look, in percent of the picture; none: everywhere.
    #[schema(max_items = 16)]
    pub zones: Vec<MotionZone>,
    /// Seconds kept from before the motion began (0 to 30).
    #[schema(maximum = 30)]
    pub pre_roll_sec: u32,
    /// Seconds recorded after the last motion (1 to 600).
    #[schema(minimum = 1, maximum = 600)]
    pub post_roll_sec: u32,
}

impl Default for MotionSettings {
    fn default() -> Self {
        Self {
            sensitivity: 50,
            zones: Vec::new(),
            pre_roll_sec: 3,
            post_roll_sec: 10,
        }
    }
}

/// A rectangle of the picture, in percent of its width and height from the top left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MotionZone {
    #[schema(maximum = 100)]
    pub x: u8,
    #[schema(maximum = 100)]
    pub y: u8,
    #[schema(maximum = 100)]
    pub w: u8,
    #[schema(maximum = 100)]
    pub h: u8,
}

impl MotionSettings {
    /// Why these settings cannot be used, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.sensitivity) {
            return Err("motion sensitivity must be between 1 and 100".into());
        }
        if self.pre_roll_sec > 30 {
            return Err("motion pre-roll must be at most 30 seconds".into());
        }
        if !(1..=600).contains(&self.post_roll_sec) {
            return Err("motion post-roll must be between 1 and 600 seconds".into());
        }
        if self.zones.len() > 16 {
            return Err("at most 16 motion zones".into());
        }
        for z in &self.zones {
            if z.w == 0
                || z.h == 0
                || u16::from(z.x) + u16::from(z.w) > 100
                || u16::from(z.y) + u16::from(z.h) > 100
            {
                return Err(format!(
                    "motion zone {{x:{}, y:{}, w:{}, h:{}}} must be a non-empty rectangle inside the picture (percent, 0 to 100)",
                    z.x, z.y, z.w, z.h
                ));
            }
        }
        Ok(())
    }
}

/// Days of the week (1 = Monday … 7 = Sunday, ISO 8601) and a time span,
/// `"HH:MM"` to `"HH:MM"`; a span ending before it starts runs past midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeeklySpan {
    pub days: Vec<u8>,
    pub start: String,
    pub end: String,
}

/// "HH:MM" → minutes of the day.
pub fn minute_of_day(hhmm: &str) -> Option<u16> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && hhmm.len() == 5).then_some(h * 60 + m)
}

impl WeeklySpan {
    /// Is `(day, minute)` (ISO day 1–7, minute of the day) inside this span?
    pub fn contains(&self, day: u8, minute: u16) -> bool {
        let (Some(start), Some(end)) = (minute_of_day(&self.start), minute_of_day(&self.end))
        else {
            return false;
        };
        let yesterday = if day == 1 { 7 } else { day - 1 };
        if start < end {
            self.days.contains(&day) && (start..end).contains(&minute)
        } else {
            // Past midnight: from `start` on its days, until `end` the day after.
            (self.days.contains(&day) && minute >= start)
                || (self.days.contains(&yesterday) && minute < end)
        }
    }
}

impl RecordRule {
    /// Should this rule record at `(day, minute)` local time?
    pub fn active(&self, day: u8, minute: u16) -> bool {
        match self.mode {
            RecordMode::Always => true,
            RecordMode::Schedule => self.schedule.iter().any(|s| s.contains(day, minute)),
            RecordMode::Motion => {
                self.schedule.is_empty() || self.schedule.iter().any(|s| s.contains(day, minute))
            }
        }
    }
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
            start_at_login: false,
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
            record_rules: Vec::new(),
            record_keep_days: 7,
            record_max_disk_percent: 20,
            record_dir: String::new(),
        }
    }
}

/// The settings that only take effect when the relay starts again.
pub const RESTART_FIELDS: &[&str] = &["port", "lanAccess", "tls", "devkitLan", "recordDir"];

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

#[cfg(test)]
mod tests {
    use super::*;

    fn span(days: &[u8], start: &str, end: &str) -> WeeklySpan {
        WeeklySpan {
            days: days.to_vec(),
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn a_weekly_span_holds_its_days_and_hours_and_runs_past_midnight() {
        let office = span(&[1, 2, 3, 4, 5], "08:30", "18:00");
        assert!(office.contains(1, 8 * 60 + 30));
        assert!(!office.contains(1, 8 * 60 + 29));
        assert!(!office.contains(1, 18 * 60), "the end is not in it");
        assert!(!office.contains(6, 12 * 60), "not on Saturday");
        let night = span(&[7], "22:00", "06:00");
        assert!(night.contains(7, 23 * 60));
        assert!(
            night.contains(1, 5 * 60 + 59),
            "Sunday night runs into Monday"
        );
        assert!(!night.contains(1, 6 * 60));
        assert!(
            !night.contains(7, 5 * 60),
            "Sunday early morning is Saturday night's, not this span's"
        );
        assert!(
            !span(&[1], "24:00", "01:00").contains(1, 0),
            "an invalid time never matches"
        );
        assert_eq!(minute_of_day("07:05"), Some(425));
        assert_eq!(minute_of_day("7:05"), None);
        let rule = RecordRule {
            source: "a".into(),
            kind: "camera".into(),
            mode: RecordMode::Schedule,
            schedule: vec![office.clone()],
            motion: None,
        };
        assert!(rule.active(3, 600) && !rule.active(3, 1200));
        let watch = |schedule| RecordRule {
            mode: RecordMode::Motion,
            schedule,
            ..rule.clone()
        };
        assert!(
            watch(vec![]).active(6, 1200),
            "motion without a schedule watches always"
        );
        assert!(watch(vec![office.clone()]).active(3, 600) && !watch(vec![office]).active(3, 1200));
    }

    #[test]
    fn motion_settings_default_and_refuse_what_cannot_work() {
        let m: MotionSettings = serde_json::from_str(r#"{"sensitivity": 80}"#).unwrap();
        assert_eq!(
            (m.sensitivity, m.pre_roll_sec, m.post_roll_sec),
            (80, 3, 10)
        );
        assert!(m.check().is_ok());
        let zone = |x, y, w, h| MotionSettings {
            zones: vec![MotionZone { x, y, w, h }],
            ..Default::default()
        };
        assert!(zone(0, 0, 100, 100).check().is_ok());
        assert!(zone(50, 0, 51, 10).check().is_err(), "past the right edge");
        assert!(zone(0, 0, 10, 0).check().is_err(), "empty");
        let bad = |f: fn(&mut MotionSettings)| {
            let mut m = MotionSettings::default();
            f(&mut m);
            m.check().is_err()
        };
        assert!(bad(|m| m.sensitivity = 0));
        assert!(bad(|m| m.sensitivity = 101));
        assert!(bad(|m| m.pre_roll_sec = 31));
        assert!(bad(|m| m.post_roll_sec = 0));
        assert!(serde_json::from_str::<MotionSettings>(r#"{"sensitivty": 80}"#).is_err());
    }
}
